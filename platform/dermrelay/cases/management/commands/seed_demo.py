"""Demo data: two sites, one user per role, patients, lesions and cases with generated images.

Idempotent: running it again finds what exists (sites by code, users by name, patients by MRN,
images by content hash) and adds nothing twice. The names and images are synthetic.
"""

from __future__ import annotations

import datetime
import io
import os
from dataclasses import dataclass

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from dermrelay.accounts.models import Membership, Role, Site, User
from dermrelay.cases import demo_images, services
from dermrelay.cases.models import Case, CaseStatus, DepthLevel, ImageKind, Lesion, Patient
from dermrelay.gate.models import LesionOutline
from dermrelay.pipeline import steps
from dermrelay.cases.uploads import stage_stream
from inference.phantoms.encoding import jpeg_bytes, png_bytes
from inference.phantoms.generator import gate_phantom
from inference.phantoms.outlines import lesion_polygon

DEFAULT_PASSWORD = "dermrelay-demo"


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    memberships: tuple[tuple[str, str], ...]  # (site code, role)
    superuser: bool = False


SITES = {"northside": "Northside Dermatology", "lakeside": "Lakeside Skin Clinic"}
USERS = (
    DemoUser("tech.north", "Tara Technician", (("northside", Role.TECHNICIAN),)),
    DemoUser("tech.lake", "Luis Technician", (("lakeside", Role.TECHNICIAN),)),
    DemoUser("admin.north", "Sam Siteadmin", (("northside", Role.SITE_ADMIN),)),
    DemoUser("admin.lake", "Lee Siteadmin", (("lakeside", Role.SITE_ADMIN),)),
    DemoUser("reader", "Rita Reader", (("northside", Role.READER), ("lakeside", Role.READER))),
    DemoUser("qa", "Quinn Quality", (("northside", Role.QA_ADMIN), ("lakeside", Role.QA_ADMIN))),
    DemoUser("ops", "Olive Operations", (), superuser=True),
)
# (site, MRN, given, family, birth date, sex, lesion label, ISIC general site, ISIC site, submit?)
PATIENTS = (
    ("northside", "N-1001", "Ada", "Demo", "1961-04-12", "female", "L1", "posterior torso", "Trunk:Posterior trunk", True),
    ("northside", "N-1002", "Ben", "Sample", "1975-09-30", "male", "L1", "upper extremity", "Upper extremity:Upper arm", False),
    ("lakeside", "L-2001", "Cleo", "Example", "1958-01-05", "female", "L1", "head/neck", "Head and neck:Head:Face:Cheek", True),
    ("lakeside", "L-2002", "Dan", "Fixture", "1983-07-22", "male", "L1", "lower extremity", "Lower extremity:Lower leg", False),
)
# (where the phantom's no-contact area lies, phantom seed, share of that place it covers):
# re-image, acceptable (artifacts outside the lesion only), acceptable, review.
GATE_SCENARIOS = (("lesion", 7, 0.5), ("outside_lesion", 2, 0.5), ("outside_lesion", 3, 0.3), ("lesion", 5, 0.15))
RCM_DEPTHS = ((DepthLevel.STRATUM_GRANULOSUM, 20.0), (DepthLevel.DEJ, 80.0), (DepthLevel.PAPILLARY_DERMIS, 120.0))


