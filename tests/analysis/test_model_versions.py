"""ModelVersion rows mirror the registry; broken weights are an error the admin sees, never used."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest
from django.core.management import call_command

from dermrelay.analysis.models import ModelStatus, ModelVersion
from dermrelay.analysis.catalogue import model_versions_sync
from inference.serving.registry import DEFAULT_CARDS_DIR, Registry

pytestmark = pytest.mark.django_db


@pytest.fixture
def copied_registry(tmp_path) -> Registry:
    """The shipped cards and weights, copied so a test can break them."""
    shutil.copytree(DEFAULT_CARDS_DIR, tmp_path / "cards")
    shutil.copytree(DEFAULT_CARDS_DIR.parent / "weights", tmp_path / "weights")
    return Registry(tmp_path / "cards")


def test_sync_mirrors_the_shipped_cards_and_is_idempotent(capsys):
    call_command("models_sync")
    row = ModelVersion.objects.get(name="rcm-quality-mednet")
    card = Registry().card("rcm-quality-mednet")
    assert (row.version, row.status, row.is_active) == (card.version, ModelStatus.READY, True)
    assert row.weights_sha256 == card.weights["sha256"] and row.card["metrics"]["phantom_test"]["dice"] > 0.85
    assert model_versions_sync().created == 0 and ModelVersion.objects.count() == len(Registry().cards())
    assert f"{len(Registry().cards())} new" in capsys.readouterr().out


def test_altered_weights_show_as_an_error_and_stop_being_used(copied_registry):
    model_versions_sync(registry=copied_registry)
    assert ModelVersion.objects.get(name="rcm-quality-mednet").is_active
    weights = copied_registry.cards_dir.parent / "weights" / "rcm-quality-mednet.pt"
    weights.write_bytes(weights.read_bytes()[:-10])
    report = model_versions_sync(registry=copied_registry)
    row = ModelVersion.objects.get(name="rcm-quality-mednet")
    assert (row.status, row.is_active) == (ModelStatus.ERROR, False)
    assert "SHA-256" in row.status_detail and report.errors == [row.status_detail]


def test_a_new_version_is_added_and_the_active_one_stays(copied_registry):
    model_versions_sync(registry=copied_registry)
    path = copied_registry.cards_dir / "rcm-quality-mednet.json"
    card = json.loads(path.read_text())
    card["version"] = "0.2.0"
    path.write_text(json.dumps(card))
    assert model_versions_sync(registry=copied_registry).created == 1
    versions = dict(ModelVersion.objects.filter(name="rcm-quality-mednet").values_list("version", "is_active"))
    assert versions == {"0.1.0": True, "0.2.0": False}  # switching versions is an admin's decision


def test_an_upgrade_that_replaces_the_weights_retires_the_old_version(copied_registry):
    """The shipped weights of a name change (0.1.0 → 0.2.0, the old file gone): the old row can no
    longer run, so it is marked and the new version takes over without an admin."""
    model_versions_sync(registry=copied_registry)
    path = copied_registry.cards_dir / "rcm-quality-mednet.json"
    card = json.loads(path.read_text())
    weights = copied_registry.card("rcm-quality-mednet").file("weights")
    weights.write_bytes(weights.read_bytes() + b"\0")  # other weights under the same file name
    card["version"], card["weights"]["sha256"] = "0.2.0", hashlib.sha256(weights.read_bytes()).hexdigest()
    path.write_text(json.dumps(card))
    model_versions_sync(registry=copied_registry)
    rows = {row.version: row for row in ModelVersion.objects.filter(name="rcm-quality-mednet")}
    assert (rows["0.1.0"].status, rows["0.1.0"].is_active) == (ModelStatus.ERROR, False)
    assert "no longer shipped" in rows["0.1.0"].status_detail
    assert (rows["0.2.0"].status, rows["0.2.0"].is_active) == (ModelStatus.READY, True)
