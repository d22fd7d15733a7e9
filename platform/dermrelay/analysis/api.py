"""Analyses over the API: the case quality answer (JSON and Server-Sent Events), runs and admin
re-runs, the lesion outline, expert annotations, site thresholds, model versions and plans.

Objects are found through the cases selectors, so scoping is the same as for the images
themselves: another site's case is a 404 (and an audited denial).
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import close_old_connections
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import APIView

from dermrelay.accounts.models import Role, Site
from dermrelay.accounts.selectors import site_ids_for_user
from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record
from dermrelay.cases import selectors as case_selectors
from dermrelay.cases.models import Case, Image
from dermrelay.cases.vocabulary import ANATOM_SITE_GENERAL_CHOICES, validate_anatom_site

from dermrelay.gate import selectors as gate_selectors
from dermrelay.gate.models import ExpertAnnotation, MosaicQuality, QualityPolicy
from dermrelay.pipeline import steps

from . import runs, selectors
from .models import ModelVersion, OverlayKind


def _scoped(queryset, pk, *, object_type: str, action: str, user):
    """The object if the user may see it; else a 404, audited as a denial when it exists."""
    try:
        key = uuid.UUID(str(pk))
    except ValueError:
        raise Http404 from None
    found = queryset.filter(pk=key).first()
    if found is None:
        if queryset.model.objects.filter(pk=key).exists():
            audit_record(actor=user, action=action, object_type=object_type, object_id=key, outcome=AuditOutcome.DENIED)
        raise Http404
    return found


def _case(request, pk, action: str, *, for_change: bool = False) -> Case:
    """for_change: a write to the clinic's own records (readers read assigned cases, never change them)."""
    return _scoped(case_selectors.case_list(user=request.user, for_change=for_change), pk, object_type="case",
                   action=action, user=request.user)


def _image(request, pk, action: str) -> Image:
    return _scoped(case_selectors.image_list(user=request.user), pk, object_type="image", action=action, user=request.user)


def _require_site_admin(user, site_id) -> None:
    if not (user.is_staff or site_id in site_ids_for_user(user=user, roles=[Role.SITE_ADMIN])):
        raise PermissionDenied("Only a site administrator of this case's site may do this.")


QUALITY_SCHEMA = OpenApiResponse(OpenApiTypes.OBJECT, description=(
    "state: no_mosaics | pending | complete; verdict: acceptable | review | reimage (worst mosaic; partial "
    "while pending); per mosaic: state (preparing, analysing, judging, done, failed, not_analysed), "
    "% uninformative over the whole mosaic and within the lesion, basis and its note, thresholds used, "
    "model identity, timings, agreement with an expert annotation."))


class CaseQualityView(APIView):
    @extend_schema(responses={200: QUALITY_SCHEMA})
    def get(self, request, pk):
        """The case's quality gate now: poll it, or stream it from `stream/`."""
        case = _case(request, pk, "view_quality")
        audit_record(actor=request.user, action="view_quality", object_type="case", object_id=case.id, site_id=case.site_id)
        return Response(gate_selectors.case_quality(case=case))


class EventStreamRenderer(BaseRenderer):
    media_type = "text/event-stream"
    format = "sse"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return f"event: error\ndata: {json.dumps(data, cls=JSONEncoder)}\n\n".encode()


def _event(name: str, payload) -> bytes:
    """DRF's encoder, so that an event's data is the very JSON the polling endpoint answers."""
    return f"event: {name}\ndata: {json.dumps(payload, cls=JSONEncoder, separators=(',', ':'))}\n\n".encode()


def _digest(payload) -> str:
    return hashlib.sha256(json.dumps(payload, cls=JSONEncoder, sort_keys=True).encode()).hexdigest()


def quality_events(case_id, *, poll_seconds: float, max_seconds: float, heartbeat_seconds: float = 15.0):
    """`quality` events whenever the case's answer changes and `progress` events whenever the case's
    status or an image's or run's state does (the page re-reads what changed instead of polling),
    then `done` once the answer is complete and the case is no longer on its way to the reading
    list (then the stream ends); a comment line now and then keeps proxies from closing an idle
    stream. A client that reconnects (EventSource does, after `retry`) gets the current state first."""
    yield b"retry: 3000\n\n"
    last_digest, last_progress, last_sent, started = None, None, time.monotonic(), time.monotonic()
    try:
        while True:
            close_old_connections()
            case = Case.objects.get(pk=case_id)
            payload = gate_selectors.case_quality(case=case)
            digest = _digest(payload)
            if digest != last_digest:
                yield _event("quality", payload)
                last_digest, last_sent = digest, time.monotonic()
            progress = selectors.case_progress(case=case)
            if progress != last_progress:
                yield _event("progress", progress)
                last_progress, last_sent = progress, time.monotonic()
            if payload["state"] != "pending" and not progress["case_moving"]:
                yield _event("done", {"state": payload["state"], "verdict": payload["verdict"]})
                return
            if time.monotonic() - started > max_seconds:
                yield _event("timeout", {"detail": "Still pending; reconnect to keep following."})
                return
            if time.monotonic() - last_sent > heartbeat_seconds:
                yield b": keep-alive\n\n"
                last_sent = time.monotonic()
            time.sleep(poll_seconds)
    finally:
        close_old_connections()


