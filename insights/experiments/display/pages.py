"""The list, the new-experiment form and the page header: rows with progress, status tabs,
the baselines the service would plan from, the plan in words (docs/experiments.md, "Pages").
Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from insights.experiments.display.results import Progress, progress_rows
from insights.experiments.display.words import UNITS, Units, headline
from insights.experiments.models import Experiment, ExperimentKind, ExperimentMetric, ExperimentStatus
from insights.experiments.readout import metric_kind

if TYPE_CHECKING:
    from insights.experiments.page_reads import Subject
    from insights.experiments.selectors import Baseline

TRANSITION_DONE = {
    ExperimentStatus.RUNNING: "Experiment started: what is sent or quoted from now on counts.",
    ExperimentStatus.STOPPED: "Experiment stopped: nothing after now counts, and the results of this moment are kept.",
    ExperimentStatus.DECIDED: "Decision recorded.",
}


@dataclass(frozen=True)
class ListRow:
    experiment: Experiment
    progress: list[Progress]
    decision: str  # the recorded decision in words; "" until decided


def list_rows(experiments: Iterable[Experiment], counts: dict[int, list[tuple[str, int]]]) -> list[ListRow]:
    rows = []
    for e in experiments:
        control = next(iter(e.variants.all()), None)
        decision = (
            headline(e.decision, e.winner_key, control_key=control.key if control else "")
            if e.decision
            else ""
        )
        rows.append(
            ListRow(e, progress_rows(counts.get(e.pk, ()), required=e.required_sample_size), decision)
        )
    return rows


@dataclass(frozen=True)
class Tab:
    value: str
    label: str
    count: int
    active: bool


def status_tabs(counts: dict[str, int], *, current: str) -> list[Tab]:
    return [
        Tab(value, label, counts.get(value, 0), value == current)
        for value, label in [("", "All"), *ExperimentStatus.choices]
    ]


def _baseline_text(baseline: Baseline, units: Units, n_label: str) -> str:
    if baseline.rate is None:
        return "none yet: give one"
    if units.kind == "proportion":
        text = f"{units.value(baseline.rate)} ({baseline.rate:.4f})"
    else:
        spread = "" if baseline.sd is None else f", standard deviation {units.value(baseline.sd)}"
        text = f"{units.value(baseline.rate)} per contact{spread}"
    return f"{text} over {baseline.n:,} {n_label}"


def baseline_texts(subject: Subject, *, currency: str) -> list[tuple[str, str]]:
    """What the service plans from when the baseline is left empty, per metric: the control's
    rate so far (a campaign's first variant), or the product's last 90 days of quotes."""
    texts = []
    for metric, baseline in subject.baselines.items():
        units = Units(kind=metric_kind(metric), currency=currency)
        n_label = UNITS[(subject.kind, metric)][0]
        texts.append((ExperimentMetric(metric).label, _baseline_text(baseline, units, n_label)))
    return texts


def plan_texts(experiment: Experiment, units: Units) -> list[tuple[str, str]]:
    """The plan in the page's header: what is measured and how it is judged."""
    n_label = UNITS[(experiment.kind, experiment.metric)][0]
    baseline = units.value(experiment.baseline_rate)
    if units.kind == "mean" and experiment.baseline_sd is not None:
        baseline += f" (standard deviation {units.value(experiment.baseline_sd)})"
    facts = [
        ("Metric", experiment.get_metric_display()),
        ("Method", experiment.get_method_display()),
        ("Significance level", f"{experiment.alpha:g}"),
        ("Power", f"{experiment.power:g}"),
        ("Baseline", baseline),
        ("Minimum detectable effect", units.difference(experiment.minimum_detectable_effect)),
        ("Planned sample", f"{experiment.required_sample_size:,} {n_label} per variant"),
    ]
    if experiment.kind == ExperimentKind.CAMPAIGN:
        facts.append(("Measured", experiment.get_scope_display()))
    return facts
