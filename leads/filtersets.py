import django_filters
from django import forms

from contacts.choices import Source
from core.filtersets import IdFilter, RecordFilterSet, StableOrderingFilter
from leads.choices import LeadStatus
from leads.models import Lead
from tags.filtersets import TaggedFilterSet  # tags compose onto records (README: layers)


class LeadFilterSet(TaggedFilterSet, RecordFilterSet):
    search_fields = ["name", "email", "company"]

    status = django_filters.ChoiceFilter(choices=LeadStatus.choices, empty_label="Any status")
    source = django_filters.ChoiceFilter(choices=Source.choices, empty_label="Any source")
    # By id and hidden in the form: a <select> of every contact would not scale.
    contact = IdFilter(field_name="contact", widget=forms.HiddenInput)
    ordering = StableOrderingFilter(
        fields=[
            ("name", "name"),
            ("company", "company"),
            ("status", "status"),
            ("score", "score"),
            ("created_at", "created_at"),
        ]
    )

    class Meta:
        model = Lead
        fields = ["search", "owner", "status", "source", "contact", "tag", "tag_match", "tagged"]
