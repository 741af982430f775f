"""The contact page's timeline form, provided by activities: the contacts app (lower in the
stack) includes the panel in its template and never imports activities."""

from django import template

from activities.forms import ActivityForm

register = template.Library()


@register.simple_tag
def new_activity_form(contact) -> ActivityForm:
    """An empty "Log activity" form for the contact: `{% new_activity_form contact as form %}`."""
    return ActivityForm(contact=contact)
