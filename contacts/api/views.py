from cohort.api.viewsets import RecordViewSet
from contacts.api.serializers import ContactSerializer
from contacts.filtersets import ContactFilterSet
from contacts.models import Contact
from tags.api.views import TaggedRecordViewSetMixin, prefetch_tags


class ContactViewSet(TaggedRecordViewSetMixin, RecordViewSet):
    queryset = prefetch_tags(Contact.objects.select_related("owner"))
    serializer_class = ContactSerializer
    filterset_class = ContactFilterSet
