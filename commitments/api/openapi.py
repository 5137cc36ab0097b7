"""OpenAPI shapes and per-kind annotations of the commitments, proofs, log, bundle and anchor endpoints.

VES (``/ves/...``) and legacy views share their code and differ in field names, so the
annotations are built per stream kind here and applied to the concrete view classes.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_view

from commitments.limits import DEFAULT_PENDING_LIMIT, MAX_LIST_LIMIT, MAX_PENDING_LIMIT
from events.api import openapi as event_shapes
from sequencer_project.api.fields import BIGINT_MAX
from sequencer_project.api.openapi import (
    BOOLEAN,
    DATETIME,
    HEX,
    INTEGER,
    STRING,
    UUID,
    Schema,
    array,
    extra_problem,
    hex_in,
    nullable,
    obj,
    operation,
    path_param,
    path_uuid,
    query,
    stream_query,
    view_operation,
)
from ves.merkle import MAX_PROOF_ELEMENTS

HASH_IN: Schema = hex_in(32, description="32 bytes of hex, 0x prefix optional")
UINT: Schema = {"type": "integer", "minimum": 0}
SEQUENCE: Schema = {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX}  # a commitment bound
# The anchoring transaction (commitments.api.serializers.anchor_transaction_output).
_ANCHOR_TRANSACTION: dict[str, Schema] = {
    "chain_id": nullable(INTEGER),
    "chain_tx_hash": nullable(HEX),
    "chain_block_number": nullable(INTEGER),
}
_ANCHOR_FIELDS: dict[str, Schema] = {**_ANCHOR_TRANSACTION, "anchored_at": nullable(DATETIME)}
_ANCHOR_NAMES = tuple(_ANCHOR_FIELDS)
# The members both commitment kinds end with (commitments.api.serializers._range_and_anchor).
_RANGE_AND_ANCHOR: dict[str, Schema] = {
    "sequence_start": INTEGER,
    "sequence_end": INTEGER,
    "committed_at": DATETIME,
    "is_anchored": BOOLEAN,
    "on_request": BOOLEAN,
    **_ANCHOR_FIELDS,
}


def _commitment(kind_members: dict[str, Schema], extra: dict[str, Schema] | None = None) -> Schema:
    """A commitment of either kind (``commitments.api.serializers``): its ids, the members of its
    kind, then the range and anchor members; the anchor ones are left out of a seal's answer."""
    return obj(
        {"batch_id": UUID, "tenant_id": UUID, "store_id": UUID, **kind_members, **_RANGE_AND_ANCHOR, **(extra or {})},
        optional=_ANCHOR_NAMES,
    )


VES_COMMITMENT = _commitment(
    {
        "ves_version": INTEGER,
        "tree_depth": INTEGER,
        "leaf_count": INTEGER,
        "padded_leaf_count": INTEGER,
        "merkle_root": HEX,
        "prev_state_root": HEX,
        "new_state_root": HEX,
    }
)
_LEGACY_MEMBERS: dict[str, Schema] = {
    "prev_state_root": HEX,
    "new_state_root": HEX,
    "events_root": HEX,
    "event_count": INTEGER,
}
LEGACY_COMMITMENT = _commitment(_LEGACY_MEMBERS)
# GET /api/v1/commitments/{batch_id}: the reference serializes its whole BatchCommitment there.
LEGACY_COMMITMENT_DETAIL = _commitment(
    _LEGACY_MEMBERS,
    {"sequence_range": array(INTEGER, minItems=2, maxItems=2, description="[sequence_start, sequence_end]")},
)
COMMITMENT_CREATE = obj(
    {"tenant_id": UUID, "store_id": UUID, "sequence_start": SEQUENCE, "sequence_end": SEQUENCE},
)


def _proof(root_name: str) -> Schema:
    return obj(
        {
            "sequence_number": INTEGER,
            "batch_id": UUID,
            root_name: HEX,
            "leaf_hash": HEX,
            "leaf_index": INTEGER,
            "proof_path": array(HEX),
            "directions": array(BOOLEAN),
        }
    )


