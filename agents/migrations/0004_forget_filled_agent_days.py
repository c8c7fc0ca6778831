"""Data only: the daily rows written before 0003 summed the revenue of every currency, so none
of them is trusted any more. With `filled_through` cleared, readers compute every day live
(exact at once) and the next refresh rebuilds the rows from the first day with data, as a
first fill does (agents.services.agent_metrics_refresh). The rows stay until that rebuild."""

from django.db import migrations
from django.db.models import F


def forget_filled_days(apps, schema_editor):
    fill_state = apps.get_model("agents", "AgentMetricsFillState")
    fill_state.objects.update(filled_through=None, dirty_from=None, version=F("version") + 1)


class Migration(migrations.Migration):
    dependencies = [("agents", "0003_agentdailymetrics_excluded_sales")]

    operations = [migrations.RunPython(forget_filled_days, migrations.RunPython.noop)]
