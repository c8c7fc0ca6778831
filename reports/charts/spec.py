"""Chart specifications: what to draw, decided on the server, drawn by `reports.charts.svg`.

A spec is a frozen dataclass of plain values (labels, numbers, links), so the same spec can be
rendered in a page, in a PDF, or stored in a saved report and sent over the API as JSON
(`to_dict()` / `chart_from_dict()`). Lists passed in are stored as tuples; NaN values (pandas'
"missing") are stored as None, which every chart draws as "no data", never as zero.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

ValueKind = Literal["number", "integer", "percent", "money", "hours"]
VALUE_KINDS: tuple[str, ...] = ("number", "integer", "percent", "money", "hours")
HeatmapScale = Literal["sequential", "diverging"]
HEATMAP_SCALES: tuple[str, ...] = ("sequential", "diverging")

# Drill-down links are written into <a href>; escaping stops markup injection but not a
# `javascript:` URL, so only relative URLs and these schemes are accepted.
SAFE_URL_SCHEMES = frozenset({"http", "https", "mailto"})
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_CURRENCY = re.compile(r"[A-Z]{3}")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")


def _check_href(href: str | None) -> str | None:
    if href is None:
        return None
    scheme = _SCHEME.match(_INVISIBLE.sub("", href))
    if scheme and scheme.group(1).lower() not in SAFE_URL_SCHEMES:
        raise ValueError(f"unsafe drill-down link scheme: {scheme.group(1)!r}")
    return href


def _clean_value(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    if math.isinf(value):
        raise ValueError("chart values must be finite")
    return value


def _freeze(obj: object, name: str, items: Iterable[Any]) -> None:
    # Frozen dataclasses: callers may pass lists, the spec keeps tuples (hashable, immutable).
    object.__setattr__(obj, name, tuple(items))


@dataclass(frozen=True)
class ValueFormat:
    """How values are shown: "percent" values are already 0-100; "money" needs a currency."""

    kind: ValueKind = "number"
    currency: str = ""  # ISO 4217 code, only for "money"

    def __post_init__(self) -> None:
        if self.kind not in VALUE_KINDS:
            raise ValueError(f"unknown value format {self.kind!r}")
        object.__setattr__(self, "currency", self.currency.upper())
        if self.kind == "money" and not self.currency:
            raise ValueError('value format "money" needs a currency code')
        if self.currency and not _CURRENCY.fullmatch(self.currency):
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")

    @classmethod
    def money(cls, currency: str) -> ValueFormat:
        return cls("money", currency)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "currency": self.currency} if self.currency else {"kind": self.kind}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ValueFormat:
        return cls(data.get("kind", "number"), data.get("currency", ""))


@dataclass(frozen=True)
class Point:
    """One data point. `href` opens the underlying records; `tooltip` adds a line to the hover text."""

    label: str
    value: float | None
    href: str | None = None
    tooltip: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", str(self.label))
        object.__setattr__(self, "value", _clean_value(self.value))
        object.__setattr__(self, "href", _check_href(self.href))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"label": self.label, "value": self.value}
        if self.href is not None:
            data["href"] = self.href
        if self.tooltip is not None:
            data["tooltip"] = self.tooltip
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Point:
        return cls(data["label"], data.get("value"), data.get("href"), data.get("tooltip"))


@dataclass(frozen=True)
class Series:
    """A named run of points; `dashed` marks a forecast (or any projected) line."""

    name: str
    points: tuple[Point, ...]
    dashed: bool = False

    def __post_init__(self) -> None:
        _freeze(self, "points", self.points)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "points": [p.to_dict() for p in self.points]}
        if self.dashed:
            data["dashed"] = True
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Series:
        return cls(data["name"], tuple(Point.from_dict(p) for p in data["points"]), data.get("dashed", False))


@dataclass(frozen=True)
class BandPoint:
    label: str
    lower: float | None
    upper: float | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "lower", _clean_value(self.lower))
        object.__setattr__(self, "upper", _clean_value(self.upper))


@dataclass(frozen=True)
class Band:
    """A shaded interval around a line, e.g. a forecast's 80% interval, aligned by label."""

    name: str
    points: tuple[BandPoint, ...]

    def __post_init__(self) -> None:
        _freeze(self, "points", self.points)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "points": [{"label": p.label, "lower": p.lower, "upper": p.upper} for p in self.points],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Band:
        points = tuple(BandPoint(p["label"], p.get("lower"), p.get("upper")) for p in data["points"])
        return cls(data["name"], points)