def _verify_request(root_name: str, *, ves: bool) -> Schema:
    properties: dict[str, Schema] = {
        "leaf_hash": HASH_IN,
        root_name: HASH_IN,
        "proof_path": array(HASH_IN, maxItems=MAX_PROOF_ELEMENTS),
        "leaf_index": UINT,
        "leaf_count": UINT,
        "directions": array(BOOLEAN),
    }
    optional: tuple[str, ...] = ("leaf_count", "directions")
    if ves:
        properties["tree_depth"] = UINT
        optional += ("tree_depth",)
    return obj(properties, optional=optional)


def _verify_response(root_name: str) -> Schema:
    return obj({"valid": BOOLEAN, "leaf_hash": HEX, root_name: HEX})


CHECKPOINT = obj(
    {
        "tree_size": INTEGER,
        "root_hash": HEX,
        "batch_id": UUID,
        "created_at": DATETIME,
        "checkpoint": {"type": "string", "description": "signed note (RFC6962.md)"},
    }
)
INCLUSION = obj(
    {
        "sequence_number": INTEGER,
        "leaf_index": INTEGER,
        "tree_size": INTEGER,
        "leaf_hash": HEX,
        "root_hash": HEX,
        "proof": array(HEX),
    }
)
CONSISTENCY = obj({"first": INTEGER, "second": INTEGER, "first_root": HEX, "second_root": HEX, "proof": array(HEX)})


def _bundle(event: Schema, commitment: Schema, root_name: str) -> Schema:
    return obj(
        {
            "format": STRING,
            "stream_kind": {"type": "string", "enum": ["ves", "legacy"]},
            "event": event,
            "commitment": commitment,
            "inclusion_proof": _proof(root_name),
            "log": obj(
                {
                    "tree_size": INTEGER,
                    "leaf_index": INTEGER,
                    "leaf_hash": HEX,
                    "root_hash": HEX,
                    "proof": array(HEX),
                    "checkpoint": nullable(STRING),
                }
            ),
            "anchor": nullable(
                obj({"chain_id": nullable(INTEGER), "chain_tx_hash": HEX, "chain_block_number": nullable(INTEGER)})
            ),
        }
    )


ANCHOR_RESULT = obj(
    {
        "batch_id": UUID,
        "status": {"type": "string", "enum": ["anchored", "already_anchored"]},
        **_ANCHOR_TRANSACTION,
        "merkle_root": HEX,
        "prev_state_root": HEX,
        "new_state_root": HEX,
        "sequence_start": INTEGER,
        "sequence_end": INTEGER,
    }
)
ANCHOR_VERIFY = obj(
    {
        "batch_id": UUID,
        "anchored_on_chain": BOOLEAN,
        "reason": STRING,
        **_ANCHOR_TRANSACTION,
    }
)
ANCHOR_STATUS = obj({"anchor_enabled": BOOLEAN, "message": STRING})
ANCHOR_ONE_REQUEST = obj({"batch_id": UUID})
COMMIT_AND_ANCHOR_REQUEST = obj(
    {
        "tenant_id": UUID,
        "store_id": UUID,
        "sequence_start": SEQUENCE,
        "sequence_end": SEQUENCE,
        "max_events": {"type": "integer", "minimum": 1},
    },
    optional=("sequence_start", "sequence_end", "max_events"),
)
HEX_0X: Schema = {"type": "string", "pattern": "^0x[0-9a-f]{64}$"}
PENDING_COMMITMENT = obj(
    {
        "batch_id": UUID,
        "tenant_id": UUID,
        "store_id": UUID,
        "prev_state_root": HEX_0X,
        "new_state_root": HEX_0X,
        "events_root": HEX_0X,
        "sequence_start": INTEGER,
        "sequence_end": INTEGER,
        "event_count": INTEGER,
        "committed_at": DATETIME,
        "chain_tx_hash": nullable(HEX_0X),
    }
)
ANCHORED_REQUEST = obj(
    {"chain_tx_hash": HASH_IN, "chain_id": UINT, "block_number": nullable(UINT), "gas_used": nullable(UINT)},
    optional=("block_number", "gas_used"),
)
ANCHORED_RESULT = obj(
    {
        "batch_id": UUID,
        "status": {"type": "string", "enum": ["anchored", "already_anchored"]},
        "chain_tx_hash": HEX_0X,
        "chain_id": INTEGER,
        "block_number": nullable(INTEGER),
    },
    optional=("chain_tx_hash", "chain_id", "block_number"),
)
# 502 anchor_failed: the chain mined the transaction and reverted it.
ANCHOR_FAILED = extra_problem(502)

