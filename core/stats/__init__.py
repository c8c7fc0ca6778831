"""The one statistics engine (DESIGN section 2; the anchor is Zulip's analytics/lib/counts.py).

Apps declare families of statistics (`Family`: which ingested entities make their days stale,
how to rebuild a span of local days, where their data starts) and register them in
AppConfig.ready. The engine owns the rest, once: the fill state per (organization, family),
the stale marks written by ingestion, the idempotent refresh, the Celery tasks, the
`rebuild_statistics` command, and the plan that splits a window into trusted rollup days
and a live rest.
"""