def _series_from(data: Mapping[str, Any]) -> tuple[Series, ...]:
    return tuple(Series.from_dict(s) for s in data["series"])


@dataclass(frozen=True)
class LineChart:
    """Lines over ordered categories (days, weeks, months).

    The x axis is the series' labels in order of first appearance, so list the series that
    starts earliest first (the actuals before their forecast).
    """

    type: ClassVar[str] = "line"
    title: str
    series: tuple[Series, ...]
    value_format: ValueFormat = ValueFormat()
    x_label: str | None = None
    y_label: str | None = None
    band: Band | None = None

    def __post_init__(self) -> None:
        _freeze(self, "series", self.series)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "series": [s.to_dict() for s in self.series],
            "value_format": self.value_format.to_dict(),
            "x_label": self.x_label,
            "y_label": self.y_label,
            "band": self.band.to_dict() if self.band else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LineChart:
        band = data.get("band")
        return cls(
            title=data["title"],
            series=_series_from(data),
            value_format=ValueFormat.from_dict(data.get("value_format", {})),
            x_label=data.get("x_label"),
            y_label=data.get("y_label"),
            band=Band.from_dict(band) if band else None,
        )


@dataclass(frozen=True)
class BarChart:
    """Bars per category; several series are grouped side by side, or stacked."""

    type: ClassVar[str] = "bar"
    title: str
    series: tuple[Series, ...]
    value_format: ValueFormat = ValueFormat()
    horizontal: bool = False
    stacked: bool = False
    category_label: str | None = None
    value_label: str | None = None

    def __post_init__(self) -> None:
        _freeze(self, "series", self.series)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "series": [s.to_dict() for s in self.series],
            "value_format": self.value_format.to_dict(),
            "horizontal": self.horizontal,
            "stacked": self.stacked,
            "category_label": self.category_label,
            "value_label": self.value_label,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BarChart:
        return cls(
            title=data["title"],
            series=_series_from(data),
            value_format=ValueFormat.from_dict(data.get("value_format", {})),
            horizontal=data.get("horizontal", False),
            stacked=data.get("stacked", False),
            category_label=data.get("category_label"),
            value_label=data.get("value_label"),
        )


@dataclass(frozen=True)
class DonutChart:
    """Shares of a whole; `hole` is the inner radius as a fraction of the outer (0 = a pie)."""

    type: ClassVar[str] = "donut"
    title: str
    slices: tuple[Point, ...]
    value_format: ValueFormat = ValueFormat()
    hole: float = 0.6

    def __post_init__(self) -> None:
        _freeze(self, "slices", self.slices)
        if not 0 <= self.hole <= 0.9:
            raise ValueError("hole must be between 0 (pie) and 0.9")

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "slices": [p.to_dict() for p in self.slices],
            "value_format": self.value_format.to_dict(),
            "hole": self.hole,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DonutChart:
        return cls(
            title=data["title"],
            slices=tuple(Point.from_dict(p) for p in data["slices"]),
            value_format=ValueFormat.from_dict(data.get("value_format", {})),
            hole=data.get("hole", 0.6),
        )


def _matrix(rows: Sequence[Sequence[Any]], clean: Any) -> tuple[tuple[Any, ...], ...]:
    return tuple(tuple(clean(v) for v in row) for row in rows)


