"""End-to-end x402 latency against a running stack: intent submit → batch committed → settled.

    python -m payments.devchain --port 8160 --fund ADDRESS_OF_X402_SETTLEMENT_PRIVATE_KEY &
    # web (gunicorn), celery worker -Q payments, celery beat, all with
    # X402_SETTLEMENT_BACKEND=evm X402_EVM_RPC_URL=http://127.0.0.1:8160
    python -m loadtest.bench_x402_settlement --url http://127.0.0.1:8161 --count 400 --rate 20

Registers a new agent (bootstrap admin key from ``--api-key`` or the environment), submits
``count`` signed intents at ``rate`` per second over ``streams`` stores, then polls the API
until every intent is settled (or ``--timeout``). Per intent: settlement latency =
``settled_at`` - the moment its POST was sent. Per batch: assembly = ``committed_at`` - the
moment the POST of its last intent returned (the seed SLO's "last intent's submission to a
committed batch"), and settlement = ``settled_at`` - ``committed_at``. Server timestamps and the
client clock are the same machine's clock. Prints p50/p95/max of each and the load average.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from datetime import datetime

import httpx
import orjson

from loadtest.bench_x402_batches import _summary
from loadtest.x402_prepare import Signer


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--api-key", default=os.environ.get("BOOTSTRAP_ADMIN_API_KEY", ""))
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--rate", type=float, default=20.0, help="intents per second")
    parser.add_argument("--streams", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    if args.count > 1000:
        parser.error("--count is at most 1000 (one page of the list API)")

    signer = Signer.new()
    if (error := signer.register(args.url, args.api_key)) is not None:
        print(error, file=sys.stderr)
        return 1
    stores = [uuid.uuid4() for _ in range(args.streams)]
    headers = {"Authorization": f"ApiKey {args.api_key}", "Content-Type": "application/json"}
    valid_until = int(time.time()) + 3600
    sent_at: dict[str, float] = {}
    returned_at: dict[str, float] = {}
    with httpx.Client(base_url=args.url, headers=headers, timeout=30) as client:
        started = time.monotonic()
        for nonce in range(args.count):
            time.sleep(max(0.0, started + nonce / args.rate - time.monotonic()))
            body = signer.body(store_id=stores[nonce % len(stores)], nonce=nonce, valid_until=valid_until)
            before = time.time()
            response = client.post("/api/v1/x402/payments", content=orjson.dumps(body))
            if response.status_code != 200:
                print(f"submit failed: {response.status_code} {response.text}", file=sys.stderr)
                return 1
            intent_id = response.json()["intent_id"]
            sent_at[intent_id], returned_at[intent_id] = before, time.time()
        deadline = time.monotonic() + args.timeout
        while True:
            page = client.get(
                "/api/v1/x402/payments",
                params={"tenant_id": str(signer.tenant_id), "status": "settled", "limit": 1000},
            ).json()
            if len(page) == args.count:
                break
            if time.monotonic() > deadline:
                print(f"only {len(page)} of {args.count} settled after {args.timeout:.0f} s", file=sys.stderr)
                return 1
            time.sleep(0.5)
        last_of_batch: dict[str, str] = {}
        for intent in sorted(page, key=lambda i: (i["store_id"], i["sequence_number"])):
            last_of_batch[intent["batch_id"]] = intent["intent_id"]
        batches = {b: client.get(f"/api/v1/x402/batches/{b}").json()["batch"] for b in last_of_batch}
    settle = [_ts(i["settled_at"]) - sent_at[i["intent_id"]] for i in page]
    assembly = [_ts(b["committed_at"]) - returned_at[last_of_batch[b["batch_id"]]] for b in batches.values()]
    on_chain = [_ts(b["settled_at"]) - _ts(b["committed_at"]) for b in batches.values()]
    print(f"{args.count} intents at {args.rate:g}/s over {args.streams} stores, {len(batches)} batches")
    print(_summary("intent submit -> settled", settle))
    print(_summary("last intent's submit -> batch committed", assembly))
    print(_summary("batch committed -> settled on chain", on_chain))
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
