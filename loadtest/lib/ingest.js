// One legacy ingest request of `batch` events (1 KB payloads, see common.js) to `store`;
// counts accepted events in `counter`. Used by ingest_batch.js and mixed.js.
import http from 'k6/http';
import { check } from 'k6';
import { uuidv4 } from './uuid.js';
import { BASE_URL, TENANT_ID, headers, payload } from './common.js';

export function postBatch(store, batch, counter) {
  const createdAt = new Date().toISOString();
  const events = [];
  for (let i = 0; i < batch; i++) {
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
  if (check(res, { 'ingest status is 200': (r) => r.status === 200 })) {
    counter.add(res.json('events_accepted'));
  }
}
