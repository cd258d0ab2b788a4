"""Bar charts as inline SVG, rendered on the server: no JavaScript, no CDN, nothing to vendor.

Each bar carries a <title>, which browsers show on hover, so exact figures are one point away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT, AXIS, FONT = 420, 140, 18, 13
PLOT = HEIGHT - FONT - 6  # bars stay below the "max" label


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: Sequence[float]
    color: str


def bar_chart(
    *, title: str, labels: Sequence[str], series: Sequence[Series], unit: str, stacked: bool = True
) -> SafeString:
    """Stacked bars (parts of a whole) or overlaid bars (draw the largest series first)."""
    top = _scale_top(series, stacked)
    slot = WIDTH / max(len(labels), 1)
    bars = [_column(i, label, series, unit, top=top, slot=slot, stacked=stacked) for i, label in enumerate(labels)]
    axis = _axis(labels, top, unit)
    return format_html(
        '<svg class="rl-chart" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}"><title>{}</title>{}{}</svg>',
        WIDTH,
        HEIGHT + AXIS,
        title,
        title,
        mark_safe("".join(bars)),  # built from escaped parts below
        axis,
    )


def _scale_top(series: Sequence[Series], stacked: bool) -> float:
    columns = list(zip(*(s.values for s in series), strict=True)) or [(0.0,)]
    peak = max((sum(column) if stacked else max(column)) for column in columns)
    return peak if peak > 0 else 1.0


def _column(
    index: int, label: str, series: Sequence[Series], unit: str, *, top: float, slot: float, stacked: bool
) -> str:
    x, width, base = index * slot + slot * 0.1, slot * 0.8, 0.0
    parts = []
    for s in series:
        value = s.values[index]
        height = PLOT * value / top
        y = HEIGHT - height - (base if stacked else 0.0)
        parts.append(
            f'<rect x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" height="{height:.2f}" fill="{escape(s.color)}">'
            f"<title>{escape(label)} {escape(s.name)}: {_number(value)}{escape(unit)}</title></rect>"
        )
        base += height
    return "".join(parts)


def _axis(labels: Sequence[str], top: float, unit: str) -> SafeString:
    first, last = (labels[0], labels[-1]) if labels else ("", "")
    return format_html(
        '<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="currentColor" stroke-opacity=".3"/>'
        '<text x="2" y="{font}" font-size="{font}" fill="currentColor">max {top}{unit}</text>'
        '<text x="0" y="{below}" font-size="{font}" fill="currentColor">{first}</text>'
        '<text x="{width}" y="{below}" font-size="{font}" fill="currentColor" text-anchor="end">{last}</text>',
        base=HEIGHT,
        width=WIDTH,
        font=FONT,
        top=_number(top),
        unit=unit,
        below=HEIGHT + AXIS - 4,
        first=first,
        last=last,
    )


def _number(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:,.1f}"
