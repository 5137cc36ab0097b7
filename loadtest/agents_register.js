// k6: the Rust reference's public agent registration scenario (REFERENCE.md §2.6,
// load/agents_register.js), request for request: 5 VUs for 30 s, 0.2 s think time,
// POST /api/v1/agents/register with only Content-Type and a read-only agent body.
// Passes when every answer is 200 (registered), 403 (registration disabled) or 429 (per-IP limit).
//   SEQUENCER_BASE_URL (default http://localhost:8080); ALLOW_PUBLIC_REGISTRATION_LOAD=true is
//   required, because every 200 creates a tenant.
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter } from 'k6/metrics';
import { uuidv4 } from './lib/uuid.js';

const BASE_URL = __ENV.SEQUENCER_BASE_URL || 'http://localhost:8080';

if (__ENV.ALLOW_PUBLIC_REGISTRATION_LOAD !== 'true') {
  throw new Error('Set ALLOW_PUBLIC_REGISTRATION_LOAD=true: this test creates tenants');
}

const byStatus = {
  200: new Counter('registered'),
  403: new Counter('registration_disabled'),
  429: new Counter('registration_limited'),
};

export const options = {
  vus: 5,
  duration: '30s',
  thresholds: {
    checks: ['rate==1.0'],
  },
};

export default function () {
  const body = JSON.stringify({
    name: `load-agent-${uuidv4()}`,
    description: 'load test agent registration',
    readOnly: true,
  });
  const res = http.post(`${BASE_URL}/api/v1/agents/register`, body, {
    headers: { 'Content-Type': 'application/json' },
  });
  check(res, {
    'status is 200, 403 or 429': (r) => r.status === 200 || r.status === 403 || r.status === 429,
    '429 carries Retry-After': (r) => r.status !== 429 || r.headers['Retry-After'] !== undefined,
    '200 is not cacheable': (r) => r.status !== 200 || r.headers['Cache-Control'] === 'no-store',
  });
  if (byStatus[res.status]) {
    byStatus[res.status].add(1);
  }
  sleep(0.2);
}
