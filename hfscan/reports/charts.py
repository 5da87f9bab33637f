"""Geometry of the HTML report's inline SVG charts, computed here so the template only draws."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

from hfscan.records import Coverage
from hfscan.reports.coverage import CATEGORIES
from hfscan.reports.history import TrendPoint

#: Colour of each coverage category in the HTML page.
COLORS: dict[Coverage, str] = {
    Coverage.GENERIC_PASS: "#2e7d32",
    Coverage.OVERRIDE_PASS: "#7cb342",
    Coverage.PARTIAL: "#f9a825",
    Coverage.EXPECTED_FAILURE: "#8e24aa",
    Coverage.UNEXPECTED_FAILURE: "#c62828",
    Coverage.SKIPPED: "#90a4ae",
    Coverage.NOT_RUN: "#cfd8dc",
}
BAR_WIDTH = 560  # px of the longest family bar
TREND_SIZE = (720, 280)  # px of the trend chart
PAD = 56  # px around the trend plot, room for the axis labels


@dataclass(frozen=True)
class Segment:
    category: Coverage
    x: float
    width: float
    count: int


@dataclass(frozen=True)
class Bar:
    label: str
    total: int
    segments: tuple[Segment, ...]


def family_bars(counts: Mapping[str, Mapping[Coverage, int]]) -> tuple[Bar, ...]:
    """One stacked bar per family, scaled to the largest family, biggest family first."""
    largest = max((sum(c.values()) for c in counts.values()), default=0) or 1
    bars = []
    for label, c in sorted(counts.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
        x, segments = 0.0, []
        for cat in CATEGORIES:
            if c.get(cat):
                width = BAR_WIDTH * c[cat] / largest
                segments.append(Segment(cat, round(x, 2), round(width, 2), c[cat]))
                x += width
        bars.append(Bar(label, sum(c.values()), tuple(segments)))
    return tuple(bars)


@dataclass(frozen=True)
class TrendDot:
    x: float
    y: float
    point: TrendPoint


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    dots: tuple[TrendDot, ...]

    @property
    def polyline(self) -> str:
        return " ".join(f"{d.x},{d.y}" for d in self.dots)

    @property
    def label_every(self) -> int:
        """Label every n-th run on the x axis so that labels keep ~40 px apart."""
        if len(self.dots) < 2:
            return 1
        return max(1, math.ceil(40 / (self.dots[1].x - self.dots[0].x)))

    def y_of(self, rate: float) -> float:
        return round(self.height - PAD - rate * (self.height - 2 * PAD), 2)


def trend_chart(points: Sequence[TrendPoint]) -> TrendChart:
    """Pass rate (0-100 %) of each run, evenly spaced left to right, oldest first."""
    width, height = TREND_SIZE
    chart = TrendChart(width, height, ())
    step = (width - 2 * PAD) / max(len(points) - 1, 1)
    dots = tuple(TrendDot(round(PAD + i * step, 2), chart.y_of(p.pass_rate), p) for i, p in enumerate(points))
    return TrendChart(width, height, dots)
