"""x402 endpoints (REFERENCE.md §2.2, §5; docs/payments.md)."""

from __future__ import annotations

from functools import partial

from django.conf import settings
from rest_framework.request import Request
from rest_framework.response import Response

from audit.services import api_actor
from payments import errors
from payments.api import openapi as shapes
from payments.api.serializers import (
    batch_created_output,
    batch_output,
    intent_output,
    intent_status_output,
    receipt_output,
    settlement_output,
)
from payments.hashing import ASSETS, NETWORKS, canonical_asset
from payments.intent_requests import parse_payment_request
from payments.limits import MAX_BATCH_SIZE
from payments.selectors import (
    INTENT_STATUSES,
    IntentFilters,
    payment_batch_detail_get,
    payment_intent_get_visible,
    payment_intent_list,
    payment_receipt_get_visible,
)
from payments.services.batches import BatchKey, batch_create_manual
from payments.services.intents import payment_intent_submit
from payments.services.settlement import batch_settle_record
from sequencer_project.api.errors import InvalidParameterError
from sequencer_project.api.fields import (
    U64,
    field_value_error,
    hex_bytes,
    parse_uuid,
    query_choice,
    query_count,
    query_text,
    query_timestamp,
    query_uuid_optional,
    request_fields,
)
from sequencer_project.api.openapi import DATETIME, STRING, UUID, extra_problem, operation, path_uuid, query
from sequencer_project.api.principal import Permission
from sequencer_project.api.tenancy import TenantApiMixin

_MAX_LIST = 1000
_MAX_OFFSET = 10_000
_MAX_TX_HASH = 66  # 0x + 32 bytes of hex
# intent_ids are read up to this many so that a list over max_size is the reference's 413
# ``batch_too_large``, not a type error; the body size limit bounds the list long before.
_MAX_INTENT_IDS_READ = 100_000


class PaymentListCreateApi(TenantApiMixin):
    """``POST`` submits a signed intent; ``GET`` lists intents of a tenant (newest first)."""

    @operation(
        "x402",
        "x402_payments_submit",
        "Submit a signed payment intent (sequenced at once; an idempotent replay answers the original)",
        body=shapes.PAYMENT_SUBMIT,
        ok=shapes.INTENT_STATUS_OUT,
    )
    def post(self, request: Request) -> Response:
        parsed = parse_payment_request(request_fields(request))
        self.principal.check_agent(parsed.source_agent_id)
        self.stream_for(parsed.tenant_id, parsed.store_id, Permission.WRITE)
        submitted = payment_intent_submit(request=parsed, actor=api_actor(self.principal))
        # 200 for a new intent and for a replay alike, as the reference answers.
        return Response(intent_status_output(submitted))

    @operation(
        "x402",
        "x402_payments_list",
        "A tenant's payment intents, newest first",
        parameters=[
            query("tenant_id", UUID, required=True),
            query("store_id", UUID, "Required for store-scoped credentials."),
            query("payer_address", STRING),
            query("payee_address", STRING),
            query("status", shapes.INTENT_STATUS),
            query("network", shapes.NETWORK),
            query("asset", shapes.ASSET),
            query("batch_id", UUID),
            query("from_date", DATETIME),
            query("to_date", DATETIME),
            query(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": _MAX_LIST},
                f"413 batch_too_large above {_MAX_LIST}.",
            ),
            query(
                "offset",
                {"type": "integer", "minimum": 0, "maximum": _MAX_OFFSET},
                "Skip this many intents (counted from `before` when it is given).",
            ),
            query(
                "before",
                UUID,
                "Keyset cursor (ours): the intents after this one, newest first, e.g. the last "
                "intent_id of the previous page; reaches every intent, however old, and is not "
                "shifted by intents submitted meanwhile. 400 invalid_parameter when it names no "
                "intent of the list's tenant (and store, when given).",
            ),
        ],
        responses=extra_problem(413),
        ok=shapes.INTENT_LIST,
    )
    def get(self, request: Request) -> Response:
        principal = self.principal
        tenant_id = self.queried_tenant(required=True)  # not the credential's by default, as the reference
        store_id = query_uuid_optional(request, "store_id")
        if store_id is None and principal.store_scope is not None:  # the whole tenant: not for store-scoped keys
            raise InvalidParameterError("Store-scoped credentials must pass store_id.", parameter="store_id")
        principal.check_stream(tenant_id, store_id, Permission.READ)
        filters = IntentFilters(
            tenant_id=tenant_id,
            store_id=store_id,
            payer_address=query_text(request, "payer_address"),
            payee_address=query_text(request, "payee_address"),
            status=query_choice(request, "status", INTENT_STATUSES),
            network=query_choice(request, "network", NETWORKS),
            asset=query_choice(request, "asset", ASSETS, canonical=canonical_asset),
            batch_id=query_uuid_optional(request, "batch_id"),
            source_agent_id=principal.agent_id,
            from_date=query_timestamp(request, "from_date"),
            to_date=query_timestamp(request, "to_date"),
        )
        if filters.from_date and filters.to_date and filters.from_date > filters.to_date:
            raise InvalidParameterError("'from_date' must not be after 'to_date'.", parameter="from_date")
        limit = query_count(
            request, "limit", default=100, minimum=1, maximum=_MAX_LIST, above=errors.BatchTooLargeError
        )
        offset = query_count(request, "offset", default=0, minimum=0, maximum=_MAX_OFFSET, above=InvalidParameterError)
        before = query_uuid_optional(request, "before")
        intents = payment_intent_list(filters=filters, limit=limit, offset=offset, before=before)
        return Response([intent_output(i) for i in intents])


