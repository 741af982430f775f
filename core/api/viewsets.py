"""The viewset every record type's API uses."""

from django.db import transaction
from django.db.models import Model
from django_filters import utils
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets

from core.api.permissions import ModelPermissions, RecordOwnership


class RecordFilterBackend(DjangoFilterBackend):
    """The FilterSet's filtering; an exact count it knows cheaply (`known_count`, e.g. a
    single tag's usage counter) and a faster source of page keys (`anchor_qs`) are left
    on the view for the pagination."""

    def filter_queryset(self, request, queryset, view):
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid() and self.raise_exception:
            raise utils.translate_validation(filterset.errors)
        view.known_count = getattr(filterset, "known_count", None)
        view.anchor_queryset = getattr(filterset, "anchor_qs", None)
        return filterset.qs


class RecordViewSet(viewsets.ModelViewSet):
    """CRUD with filters, search and ordering from the app's FilterSet; writes are atomic.

    Writes go through `save_record` and `delete_record`: a record type whose writes have
    consequences (live segments, counters) overrides them to call its own services.
    """

    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]
    # Editing and deleting someone else's record is a 403 for users who edit only their own.
    permission_classes = [ModelPermissions, RecordOwnership]
    filter_backends = [RecordFilterBackend]
    known_count: int | None = None
    anchor_queryset = None

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
