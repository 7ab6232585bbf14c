"""The trend chart: a small PNG of the four keys, week by week, drawn with matplotlib's Agg backend.

Pure rendering: a `Trend` in, PNG bytes out. It builds a `Figure` and an Agg canvas itself, never
pyplot, so no global state is touched and two charts can be drawn at once (callers run it in a
thread: drawing takes a CPU tenth of a second). A week with nothing to measure is a gap, not a zero.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

from bot.evidence.trend import Trend, WeekPoint

WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 4.5, 100  # 800 × 450 px: readable in a Home tab and a message
SIZE_PX = (int(WIDTH_INCHES * DPI), int(HEIGHT_INCHES * DPI))
BACKGROUND = "#ffffff"
COLOURS = ("#1d3b53", "#2a7f62", "#c0392b", "#d68910")

Series = tuple[str, str, Callable[[WeekPoint], float | None], str]
SERIES: tuple[Series, ...] = (
    ("Deployment frequency", "deploys / week", lambda w: w.deploys_per_week, "bar"),
    ("Lead time, median", "hours", lambda w: w.lead_time_hours, "line"),
    ("Change failure rate", "%", lambda w: None if w.change_failure_rate is None else 100 * w.change_failure_rate,
     "line"),
    ("Time to restore, median", "hours", lambda w: w.time_to_restore_hours, "line"),
)


def render_trend(trend: Trend, *, title: str) -> bytes:
    """The chart as PNG bytes, SIZE_PX pixels."""
    # Imported on the first chart, not with the module: matplotlib and numpy weigh about 60 MB of memory,
    # which a process that never draws a chart (most of them) should not carry.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, facecolor=BACKGROUND)
    canvas = FigureCanvasAgg(figure)
    figure.suptitle(title, fontsize=11, fontweight="bold")
    labels = [w.window.end.strftime("%b %-d") for w in trend.weeks]
    positions = list(range(len(labels)))
    for index, ((name, unit, value, style), colour) in enumerate(zip(SERIES, COLOURS, strict=True)):
        axes = figure.add_subplot(2, 2, index + 1)
        values = [value(w) for w in trend.weeks]
        numbers = [math.nan if v is None else v for v in values]
        if style == "bar":
            axes.bar(positions, numbers, color=colour, width=0.7)
        else:
            axes.plot(positions, numbers, color=colour, marker="o", markersize=3, linewidth=1.5)
        axes.set_title(f"{name} ({unit})", fontsize=9)
        axes.tick_params(labelsize=7)
        axes.set_xticks(positions[::2], labels[::2])
        axes.set_xlim(-0.5, len(positions) - 0.5)
        axes.set_ylim(bottom=0)
        axes.grid(axis="y", color="#dddddd", linewidth=0.6)
        axes.set_axisbelow(True)
        if all(v is None for v in values):
            axes.text(0.5, 0.5, "no data", transform=axes.transAxes, ha="center", va="center", fontsize=9,
                      color="#888888")
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    buffer = io.BytesIO()
    canvas.print_png(buffer)
    return buffer.getvalue()
