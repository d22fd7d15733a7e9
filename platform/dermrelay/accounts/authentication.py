"""Token authentication for capture devices: `Authorization: Token <key>` or `Bearer <key>`."""

from rest_framework.authentication import TokenAuthentication


class DeviceTokenAuthentication(TokenAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header.startswith("Bearer "):
            request.META["HTTP_AUTHORIZATION"] = "Token " + header[len("Bearer ") :]
        return super().authenticate(request)
