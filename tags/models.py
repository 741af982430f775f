"""Tags and their links to contacts, leads and deals.

Each record type has its own link table (one row per record and tag), so that
filters, bulk actions and segment criteria are plain indexed joins. Usage
counters on Tag are kept in the same transaction as the links (tags.services).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

from core.record_urls import object_url
from tags.colors import HEX_COLOR, text_color_for


def validate_tag_name(name: str) -> None:
    if not name.strip():
        raise ValidationError("Enter a name: it cannot be empty or only spaces.")
    if "\x00" in name:
        # Forms and serializers refuse NUL; names typed on record pages reach the model directly.
        raise ValidationError("Null characters are not allowed.")


class Tag(models.Model):
    name = models.CharField(max_length=50, validators=[validate_tag_name])
    slug = models.SlugField(max_length=60, unique=True, allow_unicode=True)
    color = models.CharField(
        max_length=7,
        validators=[RegexValidator(HEX_COLOR, "Enter a colour as #RRGGBB, e.g. #2563eb.")],
    )
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contacts_count = models.PositiveIntegerField(default=0, editable=False)
    leads_count = models.PositiveIntegerField(default=0, editable=False)
    deals_count = models.PositiveIntegerField(default=0, editable=False)

    contacts = models.ManyToManyField(
        "contacts.Contact", through="ContactTag", related_name="tags", blank=True
    )
    leads = models.ManyToManyField("leads.Lead", through="LeadTag", related_name="tags", blank=True)
    deals = models.ManyToManyField("deals.Deal", through="DealTag", related_name="tags", blank=True)

    class Meta:
        ordering = [Lower("name"), "id"]
        default_permissions = ()
        permissions = [("view_tag", "view crm tags"), ("manage_tag", "manage crm tags")]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="tag_name_unique_ci",
                violation_error_message="A tag with this name already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return object_url("tag_edit", self.pk)

    @property
    def merge_url(self) -> str:
        return object_url("tag_merge", self.pk)

    @property
    def delete_url(self) -> str:
        return object_url("tag_delete", self.pk)

    @property
    def text_color(self) -> str:
        return text_color_for(self.color)

    @property
    def total_count(self) -> int:
        return self.contacts_count + self.leads_count + self.deals_count


class TagLink(models.Model):
    """One tag on one record. Subclasses name the record's foreign key `record`."""

    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.tag} on {self.record}"


class ContactTag(TagLink):
    record = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["record", "tag"], name="contacttag_unique")]
        indexes = [models.Index(fields=["tag", "record"], name="contacttag_tag_record_idx")]


class LeadTag(TagLink):
    record = models.ForeignKey("leads.Lead", on_delete=models.CASCADE)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["record", "tag"], name="leadtag_unique")]
        indexes = [models.Index(fields=["tag", "record"], name="leadtag_tag_record_idx")]


class DealTag(TagLink):
    record = models.ForeignKey("deals.Deal", on_delete=models.CASCADE)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["record", "tag"], name="dealtag_unique")]
        indexes = [models.Index(fields=["tag", "record"], name="dealtag_tag_record_idx")]
