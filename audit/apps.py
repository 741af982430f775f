from django.apps import AppConfig


class AuditConfig(AppConfig):
    """Who changed what: tags, segments, their members and API tokens."""

    name = "audit"
    verbose_name = "Audit log"
