"""Operators issue and revoke tokens and tune limits here.

A token's secret is shown exactly once. Creating a token redirects (POST/redirect/GET) to a page
that takes the secret out of the operator's session as it shows it: a reload, the back button or
a later visit find nothing, and a reload cannot create a second token either. The secret sits in
the session only between the POST and that GET; only its hash is stored with the token.

Limit changes (a customer's negotiated limit, a token's override) apply on the next request in
every worker: saving either model invalidates every process's token cache (`signals.py`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

from .models import ApiToken, Customer
from .services import effective_limit, token_assign_secret, tokens_revoke

LIMIT_HELP = "Changes apply on the next request, in every worker."


def _secret_session_key(token_id: int) -> str:
    return f"customers:new-token-secret:{token_id}"


def _limit_in_effect(token: ApiToken | None, customer: Customer) -> str:
    limit = effective_limit(token=token, customer=customer)
    if token is not None and token.requests_per_second:
        return f"{limit} req/s (token override)"
    return f"{limit} req/s ({'negotiated' if customer.requests_per_second else 'default'})"


class ApiTokenInline(admin.TabularInline):
    model = ApiToken
    extra = 0
    fields = ["name", "prefix", "requests_per_second", "limit_in_effect", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = ["name", "prefix", "limit_in_effect", "expires_at", "revoked_at", "last_used_at"]
    show_change_link = True
    can_delete = False
    verbose_name_plural = f"Tokens (override a token's limit here; {LIMIT_HELP.lower()})"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiToken]:
        return super().get_queryset(request).select_related("customer")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tokens are created on their own page, where the secret is shown once

    @admin.display(description="Limit in effect")
    def limit_in_effect(self, token: ApiToken) -> str:
        return _limit_in_effect(token, token.customer)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "requests_per_second", "limit_in_effect", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    list_editable = ["requests_per_second"]
    fields = ["name", "is_active", "requests_per_second", "limit_in_effect", "notes"]
    readonly_fields = ["limit_in_effect"]
    inlines = [ApiTokenInline]

    @admin.display(description="Limit in effect")
    def limit_in_effect(self, customer: Customer) -> str:
        return _limit_in_effect(None, customer) if customer.pk else "—"

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "requests_per_second" in form.changed_data:
            messages.info(request, f"{obj.name}: limit now {_limit_in_effect(None, obj)}. {LIMIT_HELP}")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "customer", "status", "limit_in_effect", "expires_at", "last_used_at"]
    list_filter = ["customer", ("revoked_at", admin.EmptyFieldListFilter)]
    list_select_related = ["customer"]
    search_fields = ["name", "prefix", "customer__name"]
    readonly_fields = ["prefix", "limit_in_effect", "created_at", "revoked_at", "last_used_at"]
    filter_horizontal = ["allowed_models"]
    actions = ["revoke"]
    fields = ["customer", "name", "expires_at", "requests_per_second", "allowed_models", *readonly_fields]

    @admin.display(description="Status")
    def status(self, token: ApiToken) -> str:
        return "revoked" if token.is_revoked else "active"

    @admin.display(description="Limit in effect")
    def limit_in_effect(self, token: ApiToken) -> str:
        return _limit_in_effect(token, token.customer) if token.pk else "—"

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = tokens_revoke(tokens=list(queryset.filter(revoked_at__isnull=True)))
        self.message_user(request, f"Revoked {count} token(s). They stop working on the next request.")

    def get_urls(self) -> list[URLPattern]:
        created = path(
            "<int:token_id>/created/",
            self.admin_site.admin_view(self.created_view),
            name="customers_apitoken_created",
        )
        return [created, *super().get_urls()]

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        secret = None if change else token_assign_secret(token=obj)
        super().save_model(request, obj, form, change)
        if secret is not None:
            request.session[_secret_session_key(obj.pk)] = secret

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None) -> HttpResponse:
        messages.info(request, f"Token {obj.prefix} created.")
        return HttpResponseRedirect(reverse("admin:customers_apitoken_created", args=[obj.pk]))

    def created_view(self, request: HttpRequest, token_id: int) -> HttpResponse:
        token = get_object_or_404(ApiToken.objects.select_related("customer"), pk=token_id)
        if not self.has_view_permission(request, token):
            return HttpResponseRedirect(reverse("admin:index"))
        context = {
            **self.admin_site.each_context(request),
            "token": token,
            "secret": request.session.pop(_secret_session_key(token.pk), None),  # shown once, then gone
            "opts": self.opts,
            "title": "Token created",
            "api_base": getattr(settings, "API_BASE_URL", ""),
        }
        response = TemplateResponse(request, "admin/customers/token_created.html", context)
        response["Cache-Control"] = "no-store"  # the secret must not linger in any cache
        return response
