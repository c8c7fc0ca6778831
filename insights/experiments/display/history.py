"""The decision history of an experiment's page: who did what when, with the numbers of that
moment from each event's payload (docs/experiments.md, "Pages"). Pure (the events come with
their actors)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from insights.experiments.display.words import Units, p_phrase, share_text
from insights.experiments.models import ExperimentAction, ExperimentEvent

ACTION_LABELS = dict(ExperimentAction.choices)


@dataclass(frozen=True)
class HistoryRow:
    at: dt.datetime
    who: str
    action: str
    action_key: str
    summary: str
    note: str


def _results_summary(payload: dict[str, Any], units: Units) -> str:
    parts = []
    for row in payload.get("variants", []):
        value = units.value(row.get("rate"))
        if units.kind == "proportion":
            parts.append(f"{row['key']} {row.get('conversions', 0):,}/{row.get('n', 0):,} ({value})")
        else:
            parts.append(f"{row['key']} {value} over {row.get('n', 0):,}")
    test = payload.get("test")
    if test:
        parts.append(f"{test['name']} {p_phrase(test.get('pValue'))}")
    if payload.get("srm", {}) and payload["srm"].get("mismatch"):
        parts.append("sample-ratio mismatch")
    decision = payload.get("decision")
    if decision:
        winner = payload.get("winner")
        parts.append(f"{decision}{f' ({winner})' if winner else ''}")
    return " · ".join(parts)


def _created_summary(payload: dict[str, Any], units: Units) -> str:
    shares = ", ".join(
        " ".join(
            [v["key"], share_text(v.get("weight")), *(["at", str(v["price"])] if v.get("price") else [])]
        )
        for v in payload.get("variants", [])
    )
    parts = [
        f"planned {payload.get('requiredSampleSize', 0):,} per variant",
        f"baseline {units.value(payload.get('baselineRate'))}",
        f"minimum effect {units.difference(payload.get('minimumDetectableEffect'))}",
    ]
    return f"{shares}; {', '.join(parts)}"


def history_rows(events: Sequence[ExperimentEvent], *, units: Units) -> list[HistoryRow]:
    """Who did what when, with the numbers of that moment (the event's payload)."""
    rows = []
    for event in events:
        payload = event.payload or {}
        if event.action == ExperimentAction.CREATED:
            summary = _created_summary(payload, units)
        elif event.action == ExperimentAction.STARTED:
            summary = ""
        else:
            summary = _results_summary(payload, units)
        who = event.actor.display_name if event.actor is not None else (event.actor_label or "system")
        rows.append(
            HistoryRow(
                at=event.at,
                who=who,
                action=ACTION_LABELS.get(event.action, event.action),
                action_key=event.action,
                summary=summary,
                note=payload.get("note", ""),
            )
        )
    return rows
