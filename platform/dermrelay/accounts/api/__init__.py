"""The accounts app's HTTP entrance: signing in (with a second factor where a site asks for one),
a person's device tokens and second factor, and the sites they hold roles at."""

from .devices import DeviceTokenListView, DeviceTokenRevokeView
from .mfa import AuthenticatorConfirmView, AuthenticatorView, MfaRemoveView, MfaView, RecoveryCodesView
from .sign_in import LoginCodeView, LoginRateThrottle, LoginView, LogoutView, MeView, TokenView
from .sites import SiteViewSet

__all__ = ["AuthenticatorConfirmView", "AuthenticatorView", "DeviceTokenListView", "DeviceTokenRevokeView",
           "LoginCodeView", "LoginRateThrottle", "LoginView", "LogoutView", "MeView", "MfaRemoveView", "MfaView",
           "RecoveryCodesView", "SiteViewSet", "TokenView"]
