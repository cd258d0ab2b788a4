"""The JSON parser of every `/v1/` endpoint: DRF's, minus two inputs that DRF's turns into a 500.

- Nesting deeper than Python's recursion limit (`[[[[…` fits easily in a 1 MiB body) raises
  RecursionError, which is not a ValueError, so DRF does not turn it into a parse error.
- `\\ud800` is valid JSON but not a character: a lone surrogate cannot be encoded as UTF-8, so an
  answer, log row or database column that echoes it (an unknown field's name, a choice) crashes.
  Only bodies that contain such an escape pay for the check.
"""

from __future__ import annotations

import re
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding  # type: ignore[attr-defined]
from rest_framework.utils import json

SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class ApiJsonParser(JSONParser):
    def parse(self, stream: IO[bytes] | None, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = get_encoding(parser_context or {})
        try:
            text = stream.read().decode(encoding) if stream is not None else ""
            data = json.loads(text)  # DRF's wrapper: NaN and Infinity are rejected
        except RecursionError:
            raise ParseError("JSON parse error - it is nested too deeply.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if SURROGATE_ESCAPE.search(text) and not _is_unicode(data):
            raise ParseError("JSON parse error - a \\u escape stands for half a character (a lone surrogate).")
        return data


def _is_unicode(data: Any) -> bool:
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return False
    return True
