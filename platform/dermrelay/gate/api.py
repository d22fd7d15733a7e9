"""The quality gate over the API: the case's quality answer (JSON and Server-Sent Events), the lesion
outline and expert annotations drawn on the images, and a site's thresholds. Objects are found in
the requesting user's scope (dermrelay.api), as the images themselves are."""

from __future__ import annotations

import hashlib
import json
import time

from django.conf import settings
from django.db import close_old_connections
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import APIView

from dermrelay.accounts.models import Role, Site
from dermrelay.accounts.selectors import site_ids_for_user
from dermrelay.analysis import selectors as analysis_selectors
from dermrelay.analysis.models import OverlayKind
from dermrelay.api import case_in_scope, image_in_scope, require_site_admin, scoped_object
from dermrelay.audit.services import audit_record
from dermrelay.cases.models import Case
from dermrelay.pipeline import steps

from . import selectors
from .models import ExpertAnnotation, MosaicQuality, QualityPolicy
from .serializers import (
    CaseQualitySerializer, ExpertAnnotationSavedSerializer, ExpertAnnotationSerializer, ExpertPolygonsSerializer,
    LesionOutlineSerializer, PolygonSerializer, QualityPolicySerializer,
)


class CaseQualityView(APIView):
    @extend_schema(responses=CaseQualitySerializer)
    def get(self, request, pk):
        """The case's quality gate now: poll it, or stream it from `stream/`."""
        case = case_in_scope(request, pk, "view_quality")
        audit_record(actor=request.user, action="view_quality", object_type="case", object_id=case.id, site_id=case.site_id)
        return Response(selectors.case_quality(case=case))


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
            payload = selectors.case_quality(case=case)
            digest = _digest(payload)
            if digest != last_digest:
                yield _event("quality", payload)
                last_digest, last_sent = digest, time.monotonic()
            progress = analysis_selectors.case_progress(case=case)
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
        case = case_in_scope(request, pk, "view_quality")
        audit_record(actor=request.user, action="view_quality", object_type="case", object_id=case.id,
                     site_id=case.site_id, detail={"stream": True})
        response = StreamingHttpResponse(
            quality_events(case.id, poll_seconds=settings.DERMRELAY_SSE_POLL_SECONDS,
                           max_seconds=settings.DERMRELAY_SSE_MAX_SECONDS),
            content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"  # nginx: pass events through as they come
        return response


class LesionOutlineView(APIView):
    """Found through the read scope (another site's image, or a case not assigned to this reader, is
    a 404); who may write is gate.annotations' check (cases.selectors.annotation_scope)."""

    @extend_schema(responses=LesionOutlineSerializer)
    def get(self, request, pk):
        image = image_in_scope(request, pk, "view_lesion_outline")
        found = selectors.lesion_outline_of(dermoscopy=image)
        if found is None:
            raise NotFound("This image has no lesion outline.", code="no_outline")
        audit_record(actor=request.user, action="view_lesion_outline", object_type="image", object_id=image.id,
                     site_id=image.case.site_id)
        return Response(found)

    @extend_schema(request=PolygonSerializer, responses=LesionOutlineSerializer)
    def put(self, request, pk):
        """Outline the lesion on the dermoscopy image (the clinic, or the case's assigned reader); it
        wins over a model's, and the case's mosaics are judged again at once. 409 once signed."""
        image = image_in_scope(request, pk, "update_lesion_outline")
        serializer = PolygonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        steps.lesion_outline_save(actor=request.user, dermoscopy=image, polygon=serializer.validated_data["polygon"])
        return Response(selectors.lesion_outline_of(dermoscopy=image))

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        image = image_in_scope(request, pk, "delete_lesion_outline")
        steps.lesion_outline_remove(actor=request.user, dermoscopy=image)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ExpertAnnotationView(APIView):
    """Found through the read scope like the image itself (404 elsewhere); site administrators and
    the case's assigned reader write (403 for others who can see it, 409 once the case is signed)."""

    @extend_schema(responses=ExpertAnnotationSerializer)
    def get(self, request, pk):
        image = image_in_scope(request, pk, "view_expert_annotation")
        found = ExpertAnnotation.objects.filter(image=image).order_by("-updated_at").first()
        if found is None:
            raise NotFound("This mosaic has no expert annotation.", code="no_annotation")
        audit_record(actor=request.user, action="view_expert_annotation", object_type="image", object_id=image.id,
                     site_id=image.case.site_id)
        return Response({"image": str(image.id), "polygons": found.polygons, "author": found.created_by_id,
                         "updated_at": found.updated_at})

    @extend_schema(request=ExpertPolygonsSerializer, responses=ExpertAnnotationSavedSerializer)
    def put(self, request, pk):
        """An expert's uninformative areas (site administrators, or the case's assigned reader): the
        answer carries the agreement figures and the agreement overlay (as in `viewer/`), both null
        until the mosaic's quality run is judged."""
        image = image_in_scope(request, pk, "update_expert_annotation")
        serializer = ExpertPolygonsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        steps.expert_annotation_save(actor=request.user, image=image, polygons=serializer.validated_data["polygons"])
        judged = MosaicQuality.objects.filter(image=image).first()
        overlay = next((o for o in analysis_selectors.overlays_for(image=image, absolute=request.build_absolute_uri)
                        if o["kind"] == OverlayKind.AGREEMENT), None)
        agreement = selectors.agreements_named([judged.agreement])[0] if judged else None
        return Response({"image": str(image.id), "agreement": agreement, "overlay": overlay})

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        """Remove your own annotation of this mosaic."""
        image = image_in_scope(request, pk, "delete_expert_annotation")
        if not steps.expert_annotation_remove(actor=request.user, image=image):
            raise NotFound("You have no expert annotation on this mosaic.", code="no_annotation")
        return Response(status=status.HTTP_204_NO_CONTENT)


class SiteQualityPolicyView(APIView):
    @extend_schema(responses=QualityPolicySerializer)
    def get(self, request, pk):
        """The site's thresholds (the defaults until a site administrator sets them)."""
        site = scoped_object(Site.objects.filter(id__in=site_ids_for_user(user=request.user, roles=Role.values)), pk,
                       object_type="site", action="view_quality_policy", user=request.user)
        review, reimage = selectors.quality_thresholds(site_id=site.id)
        return Response({"review_at_percent": review, "reimage_at_percent": reimage,
                         "is_default": not QualityPolicy.objects.filter(site=site).exists()})

    @extend_schema(request=QualityPolicySerializer, responses=QualityPolicySerializer)
    def put(self, request, pk):
        site = scoped_object(Site.objects.filter(id__in=site_ids_for_user(user=request.user, roles=Role.values)), pk,
                       object_type="site", action="update_quality_policy", user=request.user)
        require_site_admin(request.user, site.id)
        serializer = QualityPolicySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = steps.quality_policy_save(actor=request.user, site=site, **serializer.validated_data)
        return Response({"review_at_percent": policy.review_at_percent, "reimage_at_percent": policy.reimage_at_percent,
                         "is_default": False})
