"""The users and records the permission matrix test acts on.

Every path parameter of every endpoint points at a real object, so an answer is
about permission, not about a missing record; each request a case sends runs in a
savepoint that is rolled back, so a delete by one identity leaves the next one the
same records to act on.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import ADMINISTRATOR, ROLES, SALES_REP
from accounts.tokens import IssuedToken, issue_token
from activities.models import Activity
from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead
from segments import services as segment_services
from segments.jobs import request_export
from tags import services as tag_services
from tags.models import Tag
from tags.records import TAGGABLE_TYPES
from transfers import uploads

ANONYMOUS = "anonymous"
# Custom users holding one permission each (#15 M5): what a permission alone shows.
SEGMENTS_VIEWER = "segments viewer"  # "view crm segments"
SEGMENTS_MANAGER = "segments manager"  # "manage crm segments"
RECORDS_VIEWER = "records viewer"  # "view" contacts, leads and deals, but not their tags
SINGLE_PERMISSION_USERS = {
    SEGMENTS_VIEWER: [("segments", "view_segment")],
    SEGMENTS_MANAGER: [("segments", "manage_segment")],
    RECORDS_VIEWER: [("contacts", "view_contact"), ("leads", "view_lead"), ("deals", "view_deal")],
}
IDENTITIES = (ANONYMOUS, *ROLES, *SINGLE_PERMISSION_USERS)
RECORD_TYPES = tuple(TAGGABLE_TYPES)

IMPORT_CSV = b"first_name,last_name,email\r\nGrace,Hopper,grace@navy.example\r\n"
# The objects behind each API collection's `{id}`.
API_OBJECTS = {
    "contacts": "contact",
    "leads": "lead",
    "deals": "deal",
    "activities": "activity",
    "tags": "tag",
    "segments": "segment",
    "audit": "audit_entry",
}
# Bodies that a permitted user's request would succeed with, so "allowed" means the
# request did what it asked, not merely that it was not refused.
API_BODIES = {
    ("POST", "/api/crm/contacts/"): lambda w: {"first_name": "New"},
    ("PUT", "/api/crm/contacts/{id}/"): lambda w: {"first_name": "Changed"},
    ("PATCH", "/api/crm/contacts/{id}/"): lambda w: {"first_name": "Changed"},
    ("POST", "/api/crm/leads/"): lambda w: {"name": "New"},
    ("PUT", "/api/crm/leads/{id}/"): lambda w: {"name": "Changed"},
    ("PATCH", "/api/crm/leads/{id}/"): lambda w: {"name": "Changed"},
    ("POST", "/api/crm/deals/"): lambda w: {"title": "New"},
    ("PUT", "/api/crm/deals/{id}/"): lambda w: {"title": "Changed"},
    ("PATCH", "/api/crm/deals/{id}/"): lambda w: {"title": "Changed"},
    ("POST", "/api/crm/activities/"): lambda w: {"subject": "Call", "contact": w.contact.pk},
    ("PUT", "/api/crm/activities/{id}/"): lambda w: {"subject": "Call", "contact": w.contact.pk},
    ("PATCH", "/api/crm/activities/{id}/"): lambda w: {"subject": "Called back"},
    ("POST", "/api/crm/tags/"): lambda w: {"name": "fresh"},
    ("PATCH", "/api/crm/tags/{id}/"): lambda w: {"description": "Changed"},
    ("POST", "/api/crm/tags/{id}/merge/"): lambda w: {"into": w.other_tag.pk},
    ("POST", "/api/crm/segments/"): lambda w: {"name": "Fresh segment"},
    ("PATCH", "/api/crm/segments/{id}/"): lambda w: {"description": "Changed"},
    ("POST", "/api/crm/segments/{id}/contacts/"): lambda w: {"contact_id": w.other_contact.pk},
    ("POST", "/api/crm/segments/preview/"): lambda w: {"criteria": w.segment.criteria},
    **{
        ("POST", f"/api/crm/{record_type}/{{id}}/tags/"): lambda w: {"tag_id": w.other_tag.pk}
        for record_type in RECORD_TYPES
    },
    **{
        ("POST", f"/api/crm/{record_type}/bulk-tags/"): (
            lambda w, record_type=record_type: {
                "ids": [w.record(record_type).pk],
                "add": [w.other_tag.pk],
            }
        )
        for record_type in RECORD_TYPES
    },
}
# Form posts of the pages: where an empty form would only be re-shown with errors,
# a valid one, so permitted users really get through to the action.
PAGE_POSTS = {
    "token_list": lambda w: {"name": "laptop"},
    "record_tags": lambda w: {"tag_id": w.other_tag.pk},
    "bulk_tags": lambda w: {"op": "add", "tags": [w.other_tag.pk], "ids": str(w.contact.pk)},
    "tag_merge": lambda w: {"into": w.other_tag.pk},
    "segment_member_add": lambda w: {"contact_id": w.other_contact.pk},
    "segment_preview": lambda w: {"criteria": '{"match": "all", "conditions": []}'},
    "activity_create": lambda w: {
        "subject": "Call",
        "kind": "call",
        "occurred_at": "2026-06-01T10:00",
    },
    "transfer_review": lambda w: {"map_0": "first_name", "map_1": "last_name", "map_2": "email"},
}
PAGE_QUERIES = {"segment_contact_search": {"q": "Ada"}, "tag_suggest": {"q": "cu"}}
# Sections of a record page that answer htmx with a partial (a plain request is
# redirected to the record page, which would hide whether it was allowed).
HTMX_PAGES = {"record_tags", "record_tag_remove", "activity_create", "activity_delete"}


@dataclass
class Clients:
    """One browser and one API client for every case: a new client loads the middleware
    again, and WhiteNoise's scans every static file when it does."""

    page: Client = field(default_factory=lambda: Client(raise_request_exception=False))
    api: APIClient = field(default_factory=lambda: APIClient(raise_request_exception=False))


@dataclass
class World:
    clients: Clients
    users: dict[str, User | None]
    contact: Contact
    other_contact: Contact
    lead: Lead
    deal: Deal
    activity: Activity
    tag: Tag
    other_tag: Tag
    segment: object
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    uploads: dict[str, str] = field(default_factory=dict)
    jobs: dict[str, object] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)

    def record(self, record_type: str):
        return {"contacts": self.contact, "leads": self.lead, "deals": self.deal}[record_type]

    @property
    def audit_entry(self):
        """The newest audit entry (the setup's own tag and segment wrote some)."""
        if not apps.is_installed("audit"):
            return None
        model = apps.get_model("audit", "AuditEntry")
        return model.objects.order_by("-pk").first()

    def own_job(self, identity: str):
        """The identity's own job; visitors, who have none, aim at the Administrator's."""
        return self.jobs[identity if self.users[identity] else ADMINISTRATOR]

    def sign_in_everyone(self) -> None:
        """A token, a session and an uploaded import file (with its error list) per user."""
        for identity, user in self.users.items():
            if user is None:
                self.uploads[identity] = "0" * 32
                continue
            self.tokens[identity] = issue_token(user, "matrix")
            upload = uploads.store_upload(user, IMPORT_CSV)
            uploads.store_errors(user, upload, [["row", "error"]])
            self.uploads[identity] = upload
            # Without a broker the export job runs at once, so there is a file to download.
            self.jobs[identity] = request_export(self.segment, user)
            self.clients.page.cookies.clear()  # else logging in flushes the last one's session
            self.clients.page.force_login(user)
            self.sessions[identity] = self.clients.page.cookies[settings.SESSION_COOKIE_NAME].value

    # --- pages --------------------------------------------------------------------------------

    def page_path(self, name: str, params: list[str], identity: str, record_type: str) -> str:
        kwargs = {}
        for param in params:
            if param == "record_type":
                kwargs[param] = record_type
            elif param == "token":
                kwargs[param] = self.uploads[identity]
            elif param == "contact_pk":
                kwargs[param] = self.contact.pk
            elif param == "contact_id":
                kwargs[param] = self.contact.pk  # the segment's member
            elif param == "tag_id":
                kwargs[param] = self.tag.pk  # attached to every record
            elif param == "pk":
                kwargs[param] = self._page_pk(name, identity, record_type)
            else:
                raise LookupError(f"Teach permission_world how to fill {param!r} of {name}.")
        return reverse(name, kwargs=kwargs)

    def _page_pk(self, name: str, identity: str, record_type: str) -> int:
        if name.startswith("record_tag"):
            return self.record(record_type).pk
        if name.startswith("job_"):
            return self.own_job(identity).pk
        if name == "token_revoke":
            # Anyone may only revoke their own token; visitors aim at someone else's.
            return self.tokens[identity if self.users[identity] else ADMINISTRATOR].token.pk
        owner = getattr(self, name.split("_")[0], None)
        if owner is None:
            raise LookupError(f"Teach permission_world which object {name}'s pk is.")
        return owner.pk

    def page_client(self, identity: str) -> Client:
        client = self.clients.page
        client.cookies.clear()
        if identity in self.sessions:
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[identity]
        return client

    # --- API ----------------------------------------------------------------------------------

    def api_path(self, template: str, identity: str, record_type: str) -> str:
        collection = template.removeprefix("/api/crm/").split("/")[0]

        def fill(match: re.Match) -> str:
            param = match.group(1)
            if param == "record_type":
                return record_type
            if param == "id" and collection == "jobs":
                return str(self.own_job(identity).pk)
            if param == "id":
                obj = getattr(self, API_OBJECTS[collection])
                return str(obj.pk if obj is not None else 0)
            if param == "tag_id":
                return str(self.tag.pk)
            if param == "contact_id":
                return str(self.contact.pk)
            raise LookupError(f"Teach permission_world how to fill {{{param}}} of {template}.")

        return re.sub(r"\{(\w+)\}", fill, template)

    def api_client(self, identity: str) -> APIClient:
        client = self.clients.api
        client.cookies.clear()
        client.credentials()
        if self.users[identity] is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.tokens[identity].plain}")
        return client


def answer(send) -> HttpResponse:
    """Send one request and read its whole body (exports stream) inside a savepoint that
    is then rolled back: the next identity finds the records as they were."""
    with transaction.atomic():
        response = send()
        # The test client closes a streamed response once read (a close() here would fire
        # request_finished, which closes a PostgreSQL connection inside a transaction).
        response.content_bytes = b"".join(response) if response.streaming else response.content
        transaction.set_rollback(True)
    return response


def make_users() -> dict[str, User | None]:
    from django.contrib.auth.models import Group

    users: dict[str, User | None] = {ANONYMOUS: None}
    for role in ROLES:
        user = User.objects.create_user(username=f"matrix {role}", password="s3cret-pass-word")
        user.groups.add(Group.objects.get(name=role))
        users[role] = user
    for identity, permissions in SINGLE_PERMISSION_USERS.items():
        user = User.objects.create_user(username=f"matrix {identity}", password="s3cret-pass-word")
        for app_label, codename in permissions:
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        users[identity] = user
    return users


def make_world(clients: Clients) -> World:
    users = make_users()
    admin = users[ADMINISTRATOR]
    # The Sales rep's own records, so the matrix is about permissions: a rep edits only
    # what they own (core.ownership; tested with others' records in core/tests).
    rep = users[SALES_REP]
    contact = Contact.objects.create(
        first_name="Ada",
        last_name="Lovelace",
        email="ada@analytical.example",
        country="GB",
        owner=rep,
    )
    other_contact = Contact.objects.create(first_name="Charles", email="charles@engine.example")
    lead = Lead.objects.create(name="Engine order", contact=contact, owner=rep)
    deal = Deal.objects.create(title="Engine", contact=contact, value=Decimal("100"), owner=rep)
    activity = Activity.objects.create(subject="First call", contact=contact, owner=rep)
    # Through the services, as users make them (and so the audit log has entries).
    tag = tag_services.create_tag("customer", user=admin)
    other_tag = tag_services.create_tag("prospect", user=admin)
    for record in (contact, lead, deal):
        tag_services.attach_tag(record, tag)
    segment = segment_services.create_segment(
        name="British contacts",
        user=admin,
        criteria={
            "match": "all",
            "conditions": [{"field": "country", "operator": "equals", "value": "GB"}],
        },
    )
    segment_services.add_member(segment, contact, admin)
    world = World(
        clients=clients,
        users=users,
        contact=contact,
        other_contact=other_contact,
        lead=lead,
        deal=deal,
        activity=activity,
        tag=tag,
        other_tag=other_tag,
        segment=segment,
    )
    world.sign_in_everyone()
    return world
