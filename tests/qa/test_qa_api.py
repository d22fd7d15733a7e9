"""The QA API: who sees what, numbers equal to the rows behind them, drill-down, CSV and audit."""

from __future__ import annotations

import csv
import datetime
import io
import uuid

import numpy as np
import pytest
from django.utils import timezone

from dermrelay.accounts.models import Membership, Role, User
from dermrelay.gate.models import MosaicQuality
from dermrelay.audit.models import AuditEvent, AuditOutcome
from dermrelay.qa import statistics
from dermrelay.qa.api.export import csv_cell
from tests.factories import api_client, make_judged_mosaic, make_site, make_user
from tests.qa.conftest import PERIOD, TODAY

pytestmark = pytest.mark.django_db

QA = "/api/v1/qa"
ENDPOINTS = ("scope", "summary", "trend", "recall", "mosaics", "export")
BIN_EDGES = ((None, 5), (5, 10), (10, 15), (15, 25), (25, None))


def _get(user, endpoint: str, **params):
    return api_client(user).get(f"{QA}/{endpoint}/", {**PERIOD, **params})


def _rows(site=None, **filters):
    rows = MosaicQuality.objects.filter(image__case__visit_date__gte=PERIOD["date_from"],
                                        image__case__visit_date__lte=PERIOD["date_to"], **filters)
    return rows.filter(image__case__site=site) if site is not None else rows


def _expected(values: list[float]) -> dict:
    """describe() computed independently: numpy and explicit bin conditions."""
    values = np.asarray(values, dtype=float)
    counts = [int(((values >= lo if lo is not None else True) & (values < hi if hi is not None else True)).sum())
              for lo, hi in BIN_EDGES]
    return {"n": len(values), "mean": float(values.mean()), "median": float(np.median(values)),
            "sd": float(values.std(ddof=1)), "bins": counts}


def _assert_describe(found: dict, values: list[float]) -> None:
    expected = _expected(values)
    assert found["n"] == expected["n"]
    assert found["mean"] == pytest.approx(expected["mean"])
    assert found["median"] == pytest.approx(expected["median"])
    assert found["sd"] == pytest.approx(expected["sd"])
    assert [b["count"] for b in found["bins"]] == expected["bins"]


# --------------------------------------------------------------------------- who sees what


def test_qa_admin_scope_lists_only_their_sites(world):
    response = _get(world.qa, "scope")
    assert response.status_code == 200, response.content
    body = response.json()
    assert {s["code"] for s in body["sites"]} == {"north", "lake", "river"}
    assert body["roles"] == {str(s.id): ["qa_admin"] for s in (world.north, world.lake, world.river)}
    today = timezone.localdate()
    assert body["default_period"] == {"date_from": (today - datetime.timedelta(days=90)).isoformat(),
                                      "date_to": today.isoformat()}
    summary = _get(world.qa, "summary").json()
    assert [s["label"] for s in summary["sites"]] == ["Clinic lake", "Clinic north", "Clinic river"]
    assert summary["pool"]["n"] == sum(_rows(site).count() for site in (world.north, world.lake, world.river))
    assert "tech-other" not in {t["label"] for t in summary["technicians"]}


def test_site_admin_sees_only_their_own_site(world):
    scope = _get(world.admin_north, "scope").json()
    assert [s["code"] for s in scope["sites"]] == ["north"] and scope["roles"] == {str(world.north.id): ["site_admin"]}
    summary = _get(world.admin_north, "summary").json()
    assert [s["key"] for s in summary["sites"]] == [str(world.north.id)]
    assert [t["label"] for t in summary["technicians"]] == ["tech-north"]
    assert summary["pool"]["n"] == _rows(world.north).count()
    drill = _get(world.admin_north, "mosaics", page_size=200).json()
    assert drill["count"] == _rows(world.north).count()
    assert {row["site_id"] for row in drill["results"]} == {str(world.north.id)}
    for endpoint in ("summary", "trend", "recall", "mosaics"):
        assert _get(world.admin_north, endpoint, site=str(world.lake.id)).status_code == 404


