"""The Limits page: customers (a page at a time, searchable by name) with their tokens, each limit
editable in place; one Save applies every change (`limits.limits_save`), then the page reloads
(POST/redirect/GET) showing what is now in effect."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone

from apps.customers.models import ApiToken, Customer

from .limits import LimitChanges, customer_limits_page, default_limit, limits_save

CUSTOMERS_PER_PAGE = 25
APPLIES = "Changes apply on the next request, in every worker."
_LIMIT = forms.IntegerField(min_value=1, max_value=1_000_000_000, required=False)


def limits_view(
    request: HttpRequest,
    *,
    context: dict[str, Any],
    opts: Any,
    may_change_customers: bool,
    may_change_tokens: bool,
) -> HttpResponse:
    if request.method == "POST":
        _save(request, may_change_customers=may_change_customers, may_change_tokens=may_change_tokens)
        return HttpResponseRedirect(request.get_full_path())
    query = request.GET.get("q", "").strip()
    customers = Customer.objects.order_by("name")
    if query:
        customers = customers.filter(name__icontains=query)
    page = Paginator(customers, CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
    return TemplateResponse(
        request,
        "admin/customers/limit/change_list.html",
        {
            **context,
            "opts": opts,
            "title": "Limits",
            "rows": customer_limits_page(customers=list(page.object_list), now=timezone.now()),
            "page": page,
            "query": query,
            "default_limit": default_limit(),
            "may_change_customers": may_change_customers,
            "may_change_tokens": may_change_tokens,
        },
    )


def _save(request: HttpRequest, *, may_change_customers: bool, may_change_tokens: bool) -> None:
    problems: list[str] = []
    customers = _limits(request, "customer-", problems) if may_change_customers else {}
    tokens = _limits(request, "token-", problems) if may_change_tokens else {}
    if problems:
        messages.error(request, "Nothing saved: " + "; ".join(problems))
        return
    saved = limits_save(LimitChanges(customers=customers, tokens=tokens))
    if saved:
        messages.success(request, f"Saved {', '.join(saved)}. {APPLIES}")
    else:
        messages.info(request, "No limit changed.")


def _limits(request: HttpRequest, prefix: str, problems: list[str]) -> dict[int, int | None]:
    """The posted limits named `<prefix><id>`: a whole number of requests per second, or empty."""
    limits: dict[int, int | None] = {}
    for name in request.POST:
        if not name.startswith(prefix) or not name.removeprefix(prefix).isdigit():
            continue
        raw = request.POST.get(name, "")
        try:
            limits[int(name.removeprefix(prefix))] = _LIMIT.clean(raw.strip())
        except forms.ValidationError:
            problems.append(f"{_named(prefix, int(name.removeprefix(prefix)))}: '{raw}' is not a whole number from 1")
    return limits


def _named(prefix: str, pk: int) -> str:
    if prefix == "customer-":
        return Customer.objects.filter(pk=pk).values_list("name", flat=True).first() or f"customer {pk}"
    token = ApiToken.objects.filter(pk=pk).select_related("customer").first()
    return f"{token.customer.name} / {token.name}" if token is not None else f"token {pk}"
