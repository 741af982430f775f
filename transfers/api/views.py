"""POST /api/crm/{type}/import and GET /api/crm/{type}/export.csv.

They check permissions and call transfers.services / transfers.export.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core import json_limits
from core.csv import csv_chunks, csv_response
from jobs.api.serializers import JobSerializer, accepted
from segments.api.views import CSVRenderer
from tags.records import TAGGABLE_TYPES, taggable_or_404
from transfers import export, services, uploads
from transfers.api.serializers import ImportResultSerializer
from transfers.jobs import estimated_rows, request_import, runs_as_job
from transfers.services import ALL_OR_NOTHING, SKIP, UPDATE, VALID_ONLY, ImportFileError

TRUE = {"1", "true", "yes", "on"}
RECORD_TYPE = OpenApiParameter("record_type", str, OpenApiParameter.PATH, enum=list(TAGGABLE_TYPES))


def _require(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied(f"You need the “{permission}” permission.")


class ImportView(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "mapping": {"type": "string", "description": 'JSON {"CSV column": "field"}'},
                    "on_duplicate": {"type": "string", "enum": [SKIP, UPDATE]},
                    "mode": {"type": "string", "enum": [VALID_ONLY, ALL_OR_NOTHING]},
                    "dry_run": {"type": "boolean"},
                },
                "required": ["file"],
            }
        },
        parameters=[RECORD_TYPE],
        responses={200: ImportResultSerializer, 202: JobSerializer},
        description="An import or dry run of a file of more than COHORT_IMPORT_JOB_ABOVE "
        "(100,000) rows runs as a background job: 202 with the job, whose `result` is this "
        "same import report once it is done.",
        summary="Import records from a CSV file (dry run by default)",
        operation_id="records_import",
    )
    def post(self, request, record_type: str):
        taggable = taggable_or_404(record_type)
        opts = taggable.model._meta
        _require(request.user, f"{opts.app_label}.add_{opts.model_name}")
        on_duplicate = request.data.get("on_duplicate", SKIP)
        mode = request.data.get("mode", VALID_ONLY)
        if on_duplicate not in (SKIP, UPDATE):
            raise ValidationError({"on_duplicate": ["Use skip or update."]})
        if mode not in (VALID_ONLY, ALL_OR_NOTHING):
            raise ValidationError({"mode": ["Use valid_only or all_or_nothing."]})
        if on_duplicate == UPDATE:
            _require(request.user, taggable.change_permission)
        mapping = None
        if request.data.get("mapping"):
            try:
                mapping = json_limits.loads(request.data["mapping"])
                assert isinstance(mapping, dict)
            except (ValueError, AssertionError):
                raise ValidationError(
                    {"mapping": ['Give a JSON object {"CSV column": "field"}.']}
                ) from None
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": ["Attach the CSV as the multipart field “file”."]})
        if upload.size > services.MAX_UPLOAD_BYTES:
            raise ValidationError({"file": ["The file is larger than 20 MB; split it."]})
        data = upload.read()
        dry_run = str(request.data.get("dry_run", "true")).lower() in TRUE
        rows = estimated_rows(data)
        if runs_as_job(rows):
            job = self._in_background(
                request, record_type, data, mapping, on_duplicate, mode, rows, dry_run
            )
            return accepted(job, {"request": request})
        try:
            plan = services.import_csv(
                record_type,
                data,
                user=request.user,
                mapping=mapping,
                on_duplicate=on_duplicate,
                mode=mode,
                dry_run=dry_run,
            )
        except ImportFileError as error:
            raise ValidationError({"file": [str(error)]}) from None
        return Response(plan.as_dict(), status=status.HTTP_200_OK)

    @staticmethod
    def _in_background(request, record_type, data, mapping, on_duplicate, mode, rows, dry_run):
        """A job for files over COHORT_IMPORT_JOB_ABOVE rows: the header and mapping are
        checked here, the rows by the job."""
        try:
            csv_file = services.read_csv(data, check_rows=False)
            if mapping is None:
                columns = services.propose_mapping(record_type, csv_file.header)
            else:
                columns = services.mapping_from_names(record_type, csv_file.header, mapping)
        except ImportFileError as error:
            raise ValidationError({"file": [str(error)]}) from None
        token = uploads.store_upload(request.user, data)
        return request_import(
            record_type,
            token,
            user=request.user,
            mapping=columns,
            on_duplicate=on_duplicate,
            mode=mode,
            rows=rows,
            dry_run=dry_run,
        )


class ExportView(APIView):
    permission_classes = [IsAuthenticated]
    # JSON first: errors answer as JSON unless the client asks for text/csv.
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        parameters=[
            RECORD_TYPE,
            OpenApiParameter("search", str, description="Any filter of the list"),
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR},
        summary="The filtered list as CSV (streamed)",
        operation_id="records_export_csv",
    )
    def get(self, request, record_type: str):
        taggable = taggable_or_404(record_type)
        _require(request.user, taggable.view_permission)
        try:
            records = export.filtered_records(record_type, request.query_params, request=request)
        except export.ExportFilterError as error:
            raise ValidationError({"detail": str(error)}) from None
        with_tags = request.user.has_perm("tags.view_tag")
        rows = export.record_rows(record_type, records, with_tags=with_tags)
        return csv_response(csv_chunks(rows), export.export_filename(record_type))
