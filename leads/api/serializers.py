from rest_framework import serializers

from cohort.api.serializers import OwnerField
from leads.models import Lead


class LeadSerializer(serializers.ModelSerializer):
    owner = OwnerField()

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
            "contact",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
