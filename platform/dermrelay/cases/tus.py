"""Resumable uploads over the tus protocol 1.0.0: core, creation, termination and expiration.

    OPTIONS /api/v1/uploads/          what the server supports (no authentication needed)
    POST    /api/v1/uploads/          creation: Upload-Length and Upload-Metadata → 201 + Location
    HEAD    /api/v1/uploads/{id}/     where the upload stands: Upload-Offset, Upload-Length
    PATCH   /api/v1/uploads/{id}/     append bytes at Upload-Offset (application/offset+octet-stream)
    DELETE  /api/v1/uploads/{id}/     termination
    GET     /api/v1/uploads/{id}/     (not tus) the upload's state as JSON, for the browser

Browsers use tus-js-client with the session cookie and X-CSRFToken; capture devices tuspy with
`Authorization: Token <key>`. The image fields travel as Upload-Metadata (base64 values) and are
validated when the upload is created, by the same rules as the multipart endpoint
(cases.api.ImageFieldsSerializer); the last byte stores the image through the same intake
(cases.resumable_uploads, then cases.services.image_create). Bodies are read from the request stream in chunks, never through
`request.body`, so Django's in-memory limit for form data does not apply to them.
"""

from __future__ import annotations

import base64
import binascii
import uuid

from django.http import QueryDict
from django.urls import reverse
from django.utils.http import http_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record
from dermrelay.params import COUNT_MAX, whole_number

from dermrelay.pipeline import steps

from . import resumable_uploads, selectors
from .serializers import ImageFieldsSerializer
from .models import Case, Upload
from .uploads import sanitised_filename

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination,expiration"
OFFSET_MEDIA_TYPE = "application/offset+octet-stream"
IMAGE_HEADER = "DermRelay-Image"
CHUNK_BYTES = 1024 * 1024  # the request body is read and written this much at a time
MAX_METADATA_CHARS = 64 * 1024


class TusError(exceptions.APIException):
    """A protocol refusal in the API's error format ({"detail", "code"}) with its own status."""

    def __init__(self, detail: str, *, status_code: int, code: str):
        self.status_code = status_code
        super().__init__(detail, code=code)


def parse_metadata(header: str) -> dict[str, str]:
    """Upload-Metadata: comma-separated pairs of a key and its base64 value (the value may be left
    out). Malformed base64, a value that is not UTF-8, a bad or repeated key: 400."""
    def bad(why: str) -> TusError:
        return TusError(f"Upload-Metadata is malformed: {why}", status_code=400, code="invalid_metadata")

    if len(header) > MAX_METADATA_CHARS:
        raise bad(f"longer than {MAX_METADATA_CHARS} characters.")
    found: dict[str, str] = {}
    if not header.strip():
        return found
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        key = parts[0]
        if not key or len(parts) > 2 or not key.isascii() or not key.isprintable():
            raise bad("each pair is a key, a space and a base64 value.")
        if key in found:
            raise bad(f"the key '{key}' is given twice.")
        try:
            found[key] = base64.b64decode(parts[1], validate=True).decode("utf-8") if len(parts) == 2 else ""
        except (binascii.Error, ValueError):
            raise bad(f"the value of '{key}' is not base64 of UTF-8 text.") from None
    return found


def _header_int(request, name: str, *, status_code: int = 400, code: str = "invalid_header") -> int:
    value = whole_number(request.headers.get(name), maximum=COUNT_MAX)
    if value is None:
        raise TusError(f"The {name} header must be given as a non-negative whole number.", status_code=status_code,
                       code=code)
    return value


def _body_length(request) -> int:
    """The body's Content-Length; none at all is an empty body, unless the body is chunked (whose
    length a WSGI application cannot know in advance: refused with 411)."""
    if request.META.get("CONTENT_LENGTH") in (None, ""):
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            raise TusError("Send the chunk with a Content-Length.", status_code=411, code="length_required")
        return 0
    return _header_int(request, "Content-Length", status_code=411, code="length_required")


class SanitisedFilenameField(serializers.Field):
    """The client's file name, recorded for the audit trail only: never refused, never a path."""

    def to_internal_value(self, data) -> str:
        return sanitised_filename(str(data))

    def to_representation(self, value) -> str:
        return value


class TusMetadataSerializer(ImageFieldsSerializer):
    case = serializers.UUIDField()
    filename = SanitisedFilenameField(required=False, default="")


