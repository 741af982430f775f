from functools import lru_cache

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import get_language
from django_countries import countries
from django_countries.fields import CountryField

from contacts.choices import LifecycleStage, Source
from core.record_urls import object_url

SCORE_VALIDATORS = [MinValueValidator(0), MaxValueValidator(100)]
DUPLICATE_EMAIL = "A contact with this email already exists."


@lru_cache(maxsize=16)
def country_names(language: str | None) -> dict[str, str]:
    return dict(countries)


class ContactQuerySet(models.QuerySet):
    def with_email(self, email: str, exclude_pk: int | None = None) -> "ContactQuerySet":
        """Contacts whose email is `email`, ignoring case (emails are unique that way)."""
        return self.filter(email__iexact=email).exclude(pk=exclude_pk)


class Contact(models.Model):
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    company = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    country = CountryField(blank=True)
    city = models.CharField(max_length=100, blank=True)
    lifecycle_stage = models.CharField(
        max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.SUBSCRIBER
    )
    lead_score = models.PositiveSmallIntegerField(default=0, validators=SCORE_VALIDATORS)
    source = models.CharField(max_length=20, choices=Source.choices, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_contacts",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Kept current by activities.services, never edited by hand.
    last_activity_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="contact_email_unique_ci",
                violation_error_message=DUPLICATE_EMAIL,
            ),
            models.CheckConstraint(
                condition=models.Q(lead_score__gte=0, lead_score__lte=100),
                name="contact_lead_score_0_100",
            ),
        ]
        indexes = [
            models.Index(fields=["last_name", "first_name"], name="contact_name_idx"),
            models.Index(fields=["country"], name="contact_country_idx"),
            models.Index(fields=["owner", "created_at"], name="contact_owner_created_idx"),
            models.Index(fields=["last_activity_at"], name="contact_last_activity_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def get_absolute_url(self) -> str:
        return object_url("contact_detail", self.pk)

    @property
    def country_name(self) -> str:
        """The country's name in the active language ("" when unset); for list rows,
        where django-countries' own lookup cost 40 µs a row."""
        return country_names(get_language()).get(self.country.code, "") if self.country else ""

    @property
    def full_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or f"Contact #{self.pk}"
