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


@pytest.mark.postgres
def test_postgresql_trigger_refuses_update_and_delete():
    event = audit_record(actor=None, action="login", outcome="denied")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="tampered")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "login"
