"""REST API of what imaging makes of an image: the deep-zoom viewer descriptor and the dermoscopy →
mosaic registration (set, read, or proposed automatically). Same URLs as the image itself
(/images/{id}/viewer/, /images/{id}/registration/), found through the same read scope: a
registration is drawn on the images like the lesion outline, so the case's assigned reader may set
one too and the step checks who may (cases.selectors.annotation_scope)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from dermrelay.analysis import selectors as analysis_selectors
from dermrelay.analysis.serializers import OverlaySerializer
from dermrelay.api import AuditedReadsMixin
from dermrelay.audit.services import audit_record
from dermrelay.cases import selectors as case_selectors
from dermrelay.cases.models import DepthLevel, ImageKind
from dermrelay.pipeline import steps

from . import selectors
from .auto_registration import METHOD_TEXT
from .models import RegistrationSource


class LandmarkSerializer(serializers.Serializer):
    dermoscopy = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)
    mosaic = serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)


class RegistrationWriteSerializer(serializers.Serializer):
    """A registration as a clinic or the case's reader gives it: a matrix, or landmark pairs."""

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

    def validate(self, attrs):
        if ("matrix" in attrs) == ("landmarks" in attrs):
            raise serializers.ValidationError("Give either a matrix or landmarks, not both and not neither.")
        if "landmarks" in attrs and attrs.get("source", RegistrationSource.LANDMARKS) != RegistrationSource.LANDMARKS:
            raise serializers.ValidationError({"source": "Landmark pairs make a 'landmarks' registration."})
        return attrs


class RegistrationSerializer(serializers.Serializer):
    """The mosaic's registration as recorded: the matrix (fitted, when landmarks were given)."""

    dermoscopy = serializers.UUIDField()
    matrix = serializers.ListField(
        child=serializers.ListField(child=serializers.FloatField(), min_length=3, max_length=3),
        min_length=3, max_length=3, help_text="3x3, dermoscopy pixels (x, y, 1) → mosaic pixels.")
    landmarks = LandmarkSerializer(many=True, allow_null=True, help_text="The pairs it was fitted to; null for a matrix.")
    source = serializers.ChoiceField(choices=RegistrationSource.choices)
    rms_error_px = serializers.FloatField(allow_null=True)
    rms_error_um = serializers.FloatField(allow_null=True, help_text="The landmark fit's RMS residual at the mosaic's pixel spacing.")
    created_by = serializers.CharField(help_text="Who recorded it (name or user name).")
    updated_at = serializers.DateTimeField()

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


class ViewerFrameSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    depth_um = serializers.FloatField(allow_null=True, help_text="a stack's frame i lies at depth_um + i × z_step_um")
    dzi = serializers.URLField()
    tiles = serializers.CharField(help_text="URL template with {level}, {col} and {row}")


class DisplayWindowSerializer(serializers.Serializer):
    low = serializers.FloatField()
    high = serializers.FloatField()


class ViewerDescriptorSerializer(serializers.Serializer):
    """What a deep-zoom viewer needs, with signed tile URLs (until `expires_at`) and the overlays
    drawn over the image."""

    image = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=ImageKind.choices)
    depth_level = serializers.ChoiceField(choices=DepthLevel.choices, allow_blank=True)
    width = serializers.IntegerField(help_text="of the viewable area, after any caption crop")
    height = serializers.IntegerField()
    tile_size = serializers.IntegerField()
    overlap = serializers.IntegerField()
    format = serializers.CharField()
    max_level = serializers.IntegerField()
    pixel_spacing_um = serializers.FloatField(allow_null=True)
    display_window = DisplayWindowSerializer(allow_null=True, help_text="source values mapped to black and white")
    crop = serializers.ListField(child=serializers.IntegerField(), min_length=4, max_length=4, allow_null=True,
                                 help_text="[x, y, width, height] in source pixels")
    frames = ViewerFrameSerializer(many=True)
    thumbnail = serializers.URLField()
    expires_at = serializers.DateTimeField()
    overlays = OverlaySerializer(many=True)


class ImageViewingViewSet(AuditedReadsMixin, viewsets.GenericViewSet):
    """The viewer and registration actions of /images/{id}/ (the image's own record is cases.api)."""

    audit_object_type = "image"

    def get_queryset(self):
        return case_selectors.image_list(user=self.request.user, for_change=False)

    def audit_site_id(self, obj):
        return obj.case.site_id

    @extend_schema(responses=ViewerDescriptorSerializer)
    @action(detail=True, methods=["get"])
    def viewer(self, request, pk=None):
        """Deep-zoom descriptor with signed tile URLs; one audit event per image view, none per tile."""
        image = self.get_object()
        descriptor = selectors.viewer_descriptor(image=image, absolute=request.build_absolute_uri)
        if descriptor is None:
            raise NotFound("The image is still being prepared for viewing.", code="not_ready")
        descriptor["overlays"] = analysis_selectors.overlays_for(image=image, absolute=request.build_absolute_uri)
        audit_record(actor=request.user, action="view_image", object_type="image", object_id=image.id,
                     site_id=image.case.site_id)
        return Response(descriptor)

    @extend_schema(methods=["GET"], responses=RegistrationSerializer)
    @extend_schema(methods=["PUT"], request=RegistrationWriteSerializer, responses=RegistrationSerializer)
    @action(detail=True, methods=["get", "put"])
    def registration(self, request, pk=None):
        """Dermoscopy → mosaic registration of this mosaic: a 3x3 matrix, or fitted from landmarks. The
        clinic and the case's assigned reader may set it; the mosaic is judged again at once."""
        mosaic = self.get_object()
        if request.method == "GET":
            found = selectors.registration_of(mosaic=mosaic)
            audit_record(actor=request.user, action="view_registration", object_type="image", object_id=mosaic.id,
                         site_id=mosaic.case.site_id)
            if found is None:
                raise NotFound("This mosaic has no registration yet.", code="not_registered")
            return Response(RegistrationSerializer(found).data)
        serializer = RegistrationWriteSerializer(data=request.data)
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
        proposal = selectors.registration_proposal(actor=request.user, mosaic=mosaic, dermoscopy=dermoscopy)
        return Response(RegistrationProposalSerializer({
            "dermoscopy": dermoscopy.id, "confident": proposal.confident, "matrix": proposal.matrix,
            "score": None if proposal.score is None else round(proposal.score, 3),
            "margin": None if proposal.margin is None else round(proposal.margin, 3),
            "method": proposal.method, "method_description": METHOD_TEXT, "statement": proposal.statement,
        }).data)
