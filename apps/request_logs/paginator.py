"""A paginator that never counts the whole table.

The changelist asks its paginator for `count` on every page view; over millions of rows an exact
COUNT(*) is the slowest query on the page. This one counts at most `CAP` matching rows (a LIMIT
inside the count, which an index walk answers in milliseconds) and says when there are more. The
newest CAP rows are browsable page by page; for older ones, filter by date, customer or status.
"""

from __future__ import annotations

from functools import cached_property

from django.core.paginator import Paginator

CAP = 10_000


class CappedCountPaginator(Paginator):
    @cached_property
    def _counted(self) -> int:
        return self.object_list[: CAP + 1].count()  # type: ignore[attr-defined]  # a QuerySet here

    @cached_property
    def count(self) -> int:
        return min(self._counted, CAP)

    @property
    def is_capped(self) -> bool:
        """True when more rows match than were counted: show "10,000+", not a wrong total."""
        return self._counted > CAP
