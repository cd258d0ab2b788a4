from __future__ import annotations

import pytest

from tests.support.factories import make_fake_model


@pytest.fixture(autouse=True)
def fake_models(transactional_db: None) -> None:
    make_fake_model("fake-chat", kind="chat", reply_tokens=4)
    make_fake_model("fake-embed", kind="embedding", dimensions=8)
