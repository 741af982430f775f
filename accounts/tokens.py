"""Issuing, checking and revoking API tokens.

A token reads `cohort_<prefix>_<secret>`. The prefix finds the row; the SHA-256
digest of the whole token proves it. The plain token is shown once and never stored.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connections, router, transaction
from django.db.models.expressions import RawSQL
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


# Separates permission names inside the token query's one text value (no name holds it).
_NAME_SEPARATOR = "\x1f"


def _q(name: str) -> str:
    return f'"{name}"'


def _permission_names_sql(vendor: str, user_id: str) -> str:
    """A correlated subquery: the permissions ("app_label.codename") of the user whose id
    is the outer query's column `user_id`, joined by _NAME_SEPARATOR.

    The same set ModelBackend computes for an active user who is no superuser (their
    own permissions and their groups'), read with the token instead of in two more
    queries per request. It is read on every request, so a role change, a group
    edit or a revoked permission counts from the next request on.
    """
    user_permissions = User.user_permissions.through._meta
    user_groups = User.groups.through._meta
    group_permissions = Group.permissions.through._meta
    joined = "string_agg({}, chr(31))" if vendor == "postgresql" else "group_concat({}, char(31))"
    name = f"ct.{_q('app_label')} || '.' || p.{_q('codename')}"
    return (
        f"SELECT {joined.format(name)} FROM {_q(Permission._meta.db_table)} p "
        f"JOIN {_q(ContentType._meta.db_table)} ct ON ct.id = p.content_type_id "
        f"WHERE p.id IN ("
        f"SELECT up.permission_id FROM {_q(user_permissions.db_table)} up "
        f"WHERE up.user_id = {user_id} "
        f"UNION SELECT gp.permission_id FROM {_q(group_permissions.db_table)} gp "
        f"JOIN {_q(user_groups.db_table)} ug ON ug.group_id = gp.group_id "
        f"WHERE ug.user_id = {user_id})"
    )


def _token_with_user(prefix: str) -> ApiToken | None:
    """The token of `prefix` with its user and `permission_names`, in one query.

    Every API request runs it. On PostgreSQL the statement is written once and its row
    turned into instances directly: building it through the ORM (select_related and
    an annotation) cost more CPU than the rest of an attach request.
    """
    using = router.db_for_read(ApiToken)
    connection = connections[using]
    if connection.vendor != "postgresql":  # SQLite's values need the ORM's converters
        outer = f"{_q(ApiToken._meta.db_table)}.{_q('user_id')}"
        token_sql = RawSQL(_permission_names_sql(connection.vendor, outer), ())
        tokens = ApiToken.objects.using(using).select_related("user")
        return tokens.annotate(permission_names=token_sql).filter(prefix=prefix).first()
    token_fields, user_fields = _columns(ApiToken), _columns(User)
    sql = _TOKEN_SQL.get(using)
    if sql is None:
        sql = _TOKEN_SQL[using] = (
            f"SELECT {', '.join(f't.{_q(f.column)}' for f in token_fields)}, "
            f"{', '.join(f'u.{_q(f.column)}' for f in user_fields)}, "
            f"({_permission_names_sql(connection.vendor, 't.user_id')}) "
            f"FROM {_q(ApiToken._meta.db_table)} t JOIN {_q(User._meta.db_table)} u "
            f"ON u.id = t.user_id WHERE t.prefix = %s"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(token_fields)
    token = ApiToken.from_db(using, [f.attname for f in token_fields], row[:split])
    user = User.from_db(using, [f.attname for f in user_fields], row[split:-1])
    ApiToken.user.field.set_cached_value(token, user)
    token.permission_names = row[-1]
    return token


_TOKEN_SQL: dict[str, str] = {}


def _columns(model) -> list:
    return list(model._meta.concrete_fields)


def find_active_token(plain: str) -> ApiToken | None:
    """The active token `plain` stands for, or None; records its use.

    The token's user comes with its permission set loaded in the same query (as
    ModelBackend caches it on the user), so checking permissions costs no query.
    """
    scheme, _, rest = plain.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != TOKEN_SCHEME or not prefix or not secret:
        return None
    token = _token_with_user(prefix)
    if token is None or not hmac.compare_digest(token.digest, _digest(plain)):
        return None
    if not token.is_active or not token.user.is_active:
        return None
    if not token.user.is_superuser:  # a superuser has every permission; ModelBackend says so
        names = token.permission_names
        token.user._perm_cache = set(names.split(_NAME_SEPARATOR)) if names else set()
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


def revoke_user_tokens(user: User, *, actor: User | None = None) -> int:
    """Revoke every active token of the user; how many (each recorded in the audit log)."""
    tokens = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    return sum(revoke_token(token, actor=actor) for token in tokens)


def revoke_tokens_on_new_credentials(sender, instance: User, created: bool, **kwargs) -> None:
    """post_save of a user (AccountsConfig.ready): a new password or a deactivation revokes
    the user's API tokens, as it ends their sessions (L6).

    A signal, not a service call, because the paths that change a password are Django's
    own (the password form, the admin, `manage.py changepassword`) and all end in
    set_password() and save(); set_password leaves `_password` set until after this runs.
    """
    if created:
        return
    if getattr(instance, "_password", None) is not None or not instance.is_active:
        revoke_user_tokens(instance)
