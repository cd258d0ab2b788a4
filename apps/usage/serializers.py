from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone
from rest_framework import serializers

MAX_RANGE_DAYS = 366
DEFAULT_RANGE = timedelta(days=29)


class UsageQuerySerializer(serializers.Serializer[dict[str, Any]]):
    start = serializers.DateField(required=False, help_text="First UTC day (default: 30 days ago).")
    end = serializers.DateField(required=False, help_text="Last UTC day, inclusive (default: today).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        end: date = attrs.get("end") or timezone.now().date()
        # Clamped at the calendar's first day: `end=0001-01-01` is odd but not a server error.
        start: date = attrs.get("start") or max(end, date.min + DEFAULT_RANGE) - DEFAULT_RANGE
        if start > end:
            raise serializers.ValidationError({"start": "start must not be after end."})
        if (end - start).days >= MAX_RANGE_DAYS:
            raise serializers.ValidationError({"start": f"The range may span at most {MAX_RANGE_DAYS} days."})
        return {"start": start, "end": end}


class UsageDaySerializer(serializers.Serializer[dict[str, Any]]):
    day = serializers.DateField()
    model = serializers.CharField()
    requests = serializers.IntegerField()
    prompt_tokens = serializers.IntegerField()
    completion_tokens = serializers.IntegerField()
    total_tokens = serializers.IntegerField()


class UsageReportSerializer(serializers.Serializer[dict[str, Any]]):
    start = serializers.DateField()
    end = serializers.DateField()
    items = UsageDaySerializer(many=True)
