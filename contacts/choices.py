from django.db import models


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    OTHER = "other", "Other"


class Source(models.TextChoices):
    """Where a contact or lead came from; shared by both."""

    WEBSITE = "website", "Website"
    REFERRAL = "referral", "Referral"
    EVENT = "event", "Event"
    OUTBOUND = "outbound", "Outbound"
    SOCIAL = "social", "Social media"
    PARTNER = "partner", "Partner"
    IMPORT = "import", "Import"
    OTHER = "other", "Other"