class CaseQualityStreamView(APIView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(responses={(200, "text/event-stream"): OpenApiTypes.STR})
    def get(self, request, pk):
        """Server-Sent Events: `quality` (the same body as `quality/`) and `progress` (case status, each
        image's and run's state) on every change, then `done`."""
        case = _case(request, pk, "view_quality")
        audit_record(actor=request.user, action="view_quality", object_type="case", object_id=case.id,
                     site_id=case.site_id, detail={"stream": True})
        response = StreamingHttpResponse(
            quality_events(case.id, poll_seconds=settings.DERMRELAY_SSE_POLL_SECONDS,
                           max_seconds=settings.DERMRELAY_SSE_MAX_SECONDS),
            content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: pass events through as they come
        return response


class RerunSerializer(serializers.Serializer):
    model_version = serializers.IntegerField(help_text="id of a ModelVersion (see /models/)")


class CaseAnalysesView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        """Every analysis run of the case's images, with model identity, state, numbers and timings."""
        case = _case(request, pk, "view_analyses")
        audit_record(actor=request.user, action="view_analyses", object_type="case", object_id=case.id, site_id=case.site_id)
        runs = selectors.run_list(images=case.images.all())
        return Response({"case": str(case.id), "runs": [dict(selectors.run_summary(r), image=str(r.image_id)) for r in runs]})


class CaseAnalysesRerunView(APIView):
    @extend_schema(request=RerunSerializer, responses={202: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        """Run a model version again on the case's images (site administrators)."""
        case = _case(request, pk, "rerun_analysis")
        _require_site_admin(request.user, case.site_id)
        serializer = RerunSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        version = ModelVersion.objects.filter(pk=serializer.validated_data["model_version"]).first()
        if version is None:
            raise serializers.ValidationError({"model_version": "No such model version."})
        queued = runs.case_analyses_rerun(actor=request.user, case=case, model_version=version)
        return Response({"runs": [str(r.id) for r in queued]}, status=status.HTTP_202_ACCEPTED)


class CaseFindingsView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        """Model results beside the images: diagnosis (model B, ranked classes and the location it
        used) per dermoscopy image, the body-region map per clinical photo."""
        case = _case(request, pk, "view_findings")
        audit_record(actor=request.user, action="view_findings", object_type="case", object_id=case.id, site_id=case.site_id)
        return Response(selectors.case_findings(case=case))


class AnatomicSiteSerializer(serializers.Serializer):
    anatom_site_general = serializers.ChoiceField(choices=ANATOM_SITE_GENERAL_CHOICES, required=False, allow_blank=True)
    anatom_site = serializers.CharField(required=False, allow_blank=True, max_length=120)

    def validate_anatom_site(self, value):
        try:
            validate_anatom_site(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None
        return value


class AnatomicSiteSuggestionView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        """The anatomic site the clinical photos' body-region maps suggest, beside the recorded one."""
        case = _case(request, pk, "view_site_suggestion")
        return Response(selectors.anatomic_site_suggestion(case=case))

    @extend_schema(request=AnatomicSiteSerializer, responses={200: OpenApiTypes.OBJECT})
    def post(self, request, pk):
        """Confirm the suggestion (empty body) or give the site yourself; the lesion is updated and
        the diagnosis runs again with it."""
        case = _case(request, pk, "confirm_anatomic_site", for_change=True)  # the lesion is the clinic's record
        serializer = AnatomicSiteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        given = serializer.validated_data
        if not given:
            suggestion = selectors.anatomic_site_suggestion(case=case)["suggestion"]
            if suggestion is None:
                raise serializers.ValidationError({"anatom_site": "There is no suggestion to confirm: give the site."})
            given = suggestion
        steps.anatomic_site_confirm(actor=request.user, case=case, anatom_site_general=given.get("anatom_site_general", ""),
                                       anatom_site=given.get("anatom_site", ""))
        return Response(selectors.anatomic_site_suggestion(case=Case.objects.get(pk=case.pk)))


class PolygonSerializer(serializers.Serializer):
    polygon = serializers.ListField(child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2),
                                    min_length=3, max_length=10000, help_text="[[x, y], ...] in dermoscopy pixels")


class LesionOutlineView(APIView):
    """Found through the read scope (another site's image, or a case not assigned to this reader, is
    a 404); who may write is gate.annotations' check (cases.selectors.annotation_scope)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        image = _image(request, pk, "view_lesion_outline")
        found = gate_selectors.lesion_outline_of(dermoscopy=image)
        if found is None:
            raise NotFound("This image has no lesion outline.", code="no_outline")
        audit_record(actor=request.user, action="view_lesion_outline", object_type="image", object_id=image.id,
                     site_id=image.case.site_id)
        return Response(found)

    @extend_schema(request=PolygonSerializer, responses={200: OpenApiTypes.OBJECT})
    def put(self, request, pk):
        """Outline the lesion on the dermoscopy image (the clinic, or the case's assigned reader); it
        wins over a model's, and the case's mosaics are judged again at once. 409 once signed."""
        image = _image(request, pk, "update_lesion_outline")
        serializer = PolygonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        steps.lesion_outline_save(actor=request.user, dermoscopy=image, polygon=serializer.validated_data["polygon"])
        return Response(gate_selectors.lesion_outline_of(dermoscopy=image))

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        image = _image(request, pk, "delete_lesion_outline")
        steps.lesion_outline_remove(actor=request.user, dermoscopy=image)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExpertAnnotationSerializer(serializers.Serializer):
    polygons = serializers.ListField(
        child=serializers.ListField(child=serializers.ListField(child=serializers.FloatField(), min_length=2, max_length=2)),
        max_length=1000, help_text="[[[x, y], ...], ...] uninformative areas in mosaic pixels")


class ExpertAnnotationView(APIView):
    """Found through the read scope like the image itself (404 elsewhere); site administrators and
    the case's assigned reader write (403 for others who can see it, 409 once the case is signed)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk):
        image = _image(request, pk, "view_expert_annotation")
        found = ExpertAnnotation.objects.filter(image=image).order_by("-updated_at").first()
        if found is None:
            raise NotFound("This mosaic has no expert annotation.", code="no_annotation")
        audit_record(actor=request.user, action="view_expert_annotation", object_type="image", object_id=image.id,
                     site_id=image.case.site_id)
        return Response({"image": str(image.id), "polygons": found.polygons, "author": found.created_by_id,
                         "updated_at": found.updated_at})

    @extend_schema(request=ExpertAnnotationSerializer, responses={200: OpenApiTypes.OBJECT})
    def put(self, request, pk):
        """An expert's uninformative areas (site administrators, or the case's assigned reader): the
        answer carries the agreement figures and the agreement overlay (as in `viewer/`), both null
        until the mosaic's quality run is judged."""
        image = _image(request, pk, "update_expert_annotation")
        serializer = ExpertAnnotationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        steps.expert_annotation_save(actor=request.user, image=image, polygons=serializer.validated_data["polygons"])
        judged = MosaicQuality.objects.filter(image=image).first()
        overlay = next((o for o in selectors.overlays_for(image=image, absolute=request.build_absolute_uri)
                        if o["kind"] == OverlayKind.AGREEMENT), None)
        agreement = gate_selectors.agreements_named([judged.agreement])[0] if judged else None
        return Response({"image": str(image.id), "agreement": agreement, "overlay": overlay})

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        """Remove your own annotation of this mosaic."""
        image = _image(request, pk, "delete_expert_annotation")
        if not steps.expert_annotation_remove(actor=request.user, image=image):
            raise NotFound("You have no expert annotation on this mosaic.", code="no_annotation")
        return Response(status=status.HTTP_204_NO_CONTENT)


class QualityPolicySerializer(serializers.Serializer):
    review_at_percent = serializers.FloatField(min_value=0.1, max_value=100)
    reimage_at_percent = serializers.FloatField(min_value=0.1, max_value=100)


class SiteQualityPolicyView(APIView):
    @extend_schema(responses=QualityPolicySerializer)
    def get(self, request, pk):
        """The site's thresholds (the defaults until a site administrator sets them)."""
        site = _scoped(Site.objects.filter(id__in=site_ids_for_user(user=request.user, roles=Role.values)), pk,
                       object_type="site", action="view_quality_policy", user=request.user)
        review, reimage = gate_selectors.quality_thresholds(site_id=site.id)
        return Response({"review_at_percent": review, "reimage_at_percent": reimage,
                         "is_default": not QualityPolicy.objects.filter(site=site).exists()})

    @extend_schema(request=QualityPolicySerializer, responses=QualityPolicySerializer)
    def put(self, request, pk):
        site = _scoped(Site.objects.filter(id__in=site_ids_for_user(user=request.user, roles=Role.values)), pk,
                       object_type="site", action="update_quality_policy", user=request.user)
        _require_site_admin(request.user, site.id)
        serializer = QualityPolicySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = steps.quality_policy_save(actor=request.user, site=site, **serializer.validated_data)
        return Response({"review_at_percent": policy.review_at_percent, "reimage_at_percent": policy.reimage_at_percent,
                         "is_default": False})


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = ["id", "name", "version", "task", "modality", "weights_sha256", "is_active", "status",
                  "status_detail", "card", "synced_at"]


class ModelVersionListView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=ModelVersionSerializer(many=True))
    def get(self, request):
        """Registered model versions with their cards (no patient data)."""
        return Response(ModelVersionSerializer(ModelVersion.objects.all(), many=True).data)


class AnalysisPlanView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: inline_serializer("AnalysisPlanStep", {
        "image_kind": serializers.CharField(), "step": serializers.CharField(), "model": serializers.CharField(),
        "purpose": serializers.CharField(), "status": serializers.CharField(),
        "version": serializers.DictField(allow_null=True)}, many=True)})
    def get(self, request):
        """Which model runs on which image kind, and whether it is installed."""
        return Response(selectors.plan_listing())
