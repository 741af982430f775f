import django_filters
from django import forms

from core.filtersets import IdFilter, RecordFilterSet, StableOrderingFilter
from deals.choices import DealStage
from deals.models import Deal
from tags.filtersets import TaggedFilterSet  # tags compose onto records (README: layers)


class DealFilterSet(TaggedFilterSet, RecordFilterSet):
    search_fields = [
        "title",
        "contact__first_name",
        "contact__last_name",
        "contact__company",
    ]
    search_placeholder = "Title, contact or company"

    stage = django_filters.ChoiceFilter(choices=DealStage.choices, empty_label="Any stage")
    # By id and hidden in the form: a <select> of every contact would not scale.
    contact = IdFilter(field_name="contact", widget=forms.HiddenInput)
    ordering = StableOrderingFilter(
        fields=[
            ("title", "title"),
            ("value", "value"),
            ("stage", "stage"),
            ("expected_close_date", "expected_close_date"),
            ("created_at", "created_at"),
        ]
    )

    class Meta:
        model = Deal
        fields = ["search", "owner", "stage", "currency", "contact", "tag", "tag_match", "tagged"]
