"""Serializers of patients, lesions, cases and images, and of the anatomic-site vocabulary."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dermrelay.accounts.models import Role, Site, User
from dermrelay.accounts.selectors import clinical_site_ids
from dermrelay.gate.models import Verdict
from dermrelay.imaging.models import DeviceProfile
from dermrelay.pipeline import steps
from dermrelay.reading.selectors import case_list_summary

from . import selectors, services
from .models import RCM_KINDS, Case, DepthLevel, Image, ImageKind, Lesion, Patient, Sex


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
    image_count = serializers.SerializerMethodField(help_text="The case's current images (not those replaced).")
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

    def get_image_count(self, case) -> int:
        """The list's annotation (cases.selectors); counted for a case that came without it (after a
        create or an update: a partial update used to leave the key out)."""
        counted = getattr(case, "image_count", None)
        return counted if counted is not None else case.images.filter(replaced_by__isnull=True).count()

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

    @extend_schema_field(serializers.ChoiceField(choices=Verdict.choices, allow_null=True))
    def get_quality_verdict(self, case):
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


class AnatomSiteSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="The ISIC term, stored as the lesion's anatom_site.")
    label = serializers.CharField()
    path = serializers.ListField(child=serializers.CharField(), help_text="The term's levels, broadest first.")
    depth = serializers.IntegerField()


class AnatomSiteGroupSerializer(serializers.Serializer):
    general = serializers.CharField(help_text="anatom_site_general; empty for terms no single one covers.")
    label = serializers.CharField()
    sites = AnatomSiteSerializer(many=True)
