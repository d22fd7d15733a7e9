"""Authorization: every endpoint × role × own/foreign object, plus audit of denials, tokens and CSRF.

The rules (deny by default):
- technicians and site admins (clinical roles) read and write the patient data of their own sites;
- readers see no patient data yet (assignments come later): lists empty, every object 404;
- QA admins see aggregate statistics of their sites only; a user without membership sees nothing;
- anonymous callers are refused (401/403) everywhere but login and token;
- another site's object is always a 404 (never 403), for reads, writes and custom actions; a write
  that names another site's parent is a 400 exactly as if the id did not exist, and creates nothing.

Each matrix request runs inside a savepoint that is rolled back, so every role meets the same data
(a technician's submit or delete does not change what the site admin's request sees).
"""

from __future__ import annotations

import contextlib
import datetime
import uuid
from dataclasses import dataclass
from typing import NamedTuple

import pytest
from django.core.cache import cache
from django.db import transaction
from rest_framework.test import APIClient

from dermrelay.accounts.models import Role, Site, User
from dermrelay.audit.models import AuditEvent, AuditOutcome
from dermrelay.cases import services
from dermrelay.cases.models import Case, CaseStatus, Image, ImageStatus, Lesion, Patient
from dermrelay.imaging.services import derivation_execute
from tests.factories import PASSWORD, api_client, make_lesion, make_patient, make_site, make_user, png_bytes, upload

pytestmark = pytest.mark.django_db

API = "/api/v1"
ROLES = ("anonymous", "no_membership", "technician", "site_admin", "reader", "qa_admin")
ORIGINAL_BYTES = png_bytes(64, 48, color=128)
NEW_BYTES = png_bytes(32, 32, color=7)  # differs from ORIGINAL_BYTES, so an upload is a new image (201)


# ---------------------------------------------------------------------------------------------
# The matrix. Each role column reads "<own-site object> <foreign-site object>":
#   200, 201, 204, 400, 404, 409  the HTTP status (a 404 must be the plain not_found one; a 400 must
#                                 be the named parent id that "does not exist"),
#   auth                          401 or 403 (not signed in),
#   +                             list answers 200 and contains the own-site object,
#   0                             list answers 200 and is empty,
#   -                             list answers 200 and does not contain the foreign-site object,
#   .                             not applicable.
# For creates, "own" names the own site's parent (site, patient, lesion, technician) and "foreign"
# the other site's. Every refused request (4xx) must leave the target object and the row counts as
# they were.
# ---------------------------------------------------------------------------------------------


class Row(NamedTuple):
    method: str
    path: str  # {site} {patient} {lesion} {case} {image} are the target site's objects; "#..." names a variant
    anonymous: str
    no_membership: str
    technician: str
    site_admin: str
    reader: str
    qa_admin: str


