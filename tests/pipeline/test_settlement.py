"""Step 7's group commit (apps/pipeline/settlement.py): what one transaction commits for several
finished requests, and what it must never report committed."""

from __future__ import annotations

import pytest
from django.db import DatabaseError

from apps.backends.base import Usage
from apps.pipeline.settlement import Settlement, settle_group
from apps.usage.charges import Charge
from apps.usage.models import UsageRecord
from tests.support.factories import make_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def charge() -> Charge:
    token = make_token().token
    return Charge(token.customer_id, token.pk, "m", "chat.completions", Usage(3, 5))


def test_each_charge_is_one_row_and_a_request_id_charged_already_is_not_charged_again(charge: Charge) -> None:
    first = settle_group([Settlement("req_a", charge=charge), Settlement("req_b", charge=charge)])
    again = settle_group([Settlement("req_a", charge=charge), Settlement("req_c", charge=charge)])

    assert first == [True, True] and again == [False, True]
    rows = UsageRecord.objects.order_by("request_id")
    assert [(r.request_id, r.prompt_tokens, r.completion_tokens) for r in rows] == [
        ("req_a", 3, 5),
        ("req_b", 3, 5),
        ("req_c", 3, 5),
    ]


def test_a_door_write_is_rolled_back_with_a_charge_found_there_already(charge: Charge) -> None:
    written: list[str] = []

    def door_write() -> bool:
        UsageRecord.objects.create(
            customer_id=charge.customer_id, model="door", endpoint="x", prompt_tokens=0, request_id="door"
        )
        written.append("door")
        return True

    settle_group([Settlement("req_a", charge=charge)])
    outcome = settle_group([Settlement("req_a", charge=charge, door_write=door_write)])

    assert outcome == [False] and written == ["door"]
    assert not UsageRecord.objects.filter(request_id="door").exists()  # its savepoint rolled back


def test_a_charge_that_fails_to_write_fails_the_whole_group_and_commits_nothing(
    charge: Charge, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.usage import charges

    real = charges._usage_insert.insert_one

    def refuse_second(row: dict) -> bool:
        if row["request_id"] == "req_b":
            raise DatabaseError("the disk is full")
        return real(row)

    monkeypatch.setattr(charges._usage_insert, "insert_one", refuse_second)

    with pytest.raises(DatabaseError):
        settle_group([Settlement("req_a", charge=charge), Settlement("req_b", charge=charge)])

    assert not UsageRecord.objects.exists()  # req_a is not reported committed in a lost transaction