@pytest.mark.parametrize("who", ["tech_north", "reader"])
def test_technicians_and_readers_get_a_clear_403(world, who):
    user = getattr(world, who)
    for endpoint in ENDPOINTS:
        response = _get(user, endpoint, table="mosaics")
        assert response.status_code == 403, (endpoint, response.status_code)
        assert "quality administrators and site administrators" in response.json()["detail"]
        assert "Clinic" not in response.content.decode()
    assert AuditEvent.objects.filter(actor=user, action="qa_view", outcome=AuditOutcome.DENIED).count() == len(ENDPOINTS)


def test_anonymous_is_refused(world):
    assert api_client().get(f"{QA}/summary/").status_code in (401, 403)


def test_site_outside_scope_is_404_and_audited(world):
    for endpoint in ("summary", "trend", "recall", "mosaics"):
        response = _get(world.qa, endpoint, site=str(world.other.id))
        assert response.status_code == 404 and "Clinic other" not in response.content.decode()
    assert _get(world.qa, "export", table="mosaics", site=str(world.other.id)).status_code == 404
    assert _get(world.qa, "summary", site=str(uuid.uuid4())).status_code == 404
    denied = AuditEvent.objects.filter(actor=world.qa, outcome=AuditOutcome.DENIED, site_id=world.other.id)
    assert denied.count() == 5 and set(denied.values_list("action", flat=True)) == {"qa_view", "qa_export"}
    response = _get(world.qa, "summary", site="not-a-uuid")
    assert response.status_code == 400 and "site" in response.json()["detail"]


def test_staff_superuser_sees_every_active_site(world):
    ops = User.objects.create_superuser(username="ops", password="x", email="")
    assert {s["code"] for s in _get(ops, "scope").json()["sites"]} == {"north", "lake", "river", "other"}
    world.other.is_active = False
    world.other.save()
    assert {s["code"] for s in _get(ops, "scope").json()["sites"]} == {"north", "lake", "river"}


# --------------------------------------------------------------------------- numbers


def test_summary_numbers_equal_the_statistics_of_the_rows(world):
    summary = _get(world.qa, "summary").json()
    assert summary["period"] == PERIOD
    assert [b["label"] for b in summary["bins"]] == ["0–5", "5–10", "10–15", "15–25", "25–100"]
    for group in summary["sites"]:
        rows = _rows(image__case__site_id=group["key"])
        assert group["n_mosaics"] == rows.count() > 0
        _assert_describe(group["whole"], list(rows.values_list("percent_whole", flat=True)))
        _assert_describe(group["lesion"], list(rows.exclude(percent_lesion=None).values_list("percent_lesion", flat=True)))
        assert group["verdicts"] == {v: rows.filter(verdict=v).count() for v in ("acceptable", "review", "reimage")}
        assert group["site_name"] == group["label"] and group["site_id"] == group["key"]
    lake_rows = _rows(world.lake)
    technicians = {t["key"]: t for t in summary["technicians"]}
    assert technicians[str(world.tech_lake.id)]["label"] == "Luis Lake"
    assert technicians["unassigned"]["label"] == "Unassigned technician"
    assert technicians["unassigned"]["n_mosaics"] == lake_rows.filter(image__case__technician=None).count() > 0
    _assert_describe(technicians[str(world.tech_lake.id)]["whole"],
                     list(lake_rows.filter(image__case__technician=world.tech_lake).values_list("percent_whole", flat=True)))
    all_rows = _rows(image__case__site__in=[world.north, world.lake, world.river])
    _assert_describe(summary["pool"]["whole"], list(all_rows.values_list("percent_whole", flat=True)))
    assert summary["thresholds_used"][str(world.north.id)] == {"review_at_percent": 10.0, "reimage_at_percent": 20.0}


def test_the_clearly_worse_site_is_flagged_with_its_evidence_and_no_other(world):
    summary = _get(world.qa, "summary").json()
    sites = {s["key"]: s for s in summary["sites"]}
    river = sites[str(world.river.id)]["outlier"]
    assert river["flagged"] and river["whole"]["flagged"] and river["whole"]["direction"] == "worse"
    evidence = river["whole"]
    assert evidence["status"] == "tested" and evidence["p_adjusted"] < 0.05 and evidence["effect_size"] >= 0.33
    assert evidence["n"] == _rows(world.river).count()
    assert evidence["pool_n"] == _rows(image__case__site__in=[world.north, world.lake]).count()
    assert evidence["group_median"] > 12 > evidence["pool_median"]
    assert evidence["reason"].startswith("Clinic river: median ") and "Mann–Whitney" in evidence["reason"]
    for site in (world.north, world.lake):
        assert not sites[str(site.id)]["outlier"]["flagged"]
    assert {(f["kind"], f["label"]) for f in summary["flagged"]} >= {("site", "Clinic river")}
    assert not any(f["label"] in ("Clinic north", "Clinic lake") for f in summary["flagged"])
    # The evidence does not change when the page narrows to one site.
    alone = _get(world.qa, "summary", site=str(world.river.id)).json()
    assert alone["sites"][0]["outlier"]["whole"]["p_adjusted"] == pytest.approx(evidence["p_adjusted"])
    # A site admin of north alone has no other site to compare with.
    own = _get(world.admin_north, "summary").json()["sites"][0]["outlier"]["whole"]
    assert own["status"] == "insufficient_data" and own["pool_n"] == 0 and not own["flagged"]


