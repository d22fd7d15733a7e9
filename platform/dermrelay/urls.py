import csp.constants as csp
from csp.decorators import csp_update
from django.contrib import admin
from django.db import connection
from django.http import JsonResponse
from django.urls import include, path, re_path
from django_otp.admin import OTPAdminSite
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from dermrelay.accounts.api import (
    AuthenticatorConfirmView, AuthenticatorView, DeviceTokenListView, DeviceTokenRevokeView, LoginCodeView, LoginView,
    LogoutView, MeView, MfaRemoveView, MfaView, RecoveryCodesView, SiteViewSet, TokenView,
)
from dermrelay.analysis import api as analysis_api
from dermrelay.gate import api as gate_api
from dermrelay.cases.api import AnatomSiteVocabularyView, CaseViewSet, ImageViewSet, LesionViewSet, PatientViewSet
from dermrelay.imaging.api import ImageViewingViewSet
from dermrelay.imaging.tiles import tile_view
from dermrelay.notifications.api import NotificationViewSet
from dermrelay.reading.api import (
    assignments as reading_assignments, lesion_history as reading_lesion_history,
    report_policy as reading_report_policy, reports as reading_reports, site_admin as reading_site_admin,
    worklist as reading_worklist,
)
from dermrelay.web import app_shell

# The API docs pages are the libraries' own HTML, which starts them with an inline script (and Redoc
# with a worker): the one place the platform's Content-Security-Policy is widened.
API_DOCS_POLICY = csp_update({"script-src": [csp.UNSAFE_INLINE], "worker-src": [csp.SELF, "blob:"]})

router = DefaultRouter()
router.register("sites", SiteViewSet, basename="site")
router.register("patients", PatientViewSet, basename="patient")
router.register("lesions", LesionViewSet, basename="lesion")
router.register("cases", CaseViewSet, basename="case")
router.register("images", ImageViewSet, basename="image")
router.register("images", ImageViewingViewSet, basename="image-viewing")
router.register("notifications", NotificationViewSet, basename="notification")


