"""The x402 chain RPC sits behind the ``x402_chain`` circuit breaker."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from payments import evm
from sequencer_project import resilience


@pytest.fixture
def fresh_breaker() -> Iterator[None]:
    resilience._registry.pop("x402_chain", None)
    yield
    resilience._registry.pop("x402_chain", None)


def _refused() -> None:
    with socket.create_connection(("127.0.0.1", 9), timeout=0.2):  # discard port: nothing listens
        pass


def test_repeated_chain_failures_open_the_breaker_and_then_fail_fast(fresh_breaker: None) -> None:
    for _ in range(5):
        with pytest.raises(evm.ChainUnavailableError, match="ConnectionRefusedError"):
            evm._call(_refused)

    with pytest.raises(evm.ChainUnavailableError, match="circuit 'x402_chain' is open"):
        evm._call(_refused)
    assert resilience.get_breaker("x402_chain").state is resilience.BreakerState.OPEN


def test_successful_calls_pass_through(fresh_breaker: None) -> None:
    assert evm._call(lambda value: value * 2, 21) == 42
    assert resilience.get_breaker("x402_chain").state is resilience.BreakerState.CLOSED
