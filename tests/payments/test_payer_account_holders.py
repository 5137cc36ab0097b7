"""Only an agent that holds a payer account sequences intents from it (ADR 0006, "Payer accounts").

Nonces are one space per (tenant, payer account), and the payer address is signed but not
proven by the agent's Ed25519 key: without holders, any agent of the tenant could take the
nonces another agent was about to use. The first intent holds the account for its agent; others
are 403 ``payer_account_held`` until an operator grants them the account.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import threading
import uuid
from types import SimpleNamespace

import orjson
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.models import AuditLogEntry
from payments import errors
from payments.addresses import address_key
from payments.intent_requests import parse_payment_request
from payments.models import NonceReservation, PayerAccount, PaymentIntent
from payments.services.intents import payment_intent_submit
from payments.services.payer_accounts import payer_account_grant, payer_account_holders, payer_account_revoke
from tests.conftest import Persona
from tests.payments.helpers import Payer, post_intent

pytestmark = pytest.mark.django_db


def _sharing(first: Payer, store: Persona | None = None) -> Payer:
    """Another registered agent (another key) naming ``first``'s payer address."""
    other = Payer(store or first.persona).register()
    return dataclasses.replace(other, address=first.address)


def _refused_held(response: object) -> None:
    assert response.status_code == 403, response.content  # type: ignore[attr-defined]
    assert response["Content-Type"] == "application/problem+json"  # type: ignore[index]
    body = orjson.loads(response.content)  # type: ignore[attr-defined]
    assert (body["code"], body["status"]) == ("payer_account_held", 403)


def _x402_numbers(persona: Persona) -> list[int]:
    rows = PaymentIntent.objects.filter(tenant_id=persona.tenant_id, store_id=persona.store_id)
    return sorted(int(n or 0) for n in rows.values_list("sequence_number", flat=True))


def test_another_agent_cannot_take_nonces_from_an_account_its_first_agent_holds(owner: Persona) -> None:
    first = Payer(owner).register()
    squatter = _sharing(first)
    assert post_intent(owner.client, first.intent(nonce=1)).status_code == 200

    # The next nonce the first agent will use, taken by another agent of the tenant: refused,
    # and nothing of it stays (no sequence number, no reservation).
    _refused_held(post_intent(owner.client, squatter.intent(nonce=2)))
    assert _x402_numbers(owner) == [1]
    assert list(NonceReservation.objects.filter(tenant_id=owner.tenant_id).values_list("nonce", flat=True)) == [1]

    assert post_intent(owner.client, first.intent(nonce=2)).status_code == 200
    assert _x402_numbers(owner) == [1, 2]
    assert payer_account_holders(tenant_id=owner.tenant_id, payer_address=first.address) == (first.agent_id,)


def test_the_account_is_held_whatever_its_spelling_and_in_every_store(owner: Persona) -> None:
    first = Payer(owner).register()
    assert post_intent(owner.client, first.intent(nonce=1)).status_code == 200
    elsewhere = dataclasses.replace(owner, store_id=uuid.uuid4())
    digits = first.address[2:]
    for spelling in (digits.upper(), "0X" + digits, "0x" + digits.upper()):
        squatter = dataclasses.replace(_sharing(first, elsewhere), address=spelling)
        _refused_held(post_intent(elsewhere.client, squatter.intent(nonce=7)))
    assert _x402_numbers(elsewhere) == []


def test_a_refused_intent_holds_nothing_and_an_unheld_account_is_held_by_its_first_intent(owner: Persona) -> None:
    payer = Payer(owner).register()
    # Refused for another reason (expired): the account stays unheld.
    expired = post_intent(owner.client, payer.intent(nonce=1, valid_until=1))
    assert expired.status_code == 400
    assert not PayerAccount.objects.filter(tenant_id=owner.tenant_id).exists()

    assert post_intent(owner.client, payer.intent(nonce=1)).status_code == 200
    held = PayerAccount.objects.get(tenant_id=owner.tenant_id)
    intent = PaymentIntent.objects.get(tenant_id=owner.tenant_id)
    assert (held.payer_account, held.agent_ids, held.bound_by) == (
        address_key(payer.address),
        [payer.agent_id],
        f"intent:{intent.intent_id}",
    )


