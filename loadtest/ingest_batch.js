// k6: legacy ingest of BATCH events per request (1 KB payloads) over STREAMS streams.
//   BATCH (default 100), STREAMS (default 64; 1 = one hot stream), plus lib/common.js settings.
// Each iteration writes the next stream of the VU's round robin, so every stream is used even
// with fewer VUs than streams. events_sequenced counts accepted events (its rate is events/s).
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { uuidv4 } from './lib/uuid.js';
import { BASE_URL, TENANT_ID, headers, optionsWith, payload, storeId } from './lib/common.js';

const BATCH = parseInt(__ENV.BATCH || '100', 10);
const STREAMS = parseInt(__ENV.STREAMS || '64', 10);

export const eventsSequenced = new Counter('events_sequenced');
export const options = optionsWith({
  http_req_failed: ['rate<0.001'],
  'http_req_duration{name:ingest}': ['p(99)<100'],
});

export default function () {
  const store = storeId((__VU * 7 + __ITER) % STREAMS);
  const createdAt = new Date().toISOString();
  const events = [];
  for (let i = 0; i < BATCH; i++) {
    const eventId = uuidv4();
    events.push({
      event_id: eventId,
      tenant_id: TENANT_ID,
      store_id: store,
      entity_type: 'order',
      entity_id: `order-${eventId}`,
      event_type: 'order.created',
      payload: payload(eventId),
      created_at: createdAt,
    });
  }
  const res = http.post(`${BASE_URL}/api/v1/events/ingest`, JSON.stringify({ events }), {
    headers,
    tags: { name: 'ingest' },
  });
  const ok = check(res, { 'ingest status is 200': (r) => r.status === 200 });
  if (ok) eventsSequenced.add(res.json('events_accepted'));
}
