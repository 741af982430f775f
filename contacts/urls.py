from cohort.record_urls import record_urls
from contacts import views

urlpatterns = record_urls(
    "contacts",
    "contact",
    list_view=views.ContactListView,
    detail_view=views.ContactDetailView,
    edit_view=views.ContactEditView,
    delete_view=views.ContactDeleteView,
)