def test_empty_period_gives_zeros_not_errors(world):
    params = {"date_from": "2020-01-01", "date_to": "2020-03-31"}
    summary = _get(world.qa, "summary", **params).json()
    assert summary["pool"]["n"] == 0 and summary["pool"]["whole"]["mean"] is None
    assert len(summary["sites"]) == 3 and all(s["n_mosaics"] == 0 and s["whole"]["median"] is None for s in summary["sites"])
    assert all(t["n_mosaics"] == 0 for t in summary["technicians"]) and summary["flagged"] == []
    assert all(s["outlier"]["whole"]["status"] == "insufficient_data" for s in summary["sites"])
    trend = _get(world.qa, "trend", **params).json()
    assert trend["weeks"][0] == "2019-12-30" and trend["weeks"][-1] == "2020-03-30" and len(trend["weeks"]) == 14
    assert all(p["n"] == 0 and p["mean_whole"] is None for s in trend["series"] for p in s["points"])
    recall = _get(world.qa, "recall", **params).json()
    assert recall["n_without_lesion"] == 0 and all(r["n"] == 0 and r["saved_percent"] is None for r in recall["overall"])
    assert _get(world.qa, "mosaics", **params).json()["count"] == 0
    # A scope with no mosaics at all.
    fresh = make_site("fresh")
    admin = make_user(role=Role.SITE_ADMIN, site=fresh)
    body = api_client(admin).get(f"{QA}/summary/").json()
    assert body["pool"]["n"] == 0 and body["sites"][0]["n_mosaics"] == 0 and body["technicians"] == []


@pytest.mark.parametrize("params, word", [
    ({"date_from": "2026-13-01"}, "date_from"),
    ({"date_to": "yesterday"}, "date_to"),
    ({"date_from": "2026-11-10", "date_to": "2026-11-01"}, "after"),
    ({"date_from": "2020-01-01", "date_to": "2023-01-02"}, "3 years"),
    ({"technician": "abc"}, "technician"),
    ({"technician": "\u00b2"}, "technician"),  # str.isdigit() says yes, int() says no
    ({"technician": "9" * 20}, "technician"),  # past any integer column
    ({"date_to": "0001-01-01"}, "date_to"),  # 90 days before it is not a date
    ({"date_from": "9999-12-01", "date_to": "9999-12-31"}, "date_from"),  # 3 years after it is not either
])
def test_bad_dates_and_parameters_are_400_with_a_clear_message(world, params, word):
    for endpoint in ("summary", "trend", "recall", "mosaics"):
        response = api_client(world.qa).get(f"{QA}/{endpoint}/", params)
        assert response.status_code == 400, (endpoint, response.content)
        assert word in response.json()["detail"]


@pytest.mark.parametrize("params, word", [
    ({"bin": "5-11"}, "bin"), ({"measure": "both"}, "measure"), ({"verdict": "bad"}, "verdict"),
    ({"recalled_at": "10"}, "rule"), ({"recalled_at": "ten", "rule": "whole"}, "percentage"),
    ({"week": "2026-11-04"}, "Monday"), ({"ordering": "patient"}, "ordering"),
])
def test_bad_drill_down_filters_are_400(world, params, word):
    response = _get(world.qa, "mosaics", **params)
    assert response.status_code == 400 and word in response.json()["detail"]


def test_exactly_three_years_is_allowed(world):
    assert _get(world.qa, "summary", date_from="2023-11-24", date_to="2026-11-24").status_code == 200
    assert _get(world.qa, "summary", date_from="2023-11-23", date_to="2026-11-24").status_code == 400


