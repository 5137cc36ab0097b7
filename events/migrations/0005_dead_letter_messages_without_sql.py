"""Dead letters stored before ``dead_letter_error`` kept psycopg's whole message: its DETAIL and
CONTEXT lines quote statement data and bound parameters. Keep only the primary message line."""

from django.db import migrations

STRIP_CONTEXT = r"""
UPDATE projection_dead_letters
SET error_message = split_part(error_message, E'\n', 1)
WHERE (error_class LIKE 'django.db.%' OR error_class LIKE 'psycopg.%')
  AND position(E'\n' IN error_message) > 0
"""


class Migration(migrations.Migration):
    dependencies = [("events", "0004_projections_dead_letters_audit")]

    operations = [migrations.RunSQL(STRIP_CONTEXT, reverse_sql=migrations.RunSQL.noop)]
