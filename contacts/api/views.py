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

    def perform_create(self, serializer):
        # A new contact belongs to whoever creates it unless the request names an owner.
        data = serializer.validated_data
        owner = data.get("owner", self.request.user)
        serializer.instance = save_contact(Contact(**{**data, "owner": owner}))

    def perform_update(self, serializer):
        contact = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(contact, field, value)
        save_contact(contact)

    def perform_destroy(self, instance):
        delete_contact(instance)
