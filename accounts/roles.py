"""The seeded roles and how each app's migrations grant them permissions.

Roles are Django groups. Each app owns a data migration that calls `grant` with
its own permissions, so adding an app never means editing this file.
"""

ADMINISTRATOR = "Administrator"
SALES_MANAGER = "Sales manager"
SALES_REP = "Sales rep"
VIEWER = "Viewer"
ROLES = [ADMINISTRATOR, SALES_MANAGER, SALES_REP, VIEWER]


def grant(apps, app_label: str, grants: dict[str, list[str]]) -> None:
    """Give each role the listed codenames of `app_label`, creating missing permissions.

    For use in data migrations: permissions are normally made after migrate
    finishes, too late for a migration that hands them out.
    """
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config(app_label)
    # Historical app configs have no models module, and create_permissions skips those.
    app_config.models_module = True
    try:
        create_permissions(app_config, apps=apps, verbosity=0)
    finally:
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in grants.items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = Permission.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise LookupError(f"Unknown permissions for {app_label}: {sorted(missing)}")
        group.permissions.add(*permissions)


def revoke(apps, app_label: str, grants: dict[str, list[str]]) -> None:
    """Undo `grant` (the reverse of a data migration)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in grants.items():
        group = Group.objects.filter(name=role).first()
        if group:
            group.permissions.remove(
                *Permission.objects.filter(
                    content_type__app_label=app_label, codename__in=codenames
                )
            )


def crud(model: str, actions: str = "view add change delete") -> list[str]:
    return [f"{action}_{model}" for action in actions.split()]


def granting(app_label: str, grants: dict[str, list[str]]):
    """A data migration's operation: `grant` forwards, `revoke` backwards."""
    from django.db import migrations

    return migrations.RunPython(
        lambda apps, schema_editor: grant(apps, app_label, grants),
        lambda apps, schema_editor: revoke(apps, app_label, grants),
    )
