"""`manage.py create_token --customer NAME [--rate N] [--name NAME]`.

Creates the customer if needed and prints the new secret as the LAST line of output, so scripts,
benchmarks and tests outside the suite can take it with `tail -n 1`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.customers.services import customer_get_or_create, token_create


class Command(BaseCommand):
    help = "Create an API token (and its customer if needed); the secret is the last line printed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customer", required=True, help="Customer name; created if missing.")
        parser.add_argument("--rate", type=int, default=None, help="Per-token limit, requests per second.")
        parser.add_argument("--name", default="cli", help="A label for the token.")

    def handle(self, *args: Any, customer: str, rate: int | None, name: str, **options: Any) -> None:
        issued = token_create(customer=customer_get_or_create(name=customer), name=name, requests_per_second=rate)
        self.stdout.write(f"Created token {issued.token.prefix} for customer '{customer}'. Secret (shown once):")
        self.stdout.write(issued.secret)
