"""REST API for patients, lesions, cases and images: thin, reads through selectors, writes through services
or pipeline steps (serializers.py holds the shapes; imaging.api the viewer and registration actions)."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from dermrelay.accounts.selectors import clinical_site_ids
from dermrelay.api import AuditedReadsMixin
from dermrelay.audit.services import audit_record
from dermrelay.idempotency import IdempotentCreateMixin, idempotent_create
from dermrelay.params import COUNT_MAX, ID_MAX, whole_number
from dermrelay.pipeline import steps
from dermrelay.reading.selectors import case_list_summary

from . import selectors, services
from .deidentify import deidentified_file
from .image_files import EXTENSIONS, MEDIA_TYPES
from .models import Case, Image, ImageKind, Lesion, Patient
from .serializers import (
    AnatomSiteGroupSerializer, CaseSerializer, ImageSerializer, ImageUploadSerializer, LesionSerializer,
    PatientSerializer, RecallSerializer,
)
from .uploads import HashingUploadHandler, StagedFile
from .vocabulary import anatom_site_groups


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class PatientFilter(filters.FilterSet):
    """Related ids are plain values, not choices: a foreign id and a missing id both give an empty list."""

    site = filters.UUIDFilter()
    family_name = filters.CharFilter(lookup_expr="icontains")
    search = filters.CharFilter(method="filter_search", max_length=200, help_text=(
        "Each word begins the MRN or is part of the family or given name, e.g. 'smith jo' or 'MRN00'."))

    class Meta:
        model = Patient
        fields = ["site", "mrn", "family_name", "birth_date", "search"]

    def filter_search(self, queryset, name, value):
        return selectors.patient_search(queryset, text=value)


class CaseFilter(filters.FilterSet):
    site = filters.UUIDFilter()
    lesion = filters.UUIDFilter()
    technician = filters.NumberFilter(min_value=1, max_value=ID_MAX, decimal_places=0, help_text="a technician's id")
    patient = filters.UUIDFilter(field_name="lesion__patient")
    visit_date_after = filters.DateFilter(field_name="visit_date", lookup_expr="gte")
    visit_date_before = filters.DateFilter(field_name="visit_date", lookup_expr="lte")
    search = filters.CharFilter(method="filter_search", max_length=200, help_text=(
        "Each word begins the patient's MRN or is part of their family or given name, e.g. 'MRN00' or 'smith jo'; "
        "only patients of your clinical sites match."))
    include_synthetic = filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_include_synthetic", help_text=(
            "The list leaves out the synthetic QA-history cases (device 'QA history (synthetic)') unless this is "
            "true; a case opened by its id is found either way."))

    class Meta:
        model = Case
        fields = ["site", "lesion", "patient", "status", "technician", "visit_date_after", "visit_date_before",
                  "search", "include_synthetic"]

    def filter_search(self, queryset, name, value):
        return selectors.case_search(queryset, user=self.request.user, text=value)

    def filter_include_synthetic(self, queryset, name, value):
        return queryset  # the default (leave them out) is the list's: CaseViewSet.filter_queryset


class LesionFilter(filters.FilterSet):
    patient = filters.UUIDFilter()

    class Meta:
        model = Lesion
        fields = ["patient", "anatom_site_general"]


class ImageFilter(filters.FilterSet):
    case = filters.UUIDFilter()
    current = filters.BooleanFilter(field_name="replaced_by", lookup_expr="isnull", help_text=(
        "true: the case's images now; false: the images kept as history (replaced by a later capture)."))

    class Meta:
        model = Image
        fields = ["case", "kind", "status", "depth_level", "current"]


@extend_schema_view(create=idempotent_create(PatientSerializer))
class PatientViewSet(AuditedReadsMixin, IdempotentCreateMixin, mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Patients of the sites where you are a technician or site admin."""

    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    ordering_fields = ["family_name", "created_at", "mrn"]
    audit_object_type = "patient"

    def get_queryset(self):
        return selectors.patient_list(user=self.request.user)


@extend_schema_view(create=idempotent_create(LesionSerializer))
class LesionViewSet(AuditedReadsMixin, IdempotentCreateMixin, mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    mixins.UpdateModelMixin, viewsets.GenericViewSet):
    serializer_class = LesionSerializer
    filterset_class = LesionFilter
    ordering_fields = ["created_at", "label"]
    audit_object_type = "lesion"

    def get_queryset(self):
        return selectors.lesion_list(user=self.request.user)

    def audit_site_id(self, obj):
        return obj.patient.site_id