# --------------------------------------------------------------------------- drill-down


def _drill_count(user, **params) -> int:
    response = _get(user, "mosaics", page_size=1, **params)
    assert response.status_code == 200, response.content
    return response.json()["count"]


def test_every_bin_count_drills_down_to_exactly_its_mosaics(world):
    summary = _get(world.qa, "summary").json()
    for group in summary["sites"] + summary["technicians"]:
        scope = {"site": group["key"]} if group["kind"] == "site" else {"technician": group["key"]}
        for measure in ("whole", "lesion"):
            for b in group[measure]["bins"]:
                assert _drill_count(world.qa, measure=measure, bin=b["key"], **scope) == b["count"], (group["label"], measure, b)
            assert _drill_count(world.qa, measure=measure, **scope) == group[measure]["n"]
        for verdict, count in group["verdicts"].items():
            assert _drill_count(world.qa, verdict=verdict, **scope) == count
    pool = summary["pool"]["whole"]["bins"]
    assert [_drill_count(world.qa, bin=b["key"]) for b in pool] == [b["count"] for b in pool]


def test_recall_counts_drill_down_to_exactly_their_mosaics(world):
    recall = _get(world.qa, "recall").json()
    assert recall["thresholds"] == [5, 10, 15, 25]
    for row in recall["overall"]:
        t = row["threshold"]
        assert _drill_count(world.qa, recalled_at=t, rule="whole") == row["whole_recalls"]
        assert _drill_count(world.qa, recalled_at=t, rule="lesion") == row["lesion_recalls"]
        assert (_drill_count(world.qa, recalled_at=t, rule="whole_only")
                - _drill_count(world.qa, recalled_at=t, rule="lesion_only")) == row["saved"]
    for site in recall["sites"]:
        for row in site["rows"]:
            assert _drill_count(world.qa, site=site["site_id"], recalled_at=row["threshold"], rule="whole") == row["whole_recalls"]
    assert recall["n_without_lesion"] == _rows(image__case__site__in=[world.north, world.lake, world.river],
                                               percent_lesion=None).count() > 0


def test_trend_has_every_week_and_its_points_drill_down(world):
    trend = _get(world.qa, "trend", group="all").json()
    weeks = [datetime.date.fromisoformat(w) for w in trend["weeks"]]
    assert weeks[0] == datetime.date(2026, 8, 24) and weeks[-1] == datetime.date(2026, 11, 23)
    assert all(w.weekday() == 0 for w in weeks) and all((b - a).days == 7 for a, b in zip(weeks, weeks[1:]))
    assert {s["kind"] for s in trend["series"]} == {"site", "technician"}
    summary = {g["key"]: g for g in _get(world.qa, "summary").json()["sites"]}
    for series in trend["series"]:
        assert [p["week_start"] for p in series["points"]] == trend["weeks"]
        if series["kind"] == "site":
            assert sum(p["n"] for p in series["points"]) == summary[series["key"]]["n_mosaics"]
    river = next(s for s in trend["series"] if s["key"] == str(world.river.id))
    assert river["points"][0]["n"] == 0  # a week before the history began, still listed
    busy = next(p for p in river["points"] if p["n"])
    assert _drill_count(world.qa, site=str(world.river.id), week=busy["week_start"]) == busy["n"]
    monday = datetime.date.fromisoformat(busy["week_start"])
    values = list(_rows(world.river).filter(image__case__visit_date__range=(monday, monday + datetime.timedelta(days=6)))
                  .values_list("percent_whole", flat=True))
    assert busy["mean_whole"] == pytest.approx(np.mean(values)) and busy["median_whole"] == pytest.approx(np.median(values))
    assert [s["kind"] for s in _get(world.qa, "trend").json()["series"]] == ["site"] * 3  # default: per site


