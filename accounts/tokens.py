"""Issuing, checking and revoking API tokens.

A token reads `cohort_<prefix>_<secret>`. The prefix finds the row; the SHA-256
digest of the whole token proves it. The plain token is shown once and never stored.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, User
from audit.choices import Action
from audit.services import record_event

TOKEN_SCHEME = "cohort"
# Recording every use would turn each API read into a write; a minute is precise enough.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plain: str


def _digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def _audit_details(token: ApiToken) -> dict:
    """What the audit log keeps of a token: never the token itself, nor its digest."""
    expires_at = token.expires_at.isoformat() if token.expires_at else None
    return {
        "name": token.name,
        "prefix": token.prefix,
        "owner": token.user.get_username(),
        "expires_at": expires_at,
    }


@transaction.atomic
def issue_token(
    user: User, name: str, expires_at=None, *, actor: User | None = None
) -> IssuedToken:
    """A new token for `user`. `actor` is who asked for it (None: the system, a command)."""
    name = name.strip() or "API token"
    prefix = secrets.token_hex(6)
    plain = f"{TOKEN_SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, name=name[:100], prefix=prefix, digest=_digest(plain), expires_at=expires_at
    )
    record_event(actor, Action.TOKEN_CREATED, token, _audit_details(token))
    return IssuedToken(token=token, plain=plain)


def find_active_token(plain: str) -> ApiToken | None:
    """The active token `plain` stands for, or None; records its use."""
    scheme, _, rest = plain.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != TOKEN_SCHEME or not prefix or not secret:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    if token is None or not hmac.compare_digest(token.digest, _digest(plain)):
        return None
    if not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


@transaction.atomic
def revoke_token(token: ApiToken, *, actor: User | None = None) -> bool:
    """Revoke the token; False when it already was (nothing changes, nothing is recorded)."""
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if revoked:
        record_event(actor, Action.TOKEN_REVOKED, token, _audit_details(token))
    return bool(revoked)
