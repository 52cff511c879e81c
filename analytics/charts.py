"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, nothing to serve.

Each function returns a SafeString of one `<svg>` element with its axes, tick labels, a
legend and a `<title>` per point or bar (the browser's tooltip). Every text is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 28, 44
FONT = 'font-family="sans-serif" font-size="11"'


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[float]
    color: str


def _nice_max(value: float) -> float:
    """The top of the y axis: 1, 2 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        top = step * 10**exponent
        if top >= value:
            return top
    return 10 ** (exponent + 1)  # pragma: no cover


def _number(value: float) -> str:
    return f"{value:g}" if value != int(value) else str(int(value))


def _ticks(top: float) -> int:
    """How many steps divide the y axis: whole numbers for counts (top 5 -> 5 steps of 1)."""
    for steps in (5, 4):
        if top % steps == 0:
            return steps
    return max(1, int(top)) if top == int(top) and top < 4 else 4


def _frame(title: str, top: float) -> list[str]:
    """The y axis with its grid lines and labels, and the x axis line."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    ticks = _ticks(top)
    parts = []
    for i in range(ticks + 1):
        value = top * i / ticks
        y = TOP + plot_h - plot_h * i / ticks
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" '
            'stroke="#ddd" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" {FONT} fill="#555">'
            f"{escape(_number(round(value, 2)))}</text>"
        )
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" '
        'stroke="#888" stroke-width="1"/>'
    )
    parts.append(
        f'<text x="{LEFT}" y="{TOP - 12}" {FONT} font-weight="bold" fill="#333">'
        f"{escape(title)}</text>"
    )
    return parts


def _legend(series: Sequence[Series]) -> list[str]:
    parts, x = [], WIDTH - RIGHT
    for s in reversed(series):
        label = escape(s.label)
        x -= 14 + 7 * len(s.label) + 12
        parts.append(f'<rect x="{x}" y="{TOP - 21}" width="10" height="10" fill="{s.color}"/>')
        parts.append(f'<text x="{x + 14}" y="{TOP - 12}" {FONT} fill="#333">{label}</text>')
    return parts


def _svg(parts: list[str], title: str) -> SafeString:
    body = "".join(parts)
    return mark_safe(  # every text above went through escape()
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" style="max-width:{WIDTH}px" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _x_labels(labels: Sequence[str], xs: Sequence[float], max_labels: int = 10) -> list[str]:
    every = max(1, math.ceil(len(labels) / max_labels))
    parts = []
    for i, (label, x) in enumerate(zip(labels, xs, strict=True)):
        if i % every == 0 or i == len(labels) - 1 and len(labels) <= max_labels:
            parts.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" '
                f'{FONT} fill="#555">{escape(label)}</text>'
            )
    return parts


def line_chart(*, title: str, labels: Sequence[str], series: Sequence[Series]) -> SafeString:
    """One line per series over the x `labels` (e.g. days), starting the y axis at 0."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((v for s in series for v in s.values), default=0))
    n = len(labels)
    xs = [LEFT + (plot_w * i / (n - 1) if n > 1 else plot_w / 2) for i in range(n)]
    parts = _frame(title, top) + _legend(series) + _x_labels(labels, xs)
    for s in series:
        points = [(x, TOP + plot_h - plot_h * v / top) for x, v in zip(xs, s.values, strict=True)]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{s.color}" stroke-width="2"/>'
            )
        for (x, y), label, value in zip(points, labels, s.values, strict=True):
            tip = escape(f"{s.label}, {label}: {_number(value)}")
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{s.color}">'
                f"<title>{tip}</title></circle>"
            )
    return _svg(parts, title)


def bar_chart(*, title: str, labels: Sequence[str], series: Sequence[Series]) -> SafeString:
    """Grouped bars: for each x label, one bar per series side by side."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((v for s in series for v in s.values), default=0))
    n = max(len(labels), 1)
    slot = plot_w / n
    bar = min(28.0, slot * 0.8 / max(len(series), 1))
    xs = [LEFT + slot * (i + 0.5) for i in range(len(labels))]
    parts = _frame(title, top) + _legend(series) + _x_labels(labels, xs, max_labels=12)
    group = bar * len(series)
    for k, s in enumerate(series):
        for x, label, value in zip(xs, labels, s.values, strict=True):
            h = plot_h * value / top
            bx = x - group / 2 + k * bar
            tip = escape(f"{label}, {s.label}: {_number(value)}")
            parts.append(
                f'<rect x="{bx:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar - 2:.1f}" '
                f'height="{h:.1f}" fill="{s.color}"><title>{tip}</title></rect>'
            )
    return _svg(parts, title)