def test_drill_down_rows_worst_first_no_patient_data_and_can_open(world):
    response = _get(world.qa, "mosaics", site=str(world.north.id), page_size=200)
    body = response.json()
    rows = body["results"]
    assert body["count"] == len(rows) == _rows(world.north).count()
    assert [r["percent_whole"] for r in rows] == sorted((r["percent_whole"] for r in rows), reverse=True)
    assert set(rows[0]) >= {"image", "case", "site_id", "site_name", "technician_id", "technician_name", "visit_date",
                            "depth_level", "percent_whole", "percent_lesion", "verdict", "basis", "assessed_at", "can_open"}
    text = response.content.decode()
    for phi in ("mrn", "QAH-", "given_name", "family_name", "birth_date", "QA history 0"):
        assert phi not in text
    assert not any(r["can_open"] for r in rows)  # a QA admin reads aggregates, not cases
    own = _get(world.admin_north, "mosaics", page_size=5).json()["results"]
    assert own and all(r["can_open"] for r in own)  # a site admin may open their site's cases
    by_lesion = _get(world.qa, "mosaics", ordering="-percent_lesion", page_size=200).json()["results"]
    lesional = [r["percent_lesion"] for r in by_lesion]
    nulls = lesional.index(None)
    assert lesional[:nulls] == sorted(lesional[:nulls], reverse=True) and set(lesional[nulls:]) == {None}


def test_drill_down_by_technician_including_unassigned(world):
    summary = {t["key"]: t for t in _get(world.qa, "summary").json()["technicians"]}
    for key in ("unassigned", str(world.tech_lake.id)):
        rows = _get(world.qa, "mosaics", technician=key, page_size=200).json()["results"]
        assert len(rows) == summary[key]["n_mosaics"]
        assert {r["technician_name"] for r in rows} == {summary[key]["label"]}
    assert _get(world.qa, "summary", technician="unassigned").json()["pool"]["n"] == summary["unassigned"]["n_mosaics"]


def test_recall_endpoint_by_hand(db):
    # The hand example of test_statistics: with a lesional %: (30, 4) (12, 12) (3, 8) (26, 27) (9, 2);
    # (6, -) has none. At 5%: whole 4, lesion 3, saved 1 (25%); at 10%: 3, 2, 1; at 15% and 25%: 2, 1, 1.
    site = make_site("hand")
    tech = make_user(role=Role.TECHNICIAN, site=site)
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    for whole, lesion in ((30, 4), (12, 12), (6, None), (3, 8), (26, 27), (9, 2)):
        make_judged_mosaic(site=site, technician=tech, percent_whole=whole, percent_lesion=lesion,
                           visit_date=datetime.date(2026, 11, 2))
    body = api_client(admin).get(f"{QA}/recall/", PERIOD).json()
    assert body["n_without_lesion"] == 1
    assert [(r["threshold"], r["n"], r["whole_recalls"], r["lesion_recalls"], r["saved"]) for r in body["overall"]] == [
        (5, 5, 4, 3, 1), (10, 5, 3, 2, 1), (15, 5, 2, 1, 1), (25, 5, 2, 1, 1)]
    assert body["overall"][1]["saved_percent"] == pytest.approx(100 / 3)
    assert body["sites"][0]["rows"] == body["overall"]
    summary = api_client(admin).get(f"{QA}/summary/", PERIOD).json()
    whole = summary["sites"][0]["whole"]  # 3 6 9 12 26 30: mean 86/6, median (9 + 12)/2 = 10.5
    assert whole["mean"] == pytest.approx(86 / 6) and whole["median"] == pytest.approx(10.5)
    assert [b["count"] for b in whole["bins"]] == [1, 2, 1, 0, 2]
    assert [b["count"] for b in summary["sites"][0]["lesion"]["bins"]] == [2, 1, 1, 0, 1]  # 2 4 | 8 | 12 | 27


# --------------------------------------------------------------------------- CSV and audit


def _csv(response) -> list[dict]:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_csv_exports_have_a_header_and_the_dashboard_rows(world):
    response = _get(world.qa, "export", table="mosaics", site=str(world.river.id), measure="whole", bin="25-100")
    assert response["Content-Disposition"] == 'attachment; filename="dermrelay-qa-mosaics-2026-08-26_2026-11-24.csv"'
    table = _csv(response)
    assert len(table) == _drill_count(world.qa, site=str(world.river.id), measure="whole", bin="25-100") > 0
    assert list(table[0])[:4] == ["image", "case", "site_id", "site_name"] and {r["site_name"] for r in table} == {"Clinic river"}
    groups = _csv(_get(world.qa, "export", table="groups"))
    summary = _get(world.qa, "summary").json()
    assert len(groups) == len(summary["sites"]) + len(summary["technicians"])
    river = next(r for r in groups if r["label"] == "Clinic river")
    assert river["outlier_whole_flagged"] == "true" and int(river["n_mosaics"]) == _rows(world.river).count()
    recall = _csv(_get(world.qa, "export", table="recall"))
    assert len(recall) == 4 * (1 + 3) and recall[0]["scope"] == "overall"
    trend = _csv(_get(world.qa, "export", table="trend", group="technician"))
    weeks = len(_get(world.qa, "trend").json()["weeks"])
    assert len(trend) == weeks * (1 + len(summary["technicians"]))
    assert _get(world.qa, "export", table="patients").status_code == 400


