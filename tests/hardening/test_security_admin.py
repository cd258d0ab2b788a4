"""The operator's side: the admin needs a staff login, checks CSRF, and an API token opens nothing
there; HTML pages carry the browser security headers. Requests go through the real ASGI application
(tests.support.api_client), except where Django's test client is needed to enforce CSRF."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.customers.models import ApiToken
from tests.support.factories import make_token

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN_PAGES = ["/admin/", "/admin/customers/apitoken/", "/admin/request_logs/requestlog/", "/admin/customers/customer/"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_pages_need_a_login_and_an_api_token_is_not_one(api, token, path):
    anonymous = api.get(path)
    with_token = api.get(path, token=token)

    for response in (anonymous, with_token):
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/login/")


def test_a_logged_in_user_who_is_not_staff_gets_no_admin(transactional_db):
    user = User.objects.create_user("viewer", password="correct horse battery")
    client = Client()
    client.force_login(user)

    response = client.get("/admin/customers/apitoken/")

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_metrics_are_not_opened_by_an_api_token(api, token):
    assert api.get("/metrics", token=token).status_code == 401


def test_the_admin_login_refuses_a_post_without_a_csrf_token(transactional_db):
    User.objects.create_superuser("root", password="correct horse battery", email="")
    client = Client(enforce_csrf_checks=True)

    response = client.post("/admin/login/", {"username": "root", "password": "correct horse battery"})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_an_admin_action_without_a_csrf_token_changes_nothing(transactional_db):
    operator = User.objects.create_superuser("root", password="correct horse battery", email="")
    issued = make_token(customer="victim")
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)

    response = client.post(
        "/admin/customers/apitoken/", {"action": "revoke", "_selected_action": [str(issued.token.pk)]}
    )

    assert response.status_code == 403
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_at is None


@pytest.mark.parametrize("path", ["/admin/login/", "/docs"])
def test_html_pages_carry_the_browser_security_headers(api, transactional_db, path):
    response = api.get(path)

    assert response.status_code == 200
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    if path.startswith("/admin/"):  # drf-spectacular's Swagger page opts out, for its OAuth pop-up
        assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_admin_session_and_csrf_cookies_are_not_readable_by_scripts(api, transactional_db):
    User.objects.create_superuser("root", password="correct horse battery", email="")
    login_page = api.get("/admin/login/")
    csrf = login_page.cookies["csrftoken"]

    response = api.post(
        "/admin/login/",
        data={"username": "root", "password": "correct horse battery", "csrfmiddlewaretoken": csrf},
        headers={"Cookie": f"csrftoken={csrf}", "Referer": "http://127.0.0.1/admin/login/"},
    )

    assert response.status_code == 302
    session_cookie = next(
        value for name, value in response.headers.multi_items() if name == "set-cookie" and "sessionid" in value
    )
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie


def _log_in(client: Client, password: str) -> int:
    return client.post("/admin/login/?next=/admin/", {"username": "root", "password": password}).status_code


def test_password_guesses_lock_that_login_out_from_that_address(transactional_db, settings):
    """Regression: 30 wrong passwords in 13 s, then the right one logged in (no throttling)."""
    User.objects.create_superuser("root", password="correct horse battery", email="")
    guesser = Client(REMOTE_ADDR="203.0.113.9")

    wrong = [_log_in(guesser, f"guess-{i}") for i in range(settings.AXES_FAILURE_LIMIT)]
    right = guesser.post("/admin/login/", {"username": "root", "password": "correct horse battery"})

    assert wrong[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)  # the form again, with its error
    assert wrong[-1] == 429 and right.status_code == 429
    assert b"too many login attempts" in right.content and "_auth_user_id" not in guesser.session
    # The operator at another address is not locked out by someone else's guesses.
    operator = Client(REMOTE_ADDR="198.51.100.7")
    assert _log_in(operator, "correct horse battery") == 302 and "_auth_user_id" in operator.session


def test_a_successful_login_forgets_earlier_failures(transactional_db, settings):
    User.objects.create_superuser("root", password="correct horse battery", email="")
    client = Client(REMOTE_ADDR="198.51.100.8")

    for i in range(settings.AXES_FAILURE_LIMIT - 1):
        _log_in(client, f"typo-{i}")
    assert _log_in(client, "correct horse battery") == 302
    client.logout()
    assert _log_in(client, "one more typo") == 200  # counting starts again: not locked
