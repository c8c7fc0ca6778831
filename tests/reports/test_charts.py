"""Charts (reports/charts): specs, SVG rendering, table fallback and the {% chart %} tag. No DB."""

from __future__ import annotations

import json
import logging
import math
import re
import xml.etree.ElementTree as ET

import pytest
from django.contrib.staticfiles import finders
from django.template import Context, Template

from reports.charts import (
    Band,
    BandPoint,
    BarChart,
    DonutChart,
    FunnelChart,
    HeatmapChart,
    LineChart,
    Point,
    Series,
    ValueFormat,
    chart_from_dict,
    format_value,
    nice_ticks,
    render_svg,
    render_table,
)
from reports.charts.svg.canvas import EMPTY_TEXT

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & Co'


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def marks(root: ET.Element, css_class: str) -> list[ET.Element]:
    return [e for e in root.iter() if css_class in (e.get("class") or "").split()]


def title_of(element: ET.Element) -> str:
    node = element.find(f"{NS}title")
    assert node is not None, f"{element.tag} has no <title>"
    return node.text or ""


def links(root: ET.Element) -> list[str]:
    return [a.get("href") or "" for a in root.iter(f"{NS}a")]


def series(name: str, pairs: list[tuple[str, float | None]], **kwargs) -> Series:
    return Series(name, tuple(Point(label, value, **kwargs) for label, value in pairs))


LINE = LineChart(
    "Revenue",
    (
        Series("Actual", (Point("Jan", 10, href="/s/?m=1"), Point("Feb", 20), Point("Mar", 15))),
        Series("Forecast", (Point("Mar", 15), Point("Apr", 18)), dashed=True),
    ),
    ValueFormat.money("KES"),
    band=Band("80% interval", (BandPoint("Mar", 15, 15), BandPoint("Apr", 12, 24))),
)
BAR = BarChart(
    "Leads by source",
    (
        Series(
            "Leads",
            (Point("Web", 10, href="/l/?s=web"), Point("Ads", 20, href="/l/?s=ads"), Point("Referral", 40)),
        ),
    ),
    ValueFormat("integer"),
)
DONUT = DonutChart(
    "Sales by tier", (Point("Gold", 25, href="/s/?t=gold"), Point("Silver", 75, href="/s/?t=silver"))
)
HEATMAP = HeatmapChart(
    "Activity",
    x_labels=("9h", "10h", "11h"),
    y_labels=("Mon", "Tue"),
    cells=((1, 5, 9), (None, 2, 3)),
    hrefs=(("/a/?c=1", None, None), (None, None, "/a/?c=6")),
)
FUNNEL = FunnelChart(
    "Lead funnel", (Point("Leads", 100, href="/l/"), Point("Contacted", 80), Point("Won", 20, href="/l/?won"))
)
ALL = [LINE, BAR, DONUT, HEATMAP, FUNNEL]
IDS = ["line", "bar", "donut", "heatmap", "funnel"]


@pytest.mark.parametrize(
    ("low", "high", "count", "expected"),
    [
        (0, 40, 5, [0, 10, 20, 30, 40]),
        (0, 97, 5, [0, 20, 40, 60, 80, 100]),  # step 97/4 = 24.25 -> 20, last tick rounds up to 100
        (0, 1234, 5, [0, 500, 1000, 1500]),  # 308.5 -> 500
        (-3, 7, 5, [-4, -2, 0, 2, 4, 6, 8]),  # 2.5 -> 2; covers both ends
        (0, 0.37, 5, [0, 0.1, 0.2, 0.3, 0.4]),  # no 0.30000000000000004
        (0, 0, 5, [0, 0.2, 0.4, 0.6, 0.8, 1]),  # empty range widened to [0, 1]
        (5, 5, 5, [0, 1, 2, 3, 4, 5]),  # a single value is measured from zero
        (40, 0, 5, [0, 10, 20, 30, 40]),  # reversed bounds are accepted
    ],
)
def test_nice_ticks(low, high, count, expected):
    assert nice_ticks(low, high, count) == pytest.approx(expected)


def test_nice_ticks_for_counts_never_step_below_one():
    assert nice_ticks(0, 2, 5, integer=True) == [0, 1, 2]


