from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tags.models import Tag


class TagChipSerializer(serializers.ModelSerializer):
    """How a record's payload shows its tags: `{"id", "name", "color"}`."""

    class Meta:
        model = Tag
        fields = ["id", "name", "color"]


VIEW_TAGS = "tags.view_tag"


def may_see_tags(context: dict) -> bool:
    """Whether the serializer's request user holds "view crm tags" (no request: no)."""
    user = getattr(context.get("request"), "user", None)
    return bool(user and user.has_perm(VIEW_TAGS))


class TaggedRecordSerializerMixin:
    """A record payload's `tags` only for users who may see tags ("view crm tags"): the
    rest of the payload is the record's, its tags are the tag permission's (#15 M5)."""

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not may_see_tags(self.context):
            data.pop("tags", None)
        return data


class TagUsageSerializer(serializers.Serializer):
    contacts = serializers.IntegerField(source="contacts_count")
    leads = serializers.IntegerField(source="leads_count")
    deals = serializers.IntegerField(source="deals_count")
    total = serializers.IntegerField(source="total_count")


class TagSerializer(serializers.ModelSerializer):
    usage = serializers.SerializerMethodField()
    # Not a SlugField: its schema pattern is ASCII-only, and slugs keep letters of any script.
    slug = serializers.CharField(read_only=True, help_text="The name made URL-safe.")
    color = serializers.RegexField(
        r"^#[0-9a-fA-F]{6}$",
        required=False,
        error_messages={"invalid": "Enter a colour as #RRGGBB, e.g. #2563eb."},
    )

    class Meta:
        model = Tag
        fields = ["id", "name", "slug", "color", "description", "usage", "created_at", "created_by"]
        read_only_fields = ["created_at", "created_by"]

    @extend_schema_field(TagUsageSerializer)
    def get_usage(self, tag: Tag) -> dict:
        return TagUsageSerializer(tag).data


class TagMergeSerializer(serializers.Serializer):
    into = serializers.PrimaryKeyRelatedField(
        queryset=Tag.objects.all(),
        error_messages={"does_not_exist": "Unknown tag {pk_value}: merge into an existing tag."},
    )


class AttachTagSerializer(serializers.Serializer):
    """`{"tag_id": 7}` as the guide writes it, or `{"name": "hot-lead"}`."""

    tag_id = serializers.IntegerField(required=False)
    name = serializers.CharField(required=False, max_length=50)

    def validate(self, attrs):
        if "tag_id" not in attrs and not attrs.get("name", "").strip():
            raise serializers.ValidationError(
                {"tag_id": ['Send the tag to attach: {"tag_id": 7} or {"name": "hot-lead"}.']}
            )
        return attrs


class RecordFilterField(serializers.DictField):
    """The list page's query keys, e.g. {"country": "US", "tag": ["saas"]}."""


class BulkTagSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=100_000
    )
    filter = RecordFilterField(required=False)
    add = serializers.PrimaryKeyRelatedField(queryset=Tag.objects.all(), many=True, required=False)
    remove = serializers.PrimaryKeyRelatedField(
        queryset=Tag.objects.all(), many=True, required=False
    )

    def validate(self, attrs):
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError(
                {"ids": ['Send either "ids" or "filter" to choose the records, not both.']}
            )
        if not attrs.get("add") and not attrs.get("remove"):
            raise serializers.ValidationError({"add": ['Send tag ids to "add" and/or "remove".']})
        return attrs


class BulkTagResultSerializer(serializers.Serializer):
    matched = serializers.IntegerField()
    skipped = serializers.IntegerField(
        help_text="Chosen records left unchanged: you may change only records you own."
    )
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
