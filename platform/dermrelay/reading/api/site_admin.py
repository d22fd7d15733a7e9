"""A site administrator's reading desk: the site's readers with their load, and the queue of
cases waiting for a reader or held by one."""

from __future__ import annotations

import csv

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from dermrelay.cases.models import Patient

from dermrelay.api import Pagination
from dermrelay.audit.services import audit_record

from .. import selectors
from .base import CaseLesionSerializer, PersonSerializer, ReadingView, admin_site_or_404, person


class SiteReaderSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    full_name = serializers.CharField(help_text="The reader's name, or their username when none is recorded.")
    username = serializers.CharField()
    open_assignments = serializers.IntegerField(help_text=(
        "Active assignments of this site's open cases (submitted to in reading) the reader holds now."))

    def to_representation(self, user):
        return {"id": user.id, "full_name": user.get_full_name() or user.username, "username": user.username,
                "open_assignments": user.open_assignments}


class SiteReadersView(ReadingView):
    @extend_schema(responses=SiteReaderSerializer(many=True))
    def get(self, request, pk):
        """The site's active readers with how many of its open cases each holds now, for assigning
        (only for the site's administrators; a 404 for everyone else)."""
        site = admin_site_or_404(request, pk, "list_readers")
        return Response(SiteReaderSerializer(selectors.site_readers_with_load(site=site), many=True).data)


class QueueAssignmentSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    reader = PersonSerializer(help_text="who holds the case")
    due_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField(help_text="when it was assigned")
    claimed_at = serializers.DateTimeField(allow_null=True, help_text="set while the reader is reading it")

    def to_representation(self, assignment):
        return {"id": str(assignment.id), "reader": person(assignment.reader), "due_at": assignment.due_at,
                "created_at": assignment.created_at, "claimed_at": assignment.claimed_at}


class QueueCaseSerializer(serializers.Serializer):
    """One row of a site administrator's queue: what identifies the case to its clinic, where it
    stands, its quality verdict, and its active assignment (null in the unassigned queue)."""

    id = serializers.UUIDField()
    status = serializers.CharField(help_text="The case status: submitted, processing, ready_for_reading or in_reading.")
    visit_date = serializers.DateField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    patient_label = serializers.SerializerMethodField(help_text="'Family, Given · MRN'")
    lesion = CaseLesionSerializer()
    quality_verdict = serializers.CharField(allow_null=True, help_text=(
        "The worst verdict among the case's current mosaics: acceptable, review or reimage; null when none is judged."))
    assignment = serializers.SerializerMethodField()

    def get_patient_label(self, case) -> str:
        patient = case.lesion.patient
        return f"{patient.family_name}, {patient.given_name} · {patient.mrn}"

    @extend_schema_field(QueueAssignmentSerializer(allow_null=True))
    def get_assignment(self, case):
        active = case.active_assignments[0] if case.active_assignments else None
        return QueueAssignmentSerializer(active).data if active else None


class QueueQuerySerializer(serializers.Serializer):
    assigned = serializers.BooleanField(required=False, default=False)


class SiteReadingQueueView(generics.ListAPIView):
    serializer_class = QueueCaseSerializer
    pagination_class = Pagination
    filter_backends: list = []

    def get_queryset(self):
        self.site = admin_site_or_404(self.request, self.kwargs["pk"], "view_reading_queue")  # a 404 before any 400
        query = QueueQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        self.assigned = query.validated_data["assigned"]
        return selectors.site_reading_queue(user=self.request.user, site=self.site, assigned=self.assigned)

    @extend_schema(parameters=[
        OpenApiParameter("assigned", bool, description=(
            "false (default): submitted, processing or ready-for-reading cases no reader holds, the longest "
            "waiting first; true: open cases with an active assignment (in reading included).")),
    ])
    def get(self, request, *args, **kwargs):
        """The site's cases waiting on its administrator, paginated (only for the site's administrators)."""
        response = super().get(request, *args, **kwargs)
        audit_record(actor=request.user, action="list", object_type="case", site_id=self.site.id,
                     detail={"ids": [str(row["id"]) for row in response.data["results"]],
                             "queue": "assigned" if self.assigned else "unassigned",
                             "filters": sorted(request.query_params.keys())})
        return response


class AccessEventSerializer(serializers.Serializer):
    occurred_at = serializers.DateTimeField()
    actor = serializers.CharField(source="actor_username", help_text="who (empty: not signed in)")
    action = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    outcome = serializers.CharField(help_text="success, denied or failed")
    client_address = serializers.CharField(allow_null=True)
    list_page = serializers.SerializerMethodField(help_text="a list page (worklist, case list…) that showed the patient's data among others")

    def get_list_page(self, event) -> bool:
        return not event.object_id and bool((event.detail or {}).get("ids"))


ACCESS_LOG_COLUMNS = ["occurred_at", "actor", "action", "object_type", "object_id", "list_page", "outcome", "client_address"]


class PatientAccessLogView(generics.ListAPIView):
    """Who saw or changed one patient's data: for the site's administrators (its privacy officer)."""

    serializer_class = AccessEventSerializer
    pagination_class = Pagination
    filter_backends: list = []

    def get_queryset(self):
        self.site = admin_site_or_404(self.request, self.kwargs["pk"], "view_access_log")
        self.patient = Patient.objects.filter(pk=self.kwargs["patient"], site=self.site).first()
        if self.patient is None:
            raise NotFound("No such patient at this site.")
        return selectors.patient_access_events(patient=self.patient)

    @extend_schema(parameters=[
        OpenApiParameter("download", str, enum=["csv"], description="csv: the whole log as a CSV attachment"),
    ])
    def get(self, request, *args, **kwargs):
        """The patient's access log, newest first, paginated; `?download=csv` for all of it as a file."""
        download = request.query_params.get("download")
        if download not in (None, "csv"):
            raise serializers.ValidationError({"download": ["Only 'csv' is offered."]})
        events = self.get_queryset()
        audit_record(actor=request.user, action="view_access_log", object_type="patient", object_id=self.patient.id,
                     site_id=self.site.id, detail={"download": download or ""})
        if download != "csv":
            return super().get(request, *args, **kwargs)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="access-log-{self.patient.id}.csv"'
        writer = csv.DictWriter(response, fieldnames=ACCESS_LOG_COLUMNS)
        writer.writeheader()
        for event in events.iterator(chunk_size=500):
            writer.writerow(AccessEventSerializer(event).data)
        return response
