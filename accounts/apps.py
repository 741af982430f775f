from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, roles, API tokens, login and logout."""

    name = "accounts"
    verbose_name = "Accounts"
