from rest_framework import serializers

from core.api.serializers import OwnerField
from deals.models import Deal

# Tags compose onto records (README: layers).
from tags.api.serializers import TagChipSerializer, TaggedRecordSerializerMixin


class DealSerializer(TaggedRecordSerializerMixin, serializers.ModelSerializer):
    owner = OwnerField()
    tags = TagChipSerializer(many=True, read_only=True)

    class Meta:
        model = Deal
        fields = [
            "id",
            "title",
            "contact",
            "value",
            "currency",
            "stage",
            "expected_close_date",
            "owner",
            "tags",
            "closed_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["closed_at", "created_at", "updated_at"]