def test_an_operator_grants_and_revokes_an_account_and_each_change_is_audited(owner: Persona) -> None:
    first = Payer(owner).register()
    second = _sharing(first)
    assert post_intent(owner.client, first.intent(nonce=1)).status_code == 200

    granted = payer_account_grant(
        tenant_id=owner.tenant_id, payer_address=first.address.upper(), agent_id=second.agent_id, actor="cli:t"
    )
    assert (granted.agents_before, granted.agents_after) == ((first.agent_id,), (first.agent_id, second.agent_id))
    again = payer_account_grant(
        tenant_id=owner.tenant_id, payer_address=first.address, agent_id=second.agent_id, actor="cli:t"
    )
    assert not again.changed
    assert post_intent(owner.client, second.intent(nonce=2)).status_code == 200  # both may pay now
    assert post_intent(owner.client, first.intent(nonce=3)).status_code == 200

    revoked = payer_account_revoke(
        tenant_id=owner.tenant_id, payer_address=first.address, agent_id=first.agent_id, actor="cli:t"
    )
    assert revoked.agents_after == (second.agent_id,)
    _refused_held(post_intent(owner.client, first.intent(nonce=4)))
    assert post_intent(owner.client, second.intent(nonce=4)).status_code == 200

    # The last agent revoked releases the account: its next intent holds it for its own agent.
    last = payer_account_revoke(
        tenant_id=owner.tenant_id, payer_address=first.address, agent_id=second.agent_id, actor="cli:t"
    )
    assert last.agents_after == ()
    assert not PayerAccount.objects.filter(tenant_id=owner.tenant_id).exists()
    assert post_intent(owner.client, first.intent(nonce=5)).status_code == 200
    _refused_held(post_intent(owner.client, second.intent(nonce=6)))

    not_held = payer_account_revoke(
        tenant_id=owner.tenant_id, payer_address=first.address, agent_id=second.agent_id, actor="cli:t"
    )
    assert not not_held.changed
    rows = AuditLogEntry.objects.filter(tenant_id=owner.tenant_id, target_type="payer_account").order_by("id")
    assert [(r.action, r.detail["agent_id"], r.detail["agents_after"]) for r in rows] == [
        ("payer_account.grant", str(second.agent_id), [str(first.agent_id), str(second.agent_id)]),
        ("payer_account.revoke", str(first.agent_id), [str(second.agent_id)]),
        ("payer_account.revoke", str(second.agent_id), []),
    ]
    assert {r.target_id for r in rows} == {address_key(first.address)}


def test_the_command_shows_grants_and_revokes_and_refuses_what_it_cannot_do(owner: Persona) -> None:
    first = Payer(owner).register()
    second = _sharing(first)
    tenant = str(owner.tenant_id)
    account = address_key(first.address)

    def run(*args: str) -> str:
        out = io.StringIO()
        call_command("payer_account", "--tenant", tenant, "--account", first.address, *args, stdout=out)
        return out.getvalue()

    assert run() == f"{account} is held by no agent: its next intent holds it for its agent\n"
    assert run("--grant", str(second.agent_id)) == (
        f"{account}: agent {second.agent_id} granted\n{account} is held by: {second.agent_id}\n"
    )
    assert run("--grant", str(second.agent_id)).startswith(f"{account}: agent {second.agent_id} held it already\n")
    _refused_held(post_intent(owner.client, first.intent(nonce=1)))  # an operator's grant holds it too

    with pytest.raises(CommandError, match="has no signing key"):
        run("--grant", str(uuid.uuid4()))
    with pytest.raises(CommandError, match="does not hold"):
        run("--revoke", str(first.agent_id))
    with pytest.raises(CommandError, match="--account: "):
        call_command("payer_account", "--tenant", tenant, "--account", "0x1234")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("payer_account", "--tenant", str(uuid.uuid4()), "--account", first.address)
    with pytest.raises(CommandError, match="not a UUID in ASCII"):
        call_command("payer_account", "--tenant", tenant[:-1] + "\u0661", "--account", first.address)

    assert run("--revoke", str(second.agent_id)).startswith(f"{account}: agent {second.agent_id} revoked\n")
    assert post_intent(owner.client, first.intent(nonce=1)).status_code == 200


