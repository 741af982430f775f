"""Fast formatting filters for table cells repeated on every row of a list page.

Cohort's interface is English (LANGUAGE_CODE en-us, no localisation), where these
give what humanize's intcomma and `date:"j M Y"` give, at a hundredth of the cost
(measured 24 µs and 69 µs a call: a 100-row tags page spent 17 ms in them).
"""

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def count(value) -> str:
    """12345 → "12,345"; anything that is not an integer is shown as it is."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "" if value is None else str(value)


@register.filter
def day(value: datetime | None) -> str:
    """A timestamp's day in the current time zone: "5 Mar 2026"."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{value.day} {value:%b %Y}"
