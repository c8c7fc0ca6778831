from django.db import migrations


class Migration(migrations.Migration):
    # After core.0002 copied these rows into core.FillState (family "insights").
    dependencies = [
        ("insights", "0007_rollup_keys_without_constraints"),
        ("core", "0002_fill_states_from_apps"),
    ]

    operations = [migrations.DeleteModel(name="InsightsFillState")]
