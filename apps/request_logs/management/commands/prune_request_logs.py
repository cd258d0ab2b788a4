"""`manage.py prune_request_logs [--days N] [--batch-size B]`: run it daily (cron, a systemd timer
or the task engine); N defaults to settings.REQUEST_LOG_RETENTION_DAYS (30)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.request_logs.retention import DEFAULT_BATCH_SIZE, request_logs_prune


class Command(BaseCommand):
    help = "Delete request-log rows older than N days, in short batches by primary-key range."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Keep this many days (default: the setting).")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Ids per DELETE.")

    def handle(self, *args: Any, days: int | None, batch_size: int, **options: Any) -> None:
        days = days if days is not None else getattr(settings, "REQUEST_LOG_RETENTION_DAYS", 30)
        if days < 1 or batch_size < 1:
            raise CommandError("--days and --batch-size must be at least 1.")
        cutoff = timezone.now() - timedelta(days=days)
        deleted = request_logs_prune(older_than=cutoff, batch_size=batch_size)
        self.stdout.write(f"Deleted {deleted} request-log rows created before {cutoff:%Y-%m-%d %H:%M} UTC.")
