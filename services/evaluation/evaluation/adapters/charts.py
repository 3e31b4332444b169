"""The report's charts as SVG, drawn with matplotlib (no display, no fonts fetched, the same bytes each run)."""

from __future__ import annotations

import io

import matplotlib
from matplotlib.figure import Figure

matplotlib.rcParams["svg.hashsalt"] = "divert-evaluation"  # stable ids, so two renders of one quarter compare equal
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: printable, searchable, small


def grouped_bars(title: str, stages: list[str], series: dict[str, list[float | None]], ylabel: str) -> str:
    """One group of bars per stage, one bar per group; a suppressed value is left out (a gap, never a zero)."""
    # A Figure of its own, not pyplot: no global state shared between concurrent requests, no display backend.
    figure = Figure(figsize=(9, 3.6))
    axes = figure.subplots()
    width = 0.8 / max(len(series), 1)
    for i, (name, values) in enumerate(series.items()):
        xs = [s + i * width for s, v in enumerate(values) if v is not None]
        axes.bar(xs, [v for v in values if v is not None], width, label=name)
    axes.set_xticks([s + 0.4 - width / 2 for s in range(len(stages))], stages, rotation=20, ha="right", fontsize=8)
    axes.set_title(title, fontsize=10)
    axes.set_ylabel(ylabel, fontsize=8)
    if series:
        axes.legend(fontsize=7, ncols=min(len(series), 4))
    figure.tight_layout()
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    svg = out.getvalue()
    return svg[svg.index("<svg") :]  # inline in the page: no XML declaration or doctype
