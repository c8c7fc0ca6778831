"""Data only: the pipeline flows (0011) are 0 in the existing lead rollup rows and the
lead-close rollups start empty, so no insights day can be trusted until they are rebuilt. With
`filled_through` cleared, readers compute every day live (exact at once) and the next refresh
rebuilds every level from the first day with data, as a first fill does
(core.stats.refresh.statistics_refresh)."""

from django.db import migrations
from django.db.models import F


def forget_filled_days(apps, schema_editor):
    fill_state = apps.get_model("core", "FillState")
    fill_state.objects.filter(family="insights").update(
        filled_through=None, dirty_from=None, version=F("version") + 1
    )


class Migration(migrations.Migration):
    dependencies = [("insights", "0011_pipeline_flows")]

    operations = [migrations.RunPython(forget_filled_days, migrations.RunPython.noop)]