A = "auth auth"
MATRIX = [
    #    method    path                                   anonymous no_membership technician  site_admin  reader     qa_admin
    Row("GET",    "/sites/",                              A,        "0 -",        "+ -",      "+ -",      "+ -",     "+ -"),
    Row("GET",    "/sites/{site}/",                       A,        "404 404",    "200 404",  "200 404",  "200 404", "200 404"),
    Row("GET",    "/sites/{site}/statistics/",            A,        "404 404",    "404 404",  "200 404",  "404 404", "200 404"),
    Row("GET",    "/sites/{site}/technicians/",           A,        "404 404",    "200 404",  "200 404",  "404 404", "404 404"),
    Row("GET",    "/sites/{site}/report-policy/",         A,        "404 404",    "200 404",  "200 404",  "200 404", "200 404"),
    Row("PUT",    "/sites/{site}/report-policy/",         A,        "404 404",    "403 404",  "200 404",  "403 404", "403 404"),
    Row("GET",    "/patients/",                           A,        "0 -",        "+ -",      "+ -",      "0 -",     "0 -"),
    Row("POST",   "/patients/",                           A,        "400 400",    "201 400",  "201 400",  "400 400", "400 400"),
    Row("GET",    "/patients/{patient}/",                 A,        "404 404",    "200 404",  "200 404",  "404 404", "404 404"),
    Row("PATCH",  "/patients/{patient}/",                 A,        "404 404",    "200 404",  "200 404",  "404 404", "404 404"),
    Row("GET",    "/lesions/",                            A,        "0 -",        "+ -",      "+ -",      "0 -",     "0 -"),
    Row("POST",   "/lesions/",                            A,        "400 400",    "201 400",  "201 400",  "400 400", "400 400"),
    Row("GET",    "/lesions/{lesion}/",                   A,        "404 404",    "200 404",  "200 404",  "404 404", "404 404"),
    Row("PATCH",  "/lesions/{lesion}/",                   A,        "404 404",    "200 404",  "200 404",  "404 404", "404 404"),
    Row("GET",    "/cases/",                              A,        "0 -",        "+ -",      "+ -",      "0 -",     "0 -"),
    Row("POST",   "/cases/",                              A,        "400 400",    "201 400",  "201 400",  "400 400", "400 400"),
    Row("POST",   "/cases/#technician",                   A,        "400 400",    "201 400",  "201 400",  "400 400", "400 400"),
    Row("GET",    "/cases/{case}/",                       A,        "404 404",    "200 404",  "200 404",  "404 404", "404 404"),
    Row("PATCH",  "/cases/{case}/",                       A,        "404 404",    "200 404",  "200 404",  "404 404", "404 404"),
    Row("GET",    "/cases/{case}/lesion-history/",        A,        "404 404",    "200 404",  "200 404",  "404 404", "404 404"),
    Row("POST",   "/cases/{case}/submit/",                A,        "404 404",    "200 404",  "200 404",  "404 404", "404 404"),
    Row("POST",   "/cases/{case}/recall/",                A,        "404 404",    "409 404",  "409 404",  "404 404", "404 404"),
    Row("POST",   "/cases/{case}/images/",                A,        "404 404",    "201 404",  "201 404",  "404 404", "404 404"),
    Row("GET",    "/images/",                             A,        "0 -",        "+ -",      "+ -",      "0 -",     "0 -"),
    Row("GET",    "/images/{image}/",                     A,        "404 404",    "200 404",  "200 404",  "404 404", "404 404"),
    Row("PATCH",  "/images/{image}/",                     A,        "404 404",    "200 404",  "200 404",  "404 404", "404 404"),
    Row("DELETE", "/images/{image}/",                     A,        "404 404",    "204 404",  "204 404",  "404 404", "404 404"),
    Row("GET",    "/images/{image}/file/",                A,        "404 404",    "200 404",  "200 404",  "404 404", "404 404"),
    Row("GET",    "/images/{image}/thumbnail/",           A,        "404 404",    "200 404",  "200 404",  "404 404", "404 404"),
    Row("GET",    "/auth/me/",                            "auth .", "200 .",      "200 .",    "200 .",    "200 .",   "200 ."),
]

