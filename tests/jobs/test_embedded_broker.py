"""The embedded broker never shows a consumer a message file before it is whole."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from kombu import Connection

from dermrelay import broker
from dermrelay.broker import ALIAS, register

REPO_DIR = Path(__file__).resolve().parents[2]


def _connection(folder):
    register()
    return Connection(f"{ALIAS}://", transport_options={
        "data_folder_in": str(folder), "data_folder_out": str(folder), "control_folder": str(folder / "control")})


def test_messages_appear_whole_under_their_final_name(tmp_path, monkeypatch):
    seen_at_rename = []
    real_replace = os.replace

    def replace(source, target):  # what a consumer could see just before the message appears
        seen_at_rename.append(sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".msg")))
        assert json.loads((tmp_path / os.path.basename(source)).read_bytes())  # complete before it is renamed
        return real_replace(source, target)

    monkeypatch.setattr(broker, "rename_into_queue", replace)
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue(f"q-{uuid.uuid4().hex}")  # kombu remembers declarations per process
        queue.put({"job": "one"})
        queue.put({"job": "two"})
        assert [len(names) for names in seen_at_rename] == [0, 1]  # the first message appeared only when renamed
        assert [queue.get(timeout=1).payload["job"] for _ in range(2)] == ["one", "two"]
        queue.close()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert not (REPO_DIR / "control").exists()  # kombu's default control folder: nothing outside tmp_path


def test_a_failed_write_leaves_no_message_and_no_partial_file(tmp_path, monkeypatch):
    def replace(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(broker, "rename_into_queue", replace)
    with _connection(tmp_path) as connection:
        queue = connection.SimpleQueue(f"q-{uuid.uuid4().hex}")
        with pytest.raises(Exception, match="Cannot add file"):
            queue.put({"job": "lost"})
        queue.close()
    assert [p.name for p in tmp_path.iterdir()] == ["control"]
