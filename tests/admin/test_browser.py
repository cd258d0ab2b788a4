"""End to end in headless Chromium against a live uvicorn: password guesses lock a login out, log in,
create a token (secret shown once), find a request by its id in the request log, revoke the token,
open the dashboard.

Skipped when Chromium, chromedriver or Selenium is missing, unless REQUIRE_BROWSER=1 (CI), where
that fails the run instead. Screenshots go to test-artifacts/admin-browser/.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User

from apps.customers.services import customer_get_or_create
from tests.support.live_server import live_server

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "admin-browser"
PASSWORD = "browser-test-password"


def _missing() -> str | None:
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        return f"Chromium not installed ({CHROMIUM}, {CHROMEDRIVER}): apt-get install -y chromium chromium-driver"
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (requirements-dev.txt)"
    return None


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    reason = _missing()
    if reason is not None:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture
def server(transactional_db: None) -> Iterator[str]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with live_server(log_path=ARTIFACTS / "uvicorn.log") as url:
        yield url


class Operator:
    """What an operator does in the admin, one method per step."""

    def __init__(self, driver: Any, base_url: str) -> None:
        self.driver, self.base_url = driver, base_url

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def exists(self, css: str) -> bool:
        from selenium.webdriver.common.by import By

        self.driver.implicitly_wait(0)
        try:
            return bool(self.driver.find_elements(By.CSS_SELECTOR, css))
        finally:
            self.driver.implicitly_wait(5)

    def wait_for(self, css: str, seconds: float = 10) -> Any:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, seconds).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
        )

    def screenshot(self, name: str) -> None:
        self.driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))

    def log_in(self, username: str) -> None:
        self.open("/admin/login/")
        self.find("#id_username").send_keys(username)
        self.find("#id_password").send_keys(PASSWORD)
        self.find("input[type=submit]").click()
        self.wait_for("#user-tools")

    def try_password(self, username: str, password: str) -> None:
        from selenium.webdriver.support.ui import WebDriverWait

        self.open("/admin/login/")
        self.find("#id_username").send_keys(username)
        self.find("#id_password").send_keys(password)
        self.find("input[type=submit]").click()
        # The answer, before the next attempt: the form with its error, the lockout, or the admin.
        answered = ("errornote", "too many login attempts", "user-tools")
        WebDriverWait(self.driver, 10).until(lambda d: any(mark in d.page_source.lower() for mark in answered))

    def create_token(self, *, customer: str, name: str) -> str:
        from selenium.webdriver.support.ui import Select

        self.open("/admin/customers/apitoken/add/")
        Select(self.find("#id_customer")).select_by_visible_text(customer)
        self.find("#id_name").send_keys(name)
        self.find("input[name=_save]").click()
        return self.find("#token-secret").text.strip()

    def search_request_log(self, request_id: str) -> None:
        deadline = time.monotonic() + 10  # the writer flushes every 50 ms in tests
        while True:
            self.open("/admin/request_logs/requestlog/")
            self.find("#searchbar").send_keys(request_id)
            self.find("#changelist-search input[type=submit]").click()
            if request_id in self.find("#result_list").text if self.exists("#result_list") else False:
                return
            assert time.monotonic() < deadline, f"{request_id} never appeared in the request log"
            time.sleep(0.2)

    def revoke_token(self, prefix: str) -> None:
        from selenium.webdriver.support.ui import Select

        self.open("/admin/customers/apitoken/")
        row = next(r for r in self.driver.find_elements("css selector", "#result_list tbody tr") if prefix in r.text)
        row.find_element("css selector", "input[name=_selected_action]").click()
        Select(self.find("select[name=action]")).select_by_value("revoke")
        self.find("button[name=index]").click()


def test_an_operator_manages_a_token_and_traces_a_request(browser, server):
    User.objects.create_superuser("operator", "operator@example.com", PASSWORD)
    User.objects.create_superuser("guessed", "guessed@example.com", PASSWORD)
    customer_get_or_create(name="acme")
    operator = Operator(browser, server)

    # Password guessing: after AXES_FAILURE_LIMIT wrong ones, the right one is refused too.
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        operator.try_password("guessed", f"wrong-{attempt}")
    operator.try_password("guessed", PASSWORD)
    assert "too many login attempts" in browser.page_source.lower() and not operator.exists("#user-tools")
    operator.screenshot("00-login-locked-out")

    operator.log_in("operator")  # locked out is that username from that address, not the admin
    secret = operator.create_token(customer="acme", name="browser-token")
    operator.screenshot("01-token-created")
    prefix = "_".join(secret.split("_")[:2])
    assert secret.startswith("ipk_") and len(secret) > 40

    browser.refresh()  # the created page was reached by a redirect: a reload is a GET
    assert not operator.exists("#token-secret") and operator.exists("#token-secret-gone")
    assert secret not in browser.page_source
    operator.screenshot("02-token-page-reloaded")
    operator.find("a.button").click()  # to the token's own page
    assert secret not in browser.page_source and prefix in browser.page_source

    answer = httpx.get(f"{server}/v1/models", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200
    request_id = answer.headers["X-Request-Id"]

    operator.search_request_log(request_id)
    listing = operator.find("#result_list").text
    assert prefix in listing and "200" in listing
    operator.screenshot("03-request-found-by-id")

    operator.revoke_token(prefix)
    assert "Revoked 1 token" in operator.find("ul.messagelist").text
    operator.screenshot("04-token-revoked")
    assert httpx.get(f"{server}/v1/models", headers={"Authorization": f"Bearer {secret}"}).status_code == 401

    operator.open("/admin/?window=day")  # the hour view was cached (10 s) when the login landed on it
    assert operator.exists("#operator-dashboard svg.rl-chart")
    assert operator.find("#tile-requests strong").text not in {"", "0"}
    assert "acme" in operator.find("#top-customers").text and "acme" in operator.find("#customer-limits").text
    operator.screenshot("05-dashboard")
