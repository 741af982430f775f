"""Forms of the tags pages: a tag's Name and Color, merging, and bulk tagging on lists.

They only validate input; creating, changing and linking tags is tags.services' job.
"""

from django import forms

from tags.colors import HEX_COLOR, PALETTE
from tags.models import Tag

NAME_REQUIRED = "Enter a name: it cannot be empty or only spaces."
BAD_COLOR = "Enter a colour as #RRGGBB, e.g. #2563eb."
CUSTOM = "custom"


class TagForm(forms.Form):
    """Name, Color and description of a new or existing tag.

    `color` is one of the palette swatches or "custom", in which case the
    `<input type="color">` named `custom_color` gives the value. A bare #RRGGBB
    in `color` is accepted too.
    """

    name = forms.CharField(
        label="Name",
        max_length=50,
        error_messages={
            "required": NAME_REQUIRED,
            "max_length": "Use at most %(limit_value)d characters (this name has %(show_value)d).",
        },
    )
    color = forms.CharField(label="Color", error_messages={"required": "Choose a colour."})
    custom_color = forms.CharField(label="Custom colour", required=False)
    description = forms.CharField(
        label="Description",
        max_length=200,
        required=False,
        help_text="Optional: what the tag is for.",
    )

    palette = PALETTE

    def clean(self):
        cleaned = super().clean()
        color = cleaned.get("color")
        if color == CUSTOM:
            color = cleaned.get("custom_color", "")
        if color is not None:
            if HEX_COLOR.match(color.strip()):
                cleaned["color"] = color.strip().lower()
            else:
                self.add_error("color", BAD_COLOR)
        return cleaned

    def chosen_color(self) -> str:
        """The colour to show as selected: what was posted, else the initial one."""
        value = self["color"].value() or ""
        if value == CUSTOM:
            value = self["custom_color"].value() or ""
        return value.lower()

    def swatches(self) -> list[dict]:
        chosen = self.chosen_color()
        return [
            {"value": value, "label": label, "checked": value == chosen}
            for value, label in self.palette
        ]

    def custom_checked(self) -> bool:
        return self.chosen_color() not in {value for value, _ in self.palette}

    def custom_value(self) -> str:
        chosen = self.chosen_color()
        return chosen if HEX_COLOR.match(chosen) else PALETTE[0][0]


class TagMergeForm(forms.Form):
    into = forms.ModelChoiceField(
        label="Merge into",
        queryset=Tag.objects.none(),
        empty_label="Choose a tag…",
        error_messages={
            "required": "Choose the tag to merge into.",
            "invalid_choice": "That tag no longer exists; choose another one.",
        },
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, source: Tag, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["into"].queryset = Tag.objects.exclude(pk=source.pk)


class IdListField(forms.Field):
    """Record ids ticked in a list (repeated `ids` values)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        values = [value] if isinstance(value, str) else list(value or [])
        try:
            return sorted({int(v) for v in values if str(v).strip()})
        except ValueError as error:
            raise forms.ValidationError("Row ids must be numbers.") from error


class BulkTagForm(forms.Form):
    """Add tags to or remove tags from the ticked rows, or from every row matching the filter."""

    op = forms.ChoiceField(choices=[("add", "Add tags"), ("remove", "Remove tags")])
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.all(),
        error_messages={
            "required": "Pick at least one tag.",
            "invalid_choice": "Unknown tag %(value)s: it may have been deleted.",
            "invalid_pk_value": "Unknown tag %(pk)s.",
        },
    )
    ids = IdListField(required=False)
    all_matching = forms.BooleanField(required=False)
    query = forms.CharField(required=False)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("all_matching") and not cleaned.get("ids"):
            raise forms.ValidationError("Select at least one row, or all rows matching the filter.")
        return cleaned
