from rest_framework import serializers

from core.api.serializers import OwnerField
from leads.models import Lead

# Tags compose onto records (README: layers).
from tags.api.serializers import TagChipSerializer, TaggedRecordSerializerMixin


class LeadSerializer(TaggedRecordSerializerMixin, serializers.ModelSerializer):
    owner = OwnerField()
    tags = TagChipSerializer(many=True, read_only=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "name",
            "email",
            "phone",
            "company",
            "source",
            "status",
            "score",
            "owner",
            "tags",
            "contact",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
