"""Admin filters whose choices cost nothing to list.

Django's default filters for `error_code` and `model` would run `SELECT DISTINCT` over the whole
table on every page view; these take their choices from the closed error set and the model
registry instead, and each filters on an indexed equality or a bounded time range.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apps.core.errors import ApiError


class StatusClassFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status_class"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("2", "2xx success"), ("4", "4xx client error"), ("5", "5xx server error")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        return queryset.filter(status_class=int(value)) if value in {"2", "4", "5"} else queryset


class ErrorCodeFilter(admin.SimpleListFilter):
    title = "error code"
    parameter_name = "error_code"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(code, code) for code in error_codes()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(error_code=self.value()) if self.value() else queryset


class ModelFilter(admin.SimpleListFilter):
    title = "model"
    parameter_name = "model"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        from apps.models_registry.models import Model

        # The chosen value too: a model removed from the registry still has its logs.
        chosen = self.value()
        registered: set[str] = set(Model.objects.values_list("id", flat=True)) | ({chosen} if chosen else set())
        return [(model_id, model_id) for model_id in sorted(registered)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(model=self.value()) if self.value() else queryset


PERIODS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}


class PeriodFilter(admin.SimpleListFilter):
    """Recent periods, not a date hierarchy: `date_hierarchy` scans the table for its dates."""

    title = "date"
    parameter_name = "period"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1h", "Last hour"), ("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("30d", "Last 30 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        span = PERIODS.get(self.value() or "")
        return queryset.filter(created_at__gte=timezone.now() - span) if span else queryset


def error_codes() -> list[str]:
    """Every code of the closed error set (docs/api-contract.md, "Errors"), read from the exception classes."""
    codes: set[str] = set()
    pending: list[type[ApiError]] = [ApiError]
    while pending:
        error = pending.pop()
        codes.add(error.code)
        pending.extend(error.__subclasses__())
    return sorted(codes)
