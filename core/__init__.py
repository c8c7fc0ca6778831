"""The shared kernel every app uses (DESIGN section 2): tenancy, time ranges, cache versions,
the one error type and handler, API conventions and the statistics engine."""
