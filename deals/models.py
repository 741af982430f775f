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
    # Set by deals.services when the deal reaches won or lost.
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
        # closed_at follows the stage: set when a deal is won or lost, cleared if reopened.
        if self.stage in CLOSED_STAGES:
            self.closed_at = self.closed_at or timezone.now()
        else:
            self.closed_at = None
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return object_url("deal_detail", self.pk)
