from django.apps import AppConfig


class ContactsConfig(AppConfig):
    """People a team sells to: the records tags and segments are built around."""

    name = "contacts"
    verbose_name = "Contacts"
