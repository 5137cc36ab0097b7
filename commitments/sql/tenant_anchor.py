"""The tenant-scoped anchoring statements, loaded once at import (one statement per file).

Kept beside ``__init__``'s list while that module is being edited elsewhere; fold them into it
when convenient.
"""

from sequencer_project.db.sql import load_sql

LOCK_TENANT_COMMITMENT = load_sql(__file__, "lock_tenant_commitment.sql")
UPDATE_TENANT_COMMITMENT_ANCHOR = load_sql(__file__, "update_tenant_commitment_anchor.sql")