# Request bodies: tenant is the site whose parent the request names (own or foreign), world the whole fixture.
BODIES = {
    ("POST", "/patients/"): lambda t, w: {
        "site": str(t.site.id), "mrn": "NEW-1", "given_name": "New", "family_name": "Patient",
        "birth_date": "1980-02-03", "sex": "female",
    },
    ("POST", "/lesions/"): lambda t, w: {"patient": str(t.patient.id), "label": "L2", "anatom_site_general": "anterior torso"},
    ("POST", "/cases/"): lambda t, w: {"lesion": str(t.lesion.id), "visit_date": "2026-11-02", "device": "VivaScope 1500"},
    # Always the own lesion: only the technician differs between the own and the foreign column.
    ("POST", "/cases/#technician"): lambda t, w: {
        "lesion": str(w.own.lesion.id), "visit_date": "2026-11-02", "technician": t.technician.id,
    },
    ("PATCH", "/patients/{patient}/"): lambda t, w: {"given_name": "Changed"},
    ("PATCH", "/lesions/{lesion}/"): lambda t, w: {"location_note": "3 cm above the navel"},
    ("PATCH", "/cases/{case}/"): lambda t, w: {"clinical_note": "changed"},
    ("PUT", "/sites/{site}/report-policy/"): lambda t, w: {"patient_identifiers_for_readers": False},
    ("POST", "/cases/{case}/recall/"): lambda t, w: {"reason": "motion blur"},
    ("PATCH", "/images/{image}/"): lambda t, w: {"pixel_spacing_um": 2.5},
}
CREATES = {  # rows that create a row of this model when (and only when) they answer 201
    ("POST", "/patients/"): Patient,
    ("POST", "/lesions/"): Lesion,
    ("POST", "/cases/"): Case,
    ("POST", "/cases/#technician"): Case,
    ("POST", "/cases/{case}/images/"): Image,
}
LISTS = {"/sites/": "site", "/patients/": "patient", "/lesions/": "lesion", "/cases/": "case", "/images/": "image"}
MODELS = {"site": Site, "patient": Patient, "lesion": Lesion, "case": Case, "image": Image}
PARENT_FIELDS = {"site", "patient", "lesion", "technician"}


# ---------------------------------------------------------------------------------------------
# Fixture data: two sites, each with a technician, patient, lesion, draft case and one image (with
# its thumbnail), and one user per role at the own site.
# ---------------------------------------------------------------------------------------------


@dataclass
class Tenant:
    site: Site
    technician: User
    patient: Patient
    lesion: Lesion
    case: Case
    image: Image

    def ids(self) -> dict[str, str]:
        return {name: str(getattr(self, name).pk) for name in MODELS}


@dataclass
class World:
    own: Tenant
    foreign: Tenant
    users: dict[str, User | None]


def _tenant(code: str) -> Tenant:
    site = make_site(code)
    technician = make_user(role=Role.TECHNICIAN, site=site, username=f"{code}-technician")
    patient = make_patient(site=site, actor=technician)
    lesion = make_lesion(patient=patient, actor=technician)
    case = services.case_create(
        actor=technician, lesion=lesion, visit_date=datetime.date(2026, 11, 1), device="test", technician=technician
    )
    response = upload(api_client(technician), case, ORIGINAL_BYTES)
    assert response.status_code == 201, response.content
    # The derivation task runs on commit, which never comes in a non-transactional test: render the
    # thumbnail here so that the thumbnail row tests authorization rather than "not ready yet".
    image = Image.objects.select_related("case").get(pk=response.json()["id"])
    assert derivation_execute(image=image) == "succeeded"
    image.refresh_from_db()
    assert image.thumbnail and image.status == ImageStatus.READY
    return Tenant(site, technician, patient, lesion, case, image)


@pytest.fixture
def world() -> World:
    own, foreign = _tenant("own"), _tenant("foreign")
    users: dict[str, User | None] = {
        "anonymous": None,
        "no_membership": make_user(username="nobody"),
        "technician": own.technician,
        "site_admin": make_user(role=Role.SITE_ADMIN, site=own.site, username="own-site-admin"),
        "reader": make_user(role=Role.READER, site=own.site, username="own-reader"),
        "qa_admin": make_user(role=Role.QA_ADMIN, site=own.site, username="own-qa-admin"),
    }
    return World(own, foreign, users)


