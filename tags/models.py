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
from tags.names import name_key, name_problem


def validate_tag_name(name: str) -> None:
    if not name.strip():
        raise ValidationError("Enter a name: it cannot be empty or only spaces.")
    if "\x00" in name:
        # Forms and serializers refuse NUL; names typed on record pages reach the model directly.
        raise ValidationError("Null characters are not allowed.")
    if problem := name_problem(name):
        raise ValidationError(problem)


class Tag(models.Model):
    name = models.CharField(max_length=50, validators=[validate_tag_name])
    # tags.names.name_key(name), kept by save(): two names with one key are the same tag.
    name_key = models.TextField(
        unique=True,
        editable=False,
        error_messages={"unique": "A tag with this name already exists; names ignore case."},
    )
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

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name_key = name_key(self.name)
        if kwargs.get("update_fields") is not None and "name" in kwargs["update_fields"]:
            kwargs["update_fields"] = {*kwargs["update_fields"], "name_key"}
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return object_url("tag_edit", self.pk)

    def clean(self):
        self.name_key = name_key(self.name)  # before full_clean's uniqueness check

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


class TagLinkManager(models.Manager):
    def bulk_create(self, objs, *args, **kwargs):
        """Links made in bulk outside tags.services (tests, the bench) get the record's
        created_at too; the services write it in their own SQL."""
        objs = list(objs)
        missing = [obj for obj in objs if obj.record_created_at is None]
        uncached = {obj.record_id for obj in missing if not obj.__class__.record.is_cached(obj)}
        created = dict(
            self.model.record.field.related_model.objects.filter(pk__in=uncached).values_list(
                "pk", "created_at"
            )
        )
        for obj in missing:
            record = obj.record if obj.record_id not in created else None
            obj.record_created_at = created.get(obj.record_id) or record.created_at
        return super().bulk_create(objs, *args, **kwargs)


class TagLink(models.Model):
    """One tag on one record. Subclasses name the record's foreign key `record`.

    The key is (tag, record); a reverse index (record, tag) serves a record's own tags.
    `record_created_at` is the record's created_at, copied (it never changes) so that a
    tag's records come in list order, newest first, from one index range
    (tag, record_created_at DESC, record DESC): any page of a tag filter is short.

    No foreign key in the database: a link row insert would otherwise lock its record
    and its tag (most of a bulk add's time). The application keeps them exact, in one
    place each: a record's delete service removes its links (tags.counters.forget_records),
    a tag's merge and delete remove the tag's (tags.services), and
    tags.integrity.check_tag_links finds and repairs orphans. The ORM's CASCADE stays
    as the net for deletes outside the services (tests, a shell).
    """

    pk = models.CompositePrimaryKey("tag", "record")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, db_constraint=False, db_index=False)
    record_created_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TagLinkManager()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.tag} on {self.record}"

    def save(self, *args, **kwargs):
        if self.record_created_at is None:
            self.record_created_at = self.record.created_at
        super().save(*args, **kwargs)


def link_meta(prefix: str) -> dict:
    """The Meta options every link model shares, its index names starting with `prefix`."""
    return {
        "ordering": ["tag_id", "record_id"],
        "indexes": [
            models.Index(fields=["record", "tag"], name=f"{prefix}_record_tag_idx"),
            models.Index(
                fields=["tag", "-record_created_at", "-record"], name=f"{prefix}_tag_order_idx"
            ),
        ],
    }


class ContactTag(TagLink):
    record = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, db_constraint=False, db_index=False
    )

    class Meta:
        ordering = link_meta("contacttag")["ordering"]
        indexes = link_meta("contacttag")["indexes"]


class LeadTag(TagLink):
    record = models.ForeignKey(
        "leads.Lead", on_delete=models.CASCADE, db_constraint=False, db_index=False
    )

    class Meta:
        ordering = link_meta("leadtag")["ordering"]
        indexes = link_meta("leadtag")["indexes"]


class DealTag(TagLink):
    record = models.ForeignKey(
        "deals.Deal", on_delete=models.CASCADE, db_constraint=False, db_index=False
    )

    class Meta:
        ordering = link_meta("dealtag")["ordering"]
        indexes = link_meta("dealtag")["indexes"]
