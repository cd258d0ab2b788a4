from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rest_framework.request import Request

from apps.pipeline.exchange import Data
from apps.pipeline.http import PipelineViewSet

# The `data` of the captured `GET /v1/models` envelope; the pipeline wraps it again.
DATA: Any = json.loads(Path(os.environ["BENCH_BODY_FILE"]).read_bytes())["data"]


class StaticModelViewSet(PipelineViewSet):
    async def list(self, request: Request) -> Data:
        return Data(DATA)
