"""Data only: the agent x month rows (0006) start empty, so no agents day can be trusted
until they are built (a window over 90 days would read empty months). With `filled_through`
cleared, readers compute every day live (exact at once) and the next refresh rebuilds the
daily and monthly rows from the first day with data, as a first fill does
(core.stats.refresh.statistics_refresh)."""

from django.db import migrations
from django.db.models import F


def forget_filled_days(apps, schema_editor):
    fill_state = apps.get_model("core", "FillState")
    fill_state.objects.filter(family="agents").update(
        filled_through=None, dirty_from=None, version=F("version") + 1
    )


class Migration(migrations.Migration):
    dependencies = [("agents", "0006_agent_monthly_metrics"), ("core", "0002_fill_states_from_apps")]

    operations = [migrations.RunPython(forget_filled_days, migrations.RunPython.noop)]
