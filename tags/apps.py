from django.apps import AppConfig


class TagsConfig(AppConfig):
    """Colour-coded labels shared by contacts, leads and deals."""

    name = "tags"
    verbose_name = "Tags"