def test_csv_cells_cannot_become_formulas(db):
    assert csv_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert [csv_cell(v) for v in ("+1+2", "-A1", "@SUM(A1)", "\tx")] == ["'+1+2", "'-A1", "'@SUM(A1)", "'\tx"]
    assert [csv_cell(v) for v in (-1, -2.5, "-3", "+4.5", "1e-3", None, True)] == ["-1", "-2.5", "-3", "+4.5", "1e-3", "", "true"]
    site = make_site("evil")
    site.name = "=cmd|' /C calc'!A0"
    site.save()
    tech = make_user(role=Role.TECHNICIAN, site=site)
    tech.first_name = "@SUM(1+1)"
    tech.save()
    admin = make_user(role=Role.SITE_ADMIN, site=site)
    make_judged_mosaic(site=site, technician=tech, percent_whole=6, percent_lesion=7)
    make_judged_mosaic(site=site, technician=tech, percent_whole=3, percent_lesion=8)
    client = api_client(admin)
    mosaics = _csv(client.get(f"{QA}/export/", {**PERIOD, "table": "mosaics"}))
    assert {r["site_name"] for r in mosaics} == {"'=cmd|' /C calc'!A0"}
    assert {r["technician_name"] for r in mosaics} == {"'@SUM(1+1)"}
    recall = _csv(client.get(f"{QA}/export/", {**PERIOD, "table": "recall"}))
    at_5 = recall[0]  # (6, 7) (3, 8): whole 1, lesion 2 → saved −1, −100%: numbers stay numbers
    assert (at_5["saved"], at_5["saved_percent"]) == ("-1", "-100.0")


def test_every_qa_read_is_audited(world):
    before = AuditEvent.objects.count()
    for endpoint in ("scope", "summary", "trend", "recall", "mosaics"):
        assert _get(world.qa, endpoint).status_code == 200
    assert _get(world.qa, "summary", site=str(world.river.id)).status_code == 200
    assert _get(world.qa, "export", table="groups").status_code == 200
    events = list(AuditEvent.objects.order_by("id"))[before:]  # append-only: the events since
    assert [e.action for e in events] == ["qa_view"] * 6 + ["qa_export"]
    assert all(e.object_type == "qa" and e.actor == world.qa and e.outcome == AuditOutcome.SUCCESS for e in events)
    assert [e.detail["endpoint"] for e in events] == ["scope", "summary", "trend", "recall", "mosaics", "summary", "export"]
    assert events[5].site_id == world.river.id and events[1].site_id is None
    assert events[4].detail["images"] and events[6].detail["table"] == "groups"


# --------------------------------------------------------------------------- seeding


def test_seed_qa_history_command_is_synthetic_idempotent_and_worse_at_riverside(capsys):
    from django.core.management import call_command

    from dermrelay.accounts.models import Site
    from dermrelay.cases.models import Case, Image
    from dermrelay.qa.seeding import SYNTHETIC_DEVICE

    User.objects.create_user(username="qa")
    call_command("seed_qa_history", password="pw-demo")
    output = capsys.readouterr().out
    assert "synthetic" in output.lower() and "tech.river" in output and "admin.river" in output
    counts = (Case.objects.count(), Image.objects.count(), MosaicQuality.objects.count(), Membership.objects.count())
    assert Case.objects.exclude(device=SYNTHETIC_DEVICE).count() == 0
    assert User.objects.get(username="tech.river").check_password("pw-demo")
    river = Site.objects.get(code="riverside")
    assert river.name == "Riverside Skin Centre"
    assert Membership.objects.filter(user__username="qa", site=river, role=Role.QA_ADMIN).exists()
    assert Membership.objects.filter(user__username="admin.river", site=river, role=Role.SITE_ADMIN).exists()
    from django.core.files.storage import default_storage

    image = Image.objects.filter(case__site=river).first()
    assert default_storage.exists(image.file.name) and default_storage.size(image.file.name) == image.size_bytes
    medians = {code: float(np.median(MosaicQuality.objects.filter(image__case__site__code=code)
                                     .values_list("percent_whole", flat=True)))
               for code in ("northside", "lakeside", "riverside")}
    assert 14 <= medians["riverside"] <= 23 and all(3 <= medians[c] <= 9 for c in ("northside", "lakeside"))
    call_command("seed_qa_history", password="pw-demo")
    assert "nothing added" in capsys.readouterr().out
    assert (Case.objects.count(), Image.objects.count(), MosaicQuality.objects.count(),
            Membership.objects.count()) == counts
    qa = User.objects.get(username="qa")
    summary = api_client(qa).get(f"{QA}/summary/").json()
    flagged = {s["label"] for s in summary["sites"] if s["outlier"]["flagged"]}
    assert flagged == {"Riverside Skin Centre"}


