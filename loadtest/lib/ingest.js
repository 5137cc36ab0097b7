// Legacy ingest: the event every ingest script posts, and the batched writer of ingest_batch.js
// and mixed.js (1 KB payloads, see common.js).
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';
import { uuidv4 } from './uuid.js';
import { BASE_URL, TENANT_ID, headers, payload, storeId } from './common.js';

// The default thresholds of the batched ingest requests (the runner passes its own, see common.js).
export const INGEST_THRESHOLDS = {
  http_req_failed: ['rate<0.001'],
  'http_req_duration{name:ingest}': ['p(99)<100'],
};

// An `order.created` event of the run's tenant on `store`, with its own entity.
export function orderEvent(eventId, store, body, createdAt) {
  return {
    event_id: eventId,
    tenant_id: TENANT_ID,
    store_id: store,
    entity_type: 'order',
    entity_id: `order-${eventId}`,
    event_type: 'order.created',
    payload: body,
    created_at: createdAt,
  };
}

// One request of `batch` events to `store`; counts accepted events in `counter`.
export function postBatch(store, batch, counter) {
  const createdAt = new Date().toISOString();
  const events = [];
  for (let i = 0; i < batch; i++) {
    const eventId = uuidv4();
    events.push(orderEvent(eventId, store, payload(eventId), createdAt));
  }
  const res = http.post(`${BASE_URL}/api/v1/events/ingest`, JSON.stringify({ events }), {
    headers,
    tags: { name: 'ingest' },
  });
  if (check(res, { 'ingest status is 200': (r) => r.status === 200 })) {
    counter.add(res.json('events_accepted'));
  }
}

// The batched writer, called once in the init context: BATCH events per request (default
// `defaultBatch`) over STREAMS streams (default 64; 1 = one hot stream). Each call of the function
// it returns writes the next stream of the VU's round robin, so every stream is used even with
// fewer VUs than streams; events_sequenced counts accepted events (its rate is events/s).
export function batchWriter(defaultBatch) {
  const batch = parseInt(__ENV.BATCH || String(defaultBatch), 10);
  const streams = parseInt(__ENV.STREAMS || '64', 10);
  const eventsSequenced = new Counter('events_sequenced');
  return () => postBatch(storeId((__VU * 7 + __ITER) % streams), batch, eventsSequenced);
}
