from rest_framework import serializers

from .models import Model


class ModelSerializer(serializers.ModelSerializer[Model]):
    class Meta:
        model = Model
        fields = ["id", "kind", "description", "context_length", "created_at"]


class ModelListSerializer(serializers.Serializer[dict]):
    items = ModelSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