class UploadStatusSerializer(serializers.ModelSerializer):
    state = serializers.CharField(source="shown_state", read_only=True, help_text="receiving | complete | failed | expired")
    kind = serializers.SerializerMethodField()
    replaces = serializers.SerializerMethodField()

    class Meta:
        model = Upload
        fields = ["id", "case", "kind", "filename", "offset", "length", "state", "image", "error", "error_code",
                  "replaces", "created_at", "expires_at"]

    def get_kind(self, upload) -> str:
        return upload.metadata.get("kind", "")

    def get_replaces(self, upload) -> str | None:
        return upload.metadata.get("replaces") or None


def _tus_headers(name: str, description: str, *, required: bool = True, kind=str, response=False):
    return OpenApiParameter(name, kind, location=OpenApiParameter.HEADER, required=required and not response,
                            description=description, response=response)


TUS_RESUMABLE_HEADER = _tus_headers("Tus-Resumable", "Must be 1.0.0.")
EXPIRES_HEADER = "Upload-Expires"


class TusView(APIView):
    """Every answer carries Tus-Resumable; tus requests must carry it too (412 otherwise)."""

    tus_methods = ("POST", "HEAD", "PATCH", "DELETE")

    def get_permissions(self):
        if self.request.method == "OPTIONS":  # discovery, as tus clients and proxies expect
            return [AllowAny()]
        return [IsAuthenticated()]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method in self.tus_methods and request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise TusError(f"This server speaks tus {TUS_VERSION}: send the header Tus-Resumable: {TUS_VERSION}.",
                           status_code=status.HTTP_412_PRECONDITION_FAILED, code="tus_version")

    def handle_exception(self, exc):
        if isinstance(exc, resumable_uploads.UploadError):
            exc = TusError(str(exc), status_code=exc.status_code, code=exc.code)
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = TUS_VERSION
        if response.status_code == status.HTTP_412_PRECONDITION_FAILED:
            response["Tus-Version"] = TUS_VERSION
        if request.method in ("HEAD", "PATCH"):
            response["Cache-Control"] = "no-store"
        if request.method == "HEAD" and isinstance(response, Response):
            response.data = None  # a HEAD answer has headers only
        return response


def _upload_headers(response: Response, upload: Upload) -> Response:
    response["Upload-Offset"] = str(upload.offset)
    response["Upload-Length"] = str(upload.length)
    response[EXPIRES_HEADER] = http_date(upload.expires_at.timestamp())
    if upload.image_id:
        response[IMAGE_HEADER] = str(upload.image_id)
    return response


def _scoped_upload(request, pk, action: str) -> Upload:
    """The creator's own upload; anyone else's, or none, is a 404 (audited as a denial when it exists)."""
    try:
        key = uuid.UUID(str(pk))
    except ValueError:
        raise exceptions.NotFound() from None
    upload = selectors.upload_list(user=request.user).filter(pk=key).first()
    if upload is None:
        if Upload.objects.filter(pk=key).exists():
            audit_record(actor=request.user, action=action, object_type="upload", object_id=key,
                         outcome=AuditOutcome.DENIED)
        raise exceptions.NotFound()
    return upload


def _writable_case(request, case_id: uuid.UUID) -> Case:
    case = selectors.case_list(user=request.user, for_change=True).filter(pk=case_id).first()
    if case is None:
        if Case.objects.filter(pk=case_id).exists():
            audit_record(actor=request.user, action="upload_start", object_type="case", object_id=case_id,
                         outcome=AuditOutcome.DENIED)
        raise exceptions.NotFound("No such case.")
    return case


