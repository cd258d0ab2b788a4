"""Every list endpoint answers `{items, next_cursor}`. A page holds one page of items and, iterated,
yields every item of every page, fetching the next page when it gets there:

    page = client.models.list(limit=10)        # one page: page.items, page.next_cursor
    for model in client.models.list():         # every model, page after page
        ...

The async client's list methods return an `AsyncPaginator`: `await` it for the first page, or
`async for` over it for every item."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterator
from typing import Any, Generic, TypeVar

from ._response import ResponseMeta

T = TypeVar("T")


class SyncPage(Generic[T]):
    def __init__(
        self,
        items: list[T],
        next_cursor: str | None,
        meta: ResponseMeta,
        fetch: Callable[[str], SyncPage[T]],
    ) -> None:
        self.items = items
        #: Pass as `cursor` to get the next page; None on the last page.
        self.next_cursor = next_cursor
        self._meta = meta
        self._fetch = fetch

    @property
    def response_meta(self) -> ResponseMeta:
        return self._meta

    def has_next_page(self) -> bool:
        return self.next_cursor is not None

    def next_page(self) -> SyncPage[T]:
        if self.next_cursor is None:
            raise RuntimeError("This is the last page: check has_next_page() first.")
        return self._fetch(self.next_cursor)

    def iter_pages(self) -> Iterator[SyncPage[T]]:
        page: SyncPage[T] | None = self
        while page is not None:
            yield page
            page = page.next_page() if page.has_next_page() else None

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.items

    def __repr__(self) -> str:
        return f"SyncPage(items={self.items!r}, next_cursor={self.next_cursor!r})"


class AsyncPage(Generic[T]):
    def __init__(
        self,
        items: list[T],
        next_cursor: str | None,
        meta: ResponseMeta,
        fetch: Callable[[str], Awaitable[AsyncPage[T]]],
    ) -> None:
        self.items = items
        #: Pass as `cursor` to get the next page; None on the last page.
        self.next_cursor = next_cursor
        self._meta = meta
        self._fetch = fetch

    @property
    def response_meta(self) -> ResponseMeta:
        return self._meta

    def has_next_page(self) -> bool:
        return self.next_cursor is not None

    async def next_page(self) -> AsyncPage[T]:
        if self.next_cursor is None:
            raise RuntimeError("This is the last page: check has_next_page() first.")
        return await self._fetch(self.next_cursor)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        page: AsyncPage[T] | None = self
        while page is not None:
            yield page
            page = await page.next_page() if page.has_next_page() else None

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.items:
                yield item

    def __repr__(self) -> str:
        return f"AsyncPage(items={self.items!r}, next_cursor={self.next_cursor!r})"


class AsyncPaginator(Generic[T]):
    """What the async list methods return: `await` it for the first page, `async for` over it for
    every item of every page. Nothing is requested until one of the two happens."""

    def __init__(self, first_page: Callable[[], Awaitable[AsyncPage[T]]]) -> None:
        self._first_page = first_page

    def __await__(self) -> Generator[Any, None, AsyncPage[T]]:
        return self._first_page().__await__()

    async def __aiter__(self) -> AsyncIterator[T]:
        page = await self._first_page()
        async for item in page:
            yield item
