"""REST API for patients, lesions, cases and images: thin, reads through selectors, writes through services."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from dermrelay.accounts.models import Role, Site, User
from dermrelay.accounts.selectors import clinical_site_ids
from dermrelay.api import AuditedReadsMixin
from dermrelay.audit.services import audit_record
from dermrelay.analysis import selectors as analysis_selectors
from dermrelay.imaging import selectors as imaging_selectors
from dermrelay.imaging.auto_registration import METHOD_TEXT
from dermrelay.imaging.models import DeviceProfile, RegistrationSource

from dermrelay.pipeline import steps
from dermrelay.reading.selectors import case_list_summary

from . import selectors, services
from .image_files import EXTENSIONS, MEDIA_TYPES
from .models import RCM_KINDS, Case, DepthLevel, Image, ImageKind, Lesion, Patient, Sex
from .uploads import HashingUploadHandler, StagedFile
from .vocabulary import anatom_site_groups


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"


class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """A related id that must be among what the requesting user may write to; others look absent."""

    def __init__(self, *, scope, **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self):
        return self.scope(self.context["request"].user)


class PatientSerializer(serializers.ModelSerializer):
    site = ScopedPrimaryKeyField(scope=lambda user: Site.objects.filter(id__in=clinical_site_ids(user=user)))

    class Meta:
        model = Patient
        fields = ["id", "site", "mrn", "given_name", "family_name", "birth_date", "sex", "created_at", "updated_at"]

    def update(self, instance, validated_data):
        validated_data.pop("site", None)  # a patient never moves between sites
        return services.patient_update(actor=self.context["request"].user, patient=instance, **validated_data)

    def create(self, validated_data):
        return services.patient_create(actor=self.context["request"].user, **validated_data)


class LesionSerializer(serializers.ModelSerializer):
    patient = ScopedPrimaryKeyField(scope=lambda user: selectors.patient_list(user=user))

    class Meta:
        model = Lesion
        fields = ["id", "patient", "label", "anatom_site_general", "anatom_site", "location_note", "created_at"]

    def update(self, instance, validated_data):
        validated_data.pop("patient", None)
        return steps.lesion_save(actor=self.context["request"].user, lesion=instance, **validated_data)

    def create(self, validated_data):
        return services.lesion_create(actor=self.context["request"].user, **validated_data)


class LesionSiteSerializer(serializers.Serializer):
    label = serializers.CharField()
    anatom_site_general = serializers.CharField()
    anatom_site = serializers.CharField()


class CaseSerializer(serializers.ModelSerializer):
    lesion = ScopedPrimaryKeyField(scope=lambda user: selectors.lesion_list(user=user))
    technician = ScopedPrimaryKeyField(
        scope=lambda user: User.objects.filter(
            memberships__role=Role.TECHNICIAN, memberships__site_id__in=clinical_site_ids(user=user)
        ).distinct(),
        required=False,
        allow_null=True,
    )
    patient = serializers.UUIDField(source="lesion.patient_id", read_only=True)
    image_count = serializers.IntegerField(read_only=True, default=0)
    lesion_site = serializers.SerializerMethodField(help_text=(
        "The lesion's label and recorded anatomic site (ISIC terms): no patient identifier, so a reader "
        "who may not see the clinic's patient and lesion records still sees where the lesion is."))
    site_name = serializers.CharField(source="site.name", read_only=True)
    patient_label = serializers.SerializerMethodField(help_text=(
        "'Family, Given · MRN' for the clinic's technicians and site administrators; null for readers, who "
        "do not see the clinic's patient records."))
    quality_verdict = serializers.SerializerMethodField(help_text=(
        "The worst quality verdict among the case's current mosaics (acceptable, review, reimage), or null."))
    report_status = serializers.SerializerMethodField(help_text="none, draft, signed or amended.")
    patient_age_years = serializers.SerializerMethodField(help_text=(
        "The patient's age in whole years on the visit date; null when the birth date is not recorded. "
        "Readers get this instead of the birth date."))
    patient_sex = serializers.ChoiceField(source="lesion.patient.sex", choices=Sex.choices, read_only=True)

    class Meta:
        model = Case
        fields = [
            "id", "lesion", "patient", "site", "site_name", "visit_date", "technician", "device", "clinical_note",
            "clinical_question", "status", "image_count", "created_at", "updated_at", "submitted_at", "lesion_site",
            "patient_label", "patient_age_years", "patient_sex", "quality_verdict", "report_status",
        ]
        read_only_fields = ["site", "status", "submitted_at"]

    def get_patient_age_years(self, case) -> int | None:
        return case.lesion.patient.age_on(case.visit_date)

    def get_lesion_site(self, case) -> LesionSiteSerializer:
        return LesionSiteSerializer(case.lesion).data

    def get_patient_label(self, case) -> str | None:
        if "clinical_site_ids" not in self.context:  # once per response, not once per row
            self.context["clinical_site_ids"] = clinical_site_ids(user=self.context["request"].user)
        if case.site_id not in self.context["clinical_site_ids"]:
            return None
        patient = case.lesion.patient
        return f"{patient.family_name}, {patient.given_name} · {patient.mrn}"

    def _summary(self, case) -> Case:
        """The list's annotations (reading.selectors.case_list_summary); fetched for a case that came
        without them (after a create or an update)."""
        if not hasattr(case, "quality_verdict"):
            found = case_list_summary(user=self.context["request"].user).filter(pk=case.pk).first()
            case.quality_verdict = found.quality_verdict if found else None
            case.report_status = found.report_status if found else "none"
        return case

    def get_quality_verdict(self, case) -> str | None:
        return self._summary(case).quality_verdict

    def get_report_status(self, case) -> str:
        return self._summary(case).report_status

    def update(self, instance, validated_data):
        validated_data.pop("lesion", None)
        return services.case_update(actor=self.context["request"].user, case=instance, **validated_data)

    def create(self, validated_data):
        return services.case_create(actor=self.context["request"].user, **validated_data)


class RecallSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


def _check_rcm_fields(kind: str, attrs: dict) -> None:
    """Depth belongs to RCM images only; an RCM mosaic must say at which depth it was taken."""
    if kind not in RCM_KINDS and (attrs.get("depth_level") or attrs.get("depth_um") is not None):
        raise serializers.ValidationError({"depth_level": "Depth applies to RCM images only."})
    if kind == ImageKind.RCM_MOSAIC and not attrs.get("depth_level"):
        raise serializers.ValidationError({"depth_level": "An RCM mosaic needs its depth level."})


class ImageSerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()
    thumbnail_url = serializers.SerializerMethodField()
    is_current = serializers.BooleanField(read_only=True, help_text="Not replaced by a later capture.")
    replaces = serializers.SerializerMethodField(help_text="The image this capture replaced, if any.")

    class Meta:
        model = Image
        fields = [
            "id", "case", "kind", "depth_level", "depth_um", "pixel_spacing_um", "z_step_um", "device_profile_code",
            "width", "height", "frames",
            "channels", "bit_depth", "file_format", "sha256", "size_bytes", "status", "status_detail",
            "created_at", "file_url", "thumbnail_url", "is_current", "replaced_by", "replaced_at", "replaces",
        ]
        read_only_fields = [
            "case", "kind", "width", "height", "frames", "channels", "bit_depth", "file_format", "sha256",
            "size_bytes", "status", "status_detail", "device_profile_code", "replaced_by", "replaced_at",
        ]
        extra_kwargs = {
            "depth_um": {"min_value": 0, "max_value": 1000},
            "pixel_spacing_um": {"min_value": 0.01, "max_value": 1000},
            "z_step_um": {"min_value": 0.1, "max_value": 100},
        }

    def get_file_url(self, image: Image) -> str:
        return self.context["request"].build_absolute_uri(f"/api/v1/images/{image.id}/file/")

    def get_thumbnail_url(self, image: Image) -> str | None:
        if not image.thumbnail:
            return None
        return self.context["request"].build_absolute_uri(f"/api/v1/images/{image.id}/thumbnail/")

    def get_replaces(self, image: Image) -> str | None:
        """From the prefetched reverse link (image_list prefetches it); at most one image per capture."""
        replaced = list(image.replaces.all())
        return str(replaced[0].id) if replaced else None

    def validate(self, attrs):
        _check_rcm_fields(self.instance.kind, {"depth_level": self.instance.depth_level, "depth_um": self.instance.depth_um, **attrs})
        return attrs

    def update(self, instance, validated_data):
        return steps.image_save(actor=self.context["request"].user, image=instance, **validated_data)


class ImageFieldsSerializer(serializers.Serializer):
    """What an upload says about its image, whichever way the bytes come: the multipart form's
    fields (ImageUploadSerializer) and the Upload-Metadata of a resumable upload (cases.tus) are
    validated by this one set of rules."""

    kind = serializers.ChoiceField(choices=ImageKind.choices)
    depth_level = serializers.ChoiceField(choices=DepthLevel.choices, required=False, allow_blank=True)
    depth_um = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1000)
    pixel_spacing_um = serializers.FloatField(required=False, allow_null=True, min_value=0.01, max_value=1000)
    z_step_um = serializers.FloatField(required=False, allow_null=True, min_value=0.1, max_value=100)
    device_profile = serializers.SlugRelatedField(
        slug_field="code", queryset=DeviceProfile.objects.filter(is_active=True), required=False, allow_null=True,
        help_text="The capture device's export layout; guessed from the image size when left out.",
    )
    replaces = serializers.UUIDField(
        required=False, allow_null=True,
        help_text="A current image of the same case and kind that this new capture replaces (kept as history).",
    )

    def validate(self, attrs):
        _check_rcm_fields(attrs["kind"], attrs)
        if attrs.get("z_step_um") is not None and attrs["kind"] != ImageKind.RCM_STACK:
            raise serializers.ValidationError({"z_step_um": "A z step applies to RCM stacks only."})
        profile = attrs.pop("device_profile", None)
        if profile is not None:
            if attrs["kind"] not in RCM_KINDS:
                raise serializers.ValidationError({"device_profile": "Device profiles apply to RCM images only."})
            attrs["device_profile_code"] = profile.code
        return attrs


class ImageUploadSerializer(ImageFieldsSerializer):
    file = serializers.FileField(allow_empty_file=True, use_url=False)


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
    technician = filters.NumberFilter()
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


class PatientViewSet(AuditedReadsMixin, mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                     mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Patients of the sites where you are a technician or site admin."""

    serializer_class = PatientSerializer
    filterset_class = PatientFilter
    ordering_fields = ["family_name", "created_at", "mrn"]
    audit_object_type = "patient"

    def get_queryset(self):
        return selectors.patient_list(user=self.request.user)


