"""Step 7 of the exchange: what a finished request commits, all in ONE transaction or not at all.

A settlement is the request's charge, plus what its door must commit with it: the idempotency
key's completion (HTTP), or the batch item's transition to its final state (a batch item). A
crash before the commit leaves none of it, so a retry executes again; after the commit a retry
replays (HTTP) or finds the item finished (batches).

Settlements arriving while a commit runs share the next one (a group commit): one transaction, one
disk sync, for every request that finished meanwhile. Each settlement runs in its own savepoint,
so one that cannot commit (a key taken over, an item already charged) leaves the others alone.
Every request still waits for its own commit before its answer goes out: a charge the client was
told about is durable.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from django.db import IntegrityError, transaction

from apps.backends.base import Usage
from apps.core.db import db_call
from apps.idempotency.services import KeyHold, idempotency_complete


class Charge(Protocol):
    """What an execution costs (apps/usage/charges.py). The pipeline only records it."""

    @property
    def usage(self) -> Usage: ...

    def with_usage(self, usage: Usage) -> Charge: ...

    def record(self, *, request_id: str) -> bool: ...  # False: this request id is charged already


@dataclass(frozen=True, slots=True)
class StoredReply:
    """What a replay of this request answers (with an idempotency key)."""

    status: int
    body: bytes
    headers: dict[str, str]
    events: list[str] | None = None  # a stream's rendered events, in order


@dataclass(frozen=True, slots=True)
class Settlement:
    request_id: str
    charge: Charge | None = None
    hold: KeyHold | None = None
    reply: StoredReply | None = None  # with `hold`: what a replay answers
    # The door's own write (a batch item's final state). False: the work is not ours to settle any
    # more (its lease went to another worker): nothing is written, nothing charged.
    door_write: Callable[[], bool] | None = None

    @property
    def writes(self) -> bool:
        return self.charge is not None or self.hold is not None or self.door_write is not None


def settle_group(settlements: list[Settlement]) -> list[bool | Exception]:
    """Commit the settlements in one transaction; per settlement True (committed), False (not ours,
    nothing written) or the exception that rolled its savepoint back. Raises (and commits nothing)
    when a statement fails outside a savepoint. Blocking: call in a thread."""
    with transaction.atomic():
        return [_settle_one(settlement) for settlement in settlements]


def _settle_one(settlement: Settlement) -> bool | Exception:
    if settlement.charge is not None and settlement.hold is None and settlement.door_write is None:
        # A charge alone, the common case: one statement, which adds the row or finds it there
        # (False), so no savepoint. It can only fail for reasons that fail the others too (the
        # values are checked where they come in): let it abort the whole transaction, rather than
        # report the others committed in a transaction PostgreSQL has given up.
        return settlement.charge.record(request_id=settlement.request_id)
    try:
        with transaction.atomic():  # a savepoint: one settlement's failure leaves the others alone
            if settlement.door_write is not None and not settlement.door_write():
                return False
            if settlement.charge is not None and not settlement.charge.record(request_id=settlement.request_id):
                raise _AlreadyCharged  # roll the door's write back with it
            if settlement.hold is not None:
                reply = settlement.reply
                assert reply is not None, "a held key is completed with the reply a retry replays"
                idempotency_complete(
                    hold=settlement.hold,
                    status=reply.status,
                    body=reply.body,
                    headers=reply.headers,
                    events=reply.events,
                )
    except (_AlreadyCharged, IntegrityError):
        return False  # an earlier commit settled this work already
    except Exception as exc:  # a key taken over by a retry (IdempotencyRequestInProgress), ...
        return exc
    return True


class _AlreadyCharged(Exception):
    pass


class GroupCommit:
    """Settles on one event loop: whoever arrives while a commit runs joins the next one."""

    def __init__(self) -> None:
        self._pending: list[tuple[Settlement, asyncio.Future[bool | Exception]]] = []
        self._committer: asyncio.Task[None] | None = None

    async def settle(self, settlement: Settlement) -> bool:
        """True once committed; False if the work was not ours to settle. Raises what failed it."""
        if not settlement.writes:
            return True  # most GETs: no transaction, no database connection at all
        future: asyncio.Future[bool | Exception] = asyncio.get_running_loop().create_future()
        self._pending.append((settlement, future))
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_pending())
        outcome = await asyncio.shield(future)  # a cancelled waiter must not lose the others' commit
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def _commit_pending(self) -> None:
        while self._pending:
            group, self._pending = self._pending, []
            try:
                outcomes = await db_call(settle_group, [settlement for settlement, _ in group])
            except Exception as exc:  # the transaction failed as a whole (the database is down)
                outcomes = [exc] * len(group)
            for (_, future), outcome in zip(group, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)


_committers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = weakref.WeakKeyDictionary()


def group_commit() -> GroupCommit:
    """The running loop's group commit (a uvicorn worker runs one loop; a batch slice its own)."""
    loop = asyncio.get_running_loop()
    committer = _committers.get(loop)
    if committer is None:
        committer = _committers[loop] = GroupCommit()
    return committer
