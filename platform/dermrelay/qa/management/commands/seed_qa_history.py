"""SYNTHETIC QA history for the demo: 8 weeks of judged mosaics at the demo sites (northside,
lakeside) and a third site, Riverside Skin Centre, whose mosaics are clearly worse (median about
18% uninformative vs 5–7% elsewhere), so the QA dashboards have trends, bins and an outlier to show.

The numbers are drawn from distributions (qa.seeding), not measured: the rows say so (device
"QA history (synthetic)"). The live demo cases of seed_demo keep going through the real worker and
model. Idempotent: a site that already has synthetic history gets nothing more, and users and
memberships are found before they are made.
"""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand
from django.db import transaction

from dermrelay.accounts.models import Membership, Role, Site, User
from dermrelay.cases.management.commands.seed_demo import DEFAULT_PASSWORD, SITES, USERS
from dermrelay.qa.seeding import GOOD, POOR, TYPICAL, SiteHistory, qa_history_seed

RIVERSIDE = ("riverside", "Riverside Skin Centre")
# (username, full name, site code, role)
RIVERSIDE_USERS = (
    ("tech.river", "Rory Technician", "riverside", Role.TECHNICIAN),
    ("admin.river", "Ria Siteadmin", "riverside", Role.SITE_ADMIN),
)
QA_USER = ("qa", "Quinn Quality")


class Command(BaseCommand):
    help = ("Add 8 weeks of SYNTHETIC QA history (judged RCM mosaics drawn from per-site distributions) to the "
            "demo sites and a third site, riverside, whose quality is clearly worse. Idempotent.")

    def add_arguments(self, parser):
        parser.add_argument("--password", default=os.environ.get("DERMRELAY_DEMO_PASSWORD", DEFAULT_PASSWORD))
        parser.add_argument("--weeks", type=int, default=8)
        parser.add_argument("--seed", type=int, default=0)

    @transaction.atomic
    def handle(self, *args, password: str, weeks: int, seed: int, **options):
        demo = {"mfa_required_roles": []}  # as seed_demo's sites: no second factor asked in the demo
        sites = {code: Site.objects.get_or_create(code=code, defaults={"name": name, **demo})[0] for code, name in SITES.items()}
        sites[RIVERSIDE[0]] = Site.objects.get_or_create(code=RIVERSIDE[0], defaults={"name": RIVERSIDE[1], **demo})[0]
        users = {username: self._user(username, full_name, password) for username, full_name, _, _ in RIVERSIDE_USERS}
        for username, _, code, role in RIVERSIDE_USERS:
            Membership.objects.get_or_create(user=users[username], site=sites[code], role=role)
        qa = self._user(*QA_USER, password)
        for site in sites.values():
            Membership.objects.get_or_create(user=qa, site=site, role=Role.QA_ADMIN)
        technicians = {code: self._technician(code, sites[code], password) for code in ("northside", "lakeside")}
        report = qa_history_seed(sites_spec=[
            SiteHistory(site=sites["northside"], technicians=[technicians["northside"]], profile=GOOD),
            SiteHistory(site=sites["lakeside"], technicians=[technicians["lakeside"]] * 9 + [None], profile=TYPICAL),
            SiteHistory(site=sites["riverside"], technicians=[users["tech.river"]], profile=POOR),
        ], weeks=weeks, seed=seed)
        self.stdout.write(self.style.SUCCESS(
            "Synthetic QA history (drawn from distributions, not measured; device 'QA history (synthetic)'):"))
        for code, entry in report.sites.items():
            if "skipped" in entry:
                self.stdout.write(f"  {code:<10} already has {entry['skipped']} synthetic cases: nothing added")
            else:
                self.stdout.write(f"  {code:<10} {entry['mosaics']} judged mosaics in {entry['cases']} cases over {weeks} weeks"
                                  f" ({entry['mosaics'] - entry['cases']} visits re-imaged)")
        self.stdout.write("Riverside users (password: %s):" % password)
        for username, _, code, role in RIVERSIDE_USERS:
            self.stdout.write(f"  {username:<12} {role} @ {code}")
        self.stdout.write(f"  {'qa':<12} {Role.QA_ADMIN} @ {', '.join(sites)}")

    def _user(self, username: str, full_name: str, password: str) -> User:
        given, family = full_name.split(" ", 1)
        user, created = User.objects.get_or_create(username=username, defaults={"first_name": given, "last_name": family})
        if created:
            user.set_password(password)
            user.save()
        return user

    def _technician(self, code: str, site: Site, password: str) -> User:
        """seed_demo's technician of the site (tech.north, tech.lake), made here when run alone."""
        spec = next(u for u in USERS if (code, Role.TECHNICIAN) in u.memberships)
        user = self._user(spec.username, spec.full_name, password)
        Membership.objects.get_or_create(user=user, site=site, role=Role.TECHNICIAN)
        return user
