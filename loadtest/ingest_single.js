// k6: the Rust reference's single-event legacy ingest body (load/sequencer_ingest.js) plus
// head reads (load/mixed_workload.js), without think time, to measure capacity.
//   BASE_URL, API_KEY (required), TENANT_ID, STORE_ID, AGENT_ID, HEAD_EVERY (default 4),
//   STREAMS (default 1: one hot stream; N > 1 spreads VUs over N store ids), SLEEP (seconds),
//   and the profile settings of lib/common.js (PROFILE, VUS, DURATION, THRESHOLDS)
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter } from 'k6/metrics';
import { uuidv4 } from './lib/uuid.js';
import { BASE_URL, TENANT_ID, headers, optionsWith } from './lib/common.js';
import { orderEvent } from './lib/ingest.js';

const STORE_ID = __ENV.STORE_ID || '00000000-0000-0000-0000-000000000001';
const AGENT_ID = __ENV.AGENT_ID || '00000000-0000-0000-0000-000000000000';
const HEAD_EVERY = parseInt(__ENV.HEAD_EVERY || '4', 10);
const STREAMS = parseInt(__ENV.STREAMS || '1', 10);
const SLEEP = parseFloat(__ENV.SLEEP || '0');

export const eventsSequenced = new Counter('events_sequenced');

export const options = optionsWith({
  http_req_failed: ['rate<0.001'],
  'http_req_duration{name:ingest}': ['p(99)<1000'],
  'http_req_duration{name:head}': ['p(95)<100'],
});

function storeFor(vu) {
  if (STREAMS <= 1) return STORE_ID;
  const n = (vu % STREAMS).toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${n}`;
}

export default function () {
  const eventId = uuidv4();
  const store = storeFor(__VU);
  const body = JSON.stringify({
    agent_id: AGENT_ID,
    events: [orderEvent(eventId, store, { order_id: eventId, total: 42 }, new Date().toISOString())],
  });
  const res = http.post(`${BASE_URL}/api/v1/events/ingest`, body, { headers, tags: { name: 'ingest' } });
  const ok = check(res, {
    'ingest status is 200': (r) => r.status === 200,
    'ingest got a sequence number': (r) => r.status === 200 && typeof r.json('receipts.0.sequence_number') === 'number',
  });
  if (ok) eventsSequenced.add(1);
  if (HEAD_EVERY > 0 && __ITER % HEAD_EVERY === 0) {
    const head = http.get(`${BASE_URL}/api/v1/head?tenant_id=${TENANT_ID}&store_id=${store}`, {
      headers,
      tags: { name: 'head' },
    });
    check(head, { 'head status is 200': (r) => r.status === 200 });
  }
  if (SLEEP > 0) sleep(SLEEP);
}
