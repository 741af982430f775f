"""The viewset every record type's API uses."""

from django.db import transaction
from django.db.models import Model
from rest_framework import viewsets


class RecordViewSet(viewsets.ModelViewSet):
    """CRUD with filters, search and ordering from the app's FilterSet; writes are atomic.

    Writes go through `save_record` and `delete_record`: a record type whose writes have
    consequences (live segments, counters) overrides them to call its own services.
    """

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def save_record(self, record: Model) -> Model:
        record.save()
        return record

    def delete_record(self, record: Model) -> None:
        record.delete()

    def perform_create(self, serializer):
        # A new record belongs to whoever creates it unless the request names an owner.
        data = {"owner": self.request.user, **serializer.validated_data}
        with transaction.atomic():
            serializer.instance = self.save_record(self.queryset.model(**data))

    def perform_update(self, serializer):
        record = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(record, field, value)
        with transaction.atomic():
            self.save_record(record)

    def perform_destroy(self, instance):
        self.delete_record(instance)
