"""`manage.py usage_rollup`: roll the usage records up into the per-day table now. The server does it
every 30 seconds on its own (apps/usage/rollup.py); this is for a first catch-up over a big table,
or a deployment with no server running."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.usage.rollup import rollup_catch_up


class Command(BaseCommand):
    help = "Add the usage records not rolled up yet to the per-day usage table."

    def handle(self, *args: Any, **options: Any) -> None:
        added = rollup_catch_up()
        self.stdout.write(f"Rolled up {added} usage records.")
