from __future__ import annotations

from django.db import models
from django.utils import timezone


class Customer(models.Model):
    name = models.CharField(max_length=200, unique=True)
    is_active = models.BooleanField(default=True)
    requests_per_second = models.PositiveIntegerField(
        null=True, blank=True, help_text="Negotiated limit for every token of this customer; empty = default."
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token. Only a SHA-256 of the secret is stored; the secret is shown once."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=200)
    prefix = models.CharField(max_length=16, unique=True, editable=False, help_text="Public part, safe to log.")
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    requests_per_second = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the customer's limit for this token; empty = inherit."
    )
    allowed_models = models.ManyToManyField(
        "models_registry.Model", blank=True, help_text="Models this token may use; none selected = all."
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"
        verbose_name_plural = "API tokens"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class Limit(Customer):
    """The admin's Limits page: every customer and token with the limit in effect, where it comes
    from and the last minute's peak, editable in one place (apps/operations/admin.py). A proxy:
    it stores nothing of its own, it gives the page its place in the admin's Customers section."""

    class Meta:
        proxy = True
        verbose_name = "limit"
        verbose_name_plural = "limits"