_KINDS: dict[bool, dict[str, Any]] = {
    True: {
        "prefix": "ves_",
        "tag": "ves",
        "commitment": VES_COMMITMENT,
        "detail": VES_COMMITMENT,
        "root": "merkle_root",
        "event": event_shapes.VES_EVENT,
    },
    False: {
        "prefix": "",
        "tag": "events",
        "commitment": LEGACY_COMMITMENT,
        "detail": LEGACY_COMMITMENT_DETAIL,
        "root": "events_root",
        "event": event_shapes.SEQUENCED_EVENT,
    },
}
BATCH_ID = path_uuid("batch_id", "Commitment batch id.")


def commitments_collection(*, ves: bool) -> Any:
    k = _KINDS[ves]
    return extend_schema_view(
        get=operation(
            "commitments",
            f"{k['prefix']}commitments_list",
            "List commitments (by stream, oldest range first), optionally only anchored or unanchored ones",
            parameters=[
                *stream_query(required=False),
                query("anchored", {"type": "string", "enum": ["true", "false", "1", "0"]}),
                query(
                    "limit", {"type": "integer", "minimum": 1}, f"At most {MAX_LIST_LIMIT} (larger values are capped)."
                ),
                query("offset", {"type": "integer", "minimum": 0}),
            ],
            ok=obj({"commitments": array(k["commitment"]), "count": INTEGER}),
        ),
        post=operation(
            "commitments",
            f"{k['prefix']}commitments_create",
            "Seal any range up to the head (idempotent for the same range; 200, new or not)",
            body=COMMITMENT_CREATE,
            ok=k["commitment"],
        ),
    )


def commitment_detail(*, ves: bool) -> Any:
    k = _KINDS[ves]
    return view_operation(
        "get",
        "commitments",
        f"{k['prefix']}commitments_get",
        "One commitment",
        parameters=[BATCH_ID],
        ok=k["detail"],
    )


def commitment_proof(*, ves: bool) -> Any:
    k = _KINDS[ves]
    sequence_number = path_param("sequence_number", {"type": "integer", "minimum": 1, "maximum": BIGINT_MAX})
    return view_operation(
        "get",
        "proofs",
        f"{k['prefix']}proofs_get",
        "Inclusion proof of a sequence number in the commitment covering it",
        parameters=[sequence_number, *stream_query(), query("batch_id", UUID, "A specific commitment of the stream.")],
        ok=_proof(k["root"]),
    )


def proof_verify(*, ves: bool) -> Any:
    k = _KINDS[ves]
    return view_operation(
        "post",
        "proofs",
        f"{k['prefix']}proofs_verify",
        "Verify an inclusion proof",
        body=_verify_request(k["root"], ves=ves),
        ok=_verify_response(k["root"]),
    )


def log_checkpoint(*, ves: bool) -> Any:
    return view_operation(
        "get",
        "transparency log",
        f"{_KINDS[ves]['prefix']}log_checkpoint",
        "The stream's latest signed checkpoint (or the one at tree_size)",
        parameters=[*stream_query(), query("tree_size", UINT)],
        ok=CHECKPOINT,
    )


