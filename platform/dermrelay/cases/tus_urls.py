"""URLs of resumable (tus) uploads, included under /api/v1/uploads/."""

from django.urls import path

from .tus import TusUploadCreateView, TusUploadView

urlpatterns = [
    path("", TusUploadCreateView.as_view(), name="tus-uploads"),
    path("<str:pk>/", TusUploadView.as_view(), name="tus-upload"),
]
