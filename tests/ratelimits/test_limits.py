"""Rate limits (docs/api-contract.md, "Rate limits"): default, enterprise and token limits, per-IP
limits, headers, outages."""

from __future__ import annotations

import pytest

from apps.customers.models import ApiToken, Customer
from tests.support.envelope import assert_envelope, assert_error, assert_rate_limit_headers
from tests.support.factories import make_token

pytestmark = pytest.mark.django_db(transaction=True)


def test_sixty_requests_in_one_window_give_fifty_then_ten_429(api, token, clock):
    responses = [api.get("/v1/models", token=token) for _ in range(60)]

    statuses = [r.status_code for r in responses]
    assert statuses == [200] * 50 + [429] * 10
    assert [int(r.headers["X-RateLimit-Remaining"]) for r in responses[:50]] == list(range(49, -1, -1))
    for response in responses[50:]:
        assert_error(response, 429, "rate_limited")
        assert response.headers["X-RateLimit-Remaining"] == "0"
        assert response.headers["Retry-After"] == "1"
        assert response.headers["Retry-After-Ms"] == "750"  # the frozen clock is 0.25 s into its second


def test_the_next_window_starts_fresh(api, token, clock):
    for _ in range(51):
        api.get("/v1/models", token=token)
    clock.advance(1)

    response = api.get("/v1/models", token=token)
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "49"


