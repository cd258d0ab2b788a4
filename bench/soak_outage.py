"""The soak's cache-outage phase: the soak's own redis-server is killed (SIGKILL) part-way through
the traffic and started again on its port a while later. Meanwhile the servers count rate limits in
each worker alone (RATE_LIMIT_FAIL_OPEN=1, docs/reliability.md): limits hold per worker, nothing
fails. The checks judge that phase against workers x limit, the rest against the limit."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from bench.soak_stores import RedisServer

# Right after Redis is back, a worker's first cache call may still meet a dead pooled connection
# and count locally once more: that short tail belongs to the outage phase.
RECOVERY_GRACE_S = 2.0


@dataclass
class Outage:
    started: float = 0.0  # time.time() when Redis was killed; 0: not (yet)
    ended: float = 0.0  # when it answered again

    def covers(self, sent: float, received: float) -> bool:
        """Whether a request may have been counted during the outage (its span touches it)."""
        return bool(self.started) and received >= self.started and sent <= self.ended + RECOVERY_GRACE_S


def cache_outage(redis: RedisServer, *, after_s: float, for_s: float) -> tuple[Outage, threading.Thread]:
    """Kill Redis `after_s` from now, start it again `for_s` later, in a thread of its own."""
    outage = Outage()

    def run() -> None:
        time.sleep(after_s)
        outage.started = time.time()
        redis.kill()
        time.sleep(for_s)
        redis.start()
        outage.ended = time.time()

    thread = threading.Thread(target=run, name="soak-cache-outage", daemon=True)
    thread.start()
    return outage, thread
