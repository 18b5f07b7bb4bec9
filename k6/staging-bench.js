// Load for benchmarks/bench_staging.py: persisted reads and writes of one tenant against a
// base URL (the GLB or one region). Built-in k6 modules only (runs offline).
//   k6 run -e BASE_URL=http://127.0.0.1:PORT -e TENANT=TENANT_001 k6/staging-bench.js
import http from 'k6/http';
import { check } from 'k6';

const BASE_URL = __ENV.BASE_URL;
const TENANT = __ENV.TENANT || 'TENANT_001';
const KEYS = parseInt(__ENV.KEYS || '2000', 10);
const WRITE_RATIO = parseFloat(__ENV.WRITE_RATIO || '0.5');
const PARAMS = { headers: { 'Content-Type': 'application/json', 'X-MC-Purpose': 'service' } };

export const options = {
  vus: parseInt(__ENV.VUS || '8', 10),
  duration: __ENV.DURATION || '10s',
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max'],
  thresholds: { checks: ['rate>0.99'] },
};

http.setResponseCallback(http.expectedStatuses(200, 404));

export default function () {
  const key = `bench:${Math.floor(Math.random() * KEYS)}`;
  const write = Math.random() < WRITE_RATIO;
  const body = write
    ? { id: 'put_entity', variables: { key: key, value: `${__VU}-${__ITER}` } }
    : { id: 'get_entity', variables: { key: key } };
  const res = http.post(`${BASE_URL}/v1/tenants/${TENANT}/query`, JSON.stringify(body), PARAMS);
  check(res, { 'served': (r) => r.status === 200 || r.status === 404 });
}
