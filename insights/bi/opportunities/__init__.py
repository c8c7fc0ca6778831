"""Opportunities: signals, calibrated confidence, estimated value and the nightly refresh
(docs/metrics.md, "Opportunities").

signals.py reads (scoped aggregates as of a reference time), rules.py turns them into
signals, model.py trains and scores the confidence, value.py estimates the value (all three
pure), services.py writes the opportunities.
"""
