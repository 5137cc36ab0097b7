"""``payment_intent_list`` on indexes: the address filters match exactly what the regular
expression they replace matched, and the list's plans read an index in the list's order instead of
sorting the tenant's intents (at 202,000 intents: 83-138 ms a page, 0.05-2.3 ms on the indexes;
docs/payments.md, "Listing intents")."""

from __future__ import annotations

import json
import string
import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments.addresses import address_key
from payments.models import PaymentIntent
from payments.selectors import IntentFilters, payment_intent_list
from tests.conftest import Persona

pytestmark = pytest.mark.django_db

ACCOUNT = "a1B2c3D4e5F6a7B8c9D0" * 2  # 40 hex digits, mixed case
OTHER = "0" + ACCOUNT[1:]
KEY_32 = "Ab" * 32

COLUMNS = """
INSERT INTO x402_payment_intents (
  intent_id, x402_version, status, tenant_id, store_id, source_agent_id, agent_key_id,
  payer_address, payee_address, amount, asset, network, chain_id, created_at_unix, valid_until,
  nonce, request_hash, signing_hash, payer_signature, sequence_number, sequenced_at, created_at, updated_at)
"""
# n intents of one store; intent g's payer is one of 50 accounts in three spellings, its payee one of 20.
SEED = (
    COLUMNS
    + """
SELECT gen_random_uuid(), 1, 'sequenced', %(tenant_id)s, %(store_id)s, gen_random_uuid(), 1,
  CASE g %% 3 WHEN 0 THEN '0x' || md5('payer' || (g %% 50)) WHEN 1 THEN '0X' || upper(md5('payer' || (g %% 50)))
              ELSE md5('payer' || (g %% 50)) END || '00000000',
  '0x' || md5('payee' || (g %% 20)) || '00000000', 1000, 'usdc', 'set_chain', 1, 1700000000, 1800000000,
  g, '\\x00', '\\x00', '\\x00', g, now(), timestamptz '2026-01-01' + g * interval '1 second', now()
FROM generate_series(1, %(n)s::int) AS g
"""
)
# One intent with these addresses as stored (the list reads rows; nothing here is signed).
ONE = (
    COLUMNS
    + """
VALUES (%(intent_id)s, 1, 'sequenced', %(tenant_id)s, gen_random_uuid(), gen_random_uuid(), 1,
  %(payer)s, %(payee)s, 1000, 'usdc', 'set_chain', 1, 1700000000, 1800000000,
  1, '\\x00', '\\x00', '\\x00', 1, now(), now(), now())
"""
)


def _seed(tenant_id: uuid.UUID, n: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(SEED, {"tenant_id": tenant_id, "store_id": uuid.uuid4(), "n": n})
        cursor.execute("ANALYZE x402_payment_intents")


def _intent(tenant_id: uuid.UUID, payer: str, payee: str) -> uuid.UUID:
    intent_id = uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(ONE, {"intent_id": intent_id, "tenant_id": tenant_id, "payer": payer, "payee": payee})
    return intent_id


def _filters(tenant_id: uuid.UUID, field: str | None, address: str) -> IntentFilters:
    """The list's filters with ``address`` as the payer's or the payee's (``field``), or neither."""
    return IntentFilters(
        tenant_id=tenant_id,
        payer_address=address if field == "payer_address" else None,
        payee_address=address if field == "payee_address" else None,
    )


def _regex_oracle(field: str, address: str, tenant_id: uuid.UUID) -> set[uuid.UUID]:
    """What the filter matched before: ``^(0x)?<digits>$`` in any case, or the value as written."""
    digits = address_key(address)[2:]
    query = PaymentIntent.objects.filter(tenant_id=tenant_id)
    if digits and all(c in string.hexdigits for c in digits):
        query = query.filter(**{f"{field}__iregex": f"^(0x)?{digits}$"})
    else:
        query = query.filter(**{field: address})
    return set(query.values_list("intent_id", flat=True))


STORED = ["0x" + ACCOUNT, "0X" + ACCOUNT.upper(), ACCOUNT.lower(), "0x" + OTHER, "0x" + KEY_32, "0X" + KEY_32.lower()]
ASKED = [
    *STORED,
    ACCOUNT.upper(),
    "0x" + ACCOUNT.lower()[:-1],  # a prefix of the account is another
    "0x" + ACCOUNT.lower() + "0",
    KEY_32,  # bare 64 digits: the 32-byte address's digits
    "0x0x" + ACCOUNT,
    "not an address.*",
    "0x",
    "x" + ACCOUNT,
    "0x" + ACCOUNT[:-1] + "g",
]


@pytest.mark.parametrize("field", ["payer_address", "payee_address"])
def test_an_address_filter_matches_exactly_what_the_regular_expression_matched(owner: Persona, field: str) -> None:
    other = "0x" + "cd" * 20
    for stored in STORED:
        _intent(owner.tenant_id, *((stored, other) if field == "payer_address" else (other, stored)))
    _intent(uuid.uuid4(), *(("0x" + ACCOUNT, other) if field == "payer_address" else (other, "0x" + ACCOUNT)))

    for asked in ASKED:
        listed = payment_intent_list(filters=_filters(owner.tenant_id, field, asked), limit=1000, offset=0)
        assert {i.intent_id for i in listed} == _regex_oracle(field, asked, owner.tenant_id), asked
    assert len(payment_intent_list(filters=_filters(owner.tenant_id, field, ACCOUNT), limit=9, offset=0)) == 3


def _plan(filters: IntentFilters, **page: Any) -> dict[str, Any]:
    with CaptureQueriesContext(connection) as captured:
        payment_intent_list(filters=filters, limit=100, **page)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + captured.captured_queries[-1]["sql"])
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]  # type: ignore[no-any-return]


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [node, *(n for child in node.get("Plans", []) for n in _nodes(child))]


@pytest.mark.parametrize(
    ("field", "address", "index"),
    [
        (None, "", "x402_intents_tenant_created"),
        ("payer_address", "0X" + "AB" * 20, "x402_intents_payer_account"),
        ("payee_address", "cd" * 20, "x402_intents_payee_account"),
    ],
)
def test_a_page_reads_its_index_backwards_and_sorts_nothing(
    owner: Persona, field: str | None, address: str, index: str
) -> None:
    _seed(owner.tenant_id, 3000)
    _seed(uuid.uuid4(), 1000)
    newest = PaymentIntent.objects.filter(tenant_id=owner.tenant_id).order_by("-created_at")[500]

    for page in ({"offset": 0}, {"offset": 200}, {"offset": 0, "before": newest.intent_id}):
        nodes = _nodes(_plan(_filters(owner.tenant_id, field, address), **page))
        scans = [n for n in nodes if n.get("Relation Name") == "x402_payment_intents"]
        assert [(n["Node Type"], n.get("Index Name"), n.get("Scan Direction")) for n in scans] == [
            ("Index Scan", index, "Backward")
        ], (page, nodes)
        assert not [n for n in nodes if "Sort" in n["Node Type"]], (page, nodes)
        if "before" in page:  # the scan starts at the cursor, not at the newest intent
            assert "created_at <=" in scans[0]["Index Cond"], scans
