from rest_framework import serializers

from .models import Model


class ModelSerializer(serializers.ModelSerializer[Model]):
    # Declared, not derived: the derived bound differs between SQLite and PostgreSQL.
    context_length = serializers.IntegerField(
        allow_null=True, help_text="Most tokens (prompt + answer) one request can use."
    )

    class Meta:
        model = Model
        fields = ["id", "kind", "description", "context_length", "created_at"]


class ModelListSerializer(serializers.Serializer[dict]):
    items = ModelSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
