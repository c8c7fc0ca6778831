"""The PerformanceMetric series (issue 5; docs/metrics.md, "Performance metrics").

definitions.py: the seven metrics from period totals (pure); selectors.py: the period totals
of a range for the organization and every agent, and `metric_series` (the API's read);
services.py: `performance_metrics_rebuild`, the idempotent rebuild of a span of days that
the statistics engine calls for the `performance` family (insights/statistics.py).
"""
