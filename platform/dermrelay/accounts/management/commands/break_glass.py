"""Emergency access granted by the platform's operator, for when none of a person's site
administrators can be reached (or the administrator is the one locked out). The same grant as a
site administrator's (accounts/break_glass.py): reasoned, time-limited, single-use, and told to
every administrator of the person's sites."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dermrelay.accounts.break_glass import break_glass_grant
from dermrelay.accounts.mfa import MfaRefused
from dermrelay.accounts.models import User


class Command(BaseCommand):
    help = "Grant emergency access (sign-in without a second factor) to one user, with a reason, for some minutes."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", required=True, help="why; recorded in the audit trail and sent to the admins")
        parser.add_argument("--minutes", type=int, default=60)

    def handle(self, *args, username: str, reason: str, minutes: int, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        try:
            grant, code = break_glass_grant(user=user, granted_by=None, site=None, reason=reason, minutes=minutes)
        except MfaRefused as refusal:
            raise CommandError(str(refusal)) from None
        self.stdout.write(f"Emergency code for {username} until {grant.expires_at:%Y-%m-%d %H:%M} UTC (single use): {code}")
