"""`{% if request.user|may_edit:record %}`: show edit and delete controls only to those the
server lets through (core.ownership)."""

from django import template

from core import ownership

register = template.Library()


@register.filter
def may_edit(user, record) -> bool:
    return ownership.may_edit(user, record)
