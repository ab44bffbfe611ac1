"""Geometry of the 30-day trend chart, drawn as SVG by components/_trend_chart.html (pure).

Grouped bars (created, resolved) per day; the template only places what this computes, so the
chart needs no JavaScript and prints as it shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from web.reports.figures import TrendDay

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 16, 56  # room for the axis labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: str  # created | resolved
    day: TrendDay


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    max_value: int


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 × 10^k at or above ``value`` (at least 4, so ticks stay whole)."""
    if value <= 4:
        return 4
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def trend_chart(days: list[TrendDay], day_label) -> Chart:
    """Bars and ticks for ``days``; ``day_label(date)`` formats an x-axis label."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    top_value = nice_ceiling(max([1] + [max(d.created, d.resolved) for d in days]))
    slot = plot_w / max(1, len(days))
    bar_w = slot * 0.38
    bars = []
    for i, day in enumerate(days):
        for j, (series, value) in enumerate((("created", day.created), ("resolved", day.resolved))):
            height = plot_h * value / top_value
            bars.append(
                Bar(
                    x=round(LEFT + i * slot + slot * 0.1 + j * bar_w, 2),
                    y=round(TOP + plot_h - height, 2),
                    width=round(bar_w, 2),
                    height=round(height, 2),
                    value=value,
                    series=series,
                    day=day,
                )
            )
    y_ticks = [
        Tick(round(TOP + plot_h - plot_h * k / 4, 2), str(top_value * k // 4)) for k in range(5)
    ]
    # A label every 5 days from the end, so the last (most recent) day is always labelled.
    x_ticks = [
        Tick(round(LEFT + i * slot + slot / 2, 2), day_label(day.day))
        for i, day in enumerate(days)
        if (len(days) - 1 - i) % 5 == 0
    ]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        plot_top=TOP,
        plot_bottom=TOP + plot_h,
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        max_value=top_value,
    )
