"""`|thousands`, `|percent`, `|milliseconds` for the admin's pages (django.contrib.humanize is not
installed, and these three are all the pages need)."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def thousands(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@register.filter
def milliseconds(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"
