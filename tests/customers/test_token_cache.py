"""The per-process token cache: an invalidation makes every entry a miss, but keeps which tokens
were valid, so a token in use is looked up past its address's budget of failures and a guess is not."""

from __future__ import annotations

from apps.customers.principal import Principal
from apps.customers.token_cache import TokenCache

PRINCIPAL = Principal(
    token_id=1,
    token_prefix="ipk_0000",
    customer_id=1,
    customer_name="acme",
    requests_per_second=50,
    allowed_models=None,
    expires_at=None,
)


class Loader:
    def __init__(self, answer: Principal | None) -> None:
        self.answer, self.calls = answer, 0

    def __call__(self, secret_hash: str) -> Principal | None:
        self.calls += 1
        return self.answer


def never() -> bool:
    return False


def test_a_hit_is_served_without_loading_or_asking_about_the_budget():
    cache, load = TokenCache(), Loader(PRINCIPAL)
    cache.get("h", load)

    assert cache.get("h", load, may_load=never) is PRINCIPAL
    assert load.calls == 1


def test_after_an_invalidation_a_token_that_was_valid_is_reloaded_whatever_the_budget():
    cache, load = TokenCache(), Loader(PRINCIPAL)
    cache.get("h", load)
    cache.invalidate()

    assert cache.get("h", load, may_load=never) is PRINCIPAL
    assert load.calls == 2  # re-read: the change may have been to this very token


def test_after_an_invalidation_an_unknown_token_is_still_a_guess():
    cache, load = TokenCache(), Loader(None)
    cache.get("guess", load)
    cache.invalidate()

    assert cache.get("guess", load, may_load=never) is None
    assert load.calls == 1  # past the budget, not looked up again


def test_a_token_never_seen_is_not_loaded_when_the_budget_says_no():
    cache, load = TokenCache(), Loader(PRINCIPAL)

    assert cache.get("h", load, may_load=never) is None
    assert load.calls == 0
