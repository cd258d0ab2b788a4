"""Configuration: token and base URL from arguments or the environment, and what every request carries."""

from __future__ import annotations

import pytest

from inference_platform_sdk import DEFAULT_BASE_URL, Client, __version__

from .scripted import TOKEN, Script, model, ok


def test_token_and_base_url_from_the_environment(monkeypatch):
    monkeypatch.setenv("API_TOKEN", "ipk_from_env")
    monkeypatch.setenv("API_BASE_URL", "http://env.test:9000/")

    client = Client()

    assert client.base_url == "http://env.test:9000"
    assert client._config.token == "ipk_from_env"


def test_arguments_win_over_the_environment(monkeypatch):
    monkeypatch.setenv("API_TOKEN", "ipk_from_env")
    monkeypatch.setenv("API_BASE_URL", "http://env.test")

    client = Client(token="ipk_arg", base_url="https://arg.test")

    assert (client.base_url, client._config.token) == ("https://arg.test", "ipk_arg")


def test_the_default_base_url_is_make_runs_address():
    assert Client(token=TOKEN).base_url == DEFAULT_BASE_URL == "http://127.0.0.1:8000"


def test_no_token_is_a_clear_error():
    with pytest.raises(ValueError, match="API_TOKEN"):
        Client()


@pytest.mark.parametrize(
    ("base_url", "message"),
    [("http://127.0.0.1:8000/v1", "without /v1"), ("127.0.0.1:8000", "http"), ("ftp://x.test", "http")],
)
def test_a_wrong_base_url_is_refused_before_any_request(base_url, message):
    with pytest.raises(ValueError, match=message):
        Client(token=TOKEN, base_url=base_url)


def test_a_misspelled_option_is_refused():
    with pytest.raises(TypeError, match="baseURL"):
        Client(token=TOKEN, baseURL="http://x.test")  # type: ignore[call-arg]


def test_every_request_carries_the_token_user_agent_and_default_headers():
    script = Script(ok(model("m")))
    client = script.client(default_headers={"X-Team": "search"})

    client.models.get("m", extra_headers={"X-Trace": "t1"})

    sent = script.requests[0].headers
    assert sent["authorization"] == f"Bearer {TOKEN}"
    assert sent["user-agent"] == f"inference-platform-sdk-python/{__version__}"
    assert sent["accept"] == "application/json"
    assert (sent["x-team"], sent["x-trace"]) == ("search", "t1")


def test_the_client_is_a_context_manager_that_closes_its_connections():
    script = Script()
    with script.client() as client:
        pass
    assert client._http.is_closed