@pytest.mark.parametrize(
    ("value", "fmt", "expected"),
    [
        (1234.5, ValueFormat(), "1,234.5"),
        (1234.567, ValueFormat(), "1,234.57"),
        (1234.5, ValueFormat("integer"), "1,234"),  # half to even, like round()
        (42, ValueFormat("percent"), "42.0%"),
        (1234.5, ValueFormat.money("kes"), "KES 1,234.50"),
        (2.75, ValueFormat("hours"), "2.8 h"),
        (-0.001, ValueFormat("percent"), "0.0%"),  # never "-0.0%"
        (None, ValueFormat.money("USD"), "—"),
    ],
)
def test_format_value(value, fmt, expected):
    assert format_value(value, fmt) == expected


@pytest.mark.parametrize("spec", ALL, ids=IDS)
def test_every_chart_is_valid_accessible_svg(spec):
    root = parse(render_svg(spec))

    assert root.tag == f"{NS}svg"
    assert root.get("viewBox") == "0 0 640 320"
    # With drill-down links the svg is a group: role="img" would hide its links from screen readers.
    assert root.get("role") == "group"
    assert root.find(f"{NS}title").text == spec.title
    assert root.find(f"{NS}desc").text
    assert "<script" not in render_svg(spec)


def test_a_chart_without_links_is_one_image():
    spec = BarChart("Plain", (series("x", [("a", 1)]),))
    assert parse(render_svg(spec)).get("role") == "img"


@pytest.mark.parametrize(
    ("spec", "css_class", "expected_titles"),
    [
        (BAR, "chart-bar", ["Web: 10", "Ads: 20", "Referral: 40"]),
        (DONUT, "chart-slice", ["Gold: 25 (25.0%)", "Silver: 75 (75.0%)"]),
        (
            FUNNEL,
            "chart-stage",
            [
                "Leads: 100",
                "Contacted: 80 (80.0% of the previous stage)",
                "Won: 20 (25.0% of the previous stage)",
            ],
        ),
        (
            HEATMAP,
            "chart-mark",
            ["Mon · 9h: 1", "Mon · 10h: 5", "Mon · 11h: 9", "Tue · 10h: 2", "Tue · 11h: 3"],
        ),
        (
            LINE,
            "chart-point",
            [
                "Actual · Jan: KES 10.00",
                "Actual · Feb: KES 20.00",
                "Actual · Mar: KES 15.00",
                "Forecast · Mar: KES 15.00",
                "Forecast · Apr: KES 18.00",
            ],
        ),
    ],
    ids=["bar", "donut", "funnel", "heatmap", "line"],
)
def test_one_hover_title_per_data_point_with_its_formatted_value(spec, css_class, expected_titles):
    root = parse(render_svg(spec))
    assert [title_of(m) for m in marks(root, css_class)] == expected_titles


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (LINE, ["/s/?m=1"]),
        (BAR, ["/l/?s=web", "/l/?s=ads"]),
        (DONUT, ["/s/?t=gold", "/s/?t=silver"]),
        (HEATMAP, ["/a/?c=1", "/a/?c=6"]),
        (FUNNEL, ["/l/", "/l/?won"]),
    ],
    ids=IDS,
)
def test_one_link_per_drill_down_point(spec, expected):
    root = parse(render_svg(spec))
    assert links(root) == expected
    assert all(a.get("aria-label") for a in root.iter(f"{NS}a"))


def test_bar_heights_are_proportional_on_a_zero_based_axis():
    # given values 10, 20, 40 -> ticks 0..40, so the bars are 1/4, 1/2 and all of the plot height
    root = parse(render_svg(BAR))
    bars = marks(root, "chart-bar")
    heights = [float(b.get("height")) for b in bars]
    bottoms = {round(float(b.get("y")) + float(b.get("height")), 2) for b in bars}
    xs = [float(b.get("x")) for b in bars]

    assert heights[1] == pytest.approx(2 * heights[0], abs=0.02)
    assert heights[2] == pytest.approx(4 * heights[0], abs=0.02)
    assert len(bottoms) == 1  # all stand on the zero line
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1], abs=0.02)  # one slot per category
    assert [t.text for t in marks(root, "chart-value")] == ["10", "20", "40"]


def test_a_horizontal_bar_chart_grows_with_its_categories():
    # given 25 regions: 25 rows x 22 px + 80 px of axes = 630 px, more than the asked 320
    many = BarChart(
        "Revenue by region",
        (Series("Revenue", tuple(Point(f"Region {n}", n + 1) for n in range(25))),),
        horizontal=True,
    )
    few = BarChart(
        "Three", (Series("Revenue", tuple(Point(f"R{n}", n + 1) for n in range(3))),), horizontal=True
    )

    tall, short = parse(render_svg(many, height=320)), parse(render_svg(few, height=320))

    assert tall.get("viewBox") == "0 0 640 630"
    assert short.get("viewBox") == "0 0 640 320"  # the asked height is a minimum
    bars = marks(tall, "chart-bar")
    tops = sorted(float(b.get("y")) for b in bars)
    assert min(b - a for a, b in zip(tops, tops[1:], strict=False)) >= 18  # labels 12 px high never touch