def test_customer_limit_then_token_override(api, clock):
    customer_token = make_token(customer="enterprise", customer_rate=200)
    override = make_token(customer="enterprise", rate=3, name="small")

    assert_rate_limit_headers(api.get("/v1/models", token=customer_token.secret), limit=200)
    statuses = [api.get("/v1/models", token=override.secret).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_limit_change_applies_on_the_next_request(api, clock):
    issued = make_token(customer="tuned")
    assert api.get("/v1/models", token=issued.secret).headers["X-RateLimit-Limit"] == "50"

    customer = Customer.objects.get(name="tuned")
    customer.requests_per_second = 120
    customer.save()
    assert api.get("/v1/models", token=issued.secret).headers["X-RateLimit-Limit"] == "120"

    token = ApiToken.objects.get(pk=issued.token.pk)
    token.requests_per_second = 7
    token.save()
    assert api.get("/v1/models", token=issued.secret).headers["X-RateLimit-Limit"] == "7"


def test_tokens_are_counted_separately(api, clock):
    first, second = make_token(customer="a", rate=1), make_token(customer="b", rate=1)

    assert api.get("/v1/models", token=first.secret).status_code == 200
    assert api.get("/v1/models", token=first.secret).status_code == 429
    assert api.get("/v1/models", token=second.secret).status_code == 200


def test_requests_without_a_valid_token_are_limited_per_ip(api, transactional_db, clock, settings):
    limit = settings.RATE_LIMIT_ANONYMOUS_PER_SECOND
    responses = [api.get("/v1/models", headers={"Authorization": f"Bearer ipk_guess{i}"}) for i in range(limit + 3)]

    assert [r.status_code for r in responses] == [401] * limit + [429] * 3
    assert_rate_limit_headers(responses[-1], limit=limit)
    # Another address has its own budget.
    from tests.support.api_client import ApiClient

    assert ApiClient(client_ip="10.9.8.7").get("/v1/models").status_code == 401


def test_every_status_carries_every_header(api, token, local_models, clock, settings):
    oversized = b"x" * (settings.API_MAX_BODY_BYTES + 1)
    responses = {
        200: api.get("/v1/models", token=token),
        404: api.get("/v1/nothing", token=token),
        405: api.request("PUT", "/v1/models", token=token),
        413: api.post("/v1/models", token=token, content=oversized, headers={"Content-Type": "application/json"}),
        401: api.get("/v1/models"),
    }
    for status, response in responses.items():
        assert response.status_code == status
        assert_envelope(response)
        assert_rate_limit_headers(response)


class _BrokenCache:
    def add(self, *args, **kwargs):
        raise ConnectionError("cache down")

    incr = get = set = add


@pytest.mark.parametrize("fail_open,status", [(True, 200), (False, 503)])
def test_cache_outage_follows_the_fail_open_setting(api, token, local_models, settings, monkeypatch, fail_open, status):
    import django_ratelimit.core

    settings.RATE_LIMIT_FAIL_OPEN = fail_open
    api.get("/v1/models", token=token)  # warm the token cache while the cache still works
    monkeypatch.setattr(django_ratelimit.core, "caches", {"default": _BrokenCache()})

    response = api.get("/v1/models", token=token)

    assert response.status_code == status
    assert_envelope(response)
    assert_rate_limit_headers(response)
    if status == 503:
        assert response.json()["error"]["code"] == "service_unavailable"


class _TickingClock:
    """Each reading 0.5 ms later than the one before: a count that straddles a second."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        self.now += 0.0005
        return self.now


def test_a_count_made_as_the_second_turns_is_a_count_not_a_cache_outage(monkeypatch, caplog):
    """django-ratelimit reads the clock twice: for the window, then for its time left. When the
    second turns in between, time left is -1; that was taken for an unavailable cache, so the
    request went uncounted (fail-open) or got a 503 (fail-closed), ~50 times a minute in the soak."""
    import types

    import django_ratelimit.core

    from apps.ratelimits import limiter

    ticking = types.SimpleNamespace(time=_TickingClock(1_900_000_000.999).time)
    monkeypatch.setattr(django_ratelimit.core, "time", ticking)
    monkeypatch.setattr(limiter, "time", ticking)

    state = limiter.rate_limit_consume(key="straddling", limit=5)

    assert state.shared and state.remaining == 4 and not state.exceeded
    assert "unavailable" not in caplog.text


def test_a_limit_of_zero_refuses_every_request_and_is_no_cache_outage(clock, caplog):
    from apps.ratelimits import limiter

    state = limiter.rate_limit_consume(key="nobody", limit=0)

    assert state.shared and state.exceeded
    assert "unavailable" not in caplog.text


class _SecondTickingCache:
    """The real cache, but each counting call takes the clock across the end of its second: the
    window is named before the call and the second has ended when the answer arrives."""

    def __init__(self, clock, real) -> None:
        self.clock, self.real = clock, real

    def _tick(self, result):
        self.clock.now = int(self.clock.now) + 1.001
        return result

    def add(self, *args, **kwargs):
        return self._tick(self.real.add(*args, **kwargs))

    def incr(self, *args, **kwargs):
        return self._tick(self.real.incr(*args, **kwargs))

    def get(self, *args, **kwargs):
        return self.real.get(*args, **kwargs)


@pytest.mark.parametrize("fail_open", [True, False])
def test_a_count_answered_after_its_second_ended_still_counts(api, clock, settings, monkeypatch, fail_open):
    """Regression: such a count was taken for "cache unavailable" (not counted, or a 503)."""
    import django_ratelimit.core
    from django.core.cache import cache

    settings.RATE_LIMIT_FAIL_OPEN = fail_open
    secret = make_token(customer="boundary", rate=3).secret
    api.get("/v1/models", token=secret)  # the token is cached now; its count is another window's
    monkeypatch.setattr(django_ratelimit.core, "caches", {"default": _SecondTickingCache(clock, cache)})

    responses = []
    for _ in range(5):
        clock.now = 1_900_000_010.999  # every request is counted in this same second
        responses.append(api.get("/v1/models", token=secret))

    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0", "0"]
    for response in responses:
        assert_rate_limit_headers(response, limit=3)


@pytest.mark.parametrize("anonymous", [False, True])
def test_a_cache_outage_falls_back_to_a_limit_per_process(api, settings, monkeypatch, clock, anonymous):
    """Fail-open is not "no limits": each process counts on its own until the cache is back, the
    per-IP limit on requests without a valid token included (token guessing stays limited)."""
    import django_ratelimit.core

    settings.RATE_LIMIT_FAIL_OPEN = True
    secret = make_token(customer="outage", rate=3).secret
    api.get("/v1/models", token=secret)  # warm the token cache while the cache still works
    clock.advance(1)  # (a second of its own: the second the cache fails in is the test below)
    monkeypatch.setattr(django_ratelimit.core, "caches", {"default": _BrokenCache()})

    limit = settings.RATE_LIMIT_ANONYMOUS_PER_SECOND if anonymous else 3
    token = (lambda i: f"ipk_guess{i}") if anonymous else (lambda i: secret)
    responses = [api.get("/v1/models", token=token(i)) for i in range(limit + 2)]

    allowed = 401 if anonymous else 200
    assert [r.status_code for r in responses] == [allowed] * limit + [429] * 2
    assert [int(r.headers["X-RateLimit-Remaining"]) for r in responses] == [*range(limit - 1, -1, -1), 0, 0]
    clock.advance(1)
    assert api.get("/v1/models", token=token(99)).status_code == allowed  # a new window, locally too


def test_the_second_the_cache_fails_in_goes_on_from_its_shared_count(api, settings, monkeypatch, clock):
    """Regression (`make soak`, the outage): counting alone began at zero in the second the cache
    failed in, so that second admitted the shared count's requests and then workers x limit more."""
    import django_ratelimit.core

    settings.RATE_LIMIT_FAIL_OPEN = True
    secret = make_token(customer="failing", rate=5).secret
    shared = [api.get("/v1/models", token=secret) for _ in range(3)]
    monkeypatch.setattr(django_ratelimit.core, "caches", {"default": _BrokenCache()})
    alone = [api.get("/v1/models", token=secret) for _ in range(4)]

    assert [r.status_code for r in shared + alone] == [200] * 5 + [429] * 2
    assert [r.headers["X-RateLimit-Remaining"] for r in shared + alone] == ["4", "3", "2", "1", "0", "0", "0"]


def test_the_second_the_cache_comes_back_in_counts_what_was_counted_alone(api, settings, monkeypatch, clock):
    """Regression (`make soak`, the end of the outage): the shared count of the second Redis came
    back in knew nothing of the requests each worker had admitted alone in it: up to limit more."""
    import django_ratelimit.core

    settings.RATE_LIMIT_FAIL_OPEN = True
    secret = make_token(customer="recovering", rate=5).secret
    api.get("/v1/models", token=secret)  # warm the token cache, a second before the outage
    clock.advance(1)
    with monkeypatch.context() as outage:
        outage.setattr(django_ratelimit.core, "caches", {"default": _BrokenCache()})
        alone = [api.get("/v1/models", token=secret) for _ in range(3)]
    shared = [api.get("/v1/models", token=secret) for _ in range(4)]

    assert [r.status_code for r in alone + shared] == [200] * 5 + [429] * 2
    assert [r.headers["X-RateLimit-Remaining"] for r in alone + shared] == ["4", "3", "2", "1", "0", "0", "0"]
    clock.advance(1)
    assert api.get("/v1/models", token=secret).headers["X-RateLimit-Remaining"] == "4"  # a new second
