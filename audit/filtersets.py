"""The audit log's filters, shared by the /admin/audit page and GET /api/crm/audit."""

from datetime import UTC

import django_filters
from django.core.exceptions import ValidationError

from accounts.models import User
from audit.choices import Action, TargetType
from audit.models import AuditEntry
from core.filtersets import IdFilter


class SinceField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, turned to UTC here: an offset the database cannot hold
    (Python allows ±23:59, PostgreSQL ±15:59) or a moment past year 9999 is a form error."""

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(UTC)
        except OverflowError as error:
            raise ValidationError(
                "Enter a date and time between the years 1 and 9999.", code="invalid"
            ) from error


class SinceFilter(django_filters.IsoDateTimeFilter):
    field_class = SinceField


class AuditEntryFilterSet(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(
        choices=Action.choices, empty_label="Any action", label="Action"
    )
    actor = django_filters.ModelChoiceFilter(
        queryset=User.objects.order_by("username"), empty_label="Anyone", label="Who"
    )
    target_type = django_filters.ChoiceFilter(
        choices=TargetType.choices, empty_label="Any target", label="Target type"
    )
    target_id = IdFilter(label="Target id")
    since = SinceFilter(
        field_name="created_at",
        lookup_expr="gte",
        label="Since",
        help_text="Entries at or after this date and time (ISO 8601, e.g. 2026-11-01).",
    )

    class Meta:
        model = AuditEntry
        fields = ["action", "actor", "target_type", "target_id", "since"]
