"""Python client of the sequencer's HTTP API (httpx; no Django): sync and async.

>>> with SequencerClient("http://127.0.0.1:8080", api_key="ss_…") as client:  # doctest: +SKIP
...     client.append([{"tenant_id": t, "store_id": s, "entity_type": "order", ...}])

- Errors are typed (:class:`ApiError` subclasses by HTTP status) and carry the problem+json
  ``code`` (``docs/errors.md``), ``title``, ``detail`` and the whole body. Only a 2xx JSON answer
  is a result: a redirect (never followed) or a 2xx that is not JSON, or lacks the field a call
  reads, is an :class:`ApiError` too (a base URL that is not the API's: a login page, a proxy).
- Appends are idempotent on retry: event ids and ``created_at`` are fixed (generated when
  missing) before the first attempt and the exact same bytes are re-sent after a timeout or
  connection failure, so the server answers an exact replay instead of sequencing twice.
  A 503 with ``Retry-After`` (stream busy, database restarting) is retried the same way.
- :class:`AppendBatcher` groups single appends into batches per stream, flushed at a size or
  after a delay.

- Commitments, inclusion proofs and offline proof bundles are read with :meth:`commitments`,
  :meth:`proof` and :meth:`bundle`; the stream's signed log checkpoints and the consistency
  proofs between them with :meth:`checkpoint` and :meth:`consistency_proof` (checked by
  ``ves.client_log``); :meth:`x402_submit` signs an x402 payment intent with the
  agent's Ed25519 key (``ves.x402.signing_hash``) and submits it with a fixed idempotency key, so
  a retried submission returns the same intent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import os
import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, ParamSpec, TypeVar, overload
from urllib.parse import quote

import httpx

from ves.append_batcher import AppendBatcher
from ves.arguments import (
    InvalidArgumentError,
    checked_json,
    checked_key_prefix,
    checked_text,
    checked_u32,
    checked_uuid,
    event_field,
    uuid_text,
)
from ves.envelope import signed_envelope
from ves.legacy_events import now_rfc3339, prepared_legacy_event
from ves.retry_after import retry_after_seconds
from ves.signing import public_key_from_seed, sign
from ves.x402 import signing_hash

__all__ = [
    "AgentSigner",
    "ApiError",
    "AppendBatcher",
    "AsyncSequencerClient",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "SequencerClient",
    "ServerError",
    "TransportError",
    "X402Payment",
    "now_rfc3339",
    "signing_key_body",
    "x402_intent_body",
]

T = TypeVar("T")
P = ParamSpec("P")
TransportT = TypeVar("TransportT", httpx.BaseTransport, httpx.AsyncBaseTransport)

DEFAULT_TIMEOUT = 10.0
X402_DEFAULT_VALIDITY = 3600
DEFAULT_RETRIES = 3
USER_AGENT = "ves-python-client/0.1"


# --- errors -----------------------------------------------------------------------------------


class ClientError(Exception):
    """Base of every error this client raises."""


class TransportError(ClientError):
    """The server could not be reached or did not answer in time, after every retry; or a call
    that is not safe to repeat failed after its request may have reached the server (its outcome
    is unknown: the message says so)."""


class ApiError(ClientError):
    """The server answered with an error (problem+json when it could say more), or with something
    that is not an answer of this API.

    Only a 2xx with a JSON body (``application/json`` or ``…+json``) is an answer; anything else
    raises. An answer that is not a problem (an HTML 404 page from a wrong URL, a proxy's JSON, a
    200 HTML page) keeps its whole ``body``; ``title`` then says what it was (``non-JSON response
    (text/html)``) and ``detail`` is its start, tags stripped, at most :data:`SUMMARY_CHARS`
    characters. A redirect (3xx, never followed: the API does not redirect, so a base URL that
    does is not the API's) says where it points: ``title`` is ``redirect to <Location>``.
    ``title``, when given, names what was wrong with a 2xx JSON answer (a missing field).
    """

    SUMMARY_CHARS = 100

    def __init__(
        self, status: int, body: Any, headers: Mapping[str, str] | None = None, *, title: str | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        problem = body if isinstance(body, dict) and ("code" in body or "title" in body or "detail" in body) else None
        if 300 <= status < 400 or title is not None:
            problem = None  # a redirect or a 2xx answer: its body is not the server's problem
        self.code: str = str((problem or {}).get("code") or f"http_{status}")
        if problem is not None:
            self.title: str = str(problem.get("title") or "")
            self.detail: str = str(problem.get("detail") or "")
            super().__init__(f"{status} {self.code}: {self.detail or self.title}")
            return
        text = body if isinstance(body, str) else json.dumps(body)
        if 300 <= status < 400:
            location = self._header("location")
            self.title = f"redirect to {location}" if location else "redirect without a Location"
            self.detail = "not followed: the API never redirects; is the base URL the API's?"
            super().__init__(f"{status} {self.code}: {self.title} ({self.detail})")
            return
        content_type = self._header("content-type").split(";")[0].strip() or "no content type"
        kind = "non-problem JSON response" if not isinstance(body, str) else "non-JSON response"
        self.title = title if title is not None else f"{kind} ({content_type})"
        self.detail = _summary(text, self.SUMMARY_CHARS)
        super().__init__(f"{status} {self.code}: {self.title}" + (f": {self.detail}" if self.detail else ""))

    def _header(self, name: str) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == name), "")


def _summary(text: str, limit: int) -> str:
    """The start of a response body as one line: scripts, styles and tags dropped, spaces collapsed."""
    text = re.sub(r"<(head|script|style)\b.*?</\1\s*>", " ", text, flags=re.IGNORECASE | re.DOTALL)
    text = " ".join(re.sub(r"<[^>]*>", " ", text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class BadRequestError(ApiError):
    """400, 413, 415, 422: the request itself is wrong; retrying will not help."""


class AuthenticationError(ApiError):
    """401: missing, unknown, revoked or expired credential."""


class PermissionDeniedError(ApiError):
    """403: the credential may not do this (``permission_denied``, ``tenant_access_denied``, …)."""


class NotFoundError(ApiError):
    """404."""


class ConflictError(ApiError):
    """409 (``sequence_gap``, ``agent_key_exists``, …)."""


class RateLimitedError(ApiError):
    """429; ``retry_after`` is the server's ``Retry-After`` in seconds."""

    DEFAULT_RETRY_AFTER = 1.0

    @property
    def retry_after(self) -> float:
        """Seconds the server asks to wait (:data:`DEFAULT_RETRY_AFTER` when it says nothing usable)."""
        wait = retry_after_seconds(self._header("retry-after") or None)
        return self.DEFAULT_RETRY_AFTER if wait is None else wait


class ServerError(ApiError):
    """5xx after every retry."""


def _error_for(status: int) -> type[ApiError]:
    if status == 401:
        return AuthenticationError
    if status == 403:
        return PermissionDeniedError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    return BadRequestError


# --- helpers ----------------------------------------------------------------------------------


def _json_bytes(value: Any) -> bytes:
    """Compact JSON, serialised once per call so every retry re-sends the same bytes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


@dataclass(frozen=True)
class AgentSigner:
    """An agent's Ed25519 signing key: the 32-byte seed, its agent id and its registered key id."""

    seed: bytes
    agent_id: uuid.UUID
    key_id: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.seed, bytes) or len(self.seed) != 32:
            raise InvalidArgumentError(f"seed must be 32 bytes, got {self.seed!r}")
        object.__setattr__(self, "agent_id", checked_uuid(self.agent_id, "agent_id"))
        checked_u32(self.key_id, "key_id")

    @classmethod
    def generate(cls, agent_id: uuid.UUID | None = None, key_id: int = 1) -> AgentSigner:
        return cls(seed=os.urandom(32), agent_id=agent_id or uuid.uuid4(), key_id=key_id)

    @property
    def public_key(self) -> bytes:
        return public_key_from_seed(self.seed)

    def to_json(self) -> dict[str, Any]:
        return {
            "agentId": str(self.agent_id),
            "keyId": self.key_id,
            "seed": self.seed.hex(),
            "publicKey": self.public_key.hex(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AgentSigner:
        return cls(seed=bytes.fromhex(data["seed"]), agent_id=uuid.UUID(data["agentId"]), key_id=int(data["keyId"]))


@dataclass(frozen=True)
class X402Payment:
    """The business fields of an x402 payment intent; :meth:`SequencerClient.x402_submit` signs it.

    ``valid_until`` (unix seconds) defaults to one hour after the payment is made, fixed then, so
    the same payment submitted again (with its ``idempotency_key``, say to another node after a
    failure) is the same signed body and is answered with its intent, not 409
    ``idempotency_key_conflict``; ``idempotency_key`` defaults to a new UUID fixed for the call's
    retries.
    """

    payer_address: str
    payee_address: str
    amount: int
    nonce: int
    asset: str = "usdc"
    network: str = "set_chain"
    valid_until: int | None = None
    idempotency_key: str | None = None
    resource_uri: str | None = None
    description: str | None = None
    order_id: str | None = None
    merchant_id: str | None = None
    metadata: Any = None

    def __post_init__(self) -> None:
        if self.valid_until is None:
            object.__setattr__(self, "valid_until", int(time.time()) + X402_DEFAULT_VALIDITY)


# --- request bodies (also for drivers that send them themselves: load tests, reliability) -----


def signing_key_body(
    tenant_id: uuid.UUID | str,
    agent_id: uuid.UUID | str,
    key_id: int,
    public_key: bytes,
    *,
    valid_from: str | None = None,
    valid_to: str | None = None,
) -> dict[str, Any]:
    """The ``POST /api/v1/agents/keys`` body registering an agent's Ed25519 public key."""
    body: dict[str, Any] = {
        "tenantId": uuid_text(tenant_id, "tenant_id"),
        "agentId": uuid_text(agent_id, "agent_id"),
        "keyId": key_id,
        "publicKey": public_key.hex(),
    }
    if valid_from is not None:
        body["validFrom"] = valid_from
    if valid_to is not None:
        body["validTo"] = valid_to
    return body


def x402_intent_body(
    signer: AgentSigner, tenant_id: uuid.UUID | str, store_id: uuid.UUID | str, payment: X402Payment
) -> dict[str, Any]:
    """The ``POST /api/v1/x402/payments`` body of ``payment``, signed with ``signer``'s key."""
    valid_until = payment.valid_until if payment.valid_until is not None else int(time.time()) + X402_DEFAULT_VALIDITY
    digest = signing_hash(
        payer=payment.payer_address,
        payee=payment.payee_address,
        amount=payment.amount,
        asset=payment.asset,
        network=payment.network,
        valid_until=valid_until,
        nonce=payment.nonce,
    )
    body: dict[str, Any] = {
        "tenant_id": uuid_text(tenant_id, "tenant_id"),
        "store_id": uuid_text(store_id, "store_id"),
        "agent_id": str(signer.agent_id),
        "agent_key_id": signer.key_id,
        "payer_address": payment.payer_address,
        "payee_address": payment.payee_address,
        "amount": payment.amount,
        "asset": payment.asset,
        "network": payment.network,
        "valid_until": valid_until,
        "nonce": payment.nonce,
        "signing_hash": "0x" + digest.hex(),
        "payer_signature": "0x" + sign(signer.seed, digest).hex(),
        "payer_public_key": signer.public_key.hex(),
        # Fixed before the first attempt: a retry after a timeout is answered with the same intent.
        "idempotency_key": payment.idempotency_key or str(uuid.uuid4()),
    }
    for name in ("resource_uri", "description", "order_id", "merchant_id"):
        value = getattr(payment, name)
        if value is not None:
            body[name] = value
    if payment.metadata is not None:
        body["metadata"] = payment.metadata
    return body


@dataclass(frozen=True)
class _Call(Generic[T]):
    """One HTTP exchange, fully built before the first attempt (retries re-send it unchanged)."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    authenticated: bool = True
    poll: _Poll | None = None
    replayable: bool = False

    @property
    def resendable(self) -> bool:
        """Whether re-sending after a failure that may follow the server's receipt of the request
        is safe: a read, or a write the server answers as an exact replay (``replayable``: fixed
        event ids, an idempotency key). Anything else (minting a key, registering) could happen twice."""
        return self.method == "GET" or self.replayable


@dataclass(frozen=True)
class _Poll:
    """Ask again every ``interval`` seconds while the server answers 409 ``code`` (the state the
    caller waits for is not reached yet), for up to ``timeout`` seconds, then ``TimeoutError``."""

    code: str
    timeout: float
    interval: float
    gave_up: str


def _identity(value: Any) -> Any:
    return value


def _with(*fields: str) -> Callable[[Any], Any]:
    """The answer unchanged when it is an object holding ``fields`` (what the call's users read);
    else ``KeyError`` naming the first one missing, which :func:`_parse_answer` turns into
    :class:`ApiError` ("not an answer of …"): a proxy's or another service's JSON is never taken
    for the API's (``ves append`` once counted such an answer's events as replayed)."""

    def parse(body: Any) -> Any:
        if not isinstance(body, dict):
            raise TypeError(f"an object was expected, not {type(body).__name__}")
        for name in fields:
            if name not in body:
                raise KeyError(name)
        return body

    return parse


def _signed_event(
    signer: AgentSigner,
    stream: tuple[uuid.UUID, uuid.UUID],
    event: Mapping[str, Any],
    index: int,
    recipients: Sequence[tuple[int, bytes]] | None,
) -> dict[str, Any]:
    """The signed envelope of ``events[index]``, every field checked first."""
    where = f"events[{index}]"
    if not isinstance(event, Mapping):
        raise InvalidArgumentError(f"{where} must be an object, got {event!r}")
    event_id, command_id = event.get("event_id"), event.get("command_id")
    base_version = event.get("base_version")
    if base_version is not None and (isinstance(base_version, bool) or not isinstance(base_version, int)):
        raise InvalidArgumentError(f"{where}.base_version must be an integer, got {base_version!r}")
    created_at = event.get("created_at")
    return signed_envelope(
        signer.seed,
        tenant_id=stream[0],
        store_id=stream[1],
        event_id=checked_uuid(event_id, f"{where}.event_id") if event_id else uuid.uuid4(),
        source_agent_id=signer.agent_id,
        agent_key_id=signer.key_id,
        entity_type=checked_text(event_field(event, index, "entity_type"), f"{where}.entity_type"),
        entity_id=checked_text(event_field(event, index, "entity_id"), f"{where}.entity_id"),
        event_type=checked_text(event_field(event, index, "event_type"), f"{where}.event_type"),
        created_at=checked_text(created_at, f"{where}.created_at") if created_at else now_rfc3339(),
        payload=checked_json(event.get("payload"), f"{where}.payload"),
        recipients=recipients,
        command_id=checked_uuid(command_id, f"{where}.command_id") if command_id else None,
        base_version=base_version,
    )


def _size_text(value: int, name: str) -> str:
    """A log size as a query parameter: an integer >= 0 (``ValueError`` before sending otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return str(value)


def _log_path(ves: bool, tail: str) -> str:
    """The path of ``tail`` in a stream's RFC 6962 log: the VES log's, or the legacy log's."""
    return f"{'/api/v1/ves/log' if ves else '/api/v1/log'}/{tail}"


class _Calls:
    """Request builders shared by the sync and async clients."""

    @staticmethod
    def append(
        events: Sequence[Mapping[str, Any]], *, agent_id: uuid.UUID | str | None = None
    ) -> _Call[dict[str, Any]]:
        """Legacy ingest of one stream's events (``docs/ingest.md``); ids and times filled in once."""
        body: dict[str, Any] = {"events": [prepared_legacy_event(e, f"events[{i}]") for i, e in enumerate(events)]}
        if agent_id is not None:
            body["agent_id"] = uuid_text(agent_id, "agent_id")
        return _Call(
            "POST",
            "/api/v1/events/ingest",
            _with("events_accepted", "events_rejected"),
            body=_json_bytes(body),
            replayable=True,  # the same event ids: a re-send is answered as an exact replay
        )

    @staticmethod
    def append_signed(
        signer: AgentSigner,
        tenant_id: uuid.UUID | str,
        store_id: uuid.UUID | str,
        events: Sequence[Mapping[str, Any]],
        *,
        recipients: Sequence[tuple[int, bytes]] | None = None,
    ) -> _Call[dict[str, Any]]:
        """VES v1 ingest: each event (``entity_type``, ``entity_id``, ``event_type``, ``payload``,
        optional ``event_id``/``created_at``/``command_id``/``base_version``) is signed with
        ``signer``; with ``recipients`` (``(kid, X25519 public key)``) payloads are sealed (VES-ENC-1)."""
        stream = checked_uuid(tenant_id, "tenant_id"), checked_uuid(store_id, "store_id")
        envelopes = [_signed_event(signer, stream, e, index, recipients) for index, e in enumerate(events)]
        body = {"agentId": str(signer.agent_id), "events": envelopes}
        return _Call(
            "POST",
            "/api/v1/ves/events/ingest",
            _with("eventsAccepted", "eventsRejected"),
            body=_json_bytes(body),
            replayable=True,  # the same signed envelopes: a re-send is answered as an exact replay
        )

    @staticmethod
    def stream_params(tenant_id: uuid.UUID | str, store_id: uuid.UUID | str, **extra: int) -> dict[str, str]:
        params = {"tenant_id": uuid_text(tenant_id, "tenant_id"), "store_id": uuid_text(store_id, "store_id")}
        params.update({key: str(value) for key, value in extra.items()})
        return params

    @staticmethod
    def head(tenant_id: uuid.UUID | str, store_id: uuid.UUID | str) -> _Call[int]:
        return _Call(
            "GET", "/api/v1/head", lambda body: int(body["head_sequence"]), _Calls.stream_params(tenant_id, store_id)
        )

    @staticmethod
    def events(
        tenant_id: uuid.UUID | str,
        store_id: uuid.UUID | str,
        *,
        from_seq: int = 1,
        limit: int = 100,
        ves: bool = False,
    ) -> _Call[list[dict[str, Any]]]:
        path = "/api/v1/ves/events" if ves else "/api/v1/events"
        params = _Calls.stream_params(tenant_id, store_id)
        params |= {"from": str(from_seq), "limit": str(limit)}
        return _Call("GET", path, lambda body: list(body["events"]), params)

    @staticmethod
    def entity_history(
        tenant_id: uuid.UUID | str,
        store_id: uuid.UUID | str,
        entity_type: str,
        entity_id: str,
        *,
        offset: int = 0,
        limit: int = 100,
    ) -> _Call[dict[str, Any]]:
        params = _Calls.stream_params(tenant_id, store_id)
        params |= {"from": str(offset), "limit": str(limit)}
        path = f"/api/v1/entities/{quote(entity_type, safe='')}/{quote(entity_id, safe='')}"
        return _Call("GET", path, _with("events"), params)

    @staticmethod
    def register_signing_key(
        tenant_id: uuid.UUID | str,
        agent_id: uuid.UUID | str,
        key_id: int,
        public_key: bytes,
        *,
        valid_from: str | None = None,
        valid_to: str | None = None,
    ) -> _Call[dict[str, Any]]:
        body = signing_key_body(tenant_id, agent_id, key_id, public_key, valid_from=valid_from, valid_to=valid_to)
        return _Call("POST", "/api/v1/agents/keys", _with("agentId", "keyId"), body=_json_bytes(body))

    @staticmethod
    def register_agent(
        name: str,
        *,
        description: str = "",
        store_ids: Sequence[uuid.UUID | str] | None = None,
        read_only: bool = False,
        rate_limit: int | None = None,
    ) -> _Call[dict[str, Any]]:
        """Public registration (no credential needed): a new tenant, agent and API key."""
        body: dict[str, Any] = {"name": name, "readOnly": read_only}
        if description:
            body["description"] = description
        if store_ids is not None:
            body["storeIds"] = [uuid_text(s, f"store_ids[{i}]") for i, s in enumerate(store_ids)]
        if rate_limit is not None:
            body["rateLimit"] = rate_limit
        return _Call("POST", "/api/v1/agents/register", _identity, body=_json_bytes(body), authenticated=False)

    @staticmethod
    def agent(agent_id: uuid.UUID | str) -> _Call[dict[str, Any]]:
        return _Call("GET", f"/api/v1/agents/{uuid_text(agent_id, 'agent_id')}", _identity)

    @staticmethod
    def create_api_key(
        agent_id: uuid.UUID | str,
        *,
        store_ids: Sequence[uuid.UUID | str] | None = None,
        read_only: bool | None = None,
        admin: bool = False,
        rate_limit: int | None = None,
    ) -> _Call[dict[str, Any]]:
        body: dict[str, Any] = {}
        if store_ids is not None:
            body["storeIds"] = [uuid_text(s, f"store_ids[{i}]") for i, s in enumerate(store_ids)]
        if read_only is not None:
            body["readOnly"] = read_only
        if admin:
            body["admin"] = True
        if rate_limit is not None:
            body["rateLimit"] = rate_limit
        return _Call(
            "POST", f"/api/v1/agents/{uuid_text(agent_id, 'agent_id')}/api-keys", _identity, body=_json_bytes(body)
        )

    @staticmethod
    def list_api_keys(agent_id: uuid.UUID | str) -> _Call[list[dict[str, Any]]]:
        return _Call(
            "GET", f"/api/v1/agents/{uuid_text(agent_id, 'agent_id')}/api-keys", lambda body: list(body["keys"])
        )

    @staticmethod
    def revoke_api_key(agent_id: uuid.UUID | str, key_hash_prefix: str) -> _Call[dict[str, Any]]:
        prefix = checked_key_prefix(key_hash_prefix)
        return _Call("DELETE", f"/api/v1/agents/{uuid_text(agent_id, 'agent_id')}/api-keys/{prefix}", _identity)

    @staticmethod
    def commitments(
        tenant_id: uuid.UUID | str | None = None,
        store_id: uuid.UUID | str | None = None,
        *,
        anchored: bool | None = None,
        limit: int = 100,
        offset: int = 0,
        ves: bool = True,
    ) -> _Call[list[dict[str, Any]]]:
        """Commitments visible to the credential (VES, or legacy with ``ves=False``), optionally of one
        stream and only anchored (``True``) or unanchored (``False``) ones."""
        params = {"limit": str(limit), "offset": str(offset)}
        if tenant_id is not None:
            params["tenant_id"] = uuid_text(tenant_id, "tenant_id")
        if store_id is not None:
            params["store_id"] = uuid_text(store_id, "store_id")
        if anchored is not None:
            params["anchored"] = "true" if anchored else "false"
        path = "/api/v1/ves/commitments" if ves else "/api/v1/commitments"
        return _Call("GET", path, lambda body: list(body["commitments"]), params)

    @staticmethod
    def proof(
        sequence_number: int,
        tenant_id: uuid.UUID | str,
        store_id: uuid.UUID | str,
        *,
        batch_id: uuid.UUID | str | None = None,
        ves: bool = True,
    ) -> _Call[dict[str, Any]]:
        """Inclusion proof of ``sequence_number`` in ``batch_id`` (default: the commitment covering it)."""
        params = _Calls.stream_params(tenant_id, store_id)
        if batch_id is not None:
            params["batch_id"] = uuid_text(batch_id, "batch_id")
        prefix = "/api/v1/ves/proofs" if ves else "/api/v1/proofs"
        return _Call("GET", f"{prefix}/{int(sequence_number)}", _with("leaf_index", "proof_path"), params)

    @staticmethod
    def bundle(
        event_id: uuid.UUID | str, *, tenant_id: uuid.UUID | str | None = None, ves: bool = True
    ) -> _Call[dict[str, Any]]:
        """The offline proof bundle of one event (``ves.bundle.verify_bundle`` / ``ves verify``)."""
        params = {} if tenant_id is None else {"tenant_id": uuid_text(tenant_id, "tenant_id")}
        prefix = "/api/v1/ves/events" if ves else "/api/v1/events"
        return _Call("GET", f"{prefix}/{uuid_text(event_id, 'event_id')}/bundle", _with("event"), params)

    @staticmethod
    def wait_for_bundle(
        event_id: uuid.UUID | str,
        *,
        tenant_id: uuid.UUID | str | None = None,
        ves: bool = True,
        timeout: float = 30.0,
        poll_interval: float = 0.5,
    ) -> _Call[dict[str, Any]]:
        """:meth:`bundle`, once the worker has sealed the event into a commitment (every few
        seconds): asks again while the answer is 409 ``event_not_committed``; ``TimeoutError``
        when that still holds after ``timeout`` seconds."""
        if timeout < 0 or poll_interval <= 0:
            raise ValueError("timeout must be >= 0 and poll_interval > 0")
        gave_up = f"event {event_id} was not sealed into a commitment in {timeout:g} s: is the worker running?"
        poll = _Poll("event_not_committed", timeout, poll_interval, gave_up)
        return dataclasses.replace(_Calls.bundle(event_id, tenant_id=tenant_id, ves=ves), poll=poll)

    @staticmethod
    def checkpoint(
        tenant_id: uuid.UUID | str,
        store_id: uuid.UUID | str,
        *,
        tree_size: int | None = None,
        ves: bool = True,
    ) -> _Call[dict[str, Any]]:
        """The stream's latest signed checkpoint of its RFC 6962 log (VES, or legacy with
        ``ves=False``), or the one signed at ``tree_size``: ``{tree_size, root_hash, batch_id,
        created_at, checkpoint}``, ``checkpoint`` the signed note. Not verified here:
        ``ves.client_log.check_checkpoint`` verifies it (``docs/sdk.md``, "Checkpoints")."""
        params = _Calls.stream_params(tenant_id, store_id)
        if tree_size is not None:
            params["tree_size"] = _size_text(tree_size, "tree_size")
        return _Call("GET", _log_path(ves, "checkpoint"), _with("tree_size", "root_hash", "checkpoint"), params)

    @staticmethod
    def sequencer_keys() -> _Call[dict[str, Any]]:
        """The sequencer's public signing keys: ``{sequencer_id, key_name, keys: [{public_key,
        note_key_id, status}]}``, the ``current`` key first. What a verifier pins: fetched once
        over a channel it trusts and compared later, never fetched to check the answer it came
        with (``docs/proofs.md``, "The sequencer's keys")."""
        return _Call("GET", "/api/v1/sequencer/keys", _with("key_name", "keys"))

    @staticmethod
    def consistency_proof(
        tenant_id: uuid.UUID | str,
        store_id: uuid.UUID | str,
        first: int,
        second: int | None = None,
        *,
        ves: bool = True,
    ) -> _Call[dict[str, Any]]:
        """The RFC 6962 consistency proof of the stream's log from size ``first`` to ``second``
        (default: the latest): ``{first, second, first_root, second_root, proof}``. Not verified
        here: ``ves.client_log.check_consistency`` checks it between two verified checkpoints."""
        params = _Calls.stream_params(tenant_id, store_id)
        params["first"] = _size_text(first, "first")
        if second is not None:
            params["second"] = _size_text(second, "second")
        return _Call("GET", _log_path(ves, "proofs/consistency"), _with("first", "second", "proof"), params)

    @staticmethod
    def x402_submit(
        signer: AgentSigner,
        tenant_id: uuid.UUID | str,
        store_id: uuid.UUID | str,
        payment: X402Payment,
    ) -> _Call[dict[str, Any]]:
        """Sign ``payment`` with ``signer`` (a registered agent key) and sequence it."""
        body = x402_intent_body(signer, tenant_id, store_id, payment)
        # The idempotency key is fixed in the body: a re-send returns the same intent.
        return _Call("POST", "/api/v1/x402/payments", _with("intent_id"), body=_json_bytes(body), replayable=True)

    @staticmethod
    def admin(section: str = "overview") -> _Call[Any]:
        """``overview``, ``tenants``, ``stores`` or ``agents`` (admin credential)."""
        if section not in {"overview", "tenants", "stores", "agents"}:
            raise ValueError(f"unknown admin section {section!r}")
        return _Call("GET", f"/api/v1/admin/{section}", _identity)


def _is_json(response: httpx.Response) -> bool:
    """Whether the answer says it is JSON: ``application/json`` or a ``+json`` type (problem+json)."""
    media_type = str(response.headers.get("content-type", "")).split(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


def _parse_response(response: httpx.Response) -> Any:
    """The JSON body of a 2xx JSON answer; :class:`ApiError` for anything else.

    A 4xx/5xx raises its typed error (problem+json when the server could say more). A 3xx
    (redirects are never followed) and a 2xx that is not JSON, by its Content-Type or its bytes,
    raise :class:`ApiError` itself: the base URL is probably not the API's (a login page, a proxy).
    """
    status = response.status_code
    try:
        body: Any = response.json()
        parsed = True
    except ValueError:  # not JSON, or not UTF-8 text
        body, parsed = response.text, False
    if status >= 400:
        raise _error_for(status)(status, body, response.headers)
    if not 200 <= status < 300 or not parsed or not _is_json(response):
        raise ApiError(status, response.text, response.headers)
    return body


def _parse_answer(call: _Call[T], response: httpx.Response) -> T:
    """``call``'s result from a 2xx JSON answer; :class:`ApiError` when it lacks what ``call``
    reads (a proxy's or another service's JSON), not a bare ``KeyError`` or ``TypeError``."""
    body = _parse_response(response)
    try:
        return call.parse(body)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        what = f"no field {exc.args[0]!r}" if isinstance(exc, KeyError) and exc.args else f"{exc}"
        raise ApiError(
            response.status_code, body, response.headers, title=f"not an answer of {call.path}: {what}"
        ) from exc


# Failures that end before the request is sent: any call may be re-sent after them.
_BEFORE_SENDING = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failures that re-sending cannot mend (a URL scheme httpx does not speak, a header it refuses).
_PERMANENT = (httpx.UnsupportedProtocol, httpx.LocalProtocolError)


class _Exchange(Generic[T]):
    """One call's retry decisions, free of I/O, shared by both clients.

    The client sends :attr:`request` (the same bytes every time) and hands :meth:`after` the
    response or the transient exception; it waits the seconds returned and re-sends, or stops when
    :meth:`after` returns ``None`` with the parsed answer in :attr:`answer`.
    """

    answer: T

    RETRY_AFTER_CAP = 30.0

    def __init__(self, call: _Call[T], *, base_url: str, headers: dict[str, str], retries: int, backoff: float) -> None:
        self.call = call
        self.url = base_url + call.path
        self.request: dict[str, Any] = {
            "method": call.method,
            "url": call.path,
            "params": call.params,
            "content": call.body,
            "headers": headers,
        }
        self._retries = retries
        self._backoff = backoff
        self._attempt = 0
        self._poll_until = None if call.poll is None else time.monotonic() + call.poll.timeout

    def after(self, outcome: httpx.Response | Exception) -> float | None:
        """Seconds before re-sending after ``outcome``, or ``None`` once :attr:`answer` is set.

        An error answer raises its :class:`ApiError`; a failure on the last attempt raises
        :class:`TransportError`.
        """
        if not isinstance(outcome, Exception) and (wait := self._wait_while_polling(outcome)) is not None:
            return wait  # the state polled for is not reached yet: not a failed attempt
        attempt, self._attempt = self._attempt, self._attempt + 1
        if isinstance(outcome, Exception):
            return self._wait_after_failure(attempt, outcome)
        delay = self._wait_after_answer(outcome, attempt)
        if delay is None:
            self.answer = _parse_answer(self.call, outcome)
        return delay

    def _wait_while_polling(self, response: httpx.Response) -> float | None:
        """For a polling call (:class:`_Poll`), the wait before asking again after its 409, at most
        until the deadline; ``TimeoutError`` once that has passed; ``None`` for any other answer."""
        poll = self.call.poll
        if poll is None or response.status_code != 409 or _problem_code(response) != poll.code:
            return None
        assert self._poll_until is not None
        left = self._poll_until - time.monotonic()
        if left <= 0:
            raise TimeoutError(poll.gave_up)
        return min(poll.interval, left)

    def _wait_after_failure(self, attempt: int, exc: Exception) -> float:
        """The backoff before re-sending after a transport failure; :class:`TransportError` when
        it is the last attempt, cannot be mended, or may have reached the server for a call that
        is not safe to repeat (:attr:`_Call.resendable`)."""
        where = f"{self.call.method} {self.url}"
        if isinstance(exc, _PERMANENT):
            raise TransportError(f"{where}: {exc!r}") from exc
        if not self.call.resendable and not isinstance(exc, _BEFORE_SENDING):
            raise TransportError(
                f"{where}: {exc!r}: the request may have reached the server, so its outcome is unknown;"
                " not re-sent, as this call is not safe to repeat (check before trying again)"
            ) from exc
        if attempt >= self._retries:
            raise TransportError(f"{where}: {exc!r} after {attempt + 1} attempts") from exc
        return self._backoff_after(attempt)

    def _wait_after_answer(self, response: httpx.Response, attempt: int) -> float | None:
        """Only a 503 (stream busy, database restarting) is retried, after its ``Retry-After`` (at
        most :attr:`RETRY_AFTER_CAP` s; exponential backoff without a usable one), and not after the
        last attempt, nor for a call that is not safe to repeat: a write answered 503 may have
        committed (the database went away after the commit was sent)."""
        if response.status_code != 503 or attempt >= self._retries or not self.call.resendable:
            return None
        wait = retry_after_seconds(response.headers.get("retry-after"))
        return self._backoff_after(attempt) if wait is None else min(wait, self.RETRY_AFTER_CAP)

    def _backoff_after(self, attempt: int) -> float:
        return min(self._backoff * (2.0**attempt), self.RETRY_AFTER_CAP)


def _problem_code(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


class _Endpoint(Generic[P, T]):
    """A public method of both clients, said once: the request builder's signature and docstring.

    Read from a :class:`SequencerClient` it returns ``T``; from an :class:`AsyncSequencerClient`,
    a coroutine function returning ``T``.
    """

    def __init__(self, build: Callable[P, _Call[T]]) -> None:
        self._build = build
        self.__doc__ = build.__doc__

    @overload
    def __get__(self, client: None, owner: type[Any]) -> _Endpoint[P, T]: ...

    @overload
    def __get__(self, client: AsyncSequencerClient, owner: type[Any]) -> Callable[P, Coroutine[Any, Any, T]]: ...

    @overload
    def __get__(self, client: SequencerClient, owner: type[Any]) -> Callable[P, T]: ...

    def __get__(self, client: _Base[Any] | None, owner: type[Any]) -> Any:
        if client is None:
            return self
        build, run = self._build, client._run

        async def awaitable(*args: P.args, **kwargs: P.kwargs) -> T:
            return await run(build(*args, **kwargs))  # type: ignore[no-any-return]

        def blocking(*args: P.args, **kwargs: P.kwargs) -> T:
            return run(build(*args, **kwargs))  # type: ignore[no-any-return]

        return functools.wraps(build)(awaitable if isinstance(client, AsyncSequencerClient) else blocking)


class _Base(ABC, Generic[TransportT]):
    """What both clients share: settings, headers, and every request method (:class:`_Endpoint`)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = 0.2,
        transport: TransportT | None = None,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._http = self._open(transport)

    @abstractmethod
    def _open(self, transport: TransportT | None) -> Any:
        """The httpx client (sync or async) this client sends with."""

    @abstractmethod
    def _run(self, call: _Call[T]) -> Any:
        """Send ``call`` with its retries and return the parsed answer (awaitable in the async client)."""

    def _exchange(self, call: _Call[T]) -> _Exchange[T]:
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        if call.authenticated and self.api_key:
            headers["Authorization"] = f"ApiKey {self.api_key}"
        return _Exchange(call, base_url=self.base_url, headers=headers, retries=self.retries, backoff=self.backoff)

    # Writes
    append = _Endpoint(_Calls.append)
    append_signed = _Endpoint(_Calls.append_signed)
    register_signing_key = _Endpoint(_Calls.register_signing_key)
    # Reads
    head = _Endpoint(_Calls.head)
    events = _Endpoint(_Calls.events)
    entity_history = _Endpoint(_Calls.entity_history)
    # Commitments, proofs, bundles, payments
    commitments = _Endpoint(_Calls.commitments)
    proof = _Endpoint(_Calls.proof)
    bundle = _Endpoint(_Calls.bundle)
    wait_for_bundle = _Endpoint(_Calls.wait_for_bundle)
    checkpoint = _Endpoint(_Calls.checkpoint)
    consistency_proof = _Endpoint(_Calls.consistency_proof)
    sequencer_keys = _Endpoint(_Calls.sequencer_keys)
    x402_submit = _Endpoint(_Calls.x402_submit)
    # Agents and admin
    register_agent = _Endpoint(_Calls.register_agent)
    agent = _Endpoint(_Calls.agent)
    create_api_key = _Endpoint(_Calls.create_api_key)
    list_api_keys = _Endpoint(_Calls.list_api_keys)
    revoke_api_key = _Endpoint(_Calls.revoke_api_key)
    admin = _Endpoint(_Calls.admin)


class SequencerClient(_Base[httpx.BaseTransport]):
    """Synchronous client. Use as a context manager or call :meth:`close`."""

    _http: httpx.Client

    def _open(self, transport: httpx.BaseTransport | None) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=self.timeout, transport=transport)

    def __enter__(self) -> SequencerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _run(self, call: _Call[T]) -> T:
        exchange = self._exchange(call)
        while (delay := exchange.after(self._send(exchange.request))) is not None:
            time.sleep(delay)
        return exchange.answer

    def _send(self, request: dict[str, Any]) -> httpx.Response | Exception:
        try:
            return self._http.request(**request)
        except httpx.TransportError as exc:
            return exc

    def tail(
        self,
        tenant_id: uuid.UUID | str,
        store_id: uuid.UUID | str,
        *,
        from_seq: int = 1,
        ves: bool = False,
        poll_interval: float = 1.0,
        page_size: int = 500,
        stop: Callable[[], bool] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every event from ``from_seq`` on, in order, then new ones as they arrive (polling)."""
        next_seq = max(from_seq, 1)
        while stop is None or not stop():
            page = self.events(tenant_id, store_id, from_seq=next_seq, limit=page_size, ves=ves)
            yield from page
            next_seq += len(page)
            if len(page) < page_size:
                time.sleep(poll_interval)

    def batcher(self, *, max_events: int = 100, max_delay: float = 0.5) -> AppendBatcher:
        return AppendBatcher(self, max_events=max_events, max_delay=max_delay)


class AsyncSequencerClient(_Base[httpx.AsyncBaseTransport]):
    """Asynchronous client (same methods, awaitable). Use ``async with`` or ``await aclose()``."""

    _http: httpx.AsyncClient

    def _open(self, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=self.timeout, transport=transport)

    async def __aenter__(self) -> AsyncSequencerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _run(self, call: _Call[T]) -> T:
        exchange = self._exchange(call)
        while (delay := exchange.after(await self._send(exchange.request))) is not None:
            await asyncio.sleep(delay)
        return exchange.answer

    async def _send(self, request: dict[str, Any]) -> httpx.Response | Exception:
        try:
            return await self._http.request(**request)
        except httpx.TransportError as exc:
            return exc

    async def tail(
        self,
        tenant_id: uuid.UUID | str,
        store_id: uuid.UUID | str,
        *,
        from_seq: int = 1,
        ves: bool = False,
        poll_interval: float = 1.0,
        page_size: int = 500,
    ) -> AsyncIterator[dict[str, Any]]:
        next_seq = max(from_seq, 1)
        while True:
            page = await self.events(tenant_id, store_id, from_seq=next_seq, limit=page_size, ves=ves)
            for event in page:
                yield event
            next_seq += len(page)
            if len(page) < page_size:
                await asyncio.sleep(poll_interval)
