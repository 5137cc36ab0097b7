"""Pre-sign x402 intents for ``loadtest/x402_submit.js`` (k6 has no Ed25519 signer).

    python -m loadtest.x402_prepare --url http://127.0.0.1:8113 --count 3000 --streams 4 \\
        --out /tmp/x402_bodies.json

Registers one agent key through the API (bootstrap admin key from ``--api-key`` or the
environment) and writes ``count`` signed bodies with distinct nonces, spread over ``streams``
store ids of one tenant, valid for one hour.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

import httpx
import orjson

from payments.hashing import signing_hash
from ves.signing import public_key_from_seed, sign


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", default=os.environ.get("BOOTSTRAP_ADMIN_API_KEY", ""))
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    tenant_id, agent_id, seed = uuid.uuid4(), uuid.uuid4(), os.urandom(32)
    stores = [uuid.uuid4() for _ in range(args.streams)]
    headers = {"Authorization": f"ApiKey {args.api_key}", "Content-Type": "application/json"}
    key = {
        "tenantId": str(tenant_id),
        "agentId": str(agent_id),
        "keyId": 1,
        "publicKey": public_key_from_seed(seed).hex(),
    }
    response = httpx.post(f"{args.url}/api/v1/agents/keys", content=orjson.dumps(key), headers=headers, timeout=30)
    if response.status_code not in (200, 201):
        print(f"key registration failed: {response.status_code} {response.text}", file=sys.stderr)
        return 1
    payer, payee = "0x" + os.urandom(20).hex(), "0x" + os.urandom(20).hex()
    valid_until = int(time.time()) + 3600
    bodies = []
    for nonce in range(args.count):
        digest = signing_hash(
            payer=payer, payee=payee, amount=1000 + nonce, asset="usdc", network="set_chain",
            valid_until=valid_until, nonce=nonce,
        )  # fmt: skip
        bodies.append(
            {
                "tenant_id": str(tenant_id),
                "store_id": str(stores[nonce % len(stores)]),
                "source_agent_id": str(agent_id),
                "agent_key_id": 1,
                "payer_address": payer,
                "payee_address": payee,
                "amount": 1000 + nonce,
                "asset": "usdc",
                "network": "set_chain",
                "valid_until": valid_until,
                "nonce": nonce,
                "signing_hash": "0x" + digest.hex(),
                "payer_signature": "0x" + sign(seed, digest).hex(),
            }
        )
    args.out.write_bytes(orjson.dumps(bodies))
    print(f"tenant {tenant_id}: {len(bodies)} signed intents over {len(stores)} stores -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
