"""Who reads a case: assigning a reader (site administrators), taking the case back, and the
reader's claim and release."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from dermrelay.accounts.models import User
from dermrelay.audit.services import audit_record

from .. import services
from ..models import Assignment
from .base import PersonSerializer, ReadingView, case_or_404, person


class AssignmentSerializer(serializers.ModelSerializer):
    reader = serializers.SerializerMethodField()
    assigned_by = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = ["id", "case", "reader", "assigned_by", "due_at", "created_at", "claimed_at", "ended_at", "end_reason"]

    @extend_schema_field(PersonSerializer)
    def get_reader(self, assignment):
        return person(assignment.reader)

    @extend_schema_field(PersonSerializer)
    def get_assigned_by(self, assignment):
        return person(assignment.assigned_by)


class CaseAssignmentSerializer(serializers.Serializer):
    active = AssignmentSerializer(allow_null=True, help_text="the current assignment, or null")
    history = AssignmentSerializer(many=True, help_text="every assignment of the case, newest first")


class AssignSerializer(serializers.Serializer):
    reader = serializers.IntegerField(help_text="id of a user with the reader role at the case's site")
    due_at = serializers.DateTimeField(required=False, allow_null=True)


class CaseAssignmentView(ReadingView):
    @extend_schema(responses=CaseAssignmentSerializer)
    def get(self, request, pk):
        """Who reads the case, and who did before."""
        case = case_or_404(request, pk, "view_assignment")
        audit_record(actor=request.user, action="view_assignment", object_type="case", object_id=case.id,
                     site_id=case.site_id)
        history = Assignment.objects.filter(case=case).select_related("reader", "assigned_by").order_by("-created_at")
        active = next((a for a in history if a.ended_at is None), None)
        return Response({"active": AssignmentSerializer(active).data if active else None,
                         "history": AssignmentSerializer(history, many=True).data})

    @extend_schema(request=AssignSerializer, responses={201: AssignmentSerializer})
    def post(self, request, pk):
        """Assign a reader of the case's site (site administrators); reassigning ends the previous one."""
        case = case_or_404(request, pk, "assign")
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reader = User.objects.filter(pk=serializer.validated_data["reader"]).first()
        if reader is None:
            raise serializers.ValidationError({"reader": "No such user."})
        assignment = services.assignment_create(case=case, reader=reader, assigned_by=request.user,
                                                due_at=serializer.validated_data.get("due_at"))
        return Response(AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        """Take the case back from its reader (site administrators; not while it is being read)."""
        case = case_or_404(request, pk, "unassign")
        services.assignment_end(case=case, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CaseClaimView(ReadingView):
    @extend_schema(request=None, responses={200: AssignmentSerializer})
    def post(self, request, pk):
        """Start reading the case assigned to you: it goes in_reading and its draft report is created."""
        case = case_or_404(request, pk, "claim")
        return Response(AssignmentSerializer(services.assignment_claim(case=case, reader=request.user)).data)


class CaseReleaseView(ReadingView):
    @extend_schema(request=None, responses={200: AssignmentSerializer})
    def post(self, request, pk):
        """Stop reading for now: the case goes back to ready_for_reading, still yours, the draft kept."""
        case = case_or_404(request, pk, "release")
        return Response(AssignmentSerializer(services.assignment_release(case=case, reader=request.user)).data)