@extend_schema_view(create=idempotent_create(CaseSerializer))
class CaseViewSet(AuditedReadsMixin, IdempotentCreateMixin, mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                  mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Cases (visits). Status changes only through the submit and recall actions and the platform."""

    serializer_class = CaseSerializer
    filterset_class = CaseFilter
    ordering_fields = ["visit_date", "created_at", "status", "submitted_at"]
    audit_object_type = "case"

    def get_queryset(self):
        # An assigned reader reads the case; changing it (and uploading to it) stays with the clinic.
        reading = self.request.method in SAFE_METHODS
        return (case_list_summary(user=self.request.user) if reading else selectors.case_list(user=self.request.user, for_change=True))

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)  # checks the query parameters first: 400 on a bad one
        if self.action == "list" and self.request.query_params.get("include_synthetic") != "true":
            queryset = selectors.case_without_synthetic(queryset)
        return queryset

    def initialize_request(self, request, *args, **kwargs):
        drf_request = super().initialize_request(request, *args, **kwargs)
        if self.action == "upload_image":  # before anything parses the body, CSRF checks included
            request.upload_handlers = [HashingUploadHandler(request, max_bytes=settings.DERMRELAY_UPLOAD_MAX_BYTES)]
        return drf_request

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:  # whatever happened (refusal, parse error, crash), no staging file survives the request
            _discard_staging(request)

    @extend_schema(request=None, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        case = steps.case_submit(case=self.get_object(), actor=request.user)
        return Response(self.get_serializer(case_list_summary(user=request.user).get(pk=case.pk)).data)

    @extend_schema(request=RecallSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def recall(self, request, pk=None):
        case = self.get_object()  # a case out of scope is a 404 whatever the body says
        serializer = RecallSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = services.case_request_recall(case=case, actor=request.user, **serializer.validated_data)
        return Response(self.get_serializer(case_list_summary(user=request.user).get(pk=case.pk)).data)

    @extend_schema(
        request={"multipart/form-data": ImageUploadSerializer},
        responses={
            201: ImageSerializer,
            200: OpenApiResponse(ImageSerializer, description="The same bytes were already uploaded to this case."),
            400: OpenApiResponse(description="Corrupt, truncated or oversized (in pixels) image."),
            413: OpenApiResponse(description="The upload exceeds the size limit."),
            415: OpenApiResponse(description="Not an accepted image type."),
        },
    )
    @action(detail=True, methods=["post"], url_path="images", parser_classes=[MultiPartParser])
    def upload_image(self, request, pk=None):
        """Upload one image file (multipart field `file`); for an RCM stack, either one multi-page TIFF or
        each frame as its own `file` part, in order. The type is judged from the bytes, never the name."""
        limit = settings.DERMRELAY_UPLOAD_MAX_BYTES
        if (whole_number(request.META.get("CONTENT_LENGTH"), maximum=COUNT_MAX) or 0) > limit + settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise PayloadTooLarge(f"The upload exceeds the limit of {limit} bytes.")
        case = self.get_object()
        data = request.data
        if getattr(request._request, "upload_too_large", False):
            raise PayloadTooLarge(f"The upload exceeds the limit of {limit} bytes.")
        files = [f for f in data.getlist("file") if isinstance(f, StagedFile)] if hasattr(data, "getlist") else []
        serializer = ImageUploadSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        staged: StagedFile = fields.pop("file")
        if len(files) > 1:  # the frames of a stack, in order (a device's folder of images)
            if fields["kind"] != ImageKind.RCM_STACK:
                raise serializers.ValidationError({"file": "Several files make one image only for kind rcm_stack."})
            staged = services.stack_stage(frames=files)
        image, created = steps.image_store(actor=request.user, case=case, staged=staged, **fields)
        body = ImageSerializer(image, context=self.get_serializer_context()).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _discard_staging(django_request) -> None:
    """Remove staged files of a finished request: parsed ones and a part cut off mid-way.

    Reads the private attributes so that nothing is parsed and no default handler is created here.
    """
    files = getattr(django_request, "_files", None) or {}
    for staged in (f for name in files for f in files.getlist(name) if isinstance(f, StagedFile)):
        staged.discard()
    for handler in getattr(django_request, "_upload_handlers", []):
        if isinstance(handler, HashingUploadHandler):
            handler.upload_interrupted()


class ImageViewSet(AuditedReadsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                   mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Images are created by uploading to a case (POST /cases/{id}/images/)."""

    serializer_class = ImageSerializer
    filterset_class = ImageFilter
    ordering_fields = ["created_at", "depth_um", "kind"]
    audit_object_type = "image"

    def get_queryset(self):
        images = selectors.image_list(user=self.request.user, for_change=self.request.method not in SAFE_METHODS)
        return images.prefetch_related("replaces")

    def audit_site_id(self, obj):
        return obj.case.site_id

    @extend_schema(responses={204: OpenApiResponse(description=(
        "Deleted. When the image had replaced another, that one is current again. An image kept as "
        "history (replaced) cannot be deleted: 409 image_replaced."))})
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    def perform_destroy(self, instance):
        steps.image_remove(actor=self.request.user, image=instance)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        """The image file as an attachment: byte for byte as uploaded for the clinic that uploaded it
        (its technicians and site admins); for everyone else (readers) the same pixels without the
        metadata that identifies people (EXIF, XMP, IPTC, comments, text chunks: cases/deidentify.py).
        The `DermRelay-Metadata` header says which: `original` or `removed`."""
        image = self.get_object()
        original = image.case.site_id in clinical_site_ids(user=request.user)
        content = image.file.open("rb") if original else deidentified_file(image=image)
        audit_record(actor=request.user, action="download", object_type="image", object_id=image.id,
                     site_id=image.case.site_id, detail={"metadata": "original" if original else "removed"})
        response = FileResponse(
            content, as_attachment=True,
            filename=f"{image.id}.{EXTENSIONS[image.file_format]}", content_type=MEDIA_TYPES[image.file_format],
        )
        response["Cache-Control"] = "private, no-store"
        response["DermRelay-Metadata"] = "original" if original else "removed"
        return response

    @extend_schema(responses={(200, "image/jpeg"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def thumbnail(self, request, pk=None):
        image = self.get_object()
        if not image.thumbnail:
            raise NotFound("The thumbnail is not ready yet.", code="not_ready")
        audit_record(actor=request.user, action="view_thumbnail", object_type="image", object_id=image.id,
                     site_id=image.case.site_id)
        response = FileResponse(image.thumbnail.open("rb"), content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=3600"
        return response


class AnatomSiteVocabularyView(APIView):
    """The ISIC anatomic-site vocabulary the platform validates lesions against."""

    @extend_schema(responses=AnatomSiteGroupSerializer(many=True))
    def get(self, request):
        """Every hierarchical term grouped under its general site, broadest first, for a body picker
        and a searchable list; no patient data."""
        return Response(anatom_site_groups())
