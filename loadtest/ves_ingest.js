// k6: signed VES ingest. k6 cannot sign Ed25519 cheaply, so the Python runner signs the events
// before the clock starts (loadtest/seed.py) and writes one request body per line to BODIES;
// each body is posted exactly once (shared-iterations executor), so the run ends when the
// bodies run out or at DURATION, whichever comes first.
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import { SharedArray } from 'k6/data';
import { BASE_URL, headers, optionsWith } from './lib/common.js';

const bodies = new SharedArray('ves-bodies', () => open(__ENV.BODIES).split('\n').filter((l) => l.length > 0));

export const eventsSequenced = new Counter('events_sequenced');
export const options = optionsWith(
  {
    http_req_failed: ['rate<0.001'],
    'http_req_duration{name:ves_ingest}': ['p(99)<100'],
  },
  bodies.length,
);

export default function () {
  const body = bodies[exec.scenario.iterationInTest];
  const res = http.post(`${BASE_URL}/api/v1/ves/events/ingest`, body, { headers, tags: { name: 'ves_ingest' } });
  if (check(res, { 'ves ingest status is 200': (r) => r.status === 200 })) {
    eventsSequenced.add(res.json('eventsAccepted'));
  }
}
