"""Data only: the hour levels and the campaigns' lead sets (0013) start empty, so no
insights day can be trusted until they are rebuilt with the days. With `filled_through` cleared, readers compute every day live
(exact at once) and the next refresh rebuilds every level from the first day with data, as a
first fill does (core.stats.refresh.statistics_refresh)."""

from django.db import migrations
from django.db.models import F


def forget_filled_days(apps, schema_editor):
    fill_state = apps.get_model("core", "FillState")
    fill_state.objects.filter(family="insights").update(
        filled_through=None, dirty_from=None, hours_through=None, version=F("version") + 1
    )


class Migration(migrations.Migration):
    dependencies = [("insights", "0013_hour_levels_and_lead_sets"), ("core", "0003_fill_state_hours_through")]

    operations = [migrations.RunPython(forget_filled_days, migrations.RunPython.noop)]
