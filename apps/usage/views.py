"""`GET /v1/usage`: the calling customer's token usage per UTC day and model."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request

from apps.core.db import db_call
from apps.pipeline.exchange import Data
from apps.pipeline.http import PipelineViewSet, route

from .serializers import UsageQuerySerializer, UsageReportSerializer
from .totals import usage_totals


class UsageViewSet(PipelineViewSet):
    @extend_schema(
        operation_id="usage_retrieve",
        summary="Token usage of the calling customer per UTC day and model",
        parameters=[UsageQuerySerializer],
        responses={200: UsageReportSerializer},
    )
    @route(detail=False, methods=["get"], url_path="usage", url_name="usage")
    async def report(self, request: Request) -> Data:
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["start"], query.validated_data["end"]
        rows = await db_call(usage_totals, first_day=start, last_day=end, customer_id=self.principal.customer_id)
        items = sorted(rows, key=lambda row: (row.day, row.model))  # oldest first
        return Data(UsageReportSerializer({"start": start, "end": end, "items": items}).data)
