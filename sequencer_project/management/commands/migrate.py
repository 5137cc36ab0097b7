"""``manage.py migrate``: Django's own, one process of a deployment at a time.

Two processes migrating one database at once (two nodes started together, each running
``scripts/run.sh``, or replicas each running the migrate step) raced: on a fresh database one of
them failed (``column "name" of relation "django_content_type" does not exist``). Each now takes
a session-level advisory lock on the database it migrates first, so the second finds the first's
work done ("No migrations to apply"). It tries the lock every half second rather than wait in
one statement: a waiting statement holds a snapshot, which the first process's ``CREATE INDEX
CONCURRENTLY`` waits for (PostgreSQL found that deadlock).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

from sequencer_project.db.locks import LockNamespace, session_lock_release, session_lock_try

#: How often a migrate waiting for another one tries the lock again.
RETRY_SECONDS = 0.5


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " One process at a time per database (an advisory lock)."

    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        said = False
        while not session_lock_try(connection, LockNamespace.MIGRATIONS, 0):
            if not said and options["verbosity"] >= 1:
                self.stdout.write("Another process is migrating this database; waiting for it to finish.")
                said = True
            time.sleep(RETRY_SECONDS)
        try:
            super().handle(*args, **options)
        finally:
            session_lock_release(connection, LockNamespace.MIGRATIONS, 0, what="migrate")
