"""`manage.py bootstrap_demo`: what `make run` needs on a fresh machine: an admin user, a demo
customer and a demo token. Safe to run on every start; it creates only what is missing."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from apps.customers.models import ApiToken
from apps.customers.services import customer_get_or_create, token_create

DEMO_CUSTOMER = "demo"


def server_url() -> str:
    """Where `make run` serves (scripts/serve.sh: HOST, PORT), as a browser on this machine reaches it."""
    host = os.environ.get("HOST") or "127.0.0.1"
    host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
    return f"http://{f'[{host}]' if ':' in host else host}:{os.environ.get('PORT') or 8000}"


class Command(BaseCommand):
    help = "Create the admin user, the demo customer and a demo token if they are missing."

    def handle(self, *args: Any, **options: Any) -> None:
        self._admin()
        self._demo_token()

    def _admin(self) -> None:
        username = os.environ.get("ADMIN_USERNAME", "admin")
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"Admin user '{username}' exists ({server_url()}/admin/).")
            return
        password = os.environ.get("ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, password=password, email="")
        shown = "from ADMIN_PASSWORD" if "ADMIN_PASSWORD" in os.environ else password
        self.stdout.write(f"Admin user '{username}' created, password: {shown} ({server_url()}/admin/)")

    def _demo_token(self) -> None:
        customer = customer_get_or_create(name=DEMO_CUSTOMER)
        existing = ApiToken.objects.filter(customer=customer, name="demo", revoked_at__isnull=True).first()
        if existing is not None:
            self.stdout.write(
                f"Demo token {existing.prefix} exists; its secret was printed when it was created. "
                f"New one: .venv/bin/python manage.py create_token --customer {DEMO_CUSTOMER}"
            )
            return
        issued = token_create(customer=customer, name="demo")
        self.stdout.write("Demo token (shown once, keep it):")
        self.stdout.write(f"  export API_TOKEN={issued.secret}")
