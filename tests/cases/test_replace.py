"""Replacing an image with a new capture, history kept: the old image, its analyses, judgement and
overlays stay; everything that means "the case's images now" sees only current images; the image
list shows both (replaced_by, replaced_at, ?current=); deleting the replacement restores the old one."""

from __future__ import annotations

import io
import uuid

import pytest

from dermrelay.accounts.models import Role
from dermrelay.gate.models import MosaicQuality
from dermrelay.analysis.models import Overlay
from dermrelay.analysis.selectors import case_findings, overlays_for
from dermrelay.gate.selectors import case_quality
from dermrelay.audit.models import AuditEvent
from dermrelay.cases import services
from dermrelay.cases.models import Case, CaseStatus, Image, ImageKind, ImageStatus
from dermrelay.reading.pdf.key_images import case_key_images
from inference.phantoms.encoding import png_bytes as phantom_png
from inference.phantoms.generator import gate_phantom, generate_phantom
from inference.phantoms.outlines import lesion_polygon
from tests.gate.gate_cases import models_sync_quality_model_only, upload_phantom_case
from tests.conftest import stored_files
from tests.factories import api_client, make_case, make_judged_mosaic, make_site, make_user, png_bytes, upload

pytestmark = pytest.mark.django_db


class Env:
    """A technician's draft case. Tasks run eagerly when a transaction commits; these tests run in one
    transaction, so uploads run their commit callbacks (derivation) at once, as a request would."""

    def __init__(self, tmp, on_commit=None):
        self.on_commit = on_commit
        self.site = make_site()
        self.tech = make_user(role=Role.TECHNICIAN, site=self.site)
        self.case = make_case(site=self.site, actor=self.tech)
        self.client = api_client(self.tech)
        self.media = tmp / "media"

    def upload(self, data: bytes, **fields):
        if self.on_commit is None:
            return upload(self.client, self.case, data, **fields)
        with self.on_commit(execute=True):
            return upload(self.client, self.case, data, **fields)

    def originals(self) -> list:
        return [p for p in stored_files(self.media) if "originals" in p.parts]


@pytest.fixture
def env(isolated_files, django_capture_on_commit_callbacks) -> Env:
    return Env(isolated_files, django_capture_on_commit_callbacks)


def mosaic(env: Env, shade: int, **fields):
    response = env.upload(png_bytes(96, 72, color=shade), kind=ImageKind.RCM_MOSAIC, depth_level="dej", **fields)
    return response


def test_a_new_capture_replaces_the_old_one_and_both_are_listed(env):
    old = mosaic(env, 10).json()
    response = mosaic(env, 20, replaces=old["id"])
    assert response.status_code == 201, response.content
    new = response.json()
    assert (new["is_current"], new["replaced_by"], new["replaces"]) == (True, None, old["id"])
    stored_old = Image.objects.get(pk=old["id"])
    assert str(stored_old.replaced_by_id) == new["id"] and stored_old.replaced_at is not None
    replace = AuditEvent.objects.get(action="replace")
    assert replace.object_id == old["id"] and replace.detail["replaced_by"] == new["id"]

    listed = {i["id"]: i for i in env.client.get(f"/api/v1/images/?case={env.case.id}").json()["results"]}
    assert set(listed) == {old["id"], new["id"]}
    assert listed[old["id"]]["replaced_by"] == new["id"] and listed[old["id"]]["is_current"] is False
    assert listed[old["id"]]["replaced_at"] is not None and listed[new["id"]]["replaces"] == old["id"]
    current = env.client.get(f"/api/v1/images/?case={env.case.id}&current=true").json()["results"]
    history = env.client.get(f"/api/v1/images/?case={env.case.id}&current=false").json()["results"]
    assert [i["id"] for i in current] == [new["id"]] and [i["id"] for i in history] == [old["id"]]
    assert env.client.get(f"/api/v1/cases/{env.case.id}/").json()["image_count"] == 1
    # the viewer still opens the replaced image (derivation ran: tasks are eager in tests)
    assert env.client.get(f"/api/v1/images/{old['id']}/viewer/").status_code == 200
    assert Image.objects.get(pk=old["id"]).thumbnail  # it could be a key image, but is history
    assert [str(i.id) for i in case_key_images(env.case)] == [new["id"]]


