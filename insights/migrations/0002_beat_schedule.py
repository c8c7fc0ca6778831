"""Formerly created the periodic jobs; the schedule now lives in settings
(CELERY_BEAT_SCHEDULE), written to django-celery-beat's tables when beat starts. Kept, empty,
so the migration history of existing databases stays intact."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = []
