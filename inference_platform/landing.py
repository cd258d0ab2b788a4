"""The site root for a person who opens the server in a browser: what this is and where to go
(the admin's "View site" leads here), the icon browsers ask for, and `/docs/` for `/docs`."""

from __future__ import annotations

from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_safe

ICON = (Path(__file__).parent / "favicon.ico").read_bytes()  # 32x32, 286 bytes


@require_safe
def landing(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "landing.html", {"base_url": request.build_absolute_uri("/").rstrip("/")})


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    # Every browser tab asks for it (the admin, /docs, this page): an icon, never a 404 in the console.
    return HttpResponse(ICON, content_type="image/x-icon", headers={"Cache-Control": "public, max-age=86400"})
