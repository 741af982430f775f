import pycountry

from django.db import models


class DealStage(models.TextChoices):
    QUALIFICATION = "qualification", "Qualification"
    PROPOSAL = "proposal", "Proposal"
    NEGOTIATION = "negotiation", "Negotiation"
    WON = "won", "Won"
    LOST = "lost", "Lost"


CLOSED_STAGES = {DealStage.WON, DealStage.LOST}

# ISO 4217, from pycountry's copy of the standard. Validated rather than stored as
# model choices, so a new edition of the standard needs no migration.
CURRENCY_CHOICES = sorted((c.alpha_3, f"{c.alpha_3} — {c.name}") for c in pycountry.currencies)
CURRENCY_CODES = frozenset(code for code, _ in CURRENCY_CHOICES)
