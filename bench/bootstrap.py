"""What every Django benchmark imports first (after putting the project on sys.path):
production-like settings, then django.setup().

DEBUG off (no query log, no browsable API), the HTTPS redirect off for the in-process test
client, a fixed secret key (benchmarks only). Each can be overridden from the environment.
"""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DJANGO_DEBUG", "false")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789")

django.setup()
