"""``api_keys.shared_rate_limits``: the budgets of the keys a key was minted from (ADR 0015).

A key limited to N requests per window could mint keys with N each and multiply its rate; a
minted key's requests now count against its minters' budgets too. Existing keys share none (they
were minted before the rule: their lineage is not recorded). Adding a column with a constant
default rewrites nothing in PostgreSQL.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0004_api_key_name_holds_a_registration_label"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="shared_rate_limits",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text=(
                    "The budgets of the keys it was minted from, [[credential id, requests per minute], ...]: "
                    "its requests count against each (a minted key never adds to its minter's)."
                ),
            ),
        ),
    ]