def test_a_replacement_through_tus_metadata(env):
    from tests.cases.test_tus import create, patch, path_of

    old = env.upload(png_bytes(64, 48, color=5)).json()
    data = png_bytes(64, 48, color=6)
    response = create(env.client, env.case, len(data), replaces=old["id"])
    assert response.status_code == 201, response.content
    done = patch(env.client, path_of(response), data, 0)
    assert done.status_code == 204, done.content
    assert str(Image.objects.get(pk=old["id"]).replaced_by_id) == done["DermRelay-Image"]


@pytest.mark.parametrize("how", ["multipart", "tus"])
def test_refused_replacements_store_nothing(env, how):
    from tests.cases.test_tus import create

    dermoscopy = env.upload(png_bytes(64, 48, color=1)).json()
    old = mosaic(env, 2).json()
    newer = mosaic(env, 3, replaces=old["id"]).json()
    other_case = make_case(site=env.site, actor=env.tech)
    foreign = upload(env.client, other_case, png_bytes(64, 48, color=4), kind=ImageKind.RCM_MOSAIC,
                     depth_level="dej").json()
    images, files = Image.objects.count(), len(env.originals())
    attempts = [
        (foreign["id"], 400, "invalid", "replaces"),  # another case's image
        (str(uuid.uuid4()), 400, "invalid", "replaces"),
        (dermoscopy["id"], 400, "invalid", "replaces"),  # another kind
        (old["id"], 409, "already_replaced", None),  # history: replace the current one instead
    ]
    for target, status, code, field in attempts:
        if how == "multipart":
            response = mosaic(env, 50, replaces=target)
        else:
            response = create(env.client, env.case, 100, kind=ImageKind.RCM_MOSAIC, depth_level="dej", replaces=target)
        assert response.status_code == status, (target, response.content)
        body = response.json()
        assert body["code"] == code and (field is None or field in body["fields"]), body
    assert Image.objects.count() == images and len(env.originals()) == files
    assert Image.objects.get(pk=old["id"]).replaced_by_id == uuid.UUID(newer["id"])
    assert Image.objects.get(pk=newer["id"]).replaced_by_id is None


def test_a_replacement_must_be_new_bytes_and_a_retry_gives_the_same_answer(env):
    old = mosaic(env, 10).json()
    other = mosaic(env, 11).json()
    response = mosaic(env, 11, replaces=old["id"])  # the bytes of `other`
    assert response.status_code == 409 and response.json()["code"] == "duplicate_image"
    assert Image.objects.get(pk=old["id"]).replaced_by_id is None
    first = mosaic(env, 12, replaces=old["id"])
    again = mosaic(env, 12, replaces=old["id"])  # the device did not hear the answer and sends it again
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and Image.objects.count() == 3
    assert other["id"] != first.json()["id"]


def test_replacing_needs_an_editable_case(env):
    old = env.upload(png_bytes(64, 48, color=1)).json()
    services.case_submit(case=env.case, actor=env.tech)
    response = env.upload(png_bytes(64, 48, color=2), replaces=old["id"])
    assert response.status_code == 409 and response.json()["code"] == "case_locked"
    Case.objects.filter(pk=env.case.pk).update(status=CaseStatus.RECALL_REQUESTED)  # recalled: re-image
    response = env.upload(png_bytes(64, 48, color=2), replaces=old["id"])
    assert response.status_code == 201, response.content


