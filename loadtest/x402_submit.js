// k6: submit pre-signed x402 intents (loadtest/x402_prepare.py) at a moderate constant rate and
// report POST /api/v1/x402/payments latency.
//   BASE_URL, API_KEY (required), BODIES (path of the prepared JSON), RATE (req/s, default 50),
//   DURATION (default 30s), VUS (pre-allocated, default 20)
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { SharedArray } from 'k6/data';

const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8113';
const API_KEY = __ENV.API_KEY;
if (!API_KEY) {
  throw new Error('API_KEY is required');
}
const bodies = new SharedArray('x402 bodies', () => JSON.parse(open(__ENV.BODIES)));

export const options = {
  scenarios: {
    submit: {
      executor: 'constant-arrival-rate',
      rate: parseInt(__ENV.RATE || '50', 10),
      timeUnit: '1s',
      duration: __ENV.DURATION || '30s',
      preAllocatedVUs: parseInt(__ENV.VUS || '20', 10),
    },
  },
  thresholds: {
    'http_req_failed': ['rate<0.001'],
    'http_req_duration{name:x402_submit}': ['p(50)<50'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
};

const headers = { 'Content-Type': 'application/json', Authorization: `ApiKey ${API_KEY}` };

export default function () {
  const i = exec.scenario.iterationInTest;
  if (i >= bodies.length) {
    return;
  }
  const res = http.post(`${BASE_URL}/api/v1/x402/payments`, JSON.stringify(bodies[i]), {
    headers,
    tags: { name: 'x402_submit' },
  });
  check(res, { 'sequenced (200)': (r) => r.status === 200 });
}
