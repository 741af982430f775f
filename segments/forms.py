"""Forms of the segment pages: Name, Description, Filter Criteria, mode and scheduled sync;
adding a member.

They only parse input. Whether a name is free and what criteria mean is decided by
segments.services (create_segment, update_segment), whose errors the views put back
on these forms.
"""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import lazy

from core import json_limits
from core.json_limits import JSONNotText, JSONTooDeep
from segments.choices import SegmentMode, SyncSchedule
from segments.models import Segment

NAME_MAX_LENGTH = Segment._meta.get_field("name").max_length


def _schedule_choices_text() -> str:
    labels = [str(label) for label in SyncSchedule.labels]
    return f"Choose {', '.join(labels[:-1])} or {labels[-1]}, not “%(value)s”."


class CriteriaField(forms.CharField):
    """The criteria tree as JSON text: the builder writes it, people without JavaScript
    may type it. Parsed here; checked against the field registry by the services."""

    widget = forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "criteria-json"})

    def to_python(self, value):
        text = (super().to_python(value) or "").strip()
        if not text:
            return {"match": "all", "conditions": []}
        try:
            criteria = json_limits.loads(text)
        except (JSONTooDeep, JSONNotText) as error:
            raise ValidationError(f"criteria: not valid JSON ({error}).") from error
        except json.JSONDecodeError as error:
            raise ValidationError(
                f"criteria: not valid JSON ({error.msg} at line {error.lineno}, "
                f"column {error.colno})."
            ) from error
        except ValueError as error:  # e.g. an integer of thousands of digits
            raise ValidationError(f"criteria: not valid JSON ({error}).") from error
        # The services read a falsy value as "no criteria" (create) or "unchanged" (edit):
        # `null` or `[]` typed here must not silently mean either.
        if not isinstance(criteria, dict):
            raise ValidationError("criteria: expected an object with 'match' and 'conditions'.")
        return criteria

    def prepare_value(self, value):
        if isinstance(value, dict | list):
            return json.dumps(value, indent=2, ensure_ascii=False)
        return value


class SegmentForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=NAME_MAX_LENGTH,
        error_messages={"required": "Enter a name."},
    )
    description = forms.CharField(
        label="Description",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: who is in it and what it is for.",
    )
    criteria = CriteriaField(label="Filter Criteria", required=False)
    # Not required, so that a form without it (an older page) keeps the segment's mode.
    mode = forms.ChoiceField(
        label="Mode",
        choices=SegmentMode.choices,
        required=False,
        widget=forms.RadioSelect,
        help_text=(
            "Manual: members change when you click Sync. Live: members follow changes to "
            "contacts, their tags, deals and activities within seconds."
        ),
    )

    # Not required either: a form without it keeps the segment's schedule. Whether the mode
    # allows one is for update_segment / create_segment to say (live segments refuse it).
    sync_schedule = forms.ChoiceField(
        label="Scheduled sync",
        choices=SyncSchedule.choices,
        required=False,
        help_text="Runs Sync on its own. Needs the Celery beat process; see the README.",
        error_messages={"invalid_choice": lazy(_schedule_choices_text, str)()},
    )

    def add_service_errors(self, error: ValidationError) -> None:
        """Put the errors of create_segment / update_segment next to their fields."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, errors in error.error_dict.items():
            self.add_error(field if field in self.fields else None, errors)


class AddMemberForm(forms.Form):
    contact_id = forms.IntegerField(min_value=1, error_messages={"required": "Pick a contact."})
