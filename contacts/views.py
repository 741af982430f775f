from contacts.filtersets import ContactFilterSet
from contacts.forms import ContactForm
from contacts.models import Contact
from contacts.services import delete_contact, save_contact
from core import generic_views as generic
from tags.views import TaggedListMixin  # tags compose onto records (README: layers)
from transfers.views import TransferLinksMixin  # transfers compose onto records (README: layers)


class ContactListView(TaggedListMixin, TransferLinksMixin, generic.ObjectListView):
    model = Contact
    queryset = Contact.objects.select_related("owner")
    filterset_class = ContactFilterSet
    table_template = "contacts/contact_table.html"


class ContactDetailView(generic.ObjectDetailView):
    model = Contact
    queryset = Contact.objects.select_related("owner")
    template_name = "contacts/contact_detail.html"

    def get_extra_context(self, request, obj):
        return {
            "activities": obj.activities.select_related("owner", "deal", "lead")[:50],
            "deals": obj.deals.select_related("owner")[:20],
            "leads": obj.leads.select_related("owner")[:20],
        }


class ContactEditView(generic.ObjectEditView):
    model = Contact
    form_class = ContactForm

    def save_record(self, record):
        return save_contact(record)


class ContactDeleteView(generic.ObjectDeleteView):
    model = Contact
    template_name = "contacts/contact_delete.html"

    def delete_record(self, record):
        delete_contact(record)
