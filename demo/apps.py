from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Reproducible demo data and the `seed_demo` and `bootstrap_demo` commands."""

    name = "demo"
    verbose_name = "Demo data"