@dataclass(frozen=True)
class HeatmapChart:
    """A grid of values: `cells[y][x]` (rows follow `y_labels`); `hrefs`, if given, has the same shape."""

    type: ClassVar[str] = "heatmap"
    title: str
    x_labels: tuple[str, ...]
    y_labels: tuple[str, ...]
    cells: tuple[tuple[float | None, ...], ...]
    value_format: ValueFormat = ValueFormat()
    hrefs: tuple[tuple[str | None, ...], ...] | None = None
    scale: HeatmapScale = "sequential"  # "diverging": below zero and above zero in two hues
    x_label: str | None = None
    y_label: str | None = None

    def __post_init__(self) -> None:
        _freeze(self, "x_labels", (str(label) for label in self.x_labels))
        _freeze(self, "y_labels", (str(label) for label in self.y_labels))
        object.__setattr__(self, "cells", _matrix(self.cells, _clean_value))
        shape = (len(self.y_labels), len(self.x_labels))
        if len(self.cells) != shape[0] or any(len(row) != shape[1] for row in self.cells):
            raise ValueError(f"heatmap cells must be {shape[0]} rows of {shape[1]} values")
        if self.hrefs is not None:
            object.__setattr__(self, "hrefs", _matrix(self.hrefs, _check_href))
            if len(self.hrefs) != shape[0] or any(len(row) != shape[1] for row in self.hrefs):
                raise ValueError("heatmap hrefs must have the same shape as cells")
        if self.scale not in HEATMAP_SCALES:
            raise ValueError(f"unknown heatmap scale {self.scale!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "x_labels": list(self.x_labels),
            "y_labels": list(self.y_labels),
            "cells": [list(row) for row in self.cells],
            "value_format": self.value_format.to_dict(),
            "hrefs": [list(row) for row in self.hrefs] if self.hrefs is not None else None,
            "scale": self.scale,
            "x_label": self.x_label,
            "y_label": self.y_label,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HeatmapChart:
        return cls(
            title=data["title"],
            x_labels=tuple(data["x_labels"]),
            y_labels=tuple(data["y_labels"]),
            cells=data["cells"],
            value_format=ValueFormat.from_dict(data.get("value_format", {})),
            hrefs=data.get("hrefs"),
            scale=data.get("scale", "sequential"),
            x_label=data.get("x_label"),
            y_label=data.get("y_label"),
        )


@dataclass(frozen=True)
class FunnelChart:
    """Ordered stages (leads -> contacted -> won); `show_rates` prints stage-to-stage conversion."""

    type: ClassVar[str] = "funnel"
    title: str
    stages: tuple[Point, ...]
    value_format: ValueFormat = field(default_factory=lambda: ValueFormat("integer"))
    show_rates: bool = True

    def __post_init__(self) -> None:
        _freeze(self, "stages", self.stages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "title": self.title,
            "stages": [p.to_dict() for p in self.stages],
            "value_format": self.value_format.to_dict(),
            "show_rates": self.show_rates,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FunnelChart:
        return cls(
            title=data["title"],
            stages=tuple(Point.from_dict(p) for p in data["stages"]),
            value_format=ValueFormat.from_dict(data.get("value_format", {"kind": "integer"})),
            show_rates=data.get("show_rates", True),
        )


Chart = LineChart | BarChart | DonutChart | HeatmapChart | FunnelChart
CHART_TYPES: dict[str, type[Chart]] = {
    cls.type: cls for cls in (LineChart, BarChart, DonutChart, HeatmapChart, FunnelChart)
}


def chart_from_dict(data: Mapping[str, Any]) -> Chart:
    """Rebuild a spec from `spec.to_dict()` (a saved report, an API payload)."""
    try:
        cls = CHART_TYPES[data["type"]]
    except KeyError:
        raise ValueError(f"unknown chart type {data.get('type')!r}") from None
    return cls.from_dict(data)