class TusUploadCreateView(TusView):
    @extend_schema(operation_id="uploads_create", request=None, parameters=[
        TUS_RESUMABLE_HEADER,
        _tus_headers("Upload-Length", "The whole file's size in bytes (at most the server's Tus-Max-Size).", kind=int),
        _tus_headers("Upload-Metadata", (
            "Comma-separated 'key base64(value)' pairs: case (uuid, required), kind (rcm_mosaic | rcm_stack | "
            "dermoscopy | clinical, required), depth_level, depth_um, pixel_spacing_um, z_step_um, device_profile "
            "(code), filename (recorded for the audit trail only), replaces (uuid of a current image of the same "
            "case and kind). The same rules as the multipart upload apply.")),
        _tus_headers("Location", "Absolute URL of the new upload.", response=[201]),
        _tus_headers("Upload-Expires", "When an unfinished upload is discarded (RFC 7231 date).", response=[201]),
        _tus_headers("Tus-Resumable", "1.0.0", response=True),
    ], responses={
        201: UploadStatusSerializer,
        400: OpenApiResponse(description="Malformed metadata, invalid image fields, missing or zero Upload-Length."),
        404: OpenApiResponse(description="No such case among those you may upload to."),
        409: OpenApiResponse(description="The case is locked (case_locked) or the image to replace is not current."),
        412: OpenApiResponse(description="Tus-Resumable missing or not 1.0.0."),
        413: OpenApiResponse(description="Upload-Length exceeds the upload limit."),
        429: OpenApiResponse(description=(
            "You hold too many unfinished uploads, or they reserve too many bytes together "
            "(too_many_open_uploads): finish or cancel one.")),
    })
    def post(self, request):
        """Create a resumable upload of one image to a case; everything but the bytes is checked now."""
        if "Upload-Defer-Length" in request.headers:
            raise TusError("Deferred lengths are not supported: send Upload-Length.", status_code=400,
                           code="invalid_header")
        metadata = parse_metadata(request.headers.get("Upload-Metadata", ""))
        length = _header_int(request, "Upload-Length")
        serializer = TusMetadataSerializer(data=_as_form(metadata))
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        case_id, filename = fields.pop("case"), fields.pop("filename", "")
        resumable_uploads.upload_check_length(length=length)
        case = _writable_case(request, case_id)
        if fields.get("replaces") is not None:
            fields["replaces"] = str(fields["replaces"])
        upload = resumable_uploads.upload_create(actor=request.user, case=case, length=length, fields=fields, filename=filename)
        response = Response(UploadStatusSerializer(upload).data, status=status.HTTP_201_CREATED)
        response["Location"] = request.build_absolute_uri(reverse("tus-upload", kwargs={"pk": upload.id}))
        response[EXPIRES_HEADER] = http_date(upload.expires_at.timestamp())
        return response

    def options(self, request, *args, **kwargs):
        """tus discovery: version, extensions and the largest upload accepted."""
        from django.conf import settings

        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Extension"] = TUS_EXTENSIONS
        response["Tus-Max-Size"] = str(settings.DERMRELAY_UPLOAD_MAX_BYTES)
        return response


def _as_form(metadata: dict[str, str]) -> QueryDict:
    """Metadata as form data, so that empty values mean what they mean in the multipart form."""
    form = QueryDict(mutable=True)
    for key, value in metadata.items():
        form[key] = value
    return form