@pytest.fixture(autouse=True)
def _fresh_throttle_counts():
    """Login and token requests are throttled per address in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


def client_for(user: User | None) -> APIClient:
    return api_client(user)


@contextlib.contextmanager
def rolled_back():
    """Run the block in a savepoint and undo whatever it wrote."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def send(client: APIClient, row: Row, tenant: Tenant, world: World):
    key = (row.method, row.path)
    url = API + row.path.split("#")[0].format(**tenant.ids())
    if key == ("POST", "/cases/{case}/images/"):
        return upload(client, tenant.case, NEW_BYTES)
    body = BODIES.get(key)
    if body is None:
        return getattr(client, row.method.lower())(url)
    return getattr(client, row.method.lower())(url, body(tenant, world), format="json")


def _target(row: Row) -> str | None:
    """The placeholder of the object a detail row acts on (the last one in its path), if any."""
    names = [name for name in MODELS if "{" + name + "}" in row.path]
    return names[-1] if names else None


def _snapshot(row: Row, tenant: Tenant):
    target = _target(row)
    target_row = MODELS[target].objects.filter(pk=getattr(tenant, target).pk).values().first() if target else None
    return target_row, {model.__name__: model.objects.count() for model in MODELS.values()}


def check(cell: str, response, *, row: Row, tenant: Tenant) -> None:
    where = f"{row.method} {row.path} → {response.status_code} {getattr(response, 'data', None)!r:.300}"
    if cell == "auth":
        assert response.status_code in (401, 403), where
        return
    if cell in {"+", "0", "-"}:
        assert response.status_code == 200, where
        data = response.json()
        ids = [item["id"] for item in (data["results"] if isinstance(data, dict) else data)]
        wanted = str(getattr(tenant, LISTS[row.path]).pk)
        if cell == "+":
            assert wanted in ids, where
        elif cell == "0":
            assert ids == [], where
        else:
            assert wanted not in ids, where
        return
    assert response.status_code == int(cell), where
    if response.status_code == 404:  # the plain "no such object", not e.g. "thumbnail not ready"
        # (get_object's 404 has no "code" today, see the report; when it gets one it must be not_found)
        assert response.json().get("code", "not_found") == "not_found", where
    if response.status_code == 400:  # the parent id looks absent; no other complaint
        fields = response.json()["fields"]
        assert fields and set(fields) <= PARENT_FIELDS, where
        assert all("does not exist" in message for messages in fields.values() for message in messages), where
    target = _target(row)
    if response.status_code == 200 and target and row.path.endswith("{%s}/" % target):  # a retrieve or update
        assert response.json()["id"] == str(getattr(tenant, target).pk), where


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: f"{row.method} {row.path}")
def test_authorization_matrix(world: World, row: Row):
    """One row of the matrix: every role, on the own-site and on the foreign-site object."""
    mismatches = []
    for role in ROLES:
        client = client_for(world.users[role])
        for side, tenant, cell in zip(("own", "foreign"), (world.own, world.foreign), getattr(row, role).split()):
            if cell == ".":
                continue
            with rolled_back():
                before = _snapshot(row, tenant)
                response = send(client, row, tenant, world)
                after = _snapshot(row, tenant)
                try:
                    check(cell, response, row=row, tenant=tenant)
                    model = CREATES.get((row.method, row.path))
                    if response.status_code >= 400:  # a refused request changes nothing at all
                        assert after == before, f"a refused request changed data: {before} → {after}"
                    elif model is not None:
                        assert after[1][model.__name__] == before[1][model.__name__] + 1, "nothing was created"
                except AssertionError as error:
                    mismatches.append(f"{role:>13} {side:>7}: expected {cell}: {str(error).splitlines()[0]}")
    assert not mismatches, f"{row.method} {row.path}\n" + "\n".join(mismatches)


def test_matrix_covers_every_role_and_row_once():
    assert len({(row.method, row.path) for row in MATRIX}) == len(MATRIX)
    for row in MATRIX:
        for role in ROLES:
            own, foreign = getattr(row, role).split()
            assert role != "anonymous" or own == "auth", row
            assert foreign in {"404", "400", "-", "auth", "."}, f"a foreign object must never be reachable: {row}"