class Command(BaseCommand):
    help = "Create (or complete) the demo sites, users, patients, cases and images."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=os.environ.get("DERMRELAY_DEMO_PASSWORD", DEFAULT_PASSWORD))

    def handle(self, *args, password: str, **options):
        # The demo sites ask nobody for a second factor, so the demo can be tried without an authenticator
        # app; a new site asks it of readers and administrators (Site admin → Security turns it on here).
        sites = {code: Site.objects.get_or_create(code=code, defaults={"name": name, "mfa_required_roles": []})[0]
                 for code, name in SITES.items()}
        users = {spec.username: self._user(spec, sites, password) for spec in USERS}
        technicians = {"northside": users["tech.north"], "lakeside": users["tech.lake"]}
        admins = {"northside": users["admin.north"], "lakeside": users["admin.lake"]}
        for seed, row in enumerate(PATIENTS):
            self._case(seed, row, sites, technicians)
        self._assign_submitted(reader=users["reader"], admins=admins)
        self.stdout.write(self.style.SUCCESS("Demo data ready. Sign in with (password for all: %s):" % password))
        for spec in USERS:
            roles = ", ".join(f"{role} @ {site}" for site, role in spec.memberships) or "superuser (Django admin)"
            self.stdout.write(f"  {spec.username:<12} {roles}")
        call_command("seed_qa_history", password=password, stdout=self.stdout)  # synthetic QA history, riverside users

    def _user(self, spec: DemoUser, sites: dict[str, Site], password: str) -> User:
        given, family = spec.full_name.split(" ", 1)
        user, created = User.objects.get_or_create(
            username=spec.username,
            defaults={"first_name": given, "last_name": family, "is_staff": spec.superuser, "is_superuser": spec.superuser},
        )
        if created:
            user.set_password(password)
            user.save()
        for code, role in spec.memberships:
            Membership.objects.get_or_create(user=user, site=sites[code], role=role)
        return user

    def _assign_submitted(self, *, reader: User, admins: dict[str, User]) -> None:
        """Each submitted demo case goes to the demo reader, as its site admin would assign it."""
        from dermrelay.reading.models import Assignment
        from dermrelay.reading.services import ASSIGNABLE_STATUSES, assignment_create

        for case in Case.objects.filter(status__in=ASSIGNABLE_STATUSES).select_related("site"):
            if case.site.code in admins and not Assignment.objects.filter(case=case, ended_at__isnull=True).exists():
                assignment_create(case=case, reader=reader, assigned_by=admins[case.site.code],
                                  due_at=timezone.now() + datetime.timedelta(days=2))

    @transaction.atomic
    def _case(self, seed: int, row: tuple, sites: dict[str, Site], technicians: dict[str, User]) -> None:
        code, mrn, given, family, born, sex, label, general, detailed, submit = row
        technician = technicians[code]
        patient = Patient.objects.filter(site=sites[code], mrn=mrn).first() or services.patient_create(
            actor=technician, site=sites[code], mrn=mrn, given_name=given, family_name=family,
            birth_date=datetime.date.fromisoformat(born), sex=sex,
        )
        lesion = Lesion.objects.filter(patient=patient, label=label).first() or services.lesion_create(
            actor=technician, patient=patient, label=label, anatom_site_general=general, anatom_site=detailed,
        )
        visit = datetime.date(2026, 11, 2) + datetime.timedelta(days=seed)
        case = Case.objects.filter(lesion=lesion, visit_date=visit).first() or services.case_create(
            actor=technician, lesion=lesion, visit_date=visit, technician=technician, device="VivaScope 1500 (demo)",
        )
        if case.status not in services.EDITABLE_STATUSES:
            return
        # The dermoscopy image and the DEJ mosaic come from one phantom with known ground truth
        # (inference.phantoms), registered and outlined, so the quality gate has a real answer.
        where, phantom_seed, fraction = GATE_SCENARIOS[seed % len(GATE_SCENARIOS)]
        phantom = gate_phantom(seed=phantom_seed, where=where, fraction=fraction)
        uploads = [
            (jpeg_bytes(phantom.dermoscopy), {"kind": ImageKind.DERMOSCOPY}),
            (demo_images.clinical_photo(seed=seed), {"kind": ImageKind.CLINICAL}),
            (demo_images.rcm_stack(seed=seed), {"kind": ImageKind.RCM_STACK, "depth_um": 40.0, "pixel_spacing_um": 1.0}),
        ] + [
            (png_bytes(phantom.image), {"kind": ImageKind.RCM_MOSAIC, "depth_level": level, "depth_um": depth,
                                   "pixel_spacing_um": phantom.pixel_spacing_um})
            if level == DepthLevel.DEJ else
            (demo_images.rcm_mosaic(seed=seed * 10 + i), {
                "kind": ImageKind.RCM_MOSAIC, "depth_level": level, "depth_um": depth, "pixel_spacing_um": 1.0,
            })
            for i, (level, depth) in enumerate(RCM_DEPTHS)
        ]
        stored = []
        for data, fields in uploads:
            stored.append(steps.image_store(actor=technician, case=case, staged=stage_stream(io.BytesIO(data)), **fields)[0])
        dermoscopy = stored[0]
        dej = next(image for image in stored if image.depth_level == DepthLevel.DEJ)
        steps.registration_save(actor=technician, mosaic=dej, dermoscopy=dermoscopy, matrix=phantom.registration.tolist())
        if not LesionOutline.objects.filter(dermoscopy=dermoscopy).exists():
            steps.lesion_outline_save(actor=technician, dermoscopy=dermoscopy, polygon=lesion_polygon(phantom))
        if submit and case.status == CaseStatus.DRAFT:
            steps.case_submit(case=case, actor=technician)
