"""No event signed with an agent key is sequenced after the key's revocation committed.

A VES batch checks its keys against the process's cache before its transaction (revocations
reach every process within 0.25 s), then reads them again inside the transaction, share-locked
to its commit (``tenants/sql/lock_agent_keys.sql``). Real connections on both sides: the
revocation in one, the batch in another thread's.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection, transaction

from events.services.ves_ingest import VesIngestResult
from tenants.models import AgentSigningKey
from tenants.selectors import agent_signing_key_records_locked
from tenants.services import agent_key_register, agent_key_revoke
from tests.events.ves_helpers import Agent, ves_head, ves_ingest_direct
from tests.sessions import in_thread, wait_for_lock_waiters

pytestmark = pytest.mark.django_db(transaction=True)


def _agent() -> Agent:
    agent = Agent(uuid.uuid4(), uuid.uuid4())
    agent_key_register(
        tenant_id=agent.tenant_id, agent_id=agent.agent_id, key_id=1, public_key=agent.public_key, actor="test"
    )
    return agent


def test_a_batch_that_checked_a_cached_key_is_rejected_when_the_revocation_commits_first() -> None:
    agent = _agent()
    assert ves_ingest_direct(agent, [agent.event()]).accepted == 1  # the key is in this process's cache now
    late = agent.event()

    with transaction.atomic():  # a revocation in progress: its row lock and update, not committed yet
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE agent_signing_keys SET status = 'revoked', revoked_at = now()"
                " WHERE tenant_id = %s AND agent_id = %s AND key_id = 1",
                [agent.tenant_id, agent.agent_id],
            )
        thread, out = in_thread(lambda: ves_ingest_direct(agent, [late]))  # the cache still holds the key active
        wait_for_lock_waiters()  # the batch, on the key's row
    thread.join(30)

    [result] = out
    assert isinstance(result, VesIngestResult), result
    assert result.accepted == 0
    assert [r.reason for r in result.rejections] == ["agent_key_invalid: Agent key has been revoked"]
    assert ves_head(agent.tenant_id, agent.store_id) == 1


def test_a_revocation_waits_for_the_batch_that_read_the_key_and_the_next_batch_is_refused() -> None:
    agent = _agent()
    assert ves_ingest_direct(agent, [agent.event()]).accepted == 1

    with transaction.atomic():  # a batch between its key read and its commit
        keys = agent_signing_key_records_locked(tenant_id=agent.tenant_id, agent_id=agent.agent_id, key_ids=[1])
        assert keys[1].status == "active"
        thread, out = in_thread(
            lambda: agent_key_revoke(tenant_id=agent.tenant_id, agent_id=agent.agent_id, key_id=1, actor="test")
        )
        wait_for_lock_waiters()  # the revocation waits for the batch
        assert out == []
    thread.join(30)

    [revoked] = out
    assert isinstance(revoked, AgentSigningKey), revoked
    assert revoked.status == "revoked"
    result = ves_ingest_direct(agent, [agent.event()])
    assert (result.accepted, [r.reason for r in result.rejections]) == (
        0,
        ["agent_key_invalid: Agent key has been revoked"],
    )
    assert ves_head(agent.tenant_id, agent.store_id) == 1
