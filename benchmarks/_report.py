"""How every benchmark prints a figure against its target, so `make bench` (benchmarks/all.py) can gather them."""

from __future__ import annotations

import math

# A line starting with this is a figure of issue 15's target list; all.py repeats them in one table at the end.
MARK = "TARGET"


def quantile(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank (p99 of 50 samples is their largest, never an interpolation below it)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return "     -" if math.isnan(seconds) else f"{seconds * 1000:6.0f}" if seconds >= 0.1 else f"{seconds * 1000:6.1f}"


def target(name: str, figure: float | None, unit: str, goal: float, *, higher_is_better: bool, note: str = "") -> None:
    """One figure beside its goal: the ratio is figure/goal, so >= 1 meets a floor and <= 1 meets a ceiling."""
    if figure is None or math.isnan(figure):
        print(f"{MARK} {name:<44} not measured{': ' + note if note else ''}", flush=True)
        return
    ratio = figure / goal
    met = ratio >= 1 if higher_is_better else ratio <= 1
    sign = ">=" if higher_is_better else "<"
    print(
        f"{MARK} {name:<44} {figure:10.2f} {unit:<10} target {sign} {goal:g} {unit}  ratio {ratio:5.2f}  "
        f"{'met' if met else 'MISSED'}{'  (' + note + ')' if note else ''}",
        flush=True,
    )


def not_measured(name: str, why: str) -> None:
    print(f"{MARK} {name:<44} not measured: {why}", flush=True)
