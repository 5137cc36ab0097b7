"""``api_keys.name`` holds a registration's label whole: "<name>: <description>".

A registration accepted a 128-character name and a 1,024-character description and then cut the
label of its key to 200 characters; the column is now as wide as the two together
(``tenants.limits.API_KEY_NAME_MAX``). Widening a ``varchar`` rewrites nothing in PostgreSQL.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0003_api_key_expires_at"),
    ]

    operations = [
        migrations.AlterField(
            model_name="apikey",
            name="name",
            field=models.CharField(blank=True, default="", max_length=1154),
        ),
    ]