class LesionViewSet(AuditedReadsMixin, mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                    mixins.UpdateModelMixin, viewsets.GenericViewSet):
    serializer_class = LesionSerializer
    filterset_class = LesionFilter
    ordering_fields = ["created_at", "label"]
    audit_object_type = "lesion"

    def get_queryset(self):
        return selectors.lesion_list(user=self.request.user)

    def audit_site_id(self, obj):
        return obj.patient.site_id


class CaseViewSet(AuditedReadsMixin, mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
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
        if int(request.META.get("CONTENT_LENGTH") or 0) > limit + settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
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


class LandmarkSerializer(serializers.Serializer):
    dermoscopy = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)
    mosaic = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)


class RegistrationSerializer(serializers.Serializer):
    dermoscopy = serializers.UUIDField(help_text="The case's dermoscopy image.")
    matrix = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=3, max_length=3),
        min_length=3, max_length=3, required=False,
        help_text="3x3, dermoscopy pixels (x, y, 1) → mosaic pixels; from a device that coregisters.",
    )
    landmarks = LandmarkSerializer(many=True, required=False, help_text="Three or more pairs; fitted by least squares.")
    source = serializers.ChoiceField(
        choices=RegistrationSource.choices, required=False,
        help_text="Who made a matrix: device (default), placed (a person moved the field), automatic (an accepted "
                  "proposal). Landmarks are always 'landmarks'.")
    rms_error_px = serializers.FloatField(read_only=True, allow_null=True)
    rms_error_um = serializers.FloatField(read_only=True, allow_null=True,
                                          help_text="The landmark fit's RMS residual at the mosaic's pixel spacing.")
    created_by = serializers.CharField(read_only=True, help_text="Who recorded it (name or user name).")
    updated_at = serializers.DateTimeField(read_only=True)

    def validate(self, attrs):
        if ("matrix" in attrs) == ("landmarks" in attrs):
            raise serializers.ValidationError("Give either a matrix or landmarks, not both and not neither.")
        if "landmarks" in attrs and attrs.get("source", RegistrationSource.LANDMARKS) != RegistrationSource.LANDMARKS:
            raise serializers.ValidationError({"source": "Landmark pairs make a 'landmarks' registration."})
        return attrs

    def to_representation(self, registration):
        spacing = registration.mosaic.pixel_spacing_um
        rms = registration.rms_error_px
        return {
            "dermoscopy": str(registration.dermoscopy_id), "matrix": registration.matrix,
            "landmarks": registration.landmarks, "source": registration.source,
            "rms_error_px": rms, "rms_error_um": round(rms * spacing, 2) if rms is not None and spacing else None,
            "created_by": registration.created_by.get_full_name() or registration.created_by.username,
            "updated_at": registration.updated_at,
        }


