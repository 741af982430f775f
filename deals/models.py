from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from core.record_urls import object_url
from deals.choices import CLOSED_STAGES, CURRENCY_CODES, DealStage


def validate_currency(code: str) -> None:
    if code not in CURRENCY_CODES:
        raise ValidationError(
            f"'{code}' is not an ISO 4217 currency code; use three letters, e.g. USD or EUR."
        )


def closed_at_for(stage: str | None, closed_at, now):
    """The deal rule for closed_at: it follows the stage, set when a deal is won or lost
    (kept if it already was), cleared if reopened. Deal.save applies it, and so must
    every write that skips save() (imports)."""
    if stage in CLOSED_STAGES:
        return closed_at or now
    return None


class Deal(models.Model):
    title = models.CharField(max_length=200)
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    value = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, default="USD", validators=[validate_currency])
    stage = models.CharField(
        max_length=20, choices=DealStage.choices, default=DealStage.QUALIFICATION
    )
    expected_close_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_deals",
    )
    # Set when the deal reaches won or lost (closed_at_for, applied by save).
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(value__gte=0), name="deal_value_not_negative")
        ]
        indexes = [models.Index(fields=["contact", "stage"], name="deal_contact_stage_idx")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        self.closed_at = closed_at_for(self.stage, self.closed_at, timezone.now())
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return object_url("deal_detail", self.pk)
