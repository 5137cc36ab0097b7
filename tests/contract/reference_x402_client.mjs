// Drive the Rust reference's own x402 client (cli/src/x402/client.js, unchanged) against a
// running sequencer and print what it got back as one JSON document on stdout.
//
// The only addition is the credential: the reference client sends no Authorization header,
// so fetch is wrapped to add `Authorization: ApiKey $X402_API_KEY` to every request.
// Settlement is not a method of the client (the reference records it with an admin call), so
// that one request is a plain fetch with the same credential.
//
// Environment:
//   X402_CLIENT_MODULE  file:// URL of the reference's src/x402/client.js (deps installed next to it)
//   X402_API_URL        sequencer base URL, e.g. http://127.0.0.1:8091
//   X402_API_KEY        API key with write and admin rights on the tenant
//   X402_TENANT_ID, X402_STORE_ID, X402_AGENT_ID   as the reference CLI reads them
//   X402_PRIVATE_KEY    the agent's Ed25519 seed (hex); its public key must be registered
//                       for (tenant, agent, key 1) before this runs
//
// Exit status 0 with the JSON document, or 1 with the client's error on stderr.

const { X402Client, loadPrivateKey } = await import(process.env.X402_CLIENT_MODULE);

const baseUrl = process.env.X402_API_URL;
const apiKey = process.env.X402_API_KEY;
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init = {}) =>
  realFetch(url, { ...init, headers: { ...(init.headers || {}), Authorization: `ApiKey ${apiKey}` } });

const client = new X402Client({
  baseUrl,
  tenantId: process.env.X402_TENANT_ID,
  storeId: process.env.X402_STORE_ID,
  agentId: process.env.X402_AGENT_ID,
  privateKey: loadPrivateKey(),
  keyId: 1,
});

const payee = '0x' + 'ab'.repeat(20);
const nonce = Date.now() * 1000;
const out = {};

try {
  out.submitted = [
    await client.submitPayment({ payee, amount: 1_000_000, description: 'API access', nonce }),
    await client.submitPayment({
      payee,
      amount: 500_000n,
      asset: 'ssusd',
      resourceUri: 'https://example.com/data/1',
      idempotencyKey: `demo-${nonce}`,
      nonce: nonce + 1,
    }),
  ];
  const ids = out.submitted.map((s) => s.intent_id);
  out.status = await client.getStatus(ids[0]);
  out.listed = await client.listPayments({ limit: 10 });
  out.batch_created = await client.createBatch({ maxSize: 100 });
  out.batch = await client.getBatch(out.batch_created.batch_id);
  const settle = await fetch(`${baseUrl}/api/v1/x402/batches/settle`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      batch_id: out.batch_created.batch_id,
      tx_hash: '0x' + '5e'.repeat(32),
      block_number: 1234,
      gas_used: 21000,
    }),
  });
  out.settle_status = settle.status;
  out.settled = await settle.json();
  out.receipts = [];
  for (const id of ids) out.receipts.push(await client.getReceipt(id));
  out.status_after = await client.getStatus(ids[0]);
  out.listed_settled = await client.listPayments({ status: 'settled', payerAddress: out.listed[0].payer_address });
} catch (error) {
  console.error(`reference client failed: ${error.message}`);
  console.error(JSON.stringify(out));
  process.exit(1);
}

console.log(JSON.stringify(out, null, 2));
