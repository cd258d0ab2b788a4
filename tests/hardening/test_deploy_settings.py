"""`manage.py check --deploy` is clean under the production environment that docs/deploy.md
documents, with and without a TLS proxy in front (regression: W004 HSTS, W008 SSL redirect)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from tests.support.live_server import ROOT


@pytest.mark.parametrize("behind_tls_proxy", ["0", "1"])
def test_check_deploy_is_clean_with_the_documented_environment(behind_tls_proxy):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SECURE_", "TRUST_"))},
        "DJANGO_SETTINGS_MODULE": "inference_platform.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        # The suite's own stores (model checks ask PostgreSQL for its version); SQLite without them.
        "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "ALLOWED_HOSTS": "api.example.com",
        "TRUST_X_FORWARDED_PROTO": behind_tls_proxy,
    }
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