class PaymentDetailApi(TenantApiMixin):
    @operation(
        "x402",
        "x402_payments_get",
        "A payment intent's status",
        parameters=[path_uuid("intent_id")],
        ok=shapes.INTENT_STATUS_OUT,
    )
    def get(self, request: Request, intent_id: str) -> Response:
        self.principal.require(Permission.READ)
        intent = payment_intent_get_visible(
            tenant_id=self.tenant_scope,
            intent_id=parse_uuid(intent_id, "intent_id"),
            visible=self.visible,
            agent_id=self.principal.agent_id,
        )
        return Response(intent_status_output(intent))


class PaymentReceiptApi(TenantApiMixin):
    @operation(
        "x402",
        "x402_payments_receipt",
        "A batched intent's receipt with its inclusion proof",
        parameters=[path_uuid("intent_id")],
        ok=shapes.RECEIPT,
        responses=extra_problem(409),  # payment_not_batched
    )
    def get(self, request: Request, intent_id: str) -> Response:
        self.principal.require(Permission.READ)
        receipt = payment_receipt_get_visible(
            tenant_id=self.tenant_scope,
            intent_id=parse_uuid(intent_id, "intent_id"),
            visible=self.visible,
            agent_id=self.principal.agent_id,
        )
        return Response(receipt_output(receipt))


_batch_error = field_value_error(errors.InvalidBatchRequestError)
_settlement_error = field_value_error(errors.InvalidSettlementError)


class BatchCreateApi(TenantApiMixin):
    """``POST /api/v1/x402/batches`` (admin): batch given or the oldest sequenced intents now."""

    @operation(
        "x402",
        "x402_batches_create",
        "Batch the given or the oldest sequenced intents now (admin)",
        body=shapes.BATCH_CREATE,
        ok=shapes.BATCH_CREATED,
    )
    def post(self, request: Request) -> Response:
        fields = request_fields(request, _batch_error)
        tenant_id, store_id = fields.uuid("tenant_id"), fields.uuid("store_id")
        self.stream_for(tenant_id, store_id, Permission.ADMIN)
        self.principal.refuse_agent_scope("create a batch")
        network = fields.choice("network", NETWORKS, default="set_chain")
        # The reference's usize: past u64 is its extractor's 422; 0 is 400, above the cap 413.
        max_size = fields.integer("max_size", maximum=U64[1], default=settings.X402_BATCH_MAX_SIZE)
        if not 1 <= max_size <= MAX_BATCH_SIZE:
            message = f"must be an integer from 1 to {MAX_BATCH_SIZE}."
            if max_size:
                raise errors.BatchTooLargeError(f"'max_size' {message}", field="max_size")
            raise _batch_error("max_size", message)
        intent_ids = fields.uuid_list("intent_ids", max_items=_MAX_INTENT_IDS_READ)
        batch = batch_create_manual(
            key=BatchKey(tenant_id, store_id, network),
            intent_ids=intent_ids,
            max_size=max_size,
            actor=api_actor(self.principal),
        )
        return Response(batch_created_output(batch))


class BatchDetailApi(TenantApiMixin):
    @operation(
        "x402",
        "x402_batches_get",
        "One batch with its intents",
        parameters=[path_uuid("batch_id")],
        ok=shapes.BATCH_ENVELOPE,
    )
    def get(self, request: Request, batch_id: str) -> Response:
        self.principal.require(Permission.READ)
        detail = payment_batch_detail_get(
            tenant_id=self.tenant_scope,
            batch_id=parse_uuid(batch_id, "batch_id"),
            visible=self.visible,
            agent_id=self.principal.agent_id,
        )
        return Response({"batch": batch_output(detail.batch, detail.intent_ids)})


class BatchSettleApi(TenantApiMixin):
    """``POST /api/v1/x402/batches/settle`` (admin): record an externally made settlement."""

    @operation(
        "x402",
        "x402_batches_settle",
        "Record an externally made settlement (admin)",
        body=shapes.BATCH_SETTLE,
        ok=shapes.SETTLED,
    )
    def post(self, request: Request) -> Response:
        self.principal.refuse_agent_scope("settle a batch")
        fields = request_fields(request, _settlement_error)
        batch_id = fields.with_error(_batch_error).uuid("batch_id")
        tx_hash = None if fields.raw("tx_hash") is None else fields.text("tx_hash", max_length=_MAX_TX_HASH)
        if tx_hash is not None:
            hex_bytes(tx_hash, "tx_hash", _settlement_error, lengths=(32,))  # stored as submitted
        recorded = batch_settle_record(
            tenant_id=self.tenant_scope,
            batch_id=batch_id,
            tx_hash=tx_hash,
            block_number=fields.optional_integer("block_number"),
            gas_used=fields.optional_integer("gas_used"),
            visible=self.visible,
            authorise=partial(self.stream_for, permission=Permission.ADMIN),
            actor=api_actor(self.principal),
        )
        return Response(settlement_output(recorded))
