from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.pipeline import ApiView

# The `data` of the captured `GET /v1/models` envelope; the pipeline wraps it again.
DATA: Any = json.loads(Path(os.environ["BENCH_BODY_FILE"]).read_bytes())["data"]


class StaticModelListView(ApiView):
    def get(self, request: Request) -> Response:
        return Response(DATA)
