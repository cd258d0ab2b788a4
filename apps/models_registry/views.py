from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from apps.api.pipeline import ApiView
from apps.api.request import ApiRequest
from apps.core.pagination import page_limit, paginate_sorted

from .serializers import ModelListSerializer, ModelSerializer
from .services import model_get, models_visible_to


class ModelListView(ApiView):
    @extend_schema(
        operation_id="models_list",
        summary="List the models this token may use",
        parameters=[
            OpenApiParameter("cursor", str, description="`next_cursor` of the previous page."),
            OpenApiParameter("limit", int, description="Items per page, 1-100 (default 20)."),
        ],
        responses={200: ModelListSerializer},
    )
    def get(self, request: ApiRequest) -> Response:
        page = paginate_sorted(
            models_visible_to(principal=request.principal),
            cursor=request.query_params.get("cursor"),
            limit=page_limit(request.query_params.get("limit")),
            key="id",
        )
        # The catalog serialized each model once; the list is assembled, not re-serialized.
        return Response({"items": [model.public for model in page.items], "next_cursor": page.next_cursor})


class ModelDetailView(ApiView):
    @extend_schema(operation_id="models_retrieve", summary="Get one model", responses={200: ModelSerializer})
    def get(self, request: ApiRequest, model_id: str) -> Response:
        return Response(model_get(principal=request.principal, model_id=model_id).public)
