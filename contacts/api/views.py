from cohort.api.viewsets import RecordViewSet
from contacts.api.serializers import ContactSerializer
from contacts.filtersets import ContactFilterSet
from contacts.models import Contact


class ContactViewSet(RecordViewSet):
    queryset = Contact.objects.select_related("owner")
    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
