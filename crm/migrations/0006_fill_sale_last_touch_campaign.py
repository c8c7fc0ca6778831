"""Fill Sale.last_touch_campaign for the sales stored before the column existed.

Set-based SQL in batches of sales (crm.last_touch.sales_last_touch_fill), each batch its own
transaction (the migration is not atomic): a crash halfway keeps the batches done, and running
it again recomputes every sale to the same value. The fill applies the rule the ingestion
service applies from now on, so a sale's value never depends on when it was stored.
"""

from django.db import migrations


def fill(apps, schema_editor) -> None:
    from crm.last_touch import sales_last_touch_fill

    sales_last_touch_fill()


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("crm", "0005_sale_last_touch_campaign"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
