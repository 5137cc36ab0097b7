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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from ves.client import AgentSigner, X402Payment, signing_key_body, x402_intent_body


@dataclass(frozen=True)
class Signer:
    """One agent of a new tenant, its Ed25519 seed, and a payer/payee pair."""

    tenant_id: uuid.UUID
    agent_id: uuid.UUID
    seed: bytes
    payer: str
    payee: str

    @classmethod
    def new(cls) -> Signer:
        return cls(uuid.uuid4(), uuid.uuid4(), os.urandom(32), "0x" + os.urandom(20).hex(), "0x" + os.urandom(20).hex())

    @property
    def signer(self) -> AgentSigner:
        """The agent's key as the SDK signs with it (key id 1)."""
        return AgentSigner(seed=self.seed, agent_id=self.agent_id, key_id=1)

    def register(self, url: str, api_key: str) -> str | None:
        """Register the agent key through the API; an error message, or ``None`` when done."""
        signer = self.signer
        key = signing_key_body(self.tenant_id, signer.agent_id, signer.key_id, signer.public_key)
        headers = {"Authorization": f"ApiKey {api_key}", "Content-Type": "application/json"}
        response = httpx.post(f"{url}/api/v1/agents/keys", content=orjson.dumps(key), headers=headers, timeout=30)
        if response.status_code not in (200, 201):
            return f"key registration failed: {response.status_code} {response.text}"
        return None

    def body(self, *, store_id: uuid.UUID, nonce: int, valid_until: int) -> dict[str, Any]:
        """A signed ``POST /api/v1/x402/payments`` body (amount ``1000 + nonce``)."""
        payment = X402Payment(
            payer_address=self.payer,
            payee_address=self.payee,
            amount=1000 + nonce,
            nonce=nonce,
            valid_until=valid_until,
        )
        return x402_intent_body(self.signer, self.tenant_id, store_id, payment)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", default=os.environ.get("BOOTSTRAP_ADMIN_API_KEY", ""))
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    signer = Signer.new()
    stores = [uuid.uuid4() for _ in range(args.streams)]
    if (error := signer.register(args.url, args.api_key)) is not None:
        print(error, file=sys.stderr)
        return 1
    valid_until = int(time.time()) + 3600
    bodies = [
        signer.body(store_id=stores[nonce % len(stores)], nonce=nonce, valid_until=valid_until)
        for nonce in range(args.count)
    ]
    args.out.write_bytes(orjson.dumps(bodies))
    print(f"tenant {signer.tenant_id}: {len(bodies)} signed intents over {len(stores)} stores -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
