// Per-tenant traffic through the GLB (docs/target-contract.md §3, docs/k6.md).
//
// Persisted reads and writes (get_entity / put_entity) plus a configurable share of ad-hoc
// queries, with a purpose header, tagged per tenant. Built-in k6 modules only (runs offline).
//
//   K6_NO_USAGE_REPORT=true k6 run -e GLB_URL=http://127.0.0.1:PORT -e TENANT=TENANT_001 \
//       k6/tenant-traffic.js
//
// Environment (-e NAME=VALUE):
//   GLB_URL          required; the data plane entry of the target profile (glb_url)
//   TENANT           tenant id (default TENANT_001)
//   PURPOSE          X-MC-Purpose header (default "service"; empty = send no header)
//   ADHOC_SHARE      fraction 0..1 of requests sent as ad-hoc queries (default 0)
//   WRITE_SHARE      fraction 0..1 of persisted requests that are writes (default 0.5)
//   KEYS             size of the key space per tenant (default 100), or "unique": every write
//                    takes a key of its own (VU and iteration) and reads pick a key an earlier
//                    iteration of the same VU may have written, so no two writes ever share a
//                    key and an A/A tenant cannot conflict whatever the replication lag
//   VUS              virtual users (default 1)
//   DURATION         wall-clock bound of the run, k6 duration syntax (default 10s)
//   ITERATIONS       if set: exactly this many requests shared by the VUs, and DURATION is
//                    the maximum time they may take (both bounds hold)
//   RUN_ID           tag value that ties the samples to one run (default "standalone")
//   THRESHOLDS       k6 thresholds as JSON: {"metric": ["expression", ...], ...}
//   THRESHOLDS_B64   the same JSON, base64url-encoded (used by the k6-operator manifest, whose
//                    arguments must be free of spaces and shell characters)
//   LATENCY_OBJECTIVE_MS  if set: the latency objective in ms (the bound of the p(95)
//                    threshold); each request is counted slower than it or not
//                    (mc_over_latency_objective), so runs split over several k6 processes can
//                    be judged on their merged counts (percentiles do not merge)
//
// Thresholds come from the caller: pytest-mc derives them from the QI catalog and the tenant's
// SLO baseline (pytest_mc/drivers/k6.py). Without THRESHOLDS this script applies safe
// defaults that no catalog can be looser than: no failed request (http_req_failed rate==0,
// where only 5xx and transport errors fail, as only those burn the error budget) and no ad-hoc
// query at all (mc_non_persisted rate==0). It holds no latency default: the latency objective
// is the tenant's own SLO baseline, which only the caller knows.
//
// Custom metrics:
//   mc_persisted_requests  Counter  persisted queries sent
//   mc_adhoc_requests      Counter  ad-hoc queries sent (refused or not)
//   mc_non_persisted       Rate     1 per ad-hoc query, 0 per persisted query
//   mc_adhoc_refused       Counter  ad-hoc queries refused with 403 persisted_only
//   mc_denied_requests     Counter  other 4xx answers except 404 (purpose, budget, residency)
//   mc_over_latency_objective  Rate  1 per request slower than LATENCY_OBJECTIVE_MS, else 0
//                          (only with LATENCY_OBJECTIVE_MS)
import http from 'k6/http';
import encoding from 'k6/encoding';
import { check } from 'k6';
import { Counter, Rate } from 'k6/metrics';

function required(name) {
  const value = __ENV[name];
  if (!value) {
    throw new Error(`${name} is required: k6 run -e ${name}=... k6/tenant-traffic.js`);
  }
  return value;
}

function fraction(name, fallback) {
  const raw = __ENV[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!(value >= 0 && value <= 1)) {
    throw new Error(`${name} must be a fraction between 0 and 1, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function positiveInt(name, fallback) {
  const raw = __ENV[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function thresholds() {
  let raw = __ENV.THRESHOLDS;
  if (!raw && __ENV.THRESHOLDS_B64) {
    raw = encoding.b64decode(__ENV.THRESHOLDS_B64, 'rawurl', 's');
  }
  if (!raw) {
    return { http_req_failed: ['rate==0'], mc_non_persisted: ['rate==0'] };
  }
  let parsed;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new Error(`THRESHOLDS is not JSON (${err}): ${raw}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`THRESHOLDS must be an object {"metric": ["expression"]}, got ${raw}`);
  }
  return parsed;
}

