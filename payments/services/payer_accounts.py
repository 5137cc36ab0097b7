"""Which agents of a tenant may pay from a payer account (ADR 0006, "Payer accounts").

The payer address an intent names is signed but not proven: an Ed25519 agent key cannot prove
an EVM account. Nonces are one space per ``(tenant, payer account)``, so without a holder any
agent of the tenant could sequence intents in another agent's account and take the nonces that
agent was about to use. The first intent sequenced for an account holds it for its agent
(``payments/sql/insert_intent.sql``, in the intent's statement); another agent's intent is 403
``payer_account_held`` until an operator grants it the account (:func:`payer_account_grant`,
``manage.py payer_account``). Grants and revocations are audited in their own transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction

from audit.services import audit_record
from payments import errors
from payments.addresses import address_key
from payments.sql import (
    GRANT_PAYER_ACCOUNT,
    HOLD_PAYER_ACCOUNTS_FROM_INTENTS,
    REVOKE_PAYER_ACCOUNT,
    SELECT_PAYER_ACCOUNT,
)


@dataclass(frozen=True, slots=True)
class PayerAccountChange:
    payer_account: str
    agents_before: tuple[uuid.UUID, ...]
    agents_after: tuple[uuid.UUID, ...]

    @property
    def changed(self) -> bool:
        return self.agents_before != self.agents_after


def payer_account_held(payer_key: str) -> errors.PayerAccountHeldError:
    """The refusal of an intent from ``payer_key`` by an agent that does not hold it."""
    return errors.PayerAccountHeldError(
        f"Payer account {payer_key} is held by another agent of this tenant; an operator can grant this"
        ' agent the account (docs/payments.md, "Payer accounts").'
    )


def payer_account_grant(
    *, tenant_id: uuid.UUID, payer_address: str, agent_id: uuid.UUID, actor: str
) -> PayerAccountChange:
    """Let ``agent_id`` pay from the account of ``payer_address`` (validated hex) in the tenant,
    beside the agents that hold it already; audited as ``payer_account.grant`` when it changes."""
    return _holders_change(GRANT_PAYER_ACCOUNT, "payer_account.grant", tenant_id, payer_address, agent_id, actor)


def payer_account_revoke(
    *, tenant_id: uuid.UUID, payer_address: str, agent_id: uuid.UUID, actor: str
) -> PayerAccountChange:
    """Take ``agent_id``'s right to pay from the account of ``payer_address`` in the tenant; the
    account is released when its last agent goes (the next intent from it holds it anew).
    Intents already sequenced stay; audited as ``payer_account.revoke`` when it changes."""
    return _holders_change(REVOKE_PAYER_ACCOUNT, "payer_account.revoke", tenant_id, payer_address, agent_id, actor)


@transaction.atomic(durable=True)
def _holders_change(
    statement: str, action: str, tenant_id: uuid.UUID, payer_address: str, agent_id: uuid.UUID, actor: str
) -> PayerAccountChange:
    """Run a grant or revoke ``statement`` (one row: the holders after; none: nothing changed)
    and audit the change in its transaction."""
    payer_key = address_key(payer_address)
    params: dict[str, Any] = {
        "tenant_id": tenant_id,
        "payer_key": payer_key,
        "agent_id": agent_id,
        "now": datetime.now(UTC),
        "actor": actor[:200],
    }
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
        if row is None:  # granted already, or not held by the agent
            held = _holders(cursor, params)
            return PayerAccountChange(payer_key, held, held)
    after = tuple(row[0])
    before = tuple(a for a in after if a != agent_id) if agent_id in after else (*after, agent_id)
    change = PayerAccountChange(payer_key, before, after)
    audit_record(
        actor=actor,
        action=action,
        target_type="payer_account",
        target_id=payer_key,
        tenant_id=tenant_id,
        detail={
            "agent_id": str(agent_id),
            "agents_before": [str(a) for a in change.agents_before],
            "agents_after": [str(a) for a in change.agents_after],
        },
    )
    return change


def payer_account_holders(*, tenant_id: uuid.UUID, payer_address: str) -> tuple[uuid.UUID, ...]:
    """The agents that may pay from the account of ``payer_address`` in the tenant (none: the
    account's next intent holds it for its agent); inside a transaction, share-locked to its
    commit."""
    with connection.cursor() as cursor:
        return _holders(cursor, {"tenant_id": tenant_id, "payer_key": address_key(payer_address)})


def _holders(cursor: Any, params: dict[str, Any]) -> tuple[uuid.UUID, ...]:
    cursor.execute(SELECT_PAYER_ACCOUNT, params)
    row = cursor.fetchone()
    return () if row is None else tuple(row[0])


@transaction.atomic(durable=True)
def payer_accounts_from_intents(*, actor: str) -> list[tuple[uuid.UUID, str, tuple[uuid.UUID, ...]]]:
    """Let every agent that has sequenced an intent from an account hold it, beside its holders
    (``payments/sql/hold_payer_accounts_from_intents.sql``): what migration 0008 did, again, for
    intents the previous release sequenced during an upgrade. Only adds holders; each account
    created or widened is audited as ``payer_account.from_intents``. Returns those accounts."""
    with connection.cursor() as cursor:
        cursor.execute(HOLD_PAYER_ACCOUNTS_FROM_INTENTS, {"actor": actor[:200]})
        changed = [(row[0], row[1], tuple(row[2])) for row in cursor.fetchall()]
    for tenant_id, payer_key, agents in changed:
        audit_record(
            actor=actor,
            action="payer_account.from_intents",
            target_type="payer_account",
            target_id=payer_key,
            tenant_id=tenant_id,
            detail={"agents_after": [str(a) for a in agents]},
        )
    return changed
