// Shared pieces of the k6 scripts: profiles, thresholds, headers, 1 KB payloads, stream ids.
//   PROFILE   smoke | sustained (default) | stress
//   VUS       virtual users (sustained; stress ramps to 4x), DURATION (default 60s)
//   THRESHOLDS JSON object overriding a script's thresholds (the Python runner passes the
//             targets from loadtest/scenarios.py, the single source of the numbers)
const PROFILE = __ENV.PROFILE || 'sustained';
const VUS = parseInt(__ENV.VUS || '8', 10);
const DURATION = __ENV.DURATION || '60s';

export const API_KEY = __ENV.API_KEY;
export const BASE_URL = __ENV.BASE_URL || 'http://127.0.0.1:8080';
export const TENANT_ID = __ENV.TENANT_ID || '00000000-0000-0000-0000-000000000001';
if (!API_KEY) {
  throw new Error('API_KEY is required');
}
export const headers = { 'Content-Type': 'application/json', Authorization: `ApiKey ${API_KEY}` };

function seconds(text) {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!m) throw new Error(`bad duration ${text}`);
  const n = parseFloat(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
}

// The k6 scenario for the chosen profile. `iterations` (each body used once) switches to the
// shared-iterations executor, which ends when the bodies run out or at DURATION.
export function scenarioFor(iterations) {
  const total = seconds(DURATION);
  if (iterations) {
    const vus = PROFILE === 'smoke' ? 1 : PROFILE === 'stress' ? VUS * 4 : VUS;
    return { executor: 'shared-iterations', vus, iterations, maxDuration: `${total}s` };
  }
  if (PROFILE === 'smoke') {
    return { executor: 'constant-vus', vus: 1, duration: __ENV.DURATION || '5s' };
  }
  if (PROFILE === 'stress') {
    const third = Math.max(1, Math.round(total / 3));
    return {
      executor: 'ramping-vus',
      startVUs: 1,
      stages: [
        { duration: `${third}s`, target: VUS },
        { duration: `${third}s`, target: VUS * 4 },
        { duration: `${third}s`, target: VUS * 4 },
      ],
      gracefulRampDown: '5s',
    };
  }
  return { executor: 'constant-vus', vus: VUS, duration: `${total}s` };
}

export function optionsWith(defaultThresholds, iterations) {
  const thresholds = __ENV.THRESHOLDS ? JSON.parse(__ENV.THRESHOLDS) : defaultThresholds;
  return {
    scenarios: { main: scenarioFor(iterations) },
    thresholds,
    summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'],
    discardResponseBodies: false,
  };
}

// A payload whose JSON is PAYLOAD_BYTES long (default 1024), built once per VU.
const PAYLOAD_BYTES = parseInt(__ENV.PAYLOAD_BYTES || '1024', 10);
const skeleton = JSON.stringify({ order_id: '00000000-0000-0000-0000-000000000000', total: 42, note: '' });
const padding = 'x'.repeat(Math.max(0, PAYLOAD_BYTES - skeleton.length));
export function payload(id) {
  return { order_id: id, total: 42, note: padding };
}

// Store ids of a run: STORE_PREFIX (8 hex, fresh per run) + the stream number.
const STORE_PREFIX = __ENV.STORE_PREFIX || '00000000';
export function storeId(n) {
  return `${STORE_PREFIX}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}
