from django import forms

from contacts.models import DUPLICATE_EMAIL, Contact
from core.forms import RecordForm


class ContactForm(RecordForm):
    class Meta:
        model = Contact
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "company",
            "job_title",
            "country",
            "city",
            "lifecycle_stage",
            "lead_score",
            "source",
            "owner",
        ]

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if email and Contact.objects.with_email(email, exclude_pk=self.instance.pk).exists():
            raise forms.ValidationError(DUPLICATE_EMAIL)
        return email

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("first_name") or cleaned.get("last_name") or cleaned.get("email")):
            self.add_error("first_name", "Give the contact at least a name or an email.")
        return cleaned