def test_the_migration_lets_every_agent_that_already_paid_from_an_account_keep_doing_so(owner: Persona) -> None:
    first = Payer(owner).register()
    second = _sharing(first)
    assert post_intent(owner.client, first.intent(nonce=1)).status_code == 200
    payer_account_grant(tenant_id=owner.tenant_id, payer_address=first.address, agent_id=second.agent_id, actor="t")
    for payer, nonce in ((second, 2), (first, 3)):
        assert post_intent(owner.client, payer.intent(nonce=nonce)).status_code == 200
    loner = Payer(owner).register()
    assert post_intent(owner.client, loner.intent(nonce=1)).status_code == 200
    PayerAccount.objects.filter(tenant_id=owner.tenant_id).delete()  # as before the migration

    migration = importlib.import_module("payments.migrations.0008_payer_accounts")
    migration.holders_from_intents(None, SimpleNamespace(connection=connection))

    held = {a.payer_account: a.agent_ids for a in PayerAccount.objects.filter(tenant_id=owner.tenant_id)}
    assert held == {
        address_key(first.address): [first.agent_id, second.agent_id],  # in order of first use
        address_key(loner.address): [loner.agent_id],
    }


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_agents_racing_for_a_new_account_leave_it_to_exactly_one(owner: Persona) -> None:
    rounds = 6
    outcomes: list[tuple[int, uuid.UUID]] = []
    lock = threading.Lock()
    for round_ in range(rounds):
        # In two stores: each submission locks its own stream's counter, so the two race on the
        # account itself (in one stream the counter lock would serialise them).
        first = Payer(owner).register()
        second = _sharing(first, dataclasses.replace(owner, store_id=uuid.uuid4()))
        barrier = threading.Barrier(2)

        def submit(payer: Payer, round_: int = round_, barrier: threading.Barrier = barrier) -> None:
            request = parse_payment_request(payer.intent(nonce=round_))
            try:
                barrier.wait()
                payment_intent_submit(request=request, actor="test")
                with lock:
                    outcomes.append((round_, payer.agent_id))
            except errors.PayerAccountHeldError:
                pass
            finally:
                connection.close()

        threads = [threading.Thread(target=submit, args=(p,)) for p in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [agent for r, agent in outcomes if r == round_]
        assert len(winners) == 1, (round_, winners)
        assert payer_account_holders(tenant_id=owner.tenant_id, payer_address=first.address) == (winners[0],)
    assert len(outcomes) == rounds


def test_after_an_upgrade_from_intents_gives_back_what_the_previous_release_sequenced(owner: Persona) -> None:
    # During a rolling upgrade a web of the previous release sequences intents without holding
    # accounts: the account's first payer (here `first`) held nothing, and the next agent that
    # paid through a new web took it. --from-intents adds every agent that has paid from it.
    first = Payer(owner).register()
    second = _sharing(first)
    assert post_intent(owner.client, first.intent(nonce=1)).status_code == 200
    PayerAccount.objects.filter(tenant_id=owner.tenant_id).delete()  # as the previous release left it
    assert post_intent(owner.client, second.intent(nonce=2)).status_code == 200
    _refused_held(post_intent(owner.client, first.intent(nonce=3)))

    out = io.StringIO()
    call_command("payer_account", "--from-intents", stdout=out)

    account = address_key(first.address)
    assert f"{account} (tenant {owner.tenant_id}) is held by: {second.agent_id}, {first.agent_id}\n" in out.getvalue()
    assert post_intent(owner.client, first.intent(nonce=3)).status_code == 200
    again = io.StringIO()
    call_command("payer_account", "--from-intents", stdout=again)
    assert f"{account} " not in again.getvalue()  # only adds holders: nothing more to add here
    rows = AuditLogEntry.objects.filter(tenant_id=owner.tenant_id, action="payer_account.from_intents")
    assert [r.target_id for r in rows] == [account]
    with pytest.raises(CommandError, match="takes no other option"):
        call_command("payer_account", "--from-intents", "--tenant", str(owner.tenant_id))
    with pytest.raises(CommandError, match="Name the account"):
        call_command("payer_account", "--tenant", str(owner.tenant_id))
