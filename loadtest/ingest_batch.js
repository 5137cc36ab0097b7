// k6: legacy ingest of BATCH events per request (1 KB payloads) over STREAMS streams.
//   BATCH (default 100), STREAMS (default 64; 1 = one hot stream), plus lib/common.js settings.
// Each iteration writes the next stream of the VU's round robin, so every stream is used even
// with fewer VUs than streams. events_sequenced counts accepted events (its rate is events/s).
import { Counter } from 'k6/metrics';
import { optionsWith, storeId } from './lib/common.js';
import { postBatch } from './lib/ingest.js';

const BATCH = parseInt(__ENV.BATCH || '100', 10);
const STREAMS = parseInt(__ENV.STREAMS || '64', 10);

export const eventsSequenced = new Counter('events_sequenced');
export const options = optionsWith({
  http_req_failed: ['rate<0.001'],
  'http_req_duration{name:ingest}': ['p(99)<100'],
});

export default function () {
  postBatch(storeId((__VU * 7 + __ITER) % STREAMS), BATCH, eventsSequenced);
}