class TusUploadView(TusView):
    @extend_schema(operation_id="uploads_append", request={OFFSET_MEDIA_TYPE: OpenApiTypes.BINARY}, parameters=[
        TUS_RESUMABLE_HEADER,
        _tus_headers("Upload-Offset", "Where these bytes go: must equal the upload's current offset.", kind=int),
        _tus_headers("Upload-Offset", "The offset after these bytes.", kind=int, response=[204]),
        _tus_headers("Upload-Expires", "When an unfinished upload is discarded.", response=[204]),
        _tus_headers(IMAGE_HEADER, "With the last byte: the id of the stored image.", response=[204]),
        _tus_headers("Tus-Resumable", "1.0.0", response=True),
    ], responses={
        204: OpenApiResponse(description="Appended. With the last byte the image was stored (DermRelay-Image)."),
        400: OpenApiResponse(description="With the last byte: the file is corrupt, empty or too many pixels "
                                         "({detail, code} as for a multipart upload); the upload is failed."),
        404: OpenApiResponse(description="No such upload of yours."),
        409: OpenApiResponse(description="Upload-Offset does not match (offset_mismatch), or the case is locked."),
        410: OpenApiResponse(description="The upload expired or failed."),
        412: OpenApiResponse(description="Tus-Resumable missing or not 1.0.0."),
        413: OpenApiResponse(description="The bytes would take the upload past its Upload-Length."),
        415: OpenApiResponse(description=f"Content-Type is not {OFFSET_MEDIA_TYPE}, or not an accepted image type."),
        423: OpenApiResponse(description="Another request is writing this upload."),
    })
    def patch(self, request, pk):
        """Append bytes; the last byte stores the image through the same checks as a multipart upload."""
        upload = _scoped_upload(request, pk, "upload_append")
        media_type = (request.META.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        if media_type != OFFSET_MEDIA_TYPE:
            raise TusError(f"The body must be sent as {OFFSET_MEDIA_TYPE}.", status_code=415, code="unsupported_media_type")
        offset = _header_int(request, "Upload-Offset")
        declared = _body_length(request)
        progress = resumable_uploads.upload_append(upload=upload, actor=request.user, offset=offset, stream=request._request,
                                          declared=declared, chunk_size=CHUNK_BYTES)
        if progress.image is not None:
            steps.image_stored(image=progress.image)  # the last byte stored it: derivation follows
        return _upload_headers(Response(status=status.HTTP_204_NO_CONTENT), progress.upload)

    @extend_schema(operation_id="uploads_status", responses={200: UploadStatusSerializer})
    def get(self, request, pk):
        """The upload's state for the browser (not part of tus): offset, length, state, image, error."""
        upload = _scoped_upload(request, pk, "view_upload")
        audit_record(actor=request.user, action="view", object_type="upload", object_id=upload.id,
                     site_id=upload.case.site_id)
        return Response(UploadStatusSerializer(upload).data)

    def head(self, request, pk):
        """tus: where the upload stands (Upload-Offset, Upload-Length); 410 once expired or failed."""
        upload = _scoped_upload(request, pk, "upload_status")
        audit_record(actor=request.user, action="upload_status", object_type="upload", object_id=upload.id,
                     site_id=upload.case.site_id)
        if upload.shown_state in ("expired", "failed"):
            raise resumable_uploads.UploadError(upload.error or "The upload expired before it was finished.", status=410,
                                       code=f"upload_{upload.shown_state}")
        return _upload_headers(Response(status=status.HTTP_200_OK), upload)

    @extend_schema(operation_id="uploads_terminate", parameters=[
        TUS_RESUMABLE_HEADER, _tus_headers("Tus-Resumable", "1.0.0", response=True),
    ], responses={204: None, 404: OpenApiResponse(description="No such upload of yours."),
                  423: OpenApiResponse(description="Another request is writing this upload.")})
    def delete(self, request, pk):
        """tus termination: the upload and its bytes are removed (an image already stored stays)."""
        upload = _scoped_upload(request, pk, "upload_terminate")
        resumable_uploads.upload_terminate(upload=upload, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def tus_schema_operations(result, generator, request, public):
    """drf-spectacular leaves HEAD and OPTIONS out of every schema: add the two tus needs."""
    header = lambda name, description, schema="string": {  # noqa: E731
        "name": name, "in": "header", "required": True, "description": description, "schema": {"type": schema}}
    response_header = lambda description, schema="string": {"description": description, "schema": {"type": schema}}  # noqa: E731
    security = [{"tokenAuth": []}, {"cookieAuth": []}]
    for path, item in result.get("paths", {}).items():
        if path.endswith(("/uploads/{id}/", "/uploads/{pk}/")) and "patch" in item:
            item["head"] = {
                "operationId": "uploads_offset", "tags": item["patch"].get("tags", []),
                "description": "tus: where the upload stands. 404 for no upload of yours, 410 once expired or failed.",
                "parameters": [p for p in item["patch"].get("parameters", []) if p.get("in") == "path"]
                + [header("Tus-Resumable", "Must be 1.0.0.")],
                "security": item["patch"].get("security", security),
                "responses": {
                    "200": {"description": "Headers only.", "headers": {
                        "Upload-Offset": response_header("Bytes received.", "integer"),
                        "Upload-Length": response_header("The whole file's size.", "integer"),
                        "Upload-Expires": response_header("When an unfinished upload is discarded."),
                        "Cache-Control": response_header("no-store"),
                        "Tus-Resumable": response_header("1.0.0")}},
                    "404": {"description": "No such upload of yours."},
                    "410": {"description": "The upload expired or failed."},
                    "412": {"description": "Tus-Resumable missing or not 1.0.0."}},
            }
        if path.endswith("/uploads/") and "post" in item:
            item["options"] = {
                "operationId": "uploads_discover", "tags": item["post"].get("tags", []),
                "description": "tus discovery (no authentication needed).", "security": [{}],
                "responses": {"204": {"description": "What the server supports.", "headers": {
                    "Tus-Resumable": response_header("1.0.0"), "Tus-Version": response_header("1.0.0"),
                    "Tus-Extension": response_header(TUS_EXTENSIONS),
                    "Tus-Max-Size": response_header("The largest Upload-Length accepted.", "integer")}}},
            }
    return result