const GLB_URL = required('GLB_URL').replace(/\/+$/, '');
const TENANT = __ENV.TENANT || 'TENANT_001';
const PURPOSE = __ENV.PURPOSE === undefined ? 'service' : __ENV.PURPOSE;
const ADHOC_SHARE = fraction('ADHOC_SHARE', 0);
const WRITE_SHARE = fraction('WRITE_SHARE', 0.5);
const UNIQUE_KEYS = __ENV.KEYS === 'unique';
const KEYS = UNIQUE_KEYS ? null : positiveInt('KEYS', 100);
const VUS = positiveInt('VUS', 1);
const DURATION = __ENV.DURATION || '10s';
const ITERATIONS = __ENV.ITERATIONS ? positiveInt('ITERATIONS', 1) : null;
const RUN_ID = __ENV.RUN_ID || 'standalone';
const LATENCY_OBJECTIVE_MS = __ENV.LATENCY_OBJECTIVE_MS ? Number(__ENV.LATENCY_OBJECTIVE_MS) : null;
if (LATENCY_OBJECTIVE_MS !== null && !(LATENCY_OBJECTIVE_MS > 0)) {
  throw new Error(
    `LATENCY_OBJECTIVE_MS must be a positive number, got ${JSON.stringify(__ENV.LATENCY_OBJECTIVE_MS)}`,
  );
}

// gracefulStop bounds how long an iteration still in flight at the end may run on.
const scenario = ITERATIONS
  ? {
      executor: 'shared-iterations',
      vus: VUS,
      iterations: ITERATIONS,
      maxDuration: DURATION,
      gracefulStop: '5s',
    }
  : { executor: 'constant-vus', vus: VUS, duration: DURATION, gracefulStop: '5s' };

export const options = {
  scenarios: { tenant_traffic: scenario },
  thresholds: thresholds(),
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'],
  tags: { tenant: TENANT, run_id: RUN_ID },
};

const persistedRequests = new Counter('mc_persisted_requests');
const adhocRequests = new Counter('mc_adhoc_requests');
const nonPersisted = new Rate('mc_non_persisted');
const adhocRefused = new Counter('mc_adhoc_refused');
const deniedRequests = new Counter('mc_denied_requests');
const overLatencyObjective = new Rate('mc_over_latency_objective');

// Only 5xx and transport errors fail a request: the contract counts only those against the
// error budget, while 4xx (404 on an unwritten key, 403 refusals) are the target's answers.
http.setResponseCallback(http.expectedStatuses({ min: 200, max: 499 }));

const headers = { 'Content-Type': 'application/json' };
if (PURPOSE) {
  headers['X-MC-Purpose'] = PURPOSE;
}
const URL = `${GLB_URL}/v1/tenants/${TENANT}/query`;

function errorCode(res) {
  try {
    return res.json('error') || '';
  } catch (_) {
    return '';
  }
}

function keyOf(write) {
  if (!UNIQUE_KEYS) {
    return `k6:${RUN_ID}:${Math.floor(Math.random() * KEYS)}`;
  }
  const iteration = write ? __ITER : Math.floor(Math.random() * Math.max(1, __ITER));
  return `k6:${RUN_ID}:${__VU}:${iteration}`;
}

export default function () {
  const adhoc = Math.random() < ADHOC_SHARE;
  const write = !adhoc && Math.random() < WRITE_SHARE;
  const key = keyOf(write);
  let body;
  let query;
  if (adhoc) {
    query = 'adhoc';
    body = { query: `get ${key}` };
  } else if (write) {
    query = 'put_entity';
    body = { id: query, variables: { key: key, value: `${__VU}-${__ITER}` } };
  } else {
    query = 'get_entity';
    body = { id: query, variables: { key: key } };
  }
  const kind = adhoc ? 'adhoc' : 'persisted';
  const tags = { tenant: TENANT, kind: kind, query: query };
  const res = http.post(URL, JSON.stringify(body), { headers: headers, tags: tags });

  (adhoc ? adhocRequests : persistedRequests).add(1, tags);
  nonPersisted.add(adhoc, tags);
  if (LATENCY_OBJECTIVE_MS !== null) {
    // the same figure k6 puts in http_req_duration
    overLatencyObjective.add(res.timings.duration > LATENCY_OBJECTIVE_MS, tags);
  }
  const code = res.status >= 400 && res.status < 500 ? errorCode(res) : '';
  if (adhoc && code === 'persisted_only') {
    adhocRefused.add(1, tags);
  } else if (res.status >= 400 && res.status < 500 && res.status !== 404) {
    deniedRequests.add(1, { tenant: TENANT, kind: kind, code: code || String(res.status) });
  }
  check(res, { 'answered without a server error': (r) => r.status >= 200 && r.status < 500 }, tags);
}
