"""Tags API: /api/crm/tags and the tag endpoints of every taggable record type."""

from django.conf import settings
from django.db.models import F
from django.db.models.functions import Lower
from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import filters, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from core.api.exceptions import Conflict
from core.ownership import check_may_edit, edits_all, split_editable
from jobs.api.serializers import JobSerializer, accepted
from tags import services
from tags.api.permissions import RecordTaggingPermission, TagPermission
from tags.api.serializers import (
    AttachTagSerializer,
    BulkTagResultSerializer,
    BulkTagSerializer,
    TagChipSerializer,
    TagMergeSerializer,
    TagSerializer,
)
from tags.jobs import request_bulk_tagging
from tags.models import Tag
from tags.records import prefetch_tags, taggable_type_for

# The largest id a bigint primary key holds; larger ids in URLs and bodies match nothing.
MAX_ID = 2**63 - 1


class TagViewSet(viewsets.ModelViewSet):
    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    permission_classes = [TagPermission]
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["name"]
    ordering_fields = ["name", "created_at", "contacts_count", "leads_count", "deals_count"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if self.request.query_params.get("ordering") == "usage":
            total = F("contacts_count") + F("leads_count") + F("deals_count")
            return Tag.objects.order_by(total.desc(), Lower("name"))
        return Tag.objects.all()

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.create_tag(
            data["name"],
            color=data.get("color"),
            description=data.get("description", ""),
            user=self.request.user,
        )

    def perform_update(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.update_tag(
            serializer.instance,
            name=data.get("name"),
            color=data.get("color"),
            description=data.get("description"),
            user=self.request.user,
        )

    def perform_destroy(self, instance):
        try:
            services.delete_tag(instance, user=self.request.user)
        except services.TagError as error:  # in use, or deleted meanwhile
            raise Conflict(str(error)) from error

    @extend_schema(request=TagMergeSerializer, responses=TagSerializer)
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        """Merge this tag into `into`: its links move there and this tag disappears."""
        source = self.get_object()
        serializer = TagMergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            target = services.merge_tags(
                source, serializer.validated_data["into"], user=request.user
            )
        except services.TagInUse as error:
            raise Conflict(str(error)) from error
        except services.TagError as error:
            raise ValidationError({"into": [str(error)]}) from error
        return Response(TagSerializer(target).data)


class TaggedRecordViewSetMixin:
    """`/{id}/tags`, `/{id}/tags/{tag_id}` and `/bulk-tags` for a record viewset, and the
    records' tags loaded with them (one query, whatever the page size)."""

    @property
    def taggable_type(self):
        return taggable_type_for(self.queryset.model)

    def get_queryset(self):
        return prefetch_tags(super().get_queryset())

    def _record(self, pk):
        # DRF's get_object_or_404: an id that is no number ("1,2") is a 404, not a 500.
        return get_object_or_404(self.taggable_type.model, pk=pk)

    def _check_owner(self, pk) -> None:
        """Users who edit only their own records (core.ownership) tag only those: a 403
        naming the owner. Others skip the lookup, as the attach below loads no row."""
        if not edits_all(self.request.user):
            check_may_edit(self.request.user, self._record(pk))

    def _tags_response(self, record, status_code=status.HTTP_200_OK) -> Response:
        tags = services.record_tags(record)
        return Response(TagChipSerializer(tags, many=True).data, status=status_code)

    @extend_schema(
        methods=["GET"], responses=TagChipSerializer(many=True), summary="The record's tags"
    )
    @extend_schema(
        methods=["POST"],
        request=AttachTagSerializer,
        responses={201: TagChipSerializer(many=True), 200: TagChipSerializer(many=True)},
        summary="Attach a tag: 201 when attached, 200 when it already was",
    )
    @action(
        detail=True,
        methods=["get", "post"],
        url_path="tags",
        permission_classes=[RecordTaggingPermission],
        pagination_class=None,
        filter_backends=[],
    )
    def tags(self, request, pk=None):
        if request.method == "GET":
            return self._tags_response(self._record(pk))
        record_id = self._record_id(pk)
        self._check_owner(pk)
        serializer = AttachTagSerializer(data=request.data)
        if not serializer.is_valid():
            self._record(pk)  # an unknown record is a 404 before a bad body is a 400
            raise ValidationError(serializer.errors)
        data = serializer.validated_data
        if "tag_id" in data:
            tag_id = data["tag_id"]
            if not 0 < tag_id <= MAX_ID:
                self._record(pk)
                raise ValidationError({"tag_id": [f"Unknown tag {tag_id}."]})
        else:
            self._record(pk)  # before a tag is made for it
            tag_id = self._resolve_tag(request, data).pk
        # The busiest write: one statement, no row loaded, the answer read with it.
        result = services.attach_tag_by_ids(self.taggable_type, record_id, tag_id)
        if not result.record_found:
            raise NotFound(self._not_found_message())
        if not result.tag_found:
            if "tag_id" in data:
                raise ValidationError({"tag_id": [f"Unknown tag {tag_id}."]})
            raise Conflict(  # deleted or merged since it was looked up
                f"The tag “{data['name'].strip()}” no longer exists (deleted or merged); "
                f"reload and retry."
            )
        chips = [{"id": id_, "name": name, "color": color} for id_, name, color in result.tags]
        return Response(chips, status=status.HTTP_201_CREATED if result.created else 200)

    def _record_id(self, pk) -> int:
        """The URL's record id, without loading the record; 404 for what is no id."""
        try:
            record_id = int(pk)
        except (TypeError, ValueError):
            raise NotFound(self._not_found_message()) from None
        if not 0 < record_id <= MAX_ID:
            raise NotFound(self._not_found_message())
        return record_id

    def _not_found_message(self) -> str:
        # get_object_or_404's own words, as the record's other endpoints answer.
        return f"No {self.taggable_type.model._meta.object_name} matches the given query."

    def _resolve_tag(self, request, data) -> Tag:
        if "tag_id" in data:
            tag = Tag.objects.filter(pk=data["tag_id"]).first()
            if tag is None:
                raise ValidationError({"tag_id": [f"Unknown tag {data['tag_id']}."]})
            return tag
        name = data["name"].strip()
        tag = services.find_tag_by_name(name)
        if tag is not None:
            return tag
        if not request.user.has_perm("tags.manage_tag"):
            raise ValidationError(
                {"name": [f"No tag named “{name}”, and you may not create tags."]}
            )
        return services.create_tag(name, user=request.user)

    @extend_schema(
        parameters=[OpenApiParameter("tag_id", int, OpenApiParameter.PATH)],
        request=None,
        responses={204: None},
        summary="Detach a tag (the tag itself stays)",
    )
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"tags/(?P<tag_id>\d+)",
        permission_classes=[RecordTaggingPermission],
        filter_backends=[],
    )
    def detach_tag(self, request, pk=None, tag_id=None):
        record_id = self._record_id(pk)
        self._check_owner(pk)
        tag_pk = int(tag_id)
        if not (
            0 < tag_pk <= MAX_ID
            and services.detach_tag_by_ids(self.taggable_type, record_id, tag_pk)
        ):
            self._record(pk)  # an unknown record is its own 404
            raise NotFound(f"Tag {tag_id} is not attached to this record.")
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=BulkTagSerializer,
        responses={200: BulkTagResultSerializer, 202: JobSerializer},
        description="Up to COHORT_BULK_TAG_JOB_ABOVE (10,000) records are tagged at once "
        "(200); more run as a background job (202 with the job; follow its `url`).",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="bulk-tags",
        permission_classes=[RecordTaggingPermission],
        filter_backends=[],
        pagination_class=None,
    )
    def bulk_tags(self, request):
        """Add and/or remove tags on records chosen by `ids` or by a list `filter`."""
        serializer = BulkTagSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # Records the user may not change are left out and counted (core.ownership).
        records, skipped = split_editable(request.user, self._bulk_records(data))
        matched = records.count() + skipped
        if matched - skipped > settings.COHORT_BULK_TAG_JOB_ABOVE:
            job = request_bulk_tagging(
                self.taggable_type,
                ids=data.get("ids"),
                query=None if "ids" in data else self._filter_query(data),
                add=data.get("add", []),
                remove=data.get("remove", []),
                user=request.user,
                matched=matched,
            )
            return accepted(job, self.get_serializer_context())
        try:
            result = services.bulk_tag(
                self.taggable_type,
                records,
                add=data.get("add", []),
                remove=data.get("remove", []),
                user=request.user,
            )
        except services.TagError as error:  # a tag deleted or merged since validation
            raise Conflict(str(error)) from error
        body = {
            "matched": matched,
            "skipped": skipped,
            "added": result.added,
            "removed": result.removed,
        }
        return Response(BulkTagResultSerializer(body).data)

    @staticmethod
    def _filter_query(data) -> QueryDict:
        query = QueryDict(mutable=True)
        for key, value in data["filter"].items():
            query.setlist(key, [str(v) for v in (value if isinstance(value, list) else [value])])
        return query

    def _bulk_records(self, data):
        model = self.taggable_type.model
        if "ids" in data:
            return model.objects.filter(pk__in=data["ids"])
        query = self._filter_query(data)
        filterset = self.filterset_class(query, queryset=model.objects.all(), request=self.request)
        if not filterset.is_valid():
            raise ValidationError({"filter": filterset.errors})
        return filterset.qs
