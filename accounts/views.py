"""Login, logout, the user's password and the user's own API tokens."""

import math

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.forms import TokenCreateForm
from accounts.lockout import ADDRESS, PAIR, USERNAME, ScaledLimitsHandler, limits
from accounts.models import ApiToken
from accounts.tokens import issue_token, revoke_token


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


def lockout_response(request, original_response=None, credentials=None):
    """The login page, answering 429, for a username + address, a username or an address
    that failed too often (accounts.lockout), saying which and until when.

    django-axes calls this (AXES_LOCKOUT_CALLABLE) instead of its bare "Account locked" page.
    """
    username = get_client_username(request, credentials) or ""
    address = getattr(request, "axes_ip_address", None)
    now = timezone.now()
    cool_off = get_cool_off(request) or settings.AXES_COOLOFF_TIME
    counts = ScaledLimitsHandler().failures_by_set(request, credentials)
    reached = [count >= limit for count, limit in zip(counts, limits(), strict=False)]
    # The first dimension that reached its limit says why; the pair's words by default.
    reason = next((which for which, hit in enumerate(reached) if hit), PAIR)
    attempts = {
        PAIR: {"username": username, "ip_address": address},
        USERNAME: {"username": username},
        ADDRESS: {"ip_address": address},
    }[reason]
    # The lockout ends one cool-off after the latest failure that counted (retries
    # during the lockout are not counted, so this time does not move).
    last_failure = AccessAttempt.objects.filter(**attempts).aggregate(last=Max("attempt_time"))[
        "last"
    ]
    locked_until = max(last_failure or now, now - cool_off) + cool_off
    retry_after = max(1, math.ceil((locked_until - now).total_seconds()))
    form = AuthenticationForm(request, initial={"username": username})
    response = render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "locked_until": locked_until,
            "lock_reason": {PAIR: "pair", USERNAME: "username", ADDRESS: "address"}[reason],
            "minutes_left": math.ceil(retry_after / 60),
            "next": request.POST.get("next") or request.GET.get("next", ""),
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


class PasswordChangeView(auth_views.PasswordChangeView):
    """Any signed-in user changes their own password; AUTH_PASSWORD_VALIDATORS apply."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("dashboard")

    def form_valid(self, form):
        response = super().form_valid(form)  # also keeps this session signed in
        messages.success(self.request, "Your password has been changed.")
        return response

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)


@login_required
def token_list(request):
    form = TokenCreateForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        new_token = issue_token(
            request.user,
            form.cleaned_data["name"],
            expires_at=form.expires_at(),
            actor=request.user,
        ).plain
        form = TokenCreateForm()
    tokens = ApiToken.objects.filter(user=request.user)
    return render(
        request,
        "accounts/token_list.html",
        {"form": form, "tokens": tokens, "new_token": new_token},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    revoke_token(token, actor=request.user)
    messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
    return redirect("token_list")
