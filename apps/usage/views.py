from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from apps.api.pipeline import ApiView
from apps.api.request import ApiRequest

from .charges import usage_by_day_and_model
from .serializers import UsageQuerySerializer, UsageReportSerializer


class UsageView(ApiView):
    @extend_schema(
        operation_id="usage_retrieve",
        summary="Token usage of the calling customer per UTC day and model",
        parameters=[UsageQuerySerializer],
        responses={200: UsageReportSerializer},
    )
    def get(self, request: ApiRequest) -> Response:
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["start"], query.validated_data["end"]
        items = usage_by_day_and_model(customer_id=request.principal.customer_id, start=start, end=end)
        return Response(UsageReportSerializer({"start": start, "end": end, "items": items}).data)
