"""The base class of every generated model: a pydantic model that also carries the metadata of the
response it came from (`response_meta`), kept out of its fields so that data stays plain data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, PrivateAttr

if TYPE_CHECKING:
    from ._response import ResponseMeta


class APIModel(BaseModel):
    _response_meta: ResponseMeta | None = PrivateAttr(default=None)

    @property
    def response_meta(self) -> ResponseMeta | None:
        """Request id, rate-limit state, replay flag… of the response that returned this object;
        None for objects nested in another one (a page's items, a result's `response`)."""
        return self._response_meta

    def __eq__(self, other: Any) -> bool:
        # Two answers with the same data are equal, whichever request returned them: pydantic's own
        # `__eq__` would also compare the private `_response_meta`.
        if not isinstance(other, BaseModel):
            return NotImplemented
        return (
            type(self) is type(other)
            and self.__dict__ == other.__dict__
            and self.__pydantic_extra__ == other.__pydantic_extra__
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, like every pydantic model
