"""The sites a user holds roles at: their counts, technicians, second-factor policy and emergency access."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response

from dermrelay.audit.models import AuditOutcome
from dermrelay.audit.services import audit_record
from dermrelay.cases.selectors import site_statistics

from ..break_glass import break_glass_grant, break_glass_list, break_glass_revoke
from ..mfa import MfaRefused, mfa_policy_set, site_staff_mfa
from ..models import Membership, Role, Site, User
from .sign_in import Refused
from ..selectors import clinical_site_ids, site_ids_for_user, site_list, site_technicians


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "name", "code", "timezone"]


class StaffMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    full_name = serializers.CharField()
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices))
    mfa_enrolled = serializers.BooleanField()
    mfa_required_here = serializers.BooleanField()


class SecurityPolicySerializer(serializers.Serializer):
    mfa_required_roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices), help_text=(
        "Roles whose holders must sign in with a second factor; turning a role on signs its holders out everywhere."))
    staff = StaffMemberSerializer(many=True, read_only=True)


class BreakGlassRequestSerializer(serializers.Serializer):
    user = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="the staff member who cannot give their second factor")
    reason = serializers.CharField(max_length=1000)
    minutes = serializers.IntegerField(min_value=1, max_value=24 * 60)


class BreakGlassGrantSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    user = serializers.IntegerField(source="user_id")
    user_name = serializers.SerializerMethodField()
    granted_by = serializers.CharField(source="granted_by_username")
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)

    def get_user_name(self, grant) -> str:
        return grant.user.get_full_name() or grant.user.username


class IssuedBreakGlassSerializer(BreakGlassGrantSerializer):
    code = serializers.CharField(help_text="the single-use code: shown this once, never stored")


class SiteViewSet(viewsets.ReadOnlyModelViewSet):
    """The sites you hold a role at."""

    serializer_class = SiteSerializer
    pagination_class = None

    def get_queryset(self):
        return site_list(user=self.request.user)

    @extend_schema(responses=inline_serializer("SiteStatistics", {
        "patients": serializers.IntegerField(), "lesions": serializers.IntegerField(),
        "cases": serializers.IntegerField(), "cases_by_status": serializers.DictField(child=serializers.IntegerField()),
        "images": serializers.IntegerField(), "images_by_kind": serializers.DictField(child=serializers.IntegerField()),
        "images_by_status": serializers.DictField(child=serializers.IntegerField()),
    }))
    @action(detail=True, methods=["get"])
    def statistics(self, request, pk=None):
        """Aggregate counts for QA admins and site admins of this site; no patient-level data."""
        site = self.get_object()
        if site.id not in site_ids_for_user(user=request.user, roles=[Role.QA_ADMIN, Role.SITE_ADMIN]):
            raise NotFound()
        audit_record(actor=request.user, action="view_statistics", object_type="site", object_id=site.id, site_id=site.id)
        return Response(site_statistics(site=site))

    @extend_schema(responses=inline_serializer("SiteTechnician", {
        "id": serializers.IntegerField(), "full_name": serializers.CharField(), "username": serializers.CharField(),
    }, many=True))
    @action(detail=True, methods=["get"])
    def technicians(self, request, pk=None):
        """The site's active technicians, for the clinic's case form; only for the site's technicians and admins."""
        site = self.get_object()
        if site.id not in clinical_site_ids(user=request.user):
            raise NotFound()
        technicians = list(site_technicians(site=site).order_by("last_name", "first_name", "username"))
        audit_record(actor=request.user, action="list", object_type="technician", site_id=site.id,
                     detail={"ids": [user.id for user in technicians]})
        return Response([{"id": user.id, "full_name": user.get_full_name() or user.username, "username": user.username}
                         for user in technicians])

    def _administered(self, request, action_name: str) -> Site:
        """The site, when the request's user administers it: 404 when they hold no role there, 403
        (audited) when they hold another."""
        site = self.get_object()
        if site.id not in site_ids_for_user(user=request.user, roles=[Role.SITE_ADMIN]):
            audit_record(actor=request.user, action=action_name, object_type="site", object_id=site.id,
                         site_id=site.id, outcome=AuditOutcome.DENIED)
            raise PermissionDenied("Only the site's administrators manage its security.")
        return site

    @extend_schema(methods=["GET"], responses=SecurityPolicySerializer)
    @extend_schema(methods=["PUT"], request=SecurityPolicySerializer, responses=SecurityPolicySerializer)
    @action(detail=True, methods=["get", "put"], url_path="security-policy")
    def security_policy(self, request, pk=None):
        """Which roles sign in with a second factor here, and who of the staff has set one up (site admins)."""
        if request.method == "GET":
            site = self._administered(request, "view_security_policy")
            audit_record(actor=request.user, action="view_security_policy", object_type="site", object_id=site.id,
                         site_id=site.id)
        else:
            site = self._administered(request, "update_security_policy")
            serializer = SecurityPolicySerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            try:
                site = mfa_policy_set(actor=request.user, site=site, roles=serializer.validated_data["mfa_required_roles"])
            except MfaRefused as refusal:
                raise Refused(str(refusal), code=refusal.code) from None
        return Response({"mfa_required_roles": site.mfa_required_roles, "staff": site_staff_mfa(site=site)})

    @extend_schema(methods=["GET"], responses=BreakGlassGrantSerializer(many=True))
    @extend_schema(methods=["POST"], request=BreakGlassRequestSerializer, responses={201: IssuedBreakGlassSerializer})
    @action(detail=True, methods=["get", "post"], url_path="break-glass")
    def break_glass(self, request, pk=None):
        """Emergency access for a staff member who cannot give their second factor: GET lists the
        grants for the site's staff; POST grants one (a reason, a few minutes to hours) and answers
        its single-use code once. Everyone administering the person's sites is told."""
        if request.method == "GET":
            site = self._administered(request, "list_break_glass")
            grants = list(break_glass_list(site=site))
            audit_record(actor=request.user, action="list", object_type="break_glass", site_id=site.id,
                         detail={"ids": [str(grant.id) for grant in grants]})
            return Response(BreakGlassGrantSerializer(grants, many=True).data)
        site = self._administered(request, "break_glass_grant")
        serializer = BreakGlassRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if not Membership.objects.filter(site=site, user_id=data["user"]).exists():
            raise Refused("This person holds no role at the site.", code="not_staff")
        try:
            grant, code = break_glass_grant(user=User.objects.get(pk=data["user"]), granted_by=request.user, site=site,
                                            reason=data["reason"], minutes=data["minutes"])
        except MfaRefused as refusal:
            raise Refused(str(refusal), code=refusal.code) from None
        grant.code = code
        return Response(IssuedBreakGlassSerializer(grant).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=BreakGlassGrantSerializer)
    @action(detail=True, methods=["post"], url_path=r"break-glass/(?P<grant_id>[0-9a-f-]{36})/revoke")
    def break_glass_end(self, request, pk=None, grant_id=None):
        """The code stops working, and a session it started ends at its next request."""
        site = self._administered(request, "break_glass_revoke")
        grant = break_glass_list(site=site).filter(pk=grant_id).first()
        if grant is None:
            raise NotFound("No such emergency access grant for this site's staff.")
        return Response(BreakGlassGrantSerializer(break_glass_revoke(grant=grant, actor=request.user)).data)
