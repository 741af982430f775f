from django.db import transaction

from contacts.api.serializers import ContactSerializer
from contacts.filtersets import ContactFilterSet
from contacts.models import Contact
from core.api.viewsets import RecordViewSet
from segments.notify import contacts_changed
from tags.api.views import TaggedRecordViewSetMixin  # tags compose onto records (README: layers)
from tags.records import prefetch_tags  # tags compose onto records (README: layers)


class ContactViewSet(TaggedRecordViewSetMixin, RecordViewSet):
    queryset = prefetch_tags(Contact.objects.select_related("owner"))
    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet

    # Live segments re-evaluate a contact created or changed (its deletion takes its
    # memberships with it, and changes no other contact's match).
    def perform_create(self, serializer):
        with transaction.atomic():
            super().perform_create(serializer)
            contacts_changed([serializer.instance.pk])

    def perform_update(self, serializer):
        with transaction.atomic():
            super().perform_update(serializer)
            contacts_changed([serializer.instance.pk])
