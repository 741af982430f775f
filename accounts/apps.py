from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Users, roles, API tokens, login and logout."""

    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from accounts.tokens import revoke_tokens_on_new_credentials

        post_save.connect(
            revoke_tokens_on_new_credentials,
            sender=self.get_model("User"),
            dispatch_uid="accounts.revoke_tokens_on_new_credentials",
        )