def healthz(request):
    """Liveness for load balancers: the process answers and the database does too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


api_v1 = [
    path("auth/login/", LoginView.as_view(), name="auth-login"),
    path("auth/login/code/", LoginCodeView.as_view(), name="auth-login-code"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    path("auth/mfa/", MfaView.as_view(), name="auth-mfa"),
    path("auth/mfa/authenticator/", AuthenticatorView.as_view(), name="auth-mfa-authenticator"),
    path("auth/mfa/authenticator/confirm/", AuthenticatorConfirmView.as_view(), name="auth-mfa-authenticator-confirm"),
    path("auth/mfa/recovery-codes/", RecoveryCodesView.as_view(), name="auth-mfa-recovery-codes"),
    path("auth/mfa/remove/", MfaRemoveView.as_view(), name="auth-mfa-remove"),
    path("auth/me/", MeView.as_view(), name="auth-me"),
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("auth/tokens/", DeviceTokenListView.as_view(), name="auth-tokens"),
    path("auth/tokens/<uuid:pk>/revoke/", DeviceTokenRevokeView.as_view(), name="auth-token-revoke"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", API_DOCS_POLICY(SpectacularSwaggerView.as_view(url_name="schema")), name="docs"),
    path("redoc/", API_DOCS_POLICY(SpectacularRedocView.as_view(url_name="schema")), name="redoc"),
    path("cases/<str:pk>/quality/", gate_api.CaseQualityView.as_view(), name="case-quality"),
    path("cases/<str:pk>/quality/stream/", gate_api.CaseQualityStreamView.as_view(), name="case-quality-stream"),
    path("cases/<str:pk>/analyses/", analysis_api.CaseAnalysesView.as_view(), name="case-analyses"),
    path("cases/<str:pk>/analyses/rerun/", analysis_api.CaseAnalysesRerunView.as_view(), name="case-analyses-rerun"),
    path("cases/<str:pk>/findings/", analysis_api.CaseFindingsView.as_view(), name="case-findings"),
    path("cases/<str:pk>/anatomic-site-suggestion/", analysis_api.AnatomicSiteSuggestionView.as_view(),
         name="case-anatomic-site-suggestion"),
    path("images/<str:pk>/lesion-outline/", gate_api.LesionOutlineView.as_view(), name="image-lesion-outline"),
    path("images/<str:pk>/expert-annotation/", gate_api.ExpertAnnotationView.as_view(), name="image-expert-annotation"),
    path("sites/<str:pk>/quality-policy/", gate_api.SiteQualityPolicyView.as_view(), name="site-quality-policy"),
    path("models/", analysis_api.ModelVersionListView.as_view(), name="model-versions"),
    path("analysis-plans/", analysis_api.AnalysisPlanView.as_view(), name="analysis-plans"),
    path("worklist/", reading_worklist.WorklistView.as_view(), name="worklist"),
    path("sites/<str:pk>/readers/", reading_site_admin.SiteReadersView.as_view(), name="site-readers"),
    path("sites/<str:pk>/patients/<uuid:patient>/access-log/", reading_site_admin.PatientAccessLogView.as_view(),
         name="patient-access-log"),
    path("sites/<str:pk>/reading-queue/", reading_site_admin.SiteReadingQueueView.as_view(), name="site-reading-queue"),
    path("cases/<str:pk>/assignment/", reading_assignments.CaseAssignmentView.as_view(), name="case-assignment"),
    path("cases/<str:pk>/claim/", reading_assignments.CaseClaimView.as_view(), name="case-claim"),
    path("cases/<str:pk>/release/", reading_assignments.CaseReleaseView.as_view(), name="case-release"),
    path("cases/<str:pk>/report/", reading_reports.CaseReportView.as_view(), name="case-report"),
    path("cases/<str:pk>/report/sign/", reading_reports.ReportSignView.as_view(), name="case-report-sign"),
    path("cases/<str:pk>/report/amend/", reading_reports.ReportAmendView.as_view(), name="case-report-amend"),
    path("cases/<str:pk>/report/versions/", reading_reports.ReportVersionsView.as_view(), name="case-report-versions"),
    path("cases/<str:pk>/report/pdf/", reading_reports.ReportPdfView.as_view(), name="case-report-pdf"),
    path("cases/<str:pk>/lesion-history/", reading_lesion_history.LesionHistoryView.as_view(), name="case-lesion-history"),
    path("sites/<str:pk>/report-policy/", reading_report_policy.SiteReportPolicyView.as_view(), name="site-report-policy"),
    # Resumable uploads (tus), cases app:
    path("uploads/", include("dermrelay.cases.tus_urls")),
    path("vocabulary/anatom-sites/", AnatomSiteVocabularyView.as_view(), name="vocabulary-anatom-sites"),

    path("qa/", include("dermrelay.qa.urls")),
    path("", include(router.urls)),
]

urlpatterns = [
    path("healthz", healthz),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    # The browser app's pages (client-side routes); everything else under /api/ and /static/.
    path("", app_shell, name="app"),
    path("worklist/", app_shell, name="app-worklist"),
    re_path(r"^(?:clinic|qa|models|site-admin|account)(?:/.*)?$", app_shell, name="app-pages"),
    re_path(r"^cases/(?P<case>[0-9a-fA-F-]{36})/?$", app_shell, name="app-case"),
    re_path(r"^tiles/(?P<expires>[0-9]{1,12})/(?P<token>[^/]+)/(?P<path>.+)$", tile_view, name="tile"),
]

handler400 = "dermrelay.web.bad_request"
handler403 = "dermrelay.web.permission_denied"
handler404 = "dermrelay.web.page_not_found"
handler500 = "dermrelay.web.server_error"

admin.site.__class__ = OTPAdminSite  # the Django admin asks for the authenticator's code too (accounts/mfa.py)
admin.site.site_header = "DermRelay administration"
admin.site.site_title = "DermRelay"
