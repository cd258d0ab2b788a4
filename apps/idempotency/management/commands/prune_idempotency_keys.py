from typing import Any

from django.core.management.base import BaseCommand

from apps.idempotency.services import idempotency_prune


class Command(BaseCommand):
    help = "Delete idempotency records past their expiry (IDEMPOTENCY_KEY_TTL_SECONDS)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"Deleted {idempotency_prune()} expired idempotency records.")
