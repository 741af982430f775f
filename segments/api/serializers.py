from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.api.serializers import ContactSerializer
from segments.choices import AddedHow, SyncSchedule
from segments.criteria.registry import MATCHES, MAX_CONDITIONS, MAX_DEPTH
from segments.models import MembershipChange, Segment, SyncRun
from segments.schedule import is_stale

CRITERIA_SCHEMA = {
    "type": "object",
    "description": (
        "A group: `match` (all, any or none) over `conditions`, each a condition "
        "`{field, operator, value}` or a nested group; groups nest at most "
        f"{MAX_DEPTH} levels, at most {MAX_CONDITIONS} conditions in all. "
        "Fields, operators and value shapes: GET /api/crm/segments/fields."
    ),
    "properties": {
        "match": {"type": "string", "enum": list(MATCHES), "default": "all"},
        "conditions": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "operator": {"type": "string"},
                    "value": {},
                    "match": {"type": "string", "enum": list(MATCHES)},
                    "conditions": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    },
    "example": {
        "match": "all",
        "conditions": [
            {"field": "tags", "operator": "has", "value": 7},
            {"field": "country", "operator": "equals", "value": "US"},
        ],
    },
}


@extend_schema_field(CRITERIA_SCHEMA)
class CriteriaField(serializers.JSONField):
    """The criteria tree; checked against the field registry by segments.services."""


class SyncRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncRun
        fields = [
            "id",
            "segment",
            "outcome",
            "started_at",
            "finished_at",
            "duration_ms",
            "triggered_by",
            "matched",
            "added",
            "removed",
            "members_after",
            "error",
            "criteria",
        ]
        read_only_fields = fields


class SegmentSerializer(serializers.ModelSerializer):
    criteria = CriteriaField(required=False)
    last_run = SyncRunSerializer(read_only=True, allow_null=True)
    is_stale = serializers.SerializerMethodField(
        help_text="A scheduled segment whose last successful sync is older than its interval "
        "(plus two minutes' grace): its scheduled syncs are not running or keep failing."
    )

    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "criteria",
            "mode",
            "sync_schedule",
            "next_sync_at",
            "is_stale",
            "member_count",
            "last_synced_at",
            "last_run",
            "live_error",
            "live_failed_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "member_count",
            "last_synced_at",
            "live_error",
            "live_failed_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "live_error": {
                "help_text": "Live segments: why live updates stopped (empty while they run). "
                "Editing the criteria or a successful sync starts them again."
            },
            "live_failed_at": {"help_text": "When live updates stopped; null while they run."},
            "mode": {
                "help_text": "manual (the default): members change at each sync. live: "
                "members follow changes to contacts, their tags, deals and activities within "
                "seconds. Making a segment live, or changing a live segment's criteria, "
                "starts one full sync."
            },
            "sync_schedule": {
                "help_text": "Manual segments only: sync on their own every 15 minutes, hourly "
                "or daily (off, the default: only when asked). The first scheduled sync is one "
                "interval after the schedule is set; every successful sync starts the interval "
                "anew. Live segments refuse any value but off.",
                "error_messages": {
                    "invalid_choice": "Choose one of "
                    + ", ".join(f"“{value}”" for value in SyncSchedule.values)
                    + ", not “{input}”."
                },
            },
            "next_sync_at": {
                "help_text": "When the next scheduled sync is due; null without a schedule."
            },
        }

    def get_is_stale(self, segment: Segment) -> bool:
        return is_stale(segment, timezone.now())


# What "view crm segments" alone shows of a member: enough to recognise them (#15 M5).
IDENTIFYING_FIELDS = ["id", "first_name", "last_name", "email", "company"]


class SegmentMemberSerializer(ContactSerializer):
    """A member: the contact's own payload (its `id` is the contact's) and how it joined.

    Users who may view contacts get the whole contact payload (its tags only with "view crm
    tags"); those who may only view segments get the identifying fields.
    """

    added_how = serializers.ChoiceField(choices=AddedHow.choices, read_only=True)
    added_at = serializers.DateTimeField(read_only=True)

    class Meta(ContactSerializer.Meta):
        fields = [*ContactSerializer.Meta.fields, "added_how", "added_at"]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        user = getattr(self.context.get("request"), "user", None)
        if user is not None and user.has_perm("contacts.view_contact"):
            return data
        shown = {*IDENTIFYING_FIELDS, "added_how", "added_at"}
        return {key: value for key, value in data.items() if key in shown}


class MembershipChangeSerializer(serializers.ModelSerializer):
    """A contact joining or leaving: when, and why (a sync run, a live update, by hand)."""

    contact_name = serializers.StringRelatedField(source="contact", read_only=True)

    class Meta:
        model = MembershipChange
        fields = [
            "id",
            "contact",
            "contact_name",
            "change",
            "changed_at",
            "reason",
            "sync_run",
            "changed_by",
        ]
        read_only_fields = fields


class AddMemberSerializer(serializers.Serializer):
    contact_id = serializers.IntegerField(min_value=1)


class PreviewRequestSerializer(serializers.Serializer):
    criteria = CriteriaField()
    segment_id = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The segment being edited, if any: its criteria may not use itself.",
    )
    sample_size = serializers.IntegerField(required=False, min_value=0, max_value=50, default=5)


class PreviewSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    sample = ContactSerializer(many=True)


class FieldChoiceSerializer(serializers.Serializer):
    value = serializers.JSONField()
    label = serializers.CharField()
    color = serializers.CharField(required=False, help_text="Tags only.")


class FieldOperatorSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    value = serializers.CharField(help_text="The value shape: a key of `value_shapes`.")
    negates = serializers.CharField(
        allow_null=True, help_text="The positive operator this one is the exact complement of."
    )


class FieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    type = serializers.CharField()
    help = serializers.CharField()
    operators = FieldOperatorSerializer(many=True)
    choices = FieldChoiceSerializer(many=True, allow_null=True)


class MatchSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class RegistrySerializer(serializers.Serializer):
    matches = MatchSerializer(many=True)
    max_depth = serializers.IntegerField()
    max_conditions = serializers.IntegerField()
    value_shapes = serializers.DictField(child=serializers.CharField())
    fields = FieldSerializer(many=True)
