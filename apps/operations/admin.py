"""The admin's Limits page, in the Customers section (a proxy model, `apps.customers.models.Limit`).

Its permissions are the customers' and tokens' own: who may view customers may view the page, who
may change a customer (or a token) may change its limit there.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path

from apps.customers.models import Limit

from .limits_page import limits_view


@admin.register(Limit)
class LimitAdmin(admin.ModelAdmin):
    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm("customers.view_customer") and request.user.has_perm("customers.view_apitoken")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return request.user.has_perm("customers.change_customer") or request.user.has_perm("customers.change_apitoken")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        # One page: a limit is edited there (or on its customer's and token's own pages), nowhere else.
        return [path("", self.admin_site.admin_view(self.changelist_view), name="customers_limit_changelist")]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return limits_view(
            request,
            context=self.admin_site.each_context(request),
            opts=self.opts,
            may_change_customers=request.user.has_perm("customers.change_customer"),
            may_change_tokens=request.user.has_perm("customers.change_apitoken"),
        )
