"""What the experiment pages show, worded and rounded for people (docs/experiments.md, "Pages"):
`words` (units, formats, labels), `results` (the results region), `history` (the decision
history) and `pages` (the list, the form and the header). Pure: no ORM, no clock."""

from insights.experiments.display.history import HistoryRow, history_rows
from insights.experiments.display.pages import (
    TRANSITION_DONE,
    ListRow,
    Tab,
    baseline_texts,
    list_rows,
    plan_texts,
    status_tabs,
)
from insights.experiments.display.results import Progress, ResultsView, progress_rows, results_view
from insights.experiments.display.words import METHOD_HELP, Units, headline, units_of

__all__ = [
    "METHOD_HELP",
    "TRANSITION_DONE",
    "HistoryRow",
    "ListRow",
    "Progress",
    "ResultsView",
    "Tab",
    "Units",
    "baseline_texts",
    "headline",
    "history_rows",
    "list_rows",
    "plan_texts",
    "progress_rows",
    "results_view",
    "status_tabs",
    "units_of",
]
