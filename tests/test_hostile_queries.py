"""Query parameters and headers a careless client or an attacker sends get a 400 that names the
parameter, never a 500; and a request nothing answers, or one that crashes, gets the API's JSON
error, never Django's debug page."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import path

from tests.factories import make_case
from tests.reading.helpers import API, COMPLETE_REPORT, claimed_case, make_clinic

pytestmark = pytest.mark.django_db(transaction=True)  # the pipeline's steps run on commit


def test_a_report_version_that_is_not_a_plain_number_is_a_400():
    clinic = make_clinic()
    case = claimed_case(clinic)
    assert clinic.reader_client.put(f"{API}/cases/{case.id}/report/", COMPLETE_REPORT, format="json").status_code == 200
    for version in ("\u00b2", "9" * 30, "-1", "1.0", " "):
        response = clinic.reader_client.get(f"{API}/cases/{case.id}/report/pdf/", {"version": version})
        assert response.status_code == 400, (version, response.status_code)
        assert "version" in response.json()["fields"]


def test_a_technician_filter_past_any_id_or_not_a_number_is_a_400():
    clinic = make_clinic()
    for technician in ("9" * 20, "\u00b2", "1.5", "-3"):
        response = clinic.admin_client.get(f"{API}/cases/", {"technician": technician})
        assert response.status_code == 400, (technician, response.content)
        assert "technician" in response.json()["fields"]
    assert clinic.admin_client.get(f"{API}/cases/", {"technician": clinic.tech.id}).status_code == 200


def test_a_tus_offset_in_superscript_digits_is_a_400():
    clinic = make_clinic()
    case = make_case(site=clinic.site, actor=clinic.tech)
    created = clinic.tech_client.post(f"{API}/uploads/", HTTP_TUS_RESUMABLE="1.0.0", HTTP_UPLOAD_LENGTH="\u00b2",
                                      HTTP_UPLOAD_METADATA=f"case {_b64(str(case.id))},filename {_b64('a.png')}")
    assert created.status_code == 400 and created.json()["code"] == "invalid_header"


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def crash(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("api/v1/crash/", crash), path("crash/", crash)]
handler500 = "dermrelay.web.server_error"  # Django looks the handler up on the URLconf in use


@override_settings(ROOT_URLCONF="tests.test_hostile_queries", DEBUG=False)
def test_a_crash_answers_the_api_error_format_and_no_debug_page():
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/crash/")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The server could not answer this request; the error is logged.",
                               "code": "server_error"}
    assert b"a bug in a view" not in client.get("/crash/").content


def test_an_unknown_api_address_is_a_json_404():
    response = Client().get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
