"""End to end in headless Chromium against a live uvicorn, in a 1400 x 1000 window: password guesses
lock a login out, log in, create a token (secret shown once), find a request by its id in the
request log, revoke the token, open the dashboard; tune limits on the Limits page; read a request
log full of batch rows; follow "View site" to the landing page. Pages must fit the window and the
browser console must stay clean (no 404, not even for the favicon).

Skipped when Chromium, chromedriver or Selenium is missing, unless REQUIRE_BROWSER=1 (CI), where
that fails the run instead. Screenshots and the server's log go to pytest's temporary folder (its
path is printed at the end of the run; the last three runs are kept), never into the checkout.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone

from apps.customers.services import customer_get_or_create
from apps.request_logs.models import RequestLog
from tests.support.factories import make_token
from tests.support.live_server import live_server

from .conftest import SCREENSHOTS

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
WINDOW_WIDTH = 1400
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
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the console, for `console_errors`
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Path:
    folder = tmp_path_factory.mktemp("admin-browser")
    pytestconfig.stash[SCREENSHOTS] = str(folder)  # said after the run (conftest.py)
    return folder


@pytest.fixture
def server(transactional_db: None, artifacts: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    with live_server(log_path=artifacts / f"uvicorn-{request.node.name}.log") as url:
        yield url


class Operator:
    """What an operator does in the admin, one method per step."""

    def __init__(self, driver: Any, base_url: str, artifacts: Path) -> None:
        self.driver, self.base_url, self.artifacts = driver, base_url, artifacts

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
        self.driver.save_screenshot(str(self.artifacts / f"{name}.png"))

    def overflow(self, css: str = "body") -> dict[str, float]:
        """How far the page, and the element, reach past the window's right edge (0: they fit)."""
        return self.driver.execute_script(
            "const box = document.querySelector(arguments[0]).getBoundingClientRect();"
            "const root = document.documentElement;"  # clientWidth: the window less its scroll bar
            "return {page: root.scrollWidth - root.clientWidth, element: box.right - root.clientWidth};",
            css,
        )

    def hidden_columns(self, table: str) -> list[str]:
        """The column headers that end past the right edge of what shows of the table: the window, or
        the box the table scrolls in (the admin's list scrolls sideways inside its own box)."""
        return self.driver.execute_script(
            "const table = document.querySelector(arguments[0]);"
            "let box = table.parentElement;"
            "while (box && getComputedStyle(box).overflowX === 'visible') box = box.parentElement;"
            "const right = Math.min(box ? box.getBoundingClientRect().right : Infinity,"
            "                       document.documentElement.clientWidth);"
            "return [...table.querySelectorAll('thead th')]"
            "  .filter(th => th.getBoundingClientRect().right > right + 0.5).map(th => th.innerText.trim());",
            table,
        )

    def console_errors(self) -> list[str]:
        """What the browser logged as errors since the last call (a 404 for the favicon, a script error)."""
        return [entry["message"] for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]

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


def test_an_operator_manages_a_token_and_traces_a_request(browser, server, artifacts):
    User.objects.create_superuser("operator", "operator@example.com", PASSWORD)
    User.objects.create_superuser("guessed", "guessed@example.com", PASSWORD)
    customer_get_or_create(name="acme")
    operator = Operator(browser, server, artifacts)

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


def seed_batch_traffic(customer_name: str, prefix: str) -> str:
    """Request-log rows as a batch leaves them: long paths and `batch_…:<n>` request ids."""
    customer = customer_get_or_create(name=customer_name)
    batch_id = "batch_" + "Qx7vT2mK9pLz4RwY8nB3cD5f"
    now = timezone.now()
    second = (now - timedelta(seconds=1)).replace(microsecond=0)  # the batch's items ran in one second
    rows = [
        RequestLog(request_id=f"{batch_id}:{index}", method="POST", path="/v1/chat/completions", status=200,
                   latency_ms=812.4, customer=customer, token_prefix=prefix, model="smollm2-135m-instruct",
                   created_at=second + timedelta(milliseconds=10 * index))
        for index in range(12)
    ]  # fmt: skip
    rows.append(
        RequestLog(request_id="req_J4nq0Y2wQ0v3b1Xs5l8kZp7t", method="GET", path=f"/v1/batches/{batch_id}/results",
                   status=429, error_code="idempotency_request_in_progress", latency_ms=1.2, customer=customer,
                   token_prefix=prefix, created_at=now)
    )  # fmt: skip
    RequestLog.objects.bulk_create(rows)
    return batch_id


def test_an_operator_tunes_limits_and_reads_a_busy_request_log(browser, server, artifacts):
    User.objects.create_superuser("operator", "operator@example.com", PASSWORD)
    issued = make_token(customer="enterprise-with-a-long-name", name="nightly-batch-runner")
    make_token(customer="enterprise-with-a-long-name", name="web", rate=20)
    make_token(customer="small-shop", name="shop")
    batch_id = seed_batch_traffic("enterprise-with-a-long-name", issued.token.prefix)
    operator = Operator(browser, server, artifacts)
    operator.log_in("operator")

    operator.open("/admin/")
    assert "API tokens" in operator.find("#content-main").text and "Api tokens" not in browser.page_source
    operator.screenshot("06-index")

    operator.open("/admin/customers/limit/")
    assert operator.overflow("#limits-table")["page"] <= 0 and operator.overflow("#limits-table")["element"] <= 0
    assert operator.hidden_columns("#limits-table") == []
    token_row = operator.find(f"#token-{issued.token.pk}").text
    assert "50 req/s" in token_row and "default" in token_row and "12/s" in token_row  # the seeded batch second
    operator.screenshot("07-limits")

    field = operator.find(f"input[name=customer-{issued.token.customer_id}]")
    field.clear()
    field.send_keys("250")
    operator.find("#limits-form input[type=submit]").click()
    assert "250 req/s" in operator.find("ul.messagelist").text
    assert "customer's negotiated limit" in operator.find(f"#token-{issued.token.pk}").text
    operator.screenshot("08-limits-saved")
    answer = httpx.get(f"{server}/v1/models", headers={"Authorization": f"Bearer {issued.secret}"})
    assert answer.headers["X-RateLimit-Limit"] == "250"

    operator.open("/admin/request_logs/requestlog/")
    operator.screenshot("09-request-log")
    assert operator.overflow()["page"] <= 0 and operator.overflow("#result_list")["element"] <= 0
    assert operator.hidden_columns("#result_list") == []
    shortened = operator.find(f"#result_list span[title='{batch_id}:11']")
    assert shortened.text == "batch_Qx7vT2…:11"
    assert operator.exists(f"#result_list span[title='GET /v1/batches/{batch_id}/results']")
    operator.screenshot("09-request-log")

    assert operator.console_errors() == []


def test_view_site_leads_to_the_landing_page_and_nothing_404s(browser, server, artifacts):
    User.objects.create_superuser("operator", "operator@example.com", PASSWORD)
    operator = Operator(browser, server, artifacts)
    operator.log_in("operator")

    operator.find("#user-tools a[href='/']").click()  # "View site"
    operator.wait_for("#links")
    assert browser.find_element("css selector", "h1").text == "Inference Platform"
    assert operator.overflow()["page"] <= 0
    operator.screenshot("10-landing")

    operator.find("#links a[href='/docs']").click()
    operator.wait_for(".swagger-ui")
    operator.open("/docs/")  # the trailing slash
    assert browser.current_url == f"{server}/docs"
    assert operator.console_errors() == []
