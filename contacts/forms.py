from cohort.forms import RecordForm
from contacts.models import Contact


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

    def clean(self):
        cleaned = super().clean()
        if not (cleaned.get("first_name") or cleaned.get("last_name") or cleaned.get("email")):
            self.add_error("first_name", "Give the contact at least a name or an email.")
        return cleaned