def test_stacked_bars_start_where_the_series_below_ends():
    spec = BarChart("Stack", (series("a", [("x", 10)]), series("b", [("x", 30)])), stacked=True)
    lower, upper = marks(parse(render_svg(spec)), "chart-bar")
    assert float(upper.get("y")) + float(upper.get("height")) == pytest.approx(
        float(lower.get("y")), abs=0.02
    )
    assert float(upper.get("height")) == pytest.approx(3 * float(lower.get("height")), abs=0.02)


def _arc_angles(path: str, cx: float, cy: float) -> tuple[float, float, int]:
    """Start and end angle (degrees clockwise from 12 o'clock) and large-arc flag of the outer arc."""
    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", path)]
    x0, y0, _, _, _, large, _, x1, y1 = numbers[:9]

    def angle(x: float, y: float) -> float:
        return math.degrees(math.atan2(x - cx, cy - y)) % 360

    return angle(x0, y0), angle(x1, y1), int(large)


def test_donut_slices_cover_the_circle_clockwise_from_the_top():
    # given 25 and 75 -> a quarter (0 to 90 degrees) then three quarters (90 to 360)
    root = parse(render_svg(DONUT))
    slices = marks(root, "chart-slice")
    # outer radius = min(height - 16, width * 0.45) / 2 = min(304, 288) / 2 = 144; centre (8 + 144, 320 / 2)
    cx, cy = 152, 160
    (a0, a1, large1), (b0, b1, large2) = (_arc_angles(s.get("d"), cx, cy) for s in slices)

    assert (round(a0), round(a1), large1) == (0, 90, 0)
    assert (round(b0), round(b1) or 360, large2) == (90, 360, 1)
    assert (a1 - a0) + ((b1 - b0) % 360) == pytest.approx(360, abs=0.1)


def test_a_single_slice_is_a_full_ring():
    spec = DonutChart("All", (Point("Only", 5), Point("Zero", 0), Point("Unknown", None)))
    (ring,) = marks(parse(render_svg(spec)), "chart-slice")
    assert ring.get("d").count("A") == 4  # two half arcs outside, two inside


def _luminance(hex_color: str) -> float:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_heatmap_darker_means_higher_and_missing_cells_are_not_zero():
    root = parse(render_svg(HEATMAP))
    monday = [c for c in marks(root, "chart-cell") if title_of(c).startswith("Mon")]
    lightness = [_luminance(c.get("fill")) for c in monday]  # values 1, 5, 9
    assert lightness[0] > lightness[1] > lightness[2]
    (missing,) = marks(root, "chart-cell--missing")
    assert title_of(missing) == "Tue · 9h: —"


def test_funnel_prints_stage_to_stage_rates():
    # 80 / 100 = 80.0%, 20 / 80 = 25.0%
    root = parse(render_svg(FUNNEL))
    assert [t.text for t in marks(root, "chart-rate")] == ["80.0%", "25.0%"]
    assert render_table(FUNNEL)[1:] == [
        ["Leads", "100", "—"],
        ["Contacted", "80", "80.0%"],
        ["Won", "20", "25.0%"],
    ]


def test_missing_values_break_a_line_instead_of_dropping_to_zero():
    spec = LineChart("Gaps", (series("s", [("a", 1), ("b", None), ("c", 3), ("d", 4)]),))
    root = parse(render_svg(spec))
    (path,) = marks(root, "chart-line")

    assert path.get("d").count("L") == 1  # only c-d is joined
    assert [title_of(p) for p in marks(root, "chart-point")] == ["a: 1", "c: 3", "d: 4"]
    assert "chart-dot--on-hover" not in render_svg(spec)  # the lone point a stays visible


def test_nan_from_pandas_is_a_missing_value():
    assert Point("a", float("nan")).value is None


@pytest.mark.parametrize(
    "spec",
    [
        LineChart("L", (series("s", [("a", None)]),)),
        BarChart("B", ()),
        DonutChart("D", (Point("a", 0),)),
        HeatmapChart("H", ("x",), ("y",), ((None,),)),
        FunnelChart("F", (Point("a", None),)),
    ],
    ids=IDS,
)
def test_no_values_renders_the_empty_state(spec):
    root = parse(render_svg(spec))
    assert [t.text for t in marks(root, "chart-empty")] == [EMPTY_TEXT]
    assert root.get("role") == "img"


