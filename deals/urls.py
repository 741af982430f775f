from core.record_urls import record_urls
from deals import views

urlpatterns = record_urls(
    "deals",
    "deal",
    list_view=views.DealListView,
    detail_view=views.DealDetailView,
    edit_view=views.DealEditView,
    delete_view=views.DealDeleteView,
)
