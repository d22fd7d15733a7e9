"""QA endpoints under /api/v1/qa/ (see qa.api)."""

from django.urls import path

from . import api

urlpatterns = [
    path("scope/", api.QaScopeView.as_view(), name="qa-scope"),
    path("summary/", api.QaSummaryView.as_view(), name="qa-summary"),
    path("trend/", api.QaTrendView.as_view(), name="qa-trend"),
    path("recall/", api.QaRecallView.as_view(), name="qa-recall"),
    path("mosaics/", api.QaMosaicListView.as_view(), name="qa-mosaics"),
    path("mosaics/<uuid:image>/thumbnail/", api.QaMosaicThumbnailView.as_view(), name="qa-mosaic-thumbnail"),
    path("export/", api.QaExportView.as_view(), name="qa-export"),
]