class RegistrationProposalRequestSerializer(serializers.Serializer):
    dermoscopy = serializers.UUIDField(help_text="The case's dermoscopy image.")


class RegistrationProposalSerializer(serializers.Serializer):
    dermoscopy = serializers.UUIDField()
    confident = serializers.BooleanField(help_text="Whether a proposal is offered; without one, matrix is null.")
    matrix = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=3, max_length=3),
        min_length=3, max_length=3, allow_null=True,
        help_text="3x3, dermoscopy pixels → mosaic pixels; not saved: PUT it to the registration with source "
                  "'automatic' to accept it.")
    score = serializers.FloatField(allow_null=True, help_text="Normalised cross-correlation at the best placement (-1..1).")
    margin = serializers.FloatField(allow_null=True, help_text="How far the best placement's score lies above the best "
                                                               "placement elsewhere (a quarter field or more away).")
    method = serializers.CharField()
    method_description = serializers.CharField()
    statement = serializers.CharField(help_text="In words: what is proposed, or why nothing is.")


class ImageViewSet(AuditedReadsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin,
                   mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Images are created by uploading to a case (POST /cases/{id}/images/)."""

    serializer_class = ImageSerializer
    filterset_class = ImageFilter
    ordering_fields = ["created_at", "depth_um", "kind"]
    audit_object_type = "image"

    def get_queryset(self):
        # A registration is drawn on the images, like the lesion outline: the assigned reader may set one
        # too, and the service checks who may (annotation_scope); every other change is the clinic's.
        for_change = self.request.method not in SAFE_METHODS and self.action not in ("registration", "registration_proposal")
        images = selectors.image_list(user=self.request.user, for_change=for_change)
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
        """The original file as uploaded, as an attachment."""
        image = self.get_object()
        audit_record(actor=request.user, action="download", object_type="image", object_id=image.id,
                     site_id=image.case.site_id)
        response = FileResponse(
            image.file.open("rb"), as_attachment=True, filename=f"{image.id}.{EXTENSIONS[image.file_format]}",
            content_type=MEDIA_TYPES[image.file_format],
        )
        response["Cache-Control"] = "private, no-store"
        return response

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def viewer(self, request, pk=None):
        """Deep-zoom descriptor with signed tile URLs; one audit event per image view, none per tile."""
        image = self.get_object()
        descriptor = imaging_selectors.viewer_descriptor(image=image, absolute=request.build_absolute_uri)
        if descriptor is None:
            raise NotFound("The image is still being prepared for viewing.", code="not_ready")
        descriptor["overlays"] = analysis_selectors.overlays_for(image=image, absolute=request.build_absolute_uri)
        audit_record(actor=request.user, action="view_image", object_type="image", object_id=image.id,
                     site_id=image.case.site_id)
        return Response(descriptor)

    @extend_schema(methods=["GET"], responses=RegistrationSerializer)
    @extend_schema(methods=["PUT"], request=RegistrationSerializer, responses=RegistrationSerializer)
    @action(detail=True, methods=["get", "put"])
    def registration(self, request, pk=None):
        """Dermoscopy → mosaic registration of this mosaic: a 3x3 matrix, or fitted from landmarks. The
        clinic and the case's assigned reader may set it; the mosaic is judged again at once."""
        mosaic = self.get_object()
        if request.method == "GET":
            found = imaging_selectors.registration_of(mosaic=mosaic)
            if found is None:
                raise NotFound("This mosaic has no registration yet.", code="not_registered")
            return Response(RegistrationSerializer(found).data)
        serializer = RegistrationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        dermoscopy = self.get_queryset().filter(pk=data["dermoscopy"]).first()
        if dermoscopy is None:
            raise serializers.ValidationError({"dermoscopy": "No such image."})
        registration = steps.registration_save(
            actor=request.user, mosaic=mosaic, dermoscopy=dermoscopy, matrix=data.get("matrix"),
            landmarks=[dict(p) for p in data["landmarks"]] if "landmarks" in data else None,
            source=data.get("source", RegistrationSource.DEVICE),
        )
        return Response(RegistrationSerializer(registration).data)

    @extend_schema(request=RegistrationProposalRequestSerializer, responses=RegistrationProposalSerializer)
    @action(detail=True, methods=["post"], url_path="registration/proposal")
    def registration_proposal(self, request, pk=None):
        """An automatic proposal of this mosaic's registration to the case's dermoscopy, not saved; when no
        placement is clearly the best, confident is false and the statement says why (never a guess)."""
        mosaic = self.get_object()
        serializer = RegistrationProposalRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        dermoscopy = self.get_queryset().filter(pk=serializer.validated_data["dermoscopy"]).first()
        if dermoscopy is None:
            raise serializers.ValidationError({"dermoscopy": "No such image."})
        proposal = imaging_selectors.registration_proposal(actor=request.user, mosaic=mosaic, dermoscopy=dermoscopy)
        return Response(RegistrationProposalSerializer({
            "dermoscopy": dermoscopy.id, "confident": proposal.confident, "matrix": proposal.matrix,
            "score": None if proposal.score is None else round(proposal.score, 3),
            "margin": None if proposal.margin is None else round(proposal.margin, 3),
            "method": proposal.method, "method_description": METHOD_TEXT, "statement": proposal.statement,
        }).data)

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


class AnatomSiteSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="The ISIC term, stored as the lesion's anatom_site.")
    label = serializers.CharField()
    path = serializers.ListField(child=serializers.CharField(), help_text="The term's levels, broadest first.")
    depth = serializers.IntegerField()


class AnatomSiteGroupSerializer(serializers.Serializer):
    general = serializers.CharField(help_text="anatom_site_general; empty for terms no single one covers.")
    label = serializers.CharField()
    sites = AnatomSiteSerializer(many=True)


class AnatomSiteVocabularyView(APIView):
    """The ISIC anatomic-site vocabulary the platform validates lesions against."""

    @extend_schema(responses=AnatomSiteGroupSerializer(many=True))
    def get(self, request):
        """Every hierarchical term grouped under its general site, broadest first, for a body picker
        and a searchable list; no patient data."""
        return Response(anatom_site_groups())
