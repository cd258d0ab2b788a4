from rest_framework import serializers

from .models import Model


class ModelSerializer(serializers.ModelSerializer[Model]):
    # Declared, not derived: the derived bound differs between SQLite and PostgreSQL.
    context_length = serializers.IntegerField(
        allow_null=True, help_text="Most tokens (prompt + answer) one request can use."
    )
    max_output_tokens = serializers.IntegerField(
        source="output_token_limit",
        allow_null=True,
        read_only=True,
        help_text="The largest `max_tokens` a request may ask for (chat models); null for embedding models.",
    )

    class Meta:
        model = Model
        fields = ["id", "kind", "description", "context_length", "max_output_tokens", "created_at"]


class ModelListSerializer(serializers.Serializer[dict]):
    items = ModelSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
