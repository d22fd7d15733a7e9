"""The audit trail: every read and change of patient data and every download leaves an event, and
events can never be changed or removed (in Python everywhere, in the database on PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from dermrelay.accounts.models import Role
from dermrelay.audit.models import AppendOnlyError, AuditEvent
from dermrelay.audit.services import audit_record
from tests.factories import api_client, make_case, make_patient, make_site, make_user, png_bytes, upload

pytestmark = pytest.mark.django_db


def _events(**filters):
    return list(AuditEvent.objects.filter(**filters).values_list("action", "object_type", "object_id", "outcome"))


def test_reads_changes_and_downloads_are_recorded_with_actor_and_address():
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    patient = make_patient(site=site, actor=tech)
    client = api_client(tech)

    assert client.get(f"/api/v1/patients/{patient.id}/", REMOTE_ADDR="10.1.2.3").status_code == 200
    event = AuditEvent.objects.filter(action="view", object_id=str(patient.id)).get()
    assert (event.actor, event.actor_username, event.client_address, event.site_id) == (tech, tech.username, "10.1.2.3", site.id)

    assert client.get("/api/v1/patients/").status_code == 200
    listed = AuditEvent.objects.filter(action="list", object_type="patient").get()
    assert listed.detail["ids"] == [str(patient.id)]

    assert client.patch(f"/api/v1/patients/{patient.id}/", {"family_name": "Renamed"}, format="json").status_code == 200
    changed = AuditEvent.objects.filter(action="update", object_id=str(patient.id)).get()
    assert changed.detail == {"fields": ["family_name"]}
    assert "Renamed" not in str(changed.detail)  # the trail names fields, never copies PHI values

    case = make_case(site=site, actor=tech)
    image_id = upload(client, case, png_bytes()).json()["id"]
    assert _events(action="upload") == [("upload", "image", image_id, "success")]
    response = client.get(f"/api/v1/images/{image_id}/file/")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment;")
    b"".join(response.streaming_content)
    assert _events(action="download") == [("download", "image", image_id, "success")]


def test_events_refuse_change_and_delete_in_python():
    event = audit_record(actor=None, action="login", outcome="denied")
    event.action = "something else"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "login"


def test_the_database_refuses_update_and_delete_of_events_on_every_backend():
    """Found by the hardening review: on SQLite `.update()`, `.delete()` and raw SQL all succeeded."""
    event = audit_record(actor=None, action="login", outcome="denied")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    from django.db import connection

    for statement in ("UPDATE audit_auditevent SET action = 'tampered'", "DELETE FROM audit_auditevent"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEvent.objects.get(pk=event.pk).action == "login"


def _reads_world():
    """A site with a technician and a site admin, a case with a registered mosaic, and an open upload."""
    import base64

    site = make_site()
    tech, admin = make_user(role=Role.TECHNICIAN, site=site), make_user(role=Role.SITE_ADMIN, site=site)
    client = api_client(tech)
    case = make_case(site=site, actor=tech)
    dermoscopy = upload(client, case, png_bytes(60, 45, mode="RGB", color=(150, 100, 90))).json()["id"]
    mosaic = upload(client, case, png_bytes(64, 48, color=90), kind="rcm_mosaic", depth_level="dej",
                    pixel_spacing_um=2.0).json()["id"]
    registered = client.put(f"/api/v1/images/{mosaic}/registration/",
                            {"dermoscopy": dermoscopy, "matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}, format="json")
    assert registered.status_code == 200, registered.content
    metadata = ",".join(f"{k} {base64.b64encode(str(v).encode()).decode()}" for k, v in {"case": case.id, "kind": "dermoscopy"}.items())
    created = client.generic("POST", "/api/v1/uploads/", b"", content_type="", HTTP_TUS_RESUMABLE="1.0.0",
                             HTTP_UPLOAD_LENGTH="100", HTTP_UPLOAD_METADATA=metadata)
    assert created.status_code == 201, created.content
    return {"site": site, "tech": tech, "admin": admin, "case": case, "mosaic": mosaic,
            "upload": created.json()["id"]}


UNAUDITED_BEFORE = [
    # the reads the hardening review found without an event: (who, method, path, action, object type)
    ("tech", "get", "/api/v1/images/{mosaic}/registration/", "view_registration", "image"),
    ("tech", "get", "/api/v1/cases/{case}/anatomic-site-suggestion/", "view_site_suggestion", "case"),
    ("admin", "get", "/api/v1/cases/{case}/assignment/", "view_assignment", "case"),
    ("tech", "get", "/api/v1/notifications/", "list", "notification"),
    ("tech", "head", "/api/v1/uploads/{upload}/", "upload_status", "upload"),
    ("admin", "get", "/api/v1/sites/{site}/statistics/", "view_statistics", "site"),
    ("tech", "get", "/api/v1/sites/{site}/technicians/", "list", "technician"),
]


@pytest.mark.parametrize("who,method,path,action,object_type", UNAUDITED_BEFORE,
                         ids=[row[2].split("{")[-1].split("}/")[-1].strip("/") or row[2] for row in UNAUDITED_BEFORE])
def test_every_read_of_patient_or_staff_data_leaves_an_event(who, method, path, action, object_type):
    world = _reads_world()
    user = world[who]
    url = path.format(**{key: getattr(value, "id", value) for key, value in world.items()})
    before = AuditEvent.objects.count()
    response = getattr(api_client(user), method)(url, HTTP_TUS_RESUMABLE="1.0.0")
    assert response.status_code == 200, (url, response.status_code, getattr(response, "content", b""))
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.actor, e.action, e.object_type) for e in events] == [(user, action, object_type)]
    assert events[0].site_id == world["site"].id or object_type == "notification"
