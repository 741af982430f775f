from django import forms

from activities.models import Activity
from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead


class ActivityForm(forms.ModelForm):
    """Log an activity on a contact, optionally about one of its leads or deals."""

    class Meta:
        model = Activity
        fields = ["kind", "subject", "occurred_at", "deal", "lead", "notes"]
        widgets = {
            "occurred_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"occurred_at": "When"}

    def __init__(self, *args, contact: Contact, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.contact = contact
        self.fields["deal"].queryset = Deal.objects.filter(contact=contact)
        self.fields["lead"].queryset = Lead.objects.filter(contact=contact)
        self.fields["occurred_at"].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"]
