from contacts import views
from core.record_urls import record_urls

urlpatterns = record_urls(
    "contacts",
    "contact",
    list_view=views.ContactListView,
    detail_view=views.ContactDetailView,
    edit_view=views.ContactEditView,
    delete_view=views.ContactDeleteView,
)