def test_seeding_accepts_plain_dict_specs(db):
    from dermrelay.qa.seeding import qa_history_seed

    report = qa_history_seed(sites_spec=[
        {"code": "n", "name": "N Clinic", "technicians": ["ann", "bob"], "median_percent": 5.0},
        {"code": "r", "name": "R Clinic", "technicians": ["eve"], "median_percent": 19.0, "mosaics_per_week": 4},
    ], weeks=2, seed=3, today=TODAY)
    assert report.sites["n"]["cases"] == 12 and report.sites["r"]["cases"] == 8
    assert Membership.objects.filter(user__username="eve", site__code="r", role=Role.TECHNICIAN).exists()
    assert not User.objects.get(username="eve").has_usable_password()
    again = qa_history_seed(sites_spec=[{"code": "n", "technicians": ["ann"]}], weeks=2, seed=3, today=TODAY)
    assert again.sites["n"] == {"skipped": 12}
    assert statistics.BIN_KEYS[-1] == "25-100"


@pytest.mark.parametrize("today", [TODAY, datetime.date(2027, 3, 1), datetime.date(2026, 2, 28)])
def test_browser_tests_seed_flags_only_the_worse_site(db, today):
    """The spec the browser tests seed with (tests/e2e/test_clinic_and_qa.py): River is flagged,
    North and Lake are not, whatever day the tests run on."""
    from dermrelay.accounts.models import Site
    from dermrelay.qa.seeding import qa_history_seed

    qa_history_seed(sites_spec=[
        {"code": "north", "name": "North Clinic", "technicians": ["ann", "bob"], "median_percent": 5.0},
        {"code": "lake", "name": "Lake Clinic", "technicians": ["cat", "dan"], "median_percent": 6.0},
        {"code": "river", "name": "River Clinic", "technicians": ["eve", "fay"], "median_percent": 19.0},
    ], weeks=8, seed=3, today=today)
    qa = make_user(username="quinn")
    for site in Site.objects.all():
        Membership.objects.create(user=qa, site=site, role=Role.QA_ADMIN)
    period = {"date_from": (today - datetime.timedelta(days=90)).isoformat(), "date_to": today.isoformat()}
    summary = api_client(qa).get(f"{QA}/summary/", period).json()
    assert {s["label"]: s["outlier"]["flagged"] for s in summary["sites"]} == {
        "North Clinic": False, "Lake Clinic": False, "River Clinic": True}
    river = next(s for s in summary["sites"] if s["label"] == "River Clinic")
    from dermrelay.cases.models import Case

    assert Case.objects.filter(site__code="river").count() == 8 * 6  # six visits a week
    assert river["n_mosaics"] >= 48  # a visit re-imaged after a re-image verdict has two mosaics


def test_replaced_mosaics_still_count(world):
    """A mosaic that had to be re-imaged is exactly what QA must see: it stays in every number."""
    replaced = _rows(world.river, image__replaced_by__isnull=False)
    assert replaced.exists()  # the seeding re-imaged some visits after a re-image verdict
    summary = {s["key"]: s for s in _get(world.qa, "summary").json()["sites"]}
    assert summary[str(world.river.id)]["n_mosaics"] == _rows(world.river).count()
    rows = _get(world.qa, "mosaics", site=str(world.river.id), page_size=200).json()["results"]
    assert {r["image"] for r in rows if r["replaced"]} == {str(q.image_id) for q in replaced}
