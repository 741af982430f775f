from core import generic_views as generic
from leads.filtersets import LeadFilterSet
from leads.forms import LeadForm
from leads.models import Lead
from leads.services import delete_lead
from tags.views import TaggedListMixin  # tags compose onto records (README: layers)
from transfers.views import TransferLinksMixin  # transfers compose onto records (README: layers)


class LeadListView(TaggedListMixin, TransferLinksMixin, generic.ObjectListView):
    model = Lead
    queryset = Lead.objects.select_related("owner", "contact")
    filterset_class = LeadFilterSet
    table_template = "leads/lead_table.html"


class LeadDetailView(generic.ObjectDetailView):
    model = Lead
    queryset = Lead.objects.select_related("owner", "contact")
    template_name = "leads/lead_detail.html"

    def get_extra_context(self, request, obj):
        return {"activities": obj.activities.select_related("owner", "contact")[:50]}


class LeadEditView(generic.ObjectEditView):
    model = Lead
    form_class = LeadForm


class LeadDeleteView(generic.ObjectDeleteView):
    model = Lead

    def delete_record(self, record):
        delete_lead(record)
