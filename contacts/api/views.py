from contacts.api.serializers import ContactSerializer
from contacts.filtersets import ContactFilterSet
from contacts.models import Contact
from contacts.services import delete_contact, save_contact
from core.api.viewsets import RecordViewSet
from tags.api.views import TaggedRecordViewSetMixin  # tags compose onto records (README: layers)


class ContactViewSet(TaggedRecordViewSetMixin, RecordViewSet):
    """Contacts are saved and deleted by contacts.services (live segments, counters)."""

    queryset = Contact.objects.select_related("owner")
    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet

    def save_record(self, record):
        return save_contact(record)

    def delete_record(self, record):
        delete_contact(record)
