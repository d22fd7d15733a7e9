"""Building blocks of the reading tests: a clinic with one user per role, and cases brought to
ready_for_reading through the real flow (upload, derivation, submit, advance; tasks run eagerly)."""

from __future__ import annotations

import io
import itertools
import re
import zlib
from dataclasses import dataclass

from pypdf import PdfReader
from rest_framework.test import APIClient

from dermrelay.accounts.models import Role, Site, User
from dermrelay.cases.models import Case, CaseStatus
from tests.factories import api_client, make_case, make_site, make_user, png_bytes, upload

API = "/api/v1"
_shades = itertools.count(10)


@dataclass
class Clinic:
    site: Site
    tech: User
    admin: User
    reader: User
    tech_client: APIClient
    admin_client: APIClient
    reader_client: APIClient


def make_clinic() -> Clinic:
    site = make_site()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    reader = make_user(role=Role.READER, site=site)
    return Clinic(site, tech, admin, reader, api_client(tech), api_client(admin), api_client(reader))


def submit(clinic: Clinic, case: Case) -> Case:
    response = clinic.tech_client.post(f"{API}/cases/{case.id}/submit/")
    assert response.status_code == 200, response.content
    case.refresh_from_db()
    assert case.status == CaseStatus.READY_FOR_READING, case.status
    return case


def ready_case(clinic: Clinic) -> Case:
    """A case with one small dermoscopy image (no mosaic), submitted and ready for reading."""
    case = make_case(site=clinic.site, actor=clinic.tech)
    response = upload(clinic.tech_client, case, png_bytes(64, 48, color=next(_shades) % 250))
    assert response.status_code == 201, response.content
    return submit(clinic, case)


def assign(clinic: Clinic, case: Case, reader: User | None = None, **body):
    return clinic.admin_client.post(f"{API}/cases/{case.id}/assignment/",
                                    {"reader": (reader or clinic.reader).id, **body}, format="json")


def claimed_case(clinic: Clinic) -> Case:
    case = ready_case(clinic)
    assert assign(clinic, case).status_code == 201
    response = clinic.reader_client.post(f"{API}/cases/{case.id}/claim/")
    assert response.status_code == 200, response.content
    return case


COMPLETE_REPORT = {
    "diagnosis": "nv", "management": "follow_up", "follow_up_months": 6,
    "findings": "Regular honeycomb pattern; edged papillae at the DEJ.", "comment": "Benign-appearing naevus.",
}


def pdf_text(data: bytes) -> bytes:
    """The PDF's bytes with every Flate stream decompressed, to look for text drawn in a core font."""
    parts = [data]
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            parts.append(zlib.decompress(match.group(1)))
        except zlib.error:
            pass
    return b"\n".join(parts)


def pdf_words(data: bytes) -> str:
    """Every page's text as a reader sees it, whitespace runs made single spaces (a cell may wrap anywhere)."""
    reader = PdfReader(io.BytesIO(data))
    return re.sub(r"\s+", " ", " ".join(page.extract_text() or "" for page in reader.pages))


def pdf_page_count(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", data))
