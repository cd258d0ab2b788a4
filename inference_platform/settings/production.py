"""Production: `DATABASE_URL` and `REDIS_URL` point at PostgreSQL and Redis (docs/deploy.md)."""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY in production.")

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = os.environ.get("SECURE_COOKIES", "1") == "1"
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# HTTPS only (docs/deploy.md, "HTTPS"). Behind a TLS-terminating proxy, Django learns that a request
# came over HTTPS from the proxy's X-Forwarded-Proto, trusted only when TRUST_X_FORWARDED_PROTO=1:
# the proxy must then set it on every request, replacing any a client sent.
SECURE_SSL_REDIRECT = os.environ.get("SECURE_SSL_REDIRECT", "1") == "1"
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 365 * 24 * 3600))
SECURE_HSTS_INCLUDE_SUBDOMAINS = os.environ.get("SECURE_HSTS_INCLUDE_SUBDOMAINS", "1") == "1"
SECURE_HSTS_PRELOAD = os.environ.get("SECURE_HSTS_PRELOAD", "0") == "1"
if not SECURE_HSTS_PRELOAD:
    # Asking browsers to hard-code HTTPS for the whole domain is its owner's decision, hard to undo;
    # `check --deploy` would otherwise warn about it (W021) on every deployment.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
# A local metrics agent may scrape plain HTTP on loopback (METRICS_ALLOWED_NETWORKS).
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
if os.environ.get("TRUST_X_FORWARDED_PROTO", "0") == "1":
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
