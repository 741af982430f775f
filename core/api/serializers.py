"""Serializer pieces shared by every record type."""

from rest_framework import serializers

from accounts.models import User


class OwnerField(serializers.PrimaryKeyRelatedField):
    """`owner`: a user id, read and written as such; only active users can own records."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", User.objects.filter(is_active=True))
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