# ---------------------------------------------------------------------------------------------
# A foreign object looks exactly like a missing one, and the denial is audited.
# ---------------------------------------------------------------------------------------------

DETAIL_ROWS = [row for row in MATRIX if _target(row) in {"patient", "lesion", "case", "image"}]


def _with_id(row: Row, tenant: Tenant, **override) -> str:
    return API + row.path.format(**{**tenant.ids(), **override})


@pytest.mark.parametrize("row", DETAIL_ROWS, ids=lambda row: f"{row.method} {row.path}")
def test_foreign_object_is_indistinguishable_from_missing_one(world: World, row: Row):
    client = client_for(world.own.technician)
    foreign = send(client, row, world.foreign, world)
    missing_tenant = Tenant(**{**world.foreign.__dict__})
    target = _target(row)
    setattr(missing_tenant, target, MODELS[target](pk=uuid.uuid4()))
    missing = send(client, row, missing_tenant, world)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert foreign.json().get("code", "not_found") == "not_found"


@pytest.mark.parametrize("row", DETAIL_ROWS, ids=lambda row: f"{row.method} {row.path}")
def test_foreign_object_request_is_audited_as_denied_and_missing_one_is_not(world: World, row: Row):
    technician = world.own.technician
    client = client_for(technician)
    target = _target(row)
    foreign_id = str(getattr(world.foreign, target).pk)

    start = AuditEvent.objects.count()
    assert send(client, row, world.foreign, world).status_code == 404
    denied = list(AuditEvent.objects.order_by("id")[start:])
    assert [(e.outcome, e.actor_id, e.object_type, e.object_id) for e in denied] == [
        (AuditOutcome.DENIED, technician.id, target, foreign_id)
    ]

    start = AuditEvent.objects.count()
    missing_tenant = Tenant(**{**world.foreign.__dict__})
    setattr(missing_tenant, target, MODELS[target](pk=uuid.uuid4()))
    assert send(client, row, missing_tenant, world).status_code == 404
    assert AuditEvent.objects.count() == start, "a request for an id that does not exist must not be audited"


def test_out_of_scope_own_site_object_is_audited_as_denied_for_a_reader(world: World):
    reader = world.users["reader"]
    response = client_for(reader).get(f"{API}/patients/{world.own.patient.id}/")
    assert response.status_code == 404
    event = AuditEvent.objects.get(actor=reader, outcome=AuditOutcome.DENIED)
    assert (event.object_type, event.object_id) == ("patient", str(world.own.patient.id))


CREATE_PARENTS = [  # (row path, field, how to name a foreign parent, how to name one that does not exist)
    ("/patients/", "site", lambda w: str(w.foreign.site.id), lambda w: str(uuid.uuid4())),
    ("/lesions/", "patient", lambda w: str(w.foreign.patient.id), lambda w: str(uuid.uuid4())),
    ("/cases/", "lesion", lambda w: str(w.foreign.lesion.id), lambda w: str(uuid.uuid4())),
    ("/cases/#technician", "technician", lambda w: w.foreign.technician.id, lambda w: User.objects.order_by("-id")[0].id + 1000),
]


@pytest.mark.parametrize(("path", "field", "foreign_id", "missing_id"), CREATE_PARENTS, ids=[p[1] for p in CREATE_PARENTS])
def test_foreign_parent_is_rejected_exactly_like_a_missing_one(world: World, path, field, foreign_id, missing_id):
    client = client_for(world.own.technician)
    body = BODIES[("POST", path)](world.own, world)
    url = API + path.split("#")[0]
    foreign_id, missing_id = foreign_id(world), missing_id(world)
    counts = {model: model.objects.count() for model in MODELS.values()}
    foreign = client.post(url, {**body, field: foreign_id}, format="json")
    missing = client.post(url, {**body, field: missing_id}, format="json")
    assert foreign.status_code == missing.status_code == 400
    assert set(foreign.json()["fields"]) == {field}
    normalized = foreign.json()["fields"][field][0].replace(str(foreign_id), "ID")
    assert normalized == missing.json()["fields"][field][0].replace(str(missing_id), "ID")
    assert "does not exist" in normalized
    assert {model: model.objects.count() for model in MODELS.values()} == counts
    # ... and the own parent works, so the 400 above is about the parent alone.
    assert client.post(url, body, format="json").status_code == 201


