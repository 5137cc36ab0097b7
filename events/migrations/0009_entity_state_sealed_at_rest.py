"""Projected entity states sealed at rest like the payloads they merge (docs/encryption.md).

New nullable columns and a nullable ``state`` change no row; the check scans the table once."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0008_dead_letters_tenant_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="entitystate",
            name="state_key_id",
            field=models.SmallIntegerField(null=True),
        ),
        migrations.AddField(
            model_name="entitystate",
            name="state_sealed",
            field=models.BinaryField(null=True),
        ),
        migrations.AlterField(
            model_name="entitystate",
            name="state",
            field=models.JSONField(null=True),
        ),
        migrations.AddConstraint(
            model_name="entitystate",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("state_sealed__isnull", True),
                    models.Q(("state__isnull", True), ("state_key_id__isnull", False)),
                    _connector="OR",
                ),
                name="entity_state_sealed_names_its_key",
            ),
        ),
    ]
