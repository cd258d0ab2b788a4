"""Operators issue and revoke tokens and tune limits here. A token's secret is shown exactly once:
on the page that follows its creation, never stored, never again."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from .models import ApiToken, Customer
from .services import effective_limit, token_assign_secret, tokens_revoke


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    extra = 0
    fields = ["name", "prefix", "requests_per_second", "limit_in_effect", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = ["name", "prefix", "limit_in_effect", "expires_at", "revoked_at", "last_used_at"]
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tokens are created on their own page, where the secret is shown once

    @admin.display(description="Effective limit (req/s)")
    def limit_in_effect(self, token: ApiToken) -> int:
        return effective_limit(token=token, customer=token.customer)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "requests_per_second", "limit_in_effect", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    list_editable = ["requests_per_second"]
    inlines = [ApiTokenInline]

    @admin.display(description="Effective limit (req/s)")
    def limit_in_effect(self, customer: Customer) -> int:
        return effective_limit(token=None, customer=customer)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "customer", "status", "requests_per_second", "expires_at", "last_used_at"]
    list_filter = ["customer", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "customer__name"]
    readonly_fields = ["prefix", "created_at", "revoked_at", "last_used_at"]
    filter_horizontal = ["allowed_models"]
    actions = ["revoke"]
    fields = ["customer", "name", "expires_at", "requests_per_second", "allowed_models", *readonly_fields]

    @admin.display(description="Status")
    def status(self, token: ApiToken) -> str:
        return "revoked" if token.is_revoked else "active"

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = tokens_revoke(tokens=list(queryset.filter(revoked_at__isnull=True)))
        self.message_user(request, f"Revoked {count} token(s). They stop working on the next request.")

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if not change:
            request._new_token_secret = token_assign_secret(token=obj)  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None) -> HttpResponse:
        secret = getattr(request, "_new_token_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        response = TemplateResponse(
            request,
            "admin/customers/token_created.html",
            {
                **self.admin_site.each_context(request),
                "token": obj,
                "secret": secret,
                "opts": self.opts,
                "title": "Token created",
                "api_base": getattr(settings, "API_BASE_URL", ""),
            },
        )
        response["Cache-Control"] = "no-store"  # the secret must not linger in any cache
        messages.info(request, f"Token {obj.prefix} created.")
        return response
