from core.record_urls import record_urls
from leads import views

urlpatterns = record_urls(
    "leads",
    "lead",
    list_view=views.LeadListView,
    detail_view=views.LeadDetailView,
    edit_view=views.LeadEditView,
    delete_view=views.LeadDeleteView,
)
