// k6: the mixed workload (docs/performance.md "Load tests") by request share: 70 % legacy ingest (BATCH events, default
// 10, over STREAMS streams), 20 % queries (queries.js), 10 % commitments and proofs (a legacy
// proof, the VES log checkpoint, a VES log inclusion proof, the commitments list).
// FIXTURE as in queries.js plus ves_store_id, legacy_committed, ves_committed (loadtest/seed.py).
import http from 'k6/http';
import { check } from 'k6';
import { SharedArray } from 'k6/data';
import { BASE_URL, headers, optionsWith } from './lib/common.js';
import { INGEST_THRESHOLDS, batchWriter } from './lib/ingest.js';
import { query } from './queries.js';

const fixture = new SharedArray('mixed-fixture', () => [JSON.parse(open(__ENV.FIXTURE))])[0];
const writeBatch = batchWriter(10);

export const options = optionsWith({
  ...INGEST_THRESHOLDS,
  'http_req_duration{name:event_by_id}': ['p(95)<5'],
  'http_req_duration{name:entity_history}': ['p(95)<10'],
  'http_req_duration{name:range_100}': ['p(95)<20'],
});

function proofs(which) {
  const f = fixture;
  const legacy = `tenant_id=${f.tenant_id}&store_id=${f.store_id}`;
  const ves = `tenant_id=${f.tenant_id}&store_id=${f.ves_store_id}`;
  const seq = (n) => 1 + Math.floor(Math.random() * n);
  let res;
  if (which === 0) {
    res = http.get(`${BASE_URL}/api/v1/proofs/${seq(f.legacy_committed)}?${legacy}`, { headers, tags: { name: 'proof' } });
  } else if (which === 1) {
    res = http.get(`${BASE_URL}/api/v1/ves/log/checkpoint?${ves}`, { headers, tags: { name: 'ves_checkpoint' } });
  } else if (which === 2) {
    res = http.get(`${BASE_URL}/api/v1/ves/log/proofs/inclusion?${ves}&sequence_number=${seq(f.ves_committed)}`, {
      headers,
      tags: { name: 'ves_inclusion' },
    });
  } else {
    res = http.get(`${BASE_URL}/api/v1/commitments?${legacy}&limit=20`, { headers, tags: { name: 'commitments' } });
  }
  check(res, { 'proof status is 200': (r) => r.status === 200 });
}

export default function () {
  const r = Math.random();
  if (r < 0.7) writeBatch();
  else if (r < 0.9) query(fixture, __ITER % 3);
  else proofs(__ITER % 4);
}