def test_hostile_labels_come_out_inert():
    spec = BarChart(
        HOSTILE,
        (Series(HOSTILE, (Point(HOSTILE, 1, href='/x/?q="><script>', tooltip=HOSTILE), Point("b", 2))),),
        category_label=HOSTILE,
    )
    svg = render_svg(spec)
    root = parse(svg)

    assert "<script" not in svg
    assert not [e for e in root.iter() if e.tag.endswith("script")]
    assert links(root) == ['/x/?q="><script>']  # the attribute value survives, escaped
    assert title_of(marks(root, "chart-bar")[0]).startswith(HOSTILE)


@pytest.mark.parametrize(
    "href", ["javascript:alert(1)", " JavaScript:x", "java\tscript:x", "data:text/html,x"]
)
def test_unsafe_drill_down_links_are_refused(href):
    with pytest.raises(ValueError, match="unsafe"):
        Point("a", 1, href=href)


def test_long_labels_are_cut_with_an_ellipsis_and_kept_whole_in_a_title():
    long = "Regional partner referrals from the coastal offices"
    root = parse(render_svg(BarChart("Long", (series("s", [(long, 1), ("b", 2), ("c", 3), ("d", 4)]),))))
    (cut,) = [t for t in root.iter(f"{NS}text") if t.find(f"{NS}title") is not None]

    assert title_of(cut) == long
    assert cut.find(f"{NS}title").tail.endswith("…")
    assert len(cut.find(f"{NS}title").tail) < len(long)


@pytest.mark.parametrize("spec", ALL, ids=IDS)
def test_rendering_is_deterministic_and_survives_a_json_round_trip(spec):
    rebuilt = chart_from_dict(json.loads(json.dumps(spec.to_dict())))

    assert rebuilt == spec
    assert render_svg(rebuilt) == render_svg(spec)
    assert render_svg(spec, width=500, height=260) != render_svg(spec)


def test_unknown_chart_type_is_refused():
    with pytest.raises(ValueError, match="unknown chart type"):
        chart_from_dict({"type": "radar", "title": "x"})


def test_table_fallback_lines_up_series_and_band_by_label():
    assert render_table(LINE) == [
        ["Category", "Actual", "Forecast", "80% interval (lower)", "80% interval (upper)"],
        ["Jan", "KES 10.00", "—", "—", "—"],
        ["Feb", "KES 20.00", "—", "—", "—"],
        ["Mar", "KES 15.00", "KES 15.00", "KES 15.00", "KES 15.00"],
        ["Apr", "—", "KES 18.00", "KES 12.00", "KES 24.00"],
    ]
    assert render_table(DONUT, formatted=False)[1:] == [["Gold", 25.0, 25.0], ["Silver", 75.0, 75.0]]


def test_chart_tag_renders_a_figure_with_caption_svg_and_hidden_table():
    spec = BarChart(HOSTILE, (series("Leads", [("Web", 10), (HOSTILE, 20)]),), ValueFormat("integer"))
    template = Template("{% load charts %}{% chart spec width=480 height=240 %}")

    html = template.render(Context({"spec": spec}))

    assert html.startswith(
        '<figure class="chart chart--bar"><figcaption class="chart__caption">&lt;script&gt;'
    )
    assert 'viewBox="0 0 480 240"' in html
    assert '<div class="chart__data"><table class="chart__table">' in html
    assert (
        '<th scope="row">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co</th><td>20</td>' in html
    )
    assert "<script" not in html


def test_chart_tag_accepts_a_stored_spec_and_can_show_its_table():
    template = Template("{% load charts %}{% chart spec show_table=True %}")
    html = template.render(Context({"spec": FUNNEL.to_dict()}))
    assert 'class="chart__data chart__data--visible"' in html
    assert "<td>25.0%</td>" in html


def test_weasyprint_draws_the_same_chart_into_a_pdf_without_warnings(caplog):
    weasyprint = pytest.importorskip("weasyprint")
    html = Template("{% load charts %}{% chart spec show_table=True %}").render(Context({"spec": LINE}))
    css = weasyprint.CSS(filename=finders.find("css/charts.css"))

    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = weasyprint.HTML(string=html).write_pdf(stylesheets=[css])

    assert pdf.startswith(b"%PDF")
    assert [r.getMessage() for r in caplog.records] == []
