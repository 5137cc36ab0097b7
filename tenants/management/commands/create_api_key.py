"""``manage.py create_api_key --tenant UUID [--permissions read,write,admin] [--replace] ...``.

Prints the key once; only its SHA-256 is stored. Audited. ``--replace`` then revokes the tenant's
other active keys of the same name (``make run`` makes its demo key so on every start, so old demo keys
printed to earlier logs stop working).
"""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sequencer_project.api.errors import SequencerError
from sequencer_project.command_arguments import ascii_integer, ascii_uuid
from tenants.limits import API_KEY_NAME_MAX, STORE_IDS_MAX
from tenants.selectors import api_keys_active_named, tenant_get
from tenants.services import API_KEY_RATE_LIMIT_MAX, api_key_create, api_key_revoke
from ves.rfc3339 import parse_rfc3339

_PERMISSIONS = {"read", "write", "admin"}


class Command(BaseCommand):
    help = "Create an API key for a tenant and print it (shown once)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", type=ascii_uuid, required=True)
        parser.add_argument("--name", default="")
        parser.add_argument("--permissions", default="read,write", help="Comma list of read, write, admin.")
        parser.add_argument("--store", type=ascii_uuid, action="append", default=[], help="Limit to a store; repeat.")
        parser.add_argument("--agent", type=ascii_uuid, default=None, help="Scope the key to one agent.")
        parser.add_argument(
            "--rate-limit", type=ascii_integer, default=None, help=f"Requests per minute, 1..{API_KEY_RATE_LIMIT_MAX}."
        )
        parser.add_argument(
            "--expires-at", default=None, help="RFC 3339 instant the key stops working (default: never)."
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Then revoke the tenant's other active keys of the same --name (audited), e.g. a demo key made again.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = tenant_get(tenant_id=options["tenant"])
        if tenant is None:
            raise CommandError(f"Tenant {options['tenant']} does not exist; create it with create_tenant.")
        permissions = {p.strip() for p in options["permissions"].split(",") if p.strip()}
        unknown = permissions - _PERMISSIONS
        if unknown or not permissions:
            raise CommandError(f"Permissions must be a non-empty subset of {sorted(_PERMISSIONS)}.")
        if len(options["name"]) > API_KEY_NAME_MAX or "\x00" in options["name"]:
            raise CommandError(f"--name must be at most {API_KEY_NAME_MAX} characters, with no NUL.")
        if options["rate_limit"] is not None and not 1 <= options["rate_limit"] <= API_KEY_RATE_LIMIT_MAX:
            raise CommandError(f"--rate-limit must be 1..{API_KEY_RATE_LIMIT_MAX} (requests per minute).")
        expires_at = None
        if options["expires_at"] is not None:
            expires_at = parse_rfc3339(options["expires_at"])
            if expires_at is None or expires_at <= timezone.now():
                raise CommandError("--expires-at must be a future RFC 3339 timestamp, e.g. 2030-01-01T00:00:00Z.")
        stores = list(dict.fromkeys(options["store"]))
        if len(stores) > STORE_IDS_MAX:
            raise CommandError(f"At most {STORE_IDS_MAX} --store options (as the API's storeIds and the admin form).")
        if options["replace"] and not options["name"]:
            raise CommandError("--replace needs --name: it revokes the tenant's other active keys of that name.")
        try:
            issued = api_key_create(
                tenant=tenant,
                name=options["name"],
                can_read="read" in permissions,
                can_write="write" in permissions,
                can_admin="admin" in permissions,
                store_ids=stores,
                agent_id=options["agent"],
                rate_limit=options["rate_limit"],
                expires_at=expires_at,
                actor="cli:create_api_key",
            )
        except SequencerError as exc:  # what the checks above let through and the service refuses
            raise CommandError(str(exc.detail)) from exc
        if options["replace"]:  # after the new key exists: a refused creation revokes nothing
            for replaced in api_keys_active_named(tenant_id=tenant.id, name=options["name"]):
                if replaced.pk != issued.api_key.pk:
                    api_key_revoke(api_key=replaced, actor="cli:create_api_key")
        self.stdout.write(issued.key)
