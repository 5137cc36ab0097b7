"""A local EVM chain (eth-tester + py-evm) served over HTTP JSON-RPC, for tests and benchmarks.

eth-tester lives inside one process; a Celery worker in another process cannot reach the
``eth-tester://`` chain of the test process. This module serves one in-process chain on
``127.0.0.1:PORT`` so any process can settle on it with ``X402_EVM_RPC_URL=http://…``::

    python -m payments.devchain --port 8160

Requests go through web3's ``EthereumTesterProvider`` request function (the same formatting
the in-process provider applies), one at a time under a lock (eth-tester is not thread-safe).
Exceptions become JSON-RPC errors (``-32000`` with the message, as geth reports
``nonce too low``). Not for production: there is no authentication and no persistence.
"""

from __future__ import annotations

import argparse
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from web3 import Web3

RequestFunc = Callable[[str, Any], Any]


class DevChain:
    """One eth-tester chain and the HTTP server that exposes it."""

    def __init__(self, *, port: int, host: str = "127.0.0.1") -> None:
        from web3 import EthereumTesterProvider, Web3

        provider = EthereumTesterProvider()
        self.w3: Web3 = Web3(provider)
        self._request: RequestFunc = provider.request_func(self.w3, self.w3.middleware_onion)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.url = f"http://{host}:{self.server.server_address[1]}"

    def fund(self, address: str, wei: int = 10**20) -> None:
        """Credit ``address`` from the chain's pre-funded test account."""
        from web3.types import Wei

        to = self.w3.to_checksum_address(address)
        self.w3.eth.send_transaction({"from": self.w3.eth.accounts[0], "to": to, "value": Wei(wei)})

    def call(self, body: Any) -> Any:
        """Answer one JSON-RPC request object (or a batch list)."""
        if isinstance(body, list):
            return [self.call(item) for item in body]
        request_id = body.get("id") if isinstance(body, dict) else None
        try:
            with self._lock:
                response = self._request(str(body["method"]), body.get("params") or [])
        except Exception as exc:  # every failure is the caller's JSON-RPC error
            return {"jsonrpc": "2.0", "id": request_id, "error": {"code": -32000, "message": str(exc)}}
        response = dict(response)
        response["id"] = request_id
        return response

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        from web3._utils.encoding import Web3JsonEncoder

        chain = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    answer: Any = {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}
                else:
                    answer = chain.call(body)
                data = json.dumps(answer, cls=Web3JsonEncoder).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # stdlib signature
                return

        return Handler

    @contextmanager
    def serving(self) -> Iterator[DevChain]:
        """Serve from a daemon thread until the block exits."""
        thread = threading.Thread(target=self.server.serve_forever, name="devchain", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(timeout=10)


def main() -> None:  # pragma: no cover - command line
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--port", type=int, default=8545)
    parser.add_argument("--fund", help="address to credit with 100 ether at start")
    args = parser.parse_args()
    chain = DevChain(port=args.port)
    if args.fund:
        chain.fund(args.fund)
    print(f"eth-tester chain on {chain.url}", flush=True)  # noqa: T201  (command output)
    chain.server.serve_forever()


if __name__ == "__main__":  # pragma: no cover
    main()
