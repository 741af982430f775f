from django import forms

from core.forms import RecordForm
from leads.models import Lead


class LeadForm(RecordForm):
    class Meta:
        model = Lead
        fields = [
            "name",
            "email",
            "phone",
            "company",
            "source",
            "status",
            "score",
            "owner",
            "contact",
        ]
        widgets = {"contact": forms.NumberInput(attrs={"placeholder": "Contact id"})}
        help_texts = {"contact": "The id of the contact this lead is about, if any."}