def log_inclusion(*, ves: bool) -> Any:
    parameters = [
        *stream_query(),
        query("sequence_number", {"type": "integer", "minimum": 1}, required=True),
        query("tree_size", UINT, "Defaults to the latest checkpoint's size."),
    ]
    return view_operation(
        "get",
        "transparency log",
        f"{_KINDS[ves]['prefix']}log_inclusion_proof",
        "RFC 6962 inclusion proof of a sequence number in the stream's log",
        parameters=parameters,
        ok=INCLUSION,
    )


def log_consistency(*, ves: bool) -> Any:
    parameters = [
        *stream_query(),
        query("first", UINT, required=True),
        query("second", UINT, "Defaults to the latest checkpoint's size."),
    ]
    return view_operation(
        "get",
        "transparency log",
        f"{_KINDS[ves]['prefix']}log_consistency_proof",
        "RFC 6962 consistency proof between two sizes of the stream's log",
        parameters=parameters,
        ok=CONSISTENCY,
    )


def bundle(*, ves: bool) -> Any:
    k = _KINDS[ves]
    return view_operation(
        "get",
        "bundles",
        f"{k['prefix']}events_bundle",
        "Offline proof bundle of one event (python -m ves verify)",
        parameters=[path_uuid("event_id"), query("tenant_id", UUID, "Required for the bootstrap admin.")],
        ok=_bundle(k["event"], k["commitment"], k["root"]),
    )


def anchor_one(*, ves: bool) -> Any:
    return view_operation(
        "post",
        "anchoring",
        f"{_KINDS[ves]['prefix']}anchor",
        "Anchor an existing commitment on the EVM chain (admin)",
        body=ANCHOR_ONE_REQUEST,
        responses=ANCHOR_FAILED,
        ok=ANCHOR_RESULT,
    )


def anchor_verify(*, ves: bool) -> Any:
    return view_operation(
        "get",
        "anchoring",
        f"{_KINDS[ves]['prefix']}anchor_verify",
        "Read a commitment's anchor transaction back from the chain",
        parameters=[BATCH_ID],
        ok=ANCHOR_VERIFY,
    )


commit_and_anchor = view_operation(
    "post",
    "anchoring",
    "ves_commitments_anchor",
    "Seal (explicit or automatic range) and anchor (admin)",
    body=COMMIT_AND_ANCHOR_REQUEST,
    responses=ANCHOR_FAILED,
    ok=ANCHOR_RESULT,
)
SEQUENCER_KEYS = obj(
    {
        "sequencer_id": UUID,
        "key_name": {"type": "string", "description": "the name in each checkpoint signature line"},
        "keys": array(
            obj(
                {
                    "public_key": HEX,
                    "note_key_id": {
                        "type": "string",
                        "description": "4 bytes of hex: the key id of its signature lines",
                    },
                    "status": {"type": "string", "enum": ["current", "previous"]},
                }
            )
        ),
    }
)
sequencer_keys = view_operation(
    "get",
    "transparency log",
    "sequencer_keys",
    "The sequencer's public signing keys (checkpoints; the current one also signs VES receipts)",
    ok=SEQUENCER_KEYS,
)
anchor_status = view_operation("get", "anchoring", "anchor_status", "Whether anchoring is configured", ok=ANCHOR_STATUS)
pending_anchors = view_operation(
    "get",
    "anchoring",
    "anchor_service_pending",
    "Unanchored VES commitments of every tenant, oldest first (bootstrap admin; the anchor service)",
    parameters=[
        query(
            "limit",
            {"type": "integer", "minimum": 0},
            f"Default {DEFAULT_PENDING_LIMIT}, at most {MAX_PENDING_LIMIT} (capped).",
        )
    ],
    ok=obj({"commitments": array(PENDING_COMMITMENT), "total": INTEGER}),
)
anchored_notice = view_operation(
    "post",
    "anchoring",
    "anchor_service_anchored",
    "Record the transaction that anchored a VES commitment (bootstrap admin; the anchor service)",
    body=ANCHORED_REQUEST,
    parameters=[BATCH_ID],
    ok=ANCHORED_RESULT,
)