# ---------------------------------------------------------------------------------------------
# What the non-clinical roles do see.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["qa_admin", "site_admin"])
def test_statistics_are_aggregates_of_the_own_site_only(world: World, role: str):
    response = client_for(world.users[role]).get(f"{API}/sites/{world.own.site.id}/statistics/")
    assert response.status_code == 200
    assert response.json() == {
        "patients": 1, "lesions": 1, "cases": 1, "cases_by_status": {CaseStatus.DRAFT: 1},
        "images": 1, "images_by_kind": {"dermoscopy": 1}, "images_by_status": {ImageStatus.READY: 1},
    }


@pytest.mark.parametrize("role", ROLES[1:])
def test_me_lists_only_the_users_own_roles(world: World, role: str):
    response = client_for(world.users[role]).get(f"{API}/auth/me/")
    assert response.status_code == 200
    expected = {} if role == "no_membership" else {str(world.own.site.id): [role]}
    assert response.json()["roles"] == expected


def test_inactive_site_grants_nothing(world: World):
    Site.objects.filter(pk=world.own.site.pk).update(is_active=False)
    client = client_for(world.own.technician)
    assert client.get(f"{API}/patients/{world.own.patient.id}/").status_code == 404
    assert client.get(f"{API}/sites/").json() == []
    assert client.get(f"{API}/images/").json()["results"] == []


def test_own_image_without_thumbnail_is_not_ready_while_a_foreign_one_is_not_found(world: World):
    Image.objects.filter(pk__in=[world.own.image.pk, world.foreign.image.pk]).update(thumbnail="")
    client = client_for(world.own.technician)
    own = client.get(f"{API}/images/{world.own.image.id}/thumbnail/")
    foreign = client.get(f"{API}/images/{world.foreign.image.id}/thumbnail/")
    assert (own.status_code, own.json()["code"]) == (404, "not_ready")
    assert foreign.status_code == 404 and foreign.json().get("code", "not_found") == "not_found"


def test_file_download_returns_the_original_bytes_to_the_own_site_only(world: World):
    client = client_for(world.own.technician)
    response = client.get(f"{API}/images/{world.own.image.id}/file/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == ORIGINAL_BYTES
    assert client.get(f"{API}/images/{world.foreign.image.id}/file/").status_code == 404


# ---------------------------------------------------------------------------------------------
# Anonymous callers.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/", "/auth/logout/", "/auth/tokens/", "/schema/", "/docs/", "/redoc/",
])
def test_anonymous_is_refused_beyond_the_matrix(path):
    client = APIClient()
    assert client.get(API + path).status_code in (401, 403)
    assert client.post(API + path).status_code in (401, 403)


def test_anonymous_may_only_sign_in(world: World):
    technician = world.own.technician
    credentials = {"username": technician.username, "password": PASSWORD}
    assert APIClient().post(f"{API}/auth/login/", credentials, format="json").status_code == 200
    assert APIClient().post(f"{API}/auth/token/", credentials, format="json").status_code == 201


# ---------------------------------------------------------------------------------------------
# Roles are per site: one user, different roles at the two sites.
# ---------------------------------------------------------------------------------------------


