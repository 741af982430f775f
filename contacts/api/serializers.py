from django_countries.serializers import CountryFieldMixin
from rest_framework import serializers

from contacts.models import DUPLICATE_EMAIL, Contact
from core.api.serializers import OwnerField

# Tags compose onto records (README: layers).
from tags.api.serializers import TagChipSerializer, TaggedRecordSerializerMixin


class ContactSerializer(
    CountryFieldMixin, TaggedRecordSerializerMixin, serializers.ModelSerializer
):
    owner = OwnerField()
    tags = TagChipSerializer(many=True, read_only=True)
    country_name = serializers.CharField(source="country.name", read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "company",
            "job_title",
            "country",
            "country_name",
            "city",
            "lifecycle_stage",
            "lead_score",
            "source",
            "owner",
            "tags",
            "created_at",
            "updated_at",
            "last_activity_at",
        ]
        read_only_fields = ["created_at", "updated_at", "last_activity_at"]

    def validate_email(self, email: str) -> str:
        if not email:
            return email
        exclude_pk = self.instance.pk if self.instance is not None else None
        if Contact.objects.with_email(email, exclude_pk=exclude_pk).exists():
            raise serializers.ValidationError(DUPLICATE_EMAIL)
        return email

    def validate(self, attrs):
        merged = {**(vars(self.instance) if self.instance else {}), **attrs}
        if not (merged.get("first_name") or merged.get("last_name") or merged.get("email")):
            raise serializers.ValidationError(
                {"first_name": ["Give the contact at least a name or an email."]}
            )
        return attrs
