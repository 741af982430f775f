"""The viewset every record type's API uses."""

from django.db import transaction
from rest_framework import viewsets


class RecordViewSet(viewsets.ModelViewSet):
    """CRUD with filters, search and ordering from the app's FilterSet; writes are atomic."""

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        # A new record belongs to whoever creates it unless the request names an owner.
        defaults = {"owner": self.request.user} if "owner" not in serializer.validated_data else {}
        with transaction.atomic():
            serializer.save(**defaults)

    def perform_update(self, serializer):
        with transaction.atomic():
            serializer.save()

    def perform_destroy(self, instance):
        # Record types whose deletes have consequences override this to call their service.
        instance.delete()
