"""Time x402 batch assembly and EVM settlement on the in-process chain.

    python -m loadtest.bench_x402_batches

Against the database of the environment (DATABASE_URL): assembles every waiting sequenced
intent into batches of ``X402_BATCH_MAX_SIZE`` (wait 0), then settles each batch on a fresh
eth-tester chain with a funded throwaway key, and prints p50/p95/max of both.
"""

from __future__ import annotations

import os
import statistics
import time


def _summary(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"{name}: n={len(values)} p50={statistics.median(values) * 1000:.1f} ms "
        f"p95={p95 * 1000:.1f} ms max={ordered[-1] * 1000:.1f} ms"
    )


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sequencer_project.settings")
    import django

    django.setup()
    from datetime import timedelta

    from django.conf import settings
    from django.test import override_settings
    from eth_account import Account
    from web3.types import Wei

    from payments import evm
    from payments.services.batches import batch_assemble, batch_keys_ready
    from payments.services.settlement import batch_settle_evm

    assembly, settlement, batches = [], [], []
    for key in batch_keys_ready(networks=settings.X402_BATCH_NETWORKS):
        while True:
            started = time.perf_counter()
            batch = batch_assemble(key=key, max_size=settings.X402_BATCH_MAX_SIZE, max_wait=timedelta(0))
            if batch is None:
                break
            assembly.append(time.perf_counter() - started)
            batches.append((batch.tenant_id, batch.batch_id))
    if not batches:
        print("no sequenced intents waiting")
        return 1
    account = Account.create()
    with override_settings(X402_EVM_RPC_URL=evm.IN_PROCESS_URL, X402_SETTLEMENT_PRIVATE_KEY=account.key.hex()):
        w3 = evm.chain()
        w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": account.address, "value": Wei(10**21)})
        for tenant_id, batch_id in batches:
            started = time.perf_counter()
            batch_settle_evm(tenant_id=tenant_id, batch_id=batch_id)
            settlement.append(time.perf_counter() - started)
    print(_summary(f"batch assembly ({settings.X402_BATCH_MAX_SIZE}/batch)", assembly))
    print(_summary("EVM settlement (eth-tester, 1 confirmation)", settlement))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