def test_the_replacement_is_atomic_with_the_new_image(env, monkeypatch):
    old = env.upload(png_bytes(64, 48, color=1)).json()
    files = len(env.originals())

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_image_replace", broken)
    with pytest.raises(RuntimeError):
        env.upload(png_bytes(64, 48, color=2), replaces=old["id"])
    assert Image.objects.count() == 1 and len(env.originals()) == files
    assert Image.objects.get(pk=old["id"]).replaced_by_id is None


def test_two_replacements_of_one_image_cannot_both_win(env, monkeypatch):
    """Both pass the early check; the second sees the first under the row lock and stores nothing."""
    old = env.upload(png_bytes(64, 48, color=1)).json()
    real_inspect = services.inspect_image_file
    raced = []

    def inspect_while_another_replacement_lands(**kwargs):
        if not raced:
            raced.append(None)
            raced[0] = services.image_create(actor=env.tech, case=env.case, staged=_staged(png_bytes(64, 48, color=9)),
                                             replaces=uuid.UUID(old["id"]), kind=ImageKind.DERMOSCOPY)[0]
        return real_inspect(**kwargs)

    monkeypatch.setattr(services, "inspect_image_file", inspect_while_another_replacement_lands)
    response = env.upload(png_bytes(64, 48, color=2), replaces=old["id"])
    assert response.status_code == 409 and response.json()["code"] == "already_replaced"
    assert Image.objects.get(pk=old["id"]).replaced_by_id == raced[0].id
    assert Image.objects.count() == 2 and len(env.originals()) == 2


def _staged(data: bytes):
    from dermrelay.cases.uploads import stage_stream

    return stage_stream(io.BytesIO(data))


def test_submit_counts_current_images_only(env):
    old = env.upload(png_bytes(64, 48, color=1)).json()
    Image.objects.filter(pk=old["id"]).update(status=ImageStatus.FAILED)
    response = env.client.post(f"/api/v1/cases/{env.case.id}/submit/")
    assert response.status_code == 409 and "failed" in response.json()["detail"]
    new = env.upload(png_bytes(64, 48, color=2), replaces=old["id"]).json()
    assert Image.objects.get(pk=new["id"]).status == ImageStatus.READY
    with env.on_commit(execute=True):
        response = env.client.post(f"/api/v1/cases/{env.case.id}/submit/")
    assert response.status_code == 200, response.content
    env.case.refresh_from_db()
    assert env.case.status == CaseStatus.READY_FOR_READING  # the failed history does not hold it back


