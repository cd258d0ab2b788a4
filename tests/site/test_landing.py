"""The site root a person lands on (README, "Try it"): what this server is and where to go; the
admin's "View site" link leads there; `/docs/` and `/favicon.ico` answer instead of a 404."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db


def test_the_root_says_what_this_is_and_links_every_entry_point(client):
    response = client.get("/", HTTP_HOST="127.0.0.1:8100")

    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "inference API" in page
    links = set(re.findall(r'href="([^"]+)"', page))
    assert {"/docs", "/admin/", "/v1/openapi.json", "/health/live", "/health/ready"} <= links
    assert "http://127.0.0.1:8100/openai/v1" in page  # the OpenAI-compatible base, for this server


def test_the_admins_view_site_link_leads_to_the_root(admin_client):
    page = admin_client.get("/admin/").content.decode()

    assert re.search(r'<a href="/">\s*View site\s*</a>', page)
    assert admin_client.get("/").status_code == 200


def test_docs_with_a_trailing_slash_redirects_to_the_docs(client):
    response = client.get("/docs/")

    assert response.status_code == 301 and response["Location"] == "/docs"
    assert client.get("/docs").status_code == 200


def test_the_favicon_is_an_icon(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
    assert response.content.startswith(b"\x00\x00\x01\x00")  # an ICO file's header
    assert "max-age" in response["Cache-Control"]
