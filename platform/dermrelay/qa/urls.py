"""QA endpoints under /api/v1/qa/ (see qa.api)."""

from django.urls import path

from .api import dashboards, drilldown, export

urlpatterns = [
    path("scope/", dashboards.QaScopeView.as_view(), name="qa-scope"),
    path("summary/", dashboards.QaSummaryView.as_view(), name="qa-summary"),
    path("trend/", dashboards.QaTrendView.as_view(), name="qa-trend"),
    path("recall/", dashboards.QaRecallView.as_view(), name="qa-recall"),
    path("mosaics/", drilldown.QaMosaicListView.as_view(), name="qa-mosaics"),
    path("mosaics/<uuid:image>/thumbnail/", drilldown.QaMosaicThumbnailView.as_view(), name="qa-mosaic-thumbnail"),
    path("export/", export.QaExportView.as_view(), name="qa-export"),
]