def test_deleting_the_replacement_restores_the_old_image(env):
    old = mosaic(env, 1).json()
    new = mosaic(env, 2, replaces=old["id"]).json()
    response = env.client.delete(f"/api/v1/images/{old['id']}/")
    assert response.status_code == 409 and response.json()["code"] == "image_replaced"
    response = env.client.patch(f"/api/v1/images/{old['id']}/", {"depth_um": 40}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "image_replaced"
    assert env.client.delete(f"/api/v1/images/{new['id']}/").status_code == 204
    restored = Image.objects.get(pk=old["id"])
    assert restored.replaced_by_id is None and restored.replaced_at is None and restored.is_current
    assert AuditEvent.objects.filter(action="restore", object_id=old["id"]).exists()
    assert env.client.get(f"/api/v1/cases/{env.case.id}/").json()["image_count"] == 1
    # it can be replaced again
    assert mosaic(env, 3, replaces=old["id"]).status_code == 201


def test_registering_a_replaced_image_is_refused(env):
    dermoscopy = env.upload(png_bytes(64, 48, color=1)).json()
    old = mosaic(env, 2).json()
    mosaic(env, 3, replaces=old["id"])
    identity = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    response = env.client.put(f"/api/v1/images/{old['id']}/registration/",
                              {"dermoscopy": dermoscopy["id"], "matrix": identity}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "image_replaced"


def test_case_quality_the_case_list_verdict_and_the_pdf_see_current_images_only(env):
    judged = make_judged_mosaic(site=env.site, percent_whole=40.0, case=env.case)  # reimage
    assert case_quality(case=env.case)["verdict"] == "reimage"
    response = mosaic(env, 30, replaces=str(judged.image_id))
    assert response.status_code == 201, response.content
    new_id = response.json()["id"]
    quality = case_quality(case=env.case)
    assert [m["image"] for m in quality["mosaics"]] == [new_id] and quality["verdict"] is None
    assert MosaicQuality.objects.filter(image_id=judged.image_id, verdict="reimage").exists()  # history kept
    row = env.client.get("/api/v1/cases/").json()["results"][0]
    assert row["quality_verdict"] is None


def test_findings_see_current_images_only(env):
    from dermrelay.analysis.models import AnalysisRun
    from dermrelay.jobs.models import JobState
    from dermrelay.qa.seeding import quality_model_version

    old = env.upload(png_bytes(64, 48, color=1)).json()
    version = quality_model_version()
    old_image = Image.objects.get(pk=old["id"])
    AnalysisRun.objects.create(image=old_image, model_version=version, input_sha256=old_image.sha256,
                               step="diagnosis", state=JobState.SUCCEEDED, outputs={"top": "nv"})
    assert [f["image"] for f in case_findings(case=env.case)["findings"]] == [old["id"]]
    env.upload(png_bytes(64, 48, color=2), replaces=old["id"])
    assert case_findings(case=env.case)["findings"] == []


@pytest.mark.django_db(transaction=True)
def test_a_reimaged_mosaic_replaces_the_recalled_one_and_the_case_becomes_acceptable(isolated_files):
    """The technician's loop: re-image recommended → capture again → register → acceptable. The
    old mosaic keeps its reimage judgement and overlays; the dermoscopy shows the new projection only."""
    models_sync_quality_model_only()
    env = Env(isolated_files)
    bad = gate_phantom(seed=7, where="lesion", size_px=512)
    ids = upload_phantom_case(env.client, env.case, bad)
    assert case_quality(case=env.case)["verdict"] == "reimage"
    good = generate_phantom(seed=7, size_px=512, pixel_spacing_um=2.0, artifact_fraction=(0.0, 0.0))  # same lesion, clean
    response = env.upload(phantom_png(good.image), name="again.png", kind=ImageKind.RCM_MOSAIC, depth_level="dej",
                          pixel_spacing_um=good.pixel_spacing_um, replaces=ids["mosaic"])
    assert response.status_code == 201, response.content
    new_id = response.json()["id"]
    response = env.client.put(f"/api/v1/images/{new_id}/registration/",
                              {"dermoscopy": ids["dermoscopy"], "matrix": good.registration.tolist()}, format="json")
    assert response.status_code == 200, response.content
    quality = env.client.get(f"/api/v1/cases/{env.case.id}/quality/").json()
    assert [m["image"] for m in quality["mosaics"]] == [new_id]
    assert quality["verdict"] == "acceptable", quality
    old_judgement = MosaicQuality.objects.get(image_id=ids["mosaic"])
    assert old_judgement.verdict == "reimage" and old_judgement.problem_region is not None
    assert Overlay.objects.filter(source_image_id=ids["mosaic"]).count() == 2  # kept as history
    dermoscopy = Image.objects.get(pk=ids["dermoscopy"])
    projections = [o for o in overlays_for(image=dermoscopy, absolute=lambda u: u) if o["kind"] == "projection"]
    assert [o["source_image"] for o in projections] == [new_id]
    # a new outline on the (current) dermoscopy judges the current mosaic again, not the history
    before = {q.image_id: q.assessed_at for q in MosaicQuality.objects.all()}
    response = env.client.put(f"/api/v1/images/{ids['dermoscopy']}/lesion-outline/",
                              {"polygon": lesion_polygon(good, points=90)}, format="json")
    assert response.status_code == 200
    after = {q.image_id: q.assessed_at for q in MosaicQuality.objects.all()}
    assert after[old_judgement.image_id] == before[old_judgement.image_id]
    assert after[uuid.UUID(new_id)] > before[uuid.UUID(new_id)]