def test_roles_apply_to_their_own_site_only(world: World):
    from dermrelay.accounts.models import Membership

    user = make_user(role=Role.TECHNICIAN, site=world.own.site, username="mixed")
    Membership.objects.create(user=user, site=world.foreign.site, role=Role.READER)
    Membership.objects.create(user=user, site=world.foreign.site, role=Role.QA_ADMIN)
    client = client_for(user)

    ids = [row["id"] for row in client.get(f"{API}/patients/").json()["results"]]
    assert ids == [str(world.own.patient.id)]
    assert client.get(f"{API}/patients/{world.foreign.patient.id}/").status_code == 404
    assert client.get(f"{API}/images/{world.foreign.image.id}/file/").status_code == 404
    assert sorted(site["id"] for site in client.get(f"{API}/sites/").json()) == sorted(
        [str(world.own.site.id), str(world.foreign.site.id)]
    )
    assert client.get(f"{API}/sites/{world.foreign.site.id}/statistics/").status_code == 200  # QA admin there
    assert client.get(f"{API}/sites/{world.own.site.id}/statistics/").status_code == 404  # technician here
    # A technician of the foreign site is not one this user may assign, even though the user has roles there.
    response = client.post(f"{API}/cases/", {
        "lesion": str(world.own.lesion.id), "visit_date": "2026-11-02", "technician": world.foreign.technician.id,
    }, format="json")
    assert response.status_code == 400 and set(response.json()["fields"]) == {"technician"}


# ---------------------------------------------------------------------------------------------
# Out-of-scope ids in bodies and filters reveal nothing.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role, tenant", [("technician", "foreign"), ("reader", "own")])
def test_recall_of_an_unreachable_case_is_404_whatever_the_body(world: World, role: str, tenant: str):
    case = getattr(world, tenant).case
    response = client_for(world.users[role]).post(f"{API}/cases/{case.id}/recall/", {}, format="json")
    assert response.status_code == 404


FILTER_PARAMS = [  # list endpoint, filter, foreign id
    ("/patients/", "site", lambda w: w.foreign.site.id, lambda: uuid.uuid4()),
    ("/lesions/", "patient", lambda w: w.foreign.patient.id, lambda: uuid.uuid4()),
    ("/cases/", "lesion", lambda w: w.foreign.lesion.id, lambda: uuid.uuid4()),
    ("/cases/", "technician", lambda w: w.foreign.technician.id, lambda: 10**9),
    ("/images/", "case", lambda w: w.foreign.case.id, lambda: uuid.uuid4()),
]


@pytest.mark.parametrize(("path", "name", "foreign_id", "missing_id"), FILTER_PARAMS,
                         ids=[f"{p[0]}?{p[1]}" for p in FILTER_PARAMS])
def test_filtering_by_a_foreign_id_looks_like_filtering_by_a_missing_one(world: World, path, name, foreign_id, missing_id):
    client = client_for(world.own.technician)
    foreign = client.get(f"{API}{path}?{name}={foreign_id(world)}")
    missing = client.get(f"{API}{path}?{name}={missing_id()}")
    assert foreign.status_code in (200, 400)
    if foreign.status_code == 200:
        assert foreign.json()["results"] == []
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json())


# ---------------------------------------------------------------------------------------------
# Token authentication for capture devices.
# ---------------------------------------------------------------------------------------------


