from django.contrib.auth import views as auth_views
from django.urls import re_path

from accounts import views

urlpatterns = [
    re_path(r"^admin/login/?$", views.LoginView.as_view(), name="login"),
    re_path(r"^admin/logout/?$", auth_views.LogoutView.as_view(), name="logout"),
    re_path(
        r"^admin/account/password/?$", views.PasswordChangeView.as_view(), name="password_change"
    ),
    re_path(r"^admin/account/tokens/?$", views.token_list, name="token_list"),
    re_path(
        r"^admin/account/tokens/(?P<pk>\d+)/revoke/?$", views.token_revoke, name="token_revoke"
    ),
]
