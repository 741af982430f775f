from core import generic_views as generic
from deals.filtersets import DealFilterSet
from deals.forms import DealForm
from deals.models import Deal
from deals.services import delete_deal, save_deal
from tags.views import TaggedListMixin  # tags compose onto records (README: layers)
from transfers.views import TransferLinksMixin  # transfers compose onto records (README: layers)


class DealListView(TaggedListMixin, TransferLinksMixin, generic.ObjectListView):
    model = Deal
    queryset = Deal.objects.select_related("owner", "contact")
    filterset_class = DealFilterSet
    table_template = "deals/deal_table.html"


class DealDetailView(generic.ObjectDetailView):
    model = Deal
    queryset = Deal.objects.select_related("owner", "contact")
    template_name = "deals/deal_detail.html"

    def get_extra_context(self, request, obj):
        return {"activities": obj.activities.select_related("owner", "contact")[:50]}


class DealEditView(generic.ObjectEditView):
    model = Deal
    form_class = DealForm

    def save_record(self, record):
        return save_deal(record)


class DealDeleteView(generic.ObjectDeleteView):
    model = Deal

    def delete_record(self, record):
        delete_deal(record)
