from rest_framework import serializers

from activities.models import Activity
from core.api.serializers import OwnerField


class ActivitySerializer(serializers.ModelSerializer):
    owner = OwnerField()

    class Meta:
        model = Activity
        fields = [
            "id",
            "kind",
            "subject",
            "notes",
            "occurred_at",
            "owner",
            "contact",
            "lead",
            "deal",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def validate(self, attrs):
        contact = attrs.get("contact", getattr(self.instance, "contact", None))
        errors = {}
        for field in ("lead", "deal"):
            related = attrs.get(field, getattr(self.instance, field, None))
            if related is not None and contact is not None and related.contact_id != contact.pk:
                errors[field] = [f"This {field} is not linked to contact {contact.pk}."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs
