"""Segments API under /api/crm/segments: thin views over segments.services and segments.sync."""

from django.db.models import Prefetch, prefetch_related_objects
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import filters, mixins, renderers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from contacts.api.serializers import ContactSerializer
from contacts.models import Contact
from core.api.exceptions import Conflict
from core.csv import csv_response
from jobs.api.serializers import JobSerializer, accepted
from segments import services
from segments.api.permissions import SegmentPermission
from segments.api.serializers import (
    AddMemberSerializer,
    MembershipChangeSerializer,
    PreviewRequestSerializer,
    PreviewSerializer,
    RegistrySerializer,
    SegmentMemberSerializer,
    SegmentSerializer,
    SyncRunSerializer,
)
from segments.choices import MembershipChangeKind, SegmentMode, SyncSchedule
from segments.criteria import describe_registry
from segments.export import csv_chunks, export_columns, export_filename
from segments.jobs import request_export, request_sync
from segments.models import Segment, SegmentMember, SyncRun
from segments.sync import SegmentBusy
from tags.models import Tag

DETAIL_ONLY = {"detail": {"type": "string"}}
ERROR = OpenApiResponse(
    {"type": "object", "properties": DETAIL_ONLY}, description='{"detail": "message"}'
)


class CSVRenderer(renderers.BaseRenderer):
    """Lets `Accept: text/csv` reach the export; errors then come back as plain text."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, dict) and "detail" in data:
            return str(data["detail"])
        return "" if data is None else str(data)


def _members_page_contacts(members: list[SegmentMember]) -> list[Contact]:
    """The page's contacts, carrying their membership facts, with tags in one query."""
    contacts = []
    for member in members:
        contact = member.contact
        contact.added_how = member.added_how
        contact.added_at = member.added_at
        contacts.append(contact)
    prefetch_related_objects(
        contacts, Prefetch("tags", queryset=Tag.objects.only("id", "name", "color"))
    )
    return contacts


class SegmentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Segment.objects.select_related("last_run")
    serializer_class = SegmentSerializer
    permission_classes = [SegmentPermission]
    filter_backends = [filters.SearchFilter]
    search_fields = ["name"]
    lookup_value_regex = r"[0-9]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def handle_exception(self, exc):
        if isinstance(exc, SegmentBusy):  # an edit or member change during a running sync
            exc = Conflict(str(exc))
        return super().handle_exception(exc)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        segment = services.create_segment(
            name=data["name"],
            description=data.get("description", ""),
            criteria=data.get("criteria"),
            mode=data.get("mode", SegmentMode.MANUAL),
            sync_schedule=data.get("sync_schedule", SyncSchedule.OFF),
            user=request.user,
        )
        return Response(self.get_serializer(segment).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        segment = self.get_object()
        serializer = self.get_serializer(segment, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        segment = services.update_segment(
            segment,
            user=request.user,
            name=data.get("name"),
            description=data.get("description"),
            criteria=data.get("criteria"),
            mode=data.get("mode"),
            sync_schedule=data.get("sync_schedule"),
        )
        return Response(self.get_serializer(segment).data)

    @extend_schema(responses={204: None, 409: ERROR})
    def destroy(self, request, pk=None):
        segment = self.get_object()
        try:
            services.delete_segment(segment, request.user)
        except services.SegmentInUse as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- sync and history ---------------------------------------------------------------------

    @extend_schema(
        request=None,
        responses={202: JobSerializer},
        summary="Sync now: a job re-evaluates the criteria and replaces the membership",
        description="Answers 202 with the sync job (the one already queued or running, if "
        "any); follow its `url` until `state` is `succeeded` (its `result` holds the counts) "
        "or `failed` (`error` says why; the membership is then unchanged). Without a "
        "broker the job has already run when the answer comes.",
    )
    @action(detail=True, methods=["post"], filter_backends=[])
    def sync(self, request, pk=None):
        return accepted(
            request_sync(self.get_object(), request.user), self.get_serializer_context()
        )

    @extend_schema(
        request=None,
        responses={202: JobSerializer},
        summary="Export members as CSV in the background; the job's download_url has the file",
        operation_id="segments_export_job",
    )
    @action(detail=True, methods=["post"], url_path="export", filter_backends=[])
    def export_job(self, request, pk=None):
        return accepted(
            request_export(self.get_object(), request.user), self.get_serializer_context()
        )

    @extend_schema(responses=SyncRunSerializer(many=True), summary="Sync history, newest first")
    @action(detail=True, methods=["get"], filter_backends=[])
    def runs(self, request, pk=None):
        segment = self.get_object()
        page = self.paginate_queryset(SyncRun.objects.filter(segment=segment))
        return self.get_paginated_response(SyncRunSerializer(page, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "change",
                str,
                enum=MembershipChangeKind.values,
                description="Only joins or only leaves.",
            )
        ],
        responses=MembershipChangeSerializer(many=True),
        summary="Who joined and left, newest first: when, and why (sync, live update, by hand)",
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def changes(self, request, pk=None):
        segment = self.get_object()
        change = request.query_params.get("change")
        try:
            changes = services.membership_changes(segment, change)
        except ValueError as error:
            raise ValidationError({"change": [str(error).removeprefix("change: ")]}) from error
        page = self.paginate_queryset(changes)
        return self.get_paginated_response(MembershipChangeSerializer(page, many=True).data)

    # --- members ------------------------------------------------------------------------------

    @extend_schema(
        methods=["GET"],
        parameters=[
            OpenApiParameter("search", str, description="Every word in the name, email or company.")
        ],
        responses=SegmentMemberSerializer(many=True),
        summary="Members: each contact's payload plus added_how and added_at",
    )
    @extend_schema(
        methods=["POST"],
        request=AddMemberSerializer,
        responses={201: SegmentMemberSerializer, 200: SegmentMemberSerializer},
        summary="Add a contact by hand: 201 when added, 200 when already a member",
    )
    @action(detail=True, methods=["get", "post"], filter_backends=[])
    def contacts(self, request, pk=None):
        segment = self.get_object()
        if request.method == "GET":
            members = services.segment_members(segment, request.query_params.get("search", ""))
            page = _members_page_contacts(self.paginate_queryset(members))
            body = SegmentMemberSerializer(page, many=True, context=self.get_serializer_context())
            return self.get_paginated_response(body.data)
        serializer = AddMemberSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact_id = serializer.validated_data["contact_id"]
        contact = Contact.objects.filter(pk=contact_id).first()
        if contact is None:
            raise ValidationError({"contact_id": [f"Unknown contact {contact_id}."]})
        created = services.add_member(segment, contact, request.user)
        member = SegmentMember.objects.select_related("contact").get(
            segment=segment, contact=contact
        )
        body = SegmentMemberSerializer(
            _members_page_contacts([member])[0], context=self.get_serializer_context()
        ).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        parameters=[OpenApiParameter("contact_id", int, OpenApiParameter.PATH)],
        request=None,
        responses={204: None, 404: ERROR},
        summary="Remove a member by hand; later syncs will not add it back",
    )
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"contacts/(?P<contact_id>[0-9]+)",
        filter_backends=[],
    )
    def remove_contact(self, request, pk=None, contact_id=None):
        segment = self.get_object()
        contact = Contact.objects.filter(pk=contact_id).first()
        if contact is None or not services.remove_member(segment, contact, request.user):
            raise NotFound(f"Contact {contact_id} is not a member of this segment.")
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="Members as CSV (streamed)",
        operation_id="segments_export_csv",
    )
    @action(
        detail=True,
        methods=["get"],
        url_path=r"export\.csv",
        url_name="export",
        filter_backends=[],
        renderer_classes=[renderers.JSONRenderer, CSVRenderer],
    )
    def export(self, request, pk=None):
        segment = self.get_object()
        columns = export_columns(request.user)
        return csv_response(csv_chunks(segment, columns), export_filename(segment))

    # --- criteria tools -----------------------------------------------------------------------

    @extend_schema(
        request=PreviewRequestSerializer,
        responses=PreviewSerializer,
        summary="How many contacts criteria match now, with a few samples",
    )
    @action(detail=False, methods=["post"], filter_backends=[], pagination_class=None)
    def preview(self, request):
        serializer = PreviewRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        segment = None
        if "segment_id" in data:
            segment = Segment.objects.filter(pk=data["segment_id"]).first()
            if segment is None:
                raise ValidationError({"segment_id": [f"Unknown segment {data['segment_id']}."]})
        # Criteria can match any contact: samples only for those who may view contacts.
        size = data["sample_size"] if request.user.has_perm("contacts.view_contact") else 0
        count, sample = services.preview(data["criteria"], size, segment=segment)
        sample = ContactSerializer(sample, many=True, context=self.get_serializer_context())
        return Response({"count": count, "sample": sample.data})

    @extend_schema(
        responses=RegistrySerializer,
        summary="The criteria registry: fields, types, operators, choices, value shapes",
    )
    @action(detail=False, methods=["get"], filter_backends=[], pagination_class=None)
    def fields(self, request):
        return Response(describe_registry(request.user))
