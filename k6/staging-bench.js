// Load for benchmarks/bench_staging.py: persisted reads and writes of one tenant against a
// base URL (the GLB or one region). Built-in k6 modules only (runs offline).
//   k6 run -e BASE_URL=http://127.0.0.1:PORT -e TENANT=TENANT_001 k6/staging-bench.js
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL;
const TENANT = __ENV.TENANT || 'TENANT_001';
const WRITE_RATIO = parseFloat(__ENV.WRITE_RATIO || '0.5');
const PARAMS = { headers: { 'Content-Type': 'application/json', 'X-MC-Purpose': 'service' } };

// Closed loop (VUS busy users, measures saturation throughput) unless RATE is set: then an
// open-loop constant arrival rate of RATE requests per second (a tenant's declared peak).
const RATE = parseInt(__ENV.RATE || '0', 10);
const DURATION = __ENV.DURATION || '10s';
const VUS = parseInt(__ENV.VUS || '8', 10);

export const options = {
  scenarios: RATE > 0
    ? { load: { executor: 'constant-arrival-rate', rate: RATE, timeUnit: '1s',
                duration: DURATION, preAllocatedVUs: VUS * 4, maxVUs: VUS * 8 } }
    : { load: { executor: 'constant-vus', vus: VUS, duration: DURATION } },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
  thresholds: { checks: ['rate>0.99'] },
};

http.setResponseCallback(http.expectedStatuses(200, 404));

// Writes create new keys (one per VU iteration) and reads pick an earlier key of the same VU:
// with the GLB spreading an A/A tenant over two regions, rewriting a small shared keyspace would
// measure the conflict tripwire (it rolls the tenant back to A/P), not throughput.
export default function () {
  const write = __ITER === 0 || Math.random() < WRITE_RATIO;
  const key = write
    ? `bench:${__VU}:${__ITER}`
    : `bench:${__VU}:${Math.floor(Math.random() * __ITER)}`;
  const body = write
    ? { id: 'put_entity', variables: { key: key, value: `${__VU}-${__ITER}` } }
    : { id: 'get_entity', variables: { key: key } };
  const res = http.post(`${BASE_URL}/v1/tenants/${TENANT}/query`, JSON.stringify(body), PARAMS);
  check(res, { 'served': (r) => r.status === 200 || r.status === 404 });
}
