"""A QA world: three sites in a QA admin's scope (one clearly worse), one outside it, and the users
of every role, with eight weeks of synthetic quality history ending on TODAY."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest

from dermrelay.accounts.models import Membership, Role, Site, User
from dermrelay.qa.seeding import GOOD, POOR, TYPICAL, SiteHistory, qa_history_seed
from tests.factories import make_site, make_user

TODAY = datetime.date(2026, 11, 24)
PERIOD = {"date_from": "2026-08-26", "date_to": "2026-11-24"}


@dataclass
class World:
    north: Site
    lake: Site
    river: Site
    other: Site
    qa: User  # qa_admin at north, lake, river
    admin_north: User  # site_admin at north
    tech_north: User
    tech_lake: User
    tech_river: User
    reader: User  # reader at north


@pytest.fixture
def world(db) -> World:
    north, lake, river, other = (make_site(code) for code in ("north", "lake", "river", "other"))
    tech_north = make_user(role=Role.TECHNICIAN, site=north, username="tech-north")
    tech_lake = make_user(role=Role.TECHNICIAN, site=lake, username="tech-lake")
    tech_river = make_user(role=Role.TECHNICIAN, site=river, username="tech-river")
    tech_other = make_user(role=Role.TECHNICIAN, site=other, username="tech-other")
    tech_lake.first_name, tech_lake.last_name = "Luis", "Lake"
    tech_lake.save()
    qa = make_user(username="quinn")
    for site in (north, lake, river):
        Membership.objects.create(user=qa, site=site, role=Role.QA_ADMIN)
    admin_north = make_user(role=Role.SITE_ADMIN, site=north, username="admin-north")
    reader = make_user(role=Role.READER, site=north, username="rita")
    qa_history_seed(sites_spec=[
        SiteHistory(site=north, technicians=[tech_north], profile=GOOD),
        SiteHistory(site=lake, technicians=[tech_lake] * 4 + [None], profile=TYPICAL),
        SiteHistory(site=river, technicians=[tech_river], profile=POOR),
        SiteHistory(site=other, technicians=[tech_other], profile=POOR),
    ], weeks=8, seed=11, today=TODAY)
    return World(north=north, lake=lake, river=river, other=other, qa=qa, admin_north=admin_north,
                 tech_north=tech_north, tech_lake=tech_lake, tech_river=tech_river, reader=reader)
