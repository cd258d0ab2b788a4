"""LocalWindows alone: the counts of the second in which the shared cache fails or comes back."""

from __future__ import annotations

from apps.ratelimits.local_windows import LocalWindows

SECOND = 1_900_000_000.0


def test_counting_alone_goes_on_from_the_last_shared_count_of_the_second() -> None:
    windows = LocalWindows()
    assert windows.with_shared("k", now=SECOND + 0.1, shared=7) == 7

    assert windows.count("k", now=SECOND + 0.2) == 8
    assert windows.count("k", now=SECOND + 0.3, increment=False) == 8
    assert windows.count("k", now=SECOND + 1.1) == 1  # the next second knows nothing of the last


def test_a_shared_count_adds_what_was_counted_alone_in_its_second() -> None:
    windows = LocalWindows()
    windows.count("k", now=SECOND + 0.1)
    windows.count("k", now=SECOND + 0.2)

    assert windows.with_shared("k", now=SECOND + 0.5, shared=1) == 3
    assert windows.with_shared("other", now=SECOND + 0.5, shared=1) == 1
    assert windows.with_shared("k", now=SECOND + 1.5, shared=1) == 1


def test_a_late_answer_for_an_earlier_second_changes_nothing_of_the_current_one() -> None:
    windows = LocalWindows()
    windows.with_shared("k", now=SECOND + 1.1, shared=2)

    assert windows.with_shared("k", now=SECOND + 0.99, shared=9) == 9
    assert windows.count("k", now=SECOND + 1.2) == 3  # from the current second's 2, not the late 9
