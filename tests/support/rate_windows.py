"""Did a limiter admit at most `limit` requests per one-second window, judged from the client side?

The server names a request's window by its clock when counting begins, somewhere between the
moment the client sent the request and the moment the answer arrived (same machine, same clock).
A request sent and answered within one second is placed exactly; one that straddled a boundary
could belong to any second it spans. The admissions are consistent with the limit if and only if
every admitted request can be given a second of its span with no second holding more than
`limit`: earliest-deadline-first assignment decides that exactly (Hall's condition for intervals).
"""

from __future__ import annotations

import heapq
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class WindowVerdict:
    feasible: bool  # an assignment within the limit exists
    windows: int  # seconds spanned
    admitted: int
    straddled: int  # admitted requests whose span crossed a second
    most_placed: int  # the most admissions placed exactly in one second
    overflow: int  # admissions no second could take (0 when feasible)


def judge_windows(spans: list[tuple[float, float]], limit: int) -> WindowVerdict:
    """`spans`: (sent, received) client clock times of the requests the server admitted."""
    if not spans:
        return WindowVerdict(True, 0, 0, 0, 0, 0)
    seconds = sorted((int(sent), int(received)) for sent, received in spans)
    placed = Counter(start for start, end in seconds if start == end)
    first, last = seconds[0][0], max(end for _, end in seconds)
    waiting: list[int] = []  # deadlines (last possible second) of requests not yet given a second
    overflow, index = 0, 0
    for second in range(first, last + 1):
        while index < len(seconds) and seconds[index][0] == second:
            heapq.heappush(waiting, seconds[index][1])
            index += 1
        for _ in range(limit):
            if not waiting:
                break
            heapq.heappop(waiting)
        while waiting and waiting[0] <= second:  # its last second is gone and it found no room
            heapq.heappop(waiting)
            overflow += 1
    return WindowVerdict(
        feasible=overflow == 0,
        windows=last - first + 1,
        admitted=len(seconds),
        straddled=sum(1 for start, end in seconds if start != end),
        most_placed=max(placed.values(), default=0),
        overflow=overflow,
    )
