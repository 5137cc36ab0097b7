"""Indexes for the audit log's admin list, its filters and its search.

``audit_log`` is never pruned (docs/operations.md, "Retention"), and its admin page filtered by
action or target type with ``SELECT DISTINCT`` over the table and searched with ``UPPER(...)``
comparisons no index served: 0.6-1.6 s a page at 2.5 million rows. With these, a filter's choices
are a loose scan of ``audit_log_action_at_idx`` / ``audit_log_target_type_idx``, a tenant search reads
``audit_log_tenant_at_idx`` and an actor or target prefix the pattern indexes
(``sequencer_project/admin_lists.py``).

Not atomic, so nothing that writes an audit row waits while they are built (STYLE rule 26):
``CREATE INDEX CONCURRENTLY``, each after an invalid index of its name (what an interrupted build
leaves, and ``IF NOT EXISTS`` would keep) is dropped (:mod:`sequencer_project.db.rerunnable_ddl`).
"""

from django.db import migrations

from sequencer_project.db.rerunnable_ddl import invalid_index_dropper

INDEXES = {
    "audit_log_tenant_at_idx": "(tenant_id, at DESC)",
    "audit_log_action_at_idx": "(action, at DESC)",
    "audit_log_target_type_idx": "(target_type)",
    "audit_log_actor_idx": "(actor varchar_pattern_ops)",
    "audit_log_target_id_idx": "(target_id varchar_pattern_ops)",
}


def _operations() -> list[migrations.operations.base.Operation]:
    operations: list[migrations.operations.base.Operation] = []
    for name, columns in INDEXES.items():
        drop = f"DROP INDEX CONCURRENTLY IF EXISTS {name}"
        operations += [
            migrations.RunPython(invalid_index_dropper(name=name, drop=drop), migrations.RunPython.noop),
            migrations.RunSQL(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON audit_log {columns}", drop),
        ]
    return operations


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("audit", "0001_initial")]

    operations = _operations()