def _device_token(user: User) -> str:
    response = APIClient().post(f"{API}/auth/token/", {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["token"]


def _check_device_client(client: APIClient, world: World) -> None:
    listed = client.get(f"{API}/patients/")
    assert listed.status_code == 200
    ids = [row["id"] for row in listed.json()["results"]]
    assert str(world.own.patient.id) in ids and str(world.foreign.patient.id) not in ids
    assert client.get(f"{API}/patients/{world.foreign.patient.id}/").status_code == 404
    assert client.get(f"{API}/auth/me/").json()["username"] == world.own.technician.username
    # A device uploads with its token; it has no session, so it needs no CSRF token.
    assert upload(client, world.own.case, NEW_BYTES).status_code == 201
    assert upload(client, world.foreign.case, NEW_BYTES).status_code == 404


def test_capture_device_token_authenticates_with_token_scheme(world: World):
    key = _device_token(world.own.technician)
    assert len(key) >= 20
    assert _device_token(world.own.technician) != key  # each sign-in is a device of its own
    device = APIClient(enforce_csrf_checks=True)
    device.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    _check_device_client(device, world)

    for header in (f"Token {key[:-1]}x", f"Token {key} extra", f"Token{key}", f"Basic {key}"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get(f"{API}/patients/").status_code in (401, 403), header


def test_capture_device_token_authenticates_with_bearer_scheme(world: World):
    key = _device_token(world.own.technician)
    device = APIClient(enforce_csrf_checks=True)
    device.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    _check_device_client(device, world)


def test_wrong_bearer_token_is_refused(world: World):
    key = _device_token(world.own.technician)
    for header in (f"Bearer {key[:-1]}x", f"Bearer {key} extra"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        assert client.get(f"{API}/patients/").status_code in (401, 403), header


def test_inactive_user_token_is_refused(world: World):
    technician = world.own.technician
    key = _device_token(technician)
    User.objects.filter(pk=technician.pk).update(is_active=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(f"{API}/patients/").status_code in (401, 403)


@pytest.mark.parametrize("endpoint", ["/auth/token/", "/auth/login/"])
def test_wrong_password_is_refused_and_audited(world: World, endpoint: str):
    technician = world.own.technician
    start = AuditEvent.objects.count()
    response = APIClient().post(API + endpoint, {"username": technician.username, "password": PASSWORD + "x"}, format="json")
    assert response.status_code in (401, 403)
    assert "token" not in response.json()
    events = list(AuditEvent.objects.order_by("id")[start:])
    assert [(e.action, e.outcome, e.actor_id, e.detail) for e in events] == [
        ("login", AuditOutcome.DENIED, None, {"username": technician.username})
    ]


# ---------------------------------------------------------------------------------------------
# Browser sessions: unsafe requests need the CSRF token.
# ---------------------------------------------------------------------------------------------


def test_session_login_then_unsafe_request_needs_csrf_header(world: World):
    technician = world.own.technician
    client = APIClient(enforce_csrf_checks=True)
    assert client.get(f"{API}/auth/login/").status_code == 204  # the CSRF cookie, as the app's page sets it
    login = client.post(f"{API}/auth/login/", {"username": technician.username, "password": PASSWORD}, format="json",
                        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert login.status_code == 200, login.content
    assert login.json()["roles"] == {str(world.own.site.id): ["technician"]}
    assert AuditEvent.objects.filter(actor=technician, action="login", outcome=AuditOutcome.SUCCESS).exists()
    csrf = client.cookies["csrftoken"].value

    url = f"{API}/patients/{world.own.patient.id}/"
    assert client.get(url).status_code == 200  # safe: no header needed

    refused = client.patch(url, {"given_name": "Changed"}, format="json")
    assert refused.status_code == 403
    assert "csrf" in refused.json()["detail"].lower()
    assert Patient.objects.get(pk=world.own.patient.pk).given_name == "Test"

    wrong = client.patch(url, {"given_name": "Changed"}, format="json", HTTP_X_CSRFTOKEN="x" * 64)
    assert wrong.status_code == 403

    accepted = client.patch(url, {"given_name": "Changed"}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert accepted.status_code == 200, accepted.content
    assert Patient.objects.get(pk=world.own.patient.pk).given_name == "Changed"

    # The session is scoped like any other authentication.
    foreign = client.patch(f"{API}/patients/{world.foreign.patient.id}/", {"given_name": "X"}, format="json",
                           HTTP_X_CSRFTOKEN=csrf)
    assert foreign.status_code == 404

    # Logging out is unsafe too; afterwards the session no longer works.
    assert client.post(f"{API}/auth/logout/").status_code == 403
    assert client.post(f"{API}/auth/logout/", HTTP_X_CSRFTOKEN=csrf).status_code == 204
    assert client.get(url).status_code in (401, 403)
