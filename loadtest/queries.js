// k6: the three read shapes of the read targets (docs/performance.md), in equal shares: one event by id, an entity's history
// (one page of 100), a contiguous range of 100. FIXTURE is the JSON file the Python runner
// writes after seeding (loadtest/seed.py): tenant_id, store_id, event_ids, entities, head.
import http from 'k6/http';
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import { BASE_URL, headers, optionsWith } from './lib/common.js';

const fixture = new SharedArray('fixture', () => [JSON.parse(open(__ENV.FIXTURE))])[0];

export const options = optionsWith({
  http_req_failed: ['rate<0.001'],
  'http_req_duration{name:event_by_id}': ['p(95)<5'],
  'http_req_duration{name:entity_history}': ['p(95)<10'],
  'http_req_duration{name:range_100}': ['p(95)<20'],
});

export function pick(items) {
  return items[Math.floor(Math.random() * items.length)];
}

export function query(f, which) {
  const stream = `tenant_id=${f.tenant_id}&store_id=${f.store_id}`;
  let res;
  if (which === 0) {
    res = http.get(`${BASE_URL}/api/v1/events/${pick(f.event_ids)}`, { headers, tags: { name: 'event_by_id' } });
  } else if (which === 1) {
    const e = pick(f.entities);
    res = http.get(`${BASE_URL}/api/v1/entities/${e[0]}/${e[1]}?${stream}&limit=100`, {
      headers,
      tags: { name: 'entity_history' },
    });
  } else {
    const from = 1 + Math.floor(Math.random() * Math.max(1, f.head - 99));
    res = http.get(`${BASE_URL}/api/v1/events?${stream}&from=${from}&limit=100`, {
      headers,
      tags: { name: 'range_100' },
    });
  }
  check(res, { 'query status is 200': (r) => r.status === 200 });
}

export default function () {
  query(fixture, __ITER % 3);
}
