"""``manage.py payer_account --tenant UUID --account ADDRESS [--grant AGENT | --revoke AGENT]``,
``manage.py payer_account --from-intents``.

Shows, grants or revokes which agents of a tenant may pay from a payer account (ADR 0006,
"Payer accounts"; docs/payments.md). The first intent sequenced from an account holds it for its
agent; another agent's intents are 403 ``payer_account_held`` until it is granted the account
here. Revoking the last agent releases the account: its next intent holds it anew. Intents
already sequenced are not touched. Grants and revocations are audited
(``payer_account.grant``, ``payer_account.revoke``); a grant names an agent with a signing key
registered in the tenant (a mistyped id would hold nothing useful).

``--from-intents`` lets every agent that has sequenced an intent from an account hold it, in
every tenant, as migration 0008 did: after an upgrade during which processes of the previous
release sequenced intents without holding accounts (docs/operations.md, "Upgrades"). It only adds
holders.
"""

import uuid
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.services import cli_actor
from payments.addresses import address_key
from payments.intent_requests import payer_address_parse
from payments.services.payer_accounts import (
    PayerAccountChange,
    payer_account_grant,
    payer_account_holders,
    payer_account_revoke,
    payer_accounts_from_intents,
)
from sequencer_project.api.errors import SequencerError
from sequencer_project.command_arguments import ascii_uuid
from tenants.selectors import agent_signing_key_list, tenant_get


class Command(BaseCommand):
    help = "Show, grant or revoke the agents of a tenant that may pay from a payer account."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", type=ascii_uuid)
        parser.add_argument("--account", help="The payer address, in any spelling of its account.")
        parser.add_argument(
            "--from-intents", action="store_true", help="Every agent that has paid from an account holds it."
        )
        change = parser.add_mutually_exclusive_group()
        change.add_argument("--grant", type=ascii_uuid, metavar="AGENT", help="Let this agent pay from the account.")
        change.add_argument("--revoke", type=ascii_uuid, metavar="AGENT", help="Take this agent's right to.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["from_intents"]:
            if any(options[name] is not None for name in ("tenant", "account", "grant", "revoke")):
                raise CommandError("--from-intents takes no other option: it covers every tenant.")
            changed = payer_accounts_from_intents(actor=cli_actor("payer_account"))
            for tenant, payer_key, agents in changed:
                self.stdout.write(f"{payer_key} (tenant {tenant}) is held by: {', '.join(map(str, agents))}")
            self.stdout.write(f"{len(changed)} payer account{'s' if len(changed) != 1 else ''} created or widened.")
            return
        if options["tenant"] is None or options["account"] is None:
            raise CommandError("Name the account: --tenant UUID --account ADDRESS (or give --from-intents).")
        tenant_id: uuid.UUID = options["tenant"]
        if tenant_get(tenant_id=tenant_id) is None:
            raise CommandError(f"No tenant {tenant_id}.")
        try:
            address = payer_address_parse(options["account"])
        except SequencerError as error:
            raise CommandError(f"--account: {error.detail}") from None
        actor = cli_actor("payer_account")
        if options["grant"] is not None:
            agent_id: uuid.UUID = options["grant"]
            if not agent_signing_key_list(tenant_id=tenant_id, agent_id=agent_id):
                raise CommandError(f"Agent {agent_id} has no signing key in tenant {tenant_id}; nothing was granted.")
            change = payer_account_grant(tenant_id=tenant_id, payer_address=address, agent_id=agent_id, actor=actor)
            self._report(change, f"agent {agent_id} granted" if change.changed else f"agent {agent_id} held it already")
        elif options["revoke"] is not None:
            agent_id = options["revoke"]
            change = payer_account_revoke(tenant_id=tenant_id, payer_address=address, agent_id=agent_id, actor=actor)
            if not change.changed:
                raise CommandError(f"Agent {agent_id} does not hold {change.payer_account}; nothing was revoked.")
            self._report(change, f"agent {agent_id} revoked")
        else:
            held = payer_account_holders(tenant_id=tenant_id, payer_address=address)
            self._report(PayerAccountChange(address_key(address), held, held), "")

    def _report(self, change: PayerAccountChange, what: str) -> None:
        if what:
            self.stdout.write(f"{change.payer_account}: {what}")
        if change.agents_after:
            self.stdout.write(f"{change.payer_account} is held by: {', '.join(map(str, change.agents_after))}")
        else:
            self.stdout.write(f"{change.payer_account} is held by no agent: its next intent holds it for its agent")
