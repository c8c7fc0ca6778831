"""Experiments: A/B tests of campaign message variants and of prices (DESIGN section 9.4,
docs/experiments.md)."""
