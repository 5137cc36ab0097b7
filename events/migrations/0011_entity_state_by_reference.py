"""An entity of one event stores its state by reference to that event (ADR 0036).

A new nullable column changes no row; the check scans the table once (every existing row has
the column NULL and passes)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0010_rejected_bodies_sealed_at_rest"),
    ]

    operations = [
        migrations.AddField(
            model_name="entitystate",
            name="state_event_sequence",
            field=models.BigIntegerField(null=True),
        ),
        migrations.AddConstraint(
            model_name="entitystate",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("state_event_sequence__isnull", True),
                    models.Q(
                        ("state__isnull", True),
                        ("state_event_sequence", models.F("last_sequence")),
                        ("state_key_id__isnull", True),
                        ("state_sealed__isnull", True),
                        ("version", 1),
                    ),
                    _connector="OR",
                ),
                name="entity_state_by_reference_is_its_one_event",
            ),
        ),
    ]
