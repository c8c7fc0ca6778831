"""Data only: the agents' and the insights' own fill states become rows of the one FillState
(families "agents" and "insights"); and the periodic tasks of the two former refresh jobs,
replaced by "nightly statistics" (settings.CELERY_BEAT_SCHEDULE), are removed."""

from django.db import migrations

FORMER_JOBS = ("nightly agent metrics", "nightly insights rollups")


def copy_fill_states(apps, schema_editor):
    fill_state = apps.get_model("core", "FillState")
    for app_label, model_name, family in (
        ("agents", "AgentMetricsFillState", "agents"),
        ("insights", "InsightsFillState", "insights"),
    ):
        for old in apps.get_model(app_label, model_name).objects.all():
            fill_state.objects.update_or_create(
                organization_id=old.organization_id,
                family=family,
                defaults={
                    "filled_through": old.filled_through,
                    "dirty_from": old.dirty_from,
                    "version": old.version,
                    "updated_at": old.updated_at,
                },
            )


def remove_former_jobs(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=FORMER_JOBS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("agents", "0004_forget_filled_agent_days"),
        ("insights", "0007_rollup_keys_without_constraints"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(copy_fill_states, migrations.RunPython.noop),
        migrations.RunPython(remove_former_jobs, migrations.RunPython.noop),
    ]
