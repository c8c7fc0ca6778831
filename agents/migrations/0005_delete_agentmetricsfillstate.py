from django.db import migrations


class Migration(migrations.Migration):
    # After core.0002 copied these rows into core.FillState (family "agents").
    dependencies = [("agents", "0004_forget_filled_agent_days"), ("core", "0002_fill_states_from_apps")]

    operations = [migrations.DeleteModel(name="AgentMetricsFillState")]
