from django import forms

from core.forms import RecordForm
from deals.choices import CURRENCY_CHOICES
from deals.models import Deal


class DealForm(RecordForm):
    currency = forms.ChoiceField(choices=CURRENCY_CHOICES, initial="USD")

    class Meta:
        model = Deal
        fields = [
            "title",
            "contact",
            "value",
            "currency",
            "stage",
            "expected_close_date",
            "owner",
        ]
        widgets = {
            "contact": forms.NumberInput(attrs={"placeholder": "Contact id"}),
            "expected_close_date": forms.DateInput(attrs={"type": "date"}),
        }
        help_texts = {"contact": "The id of the contact this deal is with."}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is None and self.request is not None:
            self.initial.setdefault("contact", self.request.GET.get("contact"))
