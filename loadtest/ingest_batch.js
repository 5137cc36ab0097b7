// k6: legacy ingest of BATCH events per request (1 KB payloads) over STREAMS streams.
//   BATCH (default 100), STREAMS (default 64; 1 = one hot stream), plus lib/common.js settings.
// Each iteration writes the next stream of the VU's round robin (lib/ingest.js, batchWriter).
import { optionsWith } from './lib/common.js';
import { INGEST_THRESHOLDS, batchWriter } from './lib/ingest.js';

const writeBatch = batchWriter(100);
export const options = optionsWith(INGEST_THRESHOLDS);

export default function () {
  writeBatch();
}
