"""``comfylock du``: the store, the models folders and each lock by size; ``--unused`` lists
exactly the blobs ``gc --dry-run`` would delete, with sizes that add up, plus model files
nothing names. Reads only."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from comfylock.store.blobs import Store
from comfylock.store.hashing import Expected
from tests.support.syncutil import Model, store_blobs, write_lock

ORPHANS = [b"an orphan blob", b"another orphan, a little longer"]


def _ingest(data: bytes) -> str:
    """A blob no lock names (as a lock that stopped naming it leaves behind)."""
    store = Store(Path(os.environ["COMFYLOCK_STORE"])).ensure()
    tmp = store.tmp_dir / "x.part"
    tmp.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    store.ingest(tmp, Expected(size=len(data), sha256=sha))
    store.close()
    return sha


@pytest.fixture
def machine(synced, tmp_path):
    """Two synced projects, orphan blobs, p2's lock no longer naming its (still linked) model,
    and a models file nothing names."""
    orphans = {_ingest(d): len(d) for d in ORPHANS}
    write_lock(synced["p2"]["lock"], [])  # its link stays: gc must keep that blob
    stray = synced["p1"]["target"].parent / "stray.safetensors"
    stray.write_bytes(b"nobody names me")
    return {**synced, "orphans": orphans, "stray": stray}


def _json(result) -> dict:
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


def test_du_unused_lists_exactly_what_gc_dry_run_would_delete(machine, run_cli):
    args = machine["p1"]["args"]
    du = _json(run_cli(*args, "du", "--unused", "--json"))
    gc = _json(run_cli(*args, "gc", "--dry-run", "--json"))
    assert du["unused"]["delete"] == gc["delete"]
    assert {d["sha256"]: d["size"] for d in du["unused"]["delete"]} == machine["orphans"]
    assert sum(d["size"] for d in du["unused"]["delete"]) == gc["freed"]
    assert du["unused"]["linked"] == gc["linked"] == [str(machine["p2"]["target"])]
    assert len(store_blobs()) == 4  # du deleted nothing


def test_du_unused_in_words_adds_up(machine, run_cli):
    text = run_cli(*machine["p1"]["args"], "du", "--unused")
    assert text.exit_code == 0, text
    freed = sum(machine["orphans"].values())
    assert f"blobs no lock uses (what `gc` deletes): 2 blobs, {freed} B" in text.stdout
    for sha, size in machine["orphans"].items():
        assert any(sha in line and line.endswith(f"{size} B") for line in text.stdout.splitlines())
    gc = run_cli(*machine["p1"]["args"], "gc", "--dry-run")
    assert f"Would delete 2 blobs ({freed} B)" in gc.stdout


def test_du_lists_model_files_nothing_names(machine, run_cli):
    du = _json(run_cli(*machine["p1"]["args"], "du", "--unused", "--json"))
    assert [(u["folder"], u["name"], u["size"]) for u in du["unnamed"]] == [
        ("loras", "stray.safetensors", len(b"nobody names me"))
    ]
    text = run_cli(*machine["p1"]["args"], "du", "--unused").stdout
    assert f"{machine['stray']}  15 B" in text


def test_du_shows_the_store_folders_and_each_lock(machine, run_cli):
    du = _json(run_cli(*machine["p1"]["args"], "du", "--json"))
    store = du["store"]
    assert store["blobs"] == 4
    assert store["bytes"] == len(b"one") + len(b"two") + sum(machine["orphans"].values())
    (loras,) = du["folders"]
    assert (loras["folder"], loras["files"]) == ("loras", 2)  # p1's link and the stray file
    assert loras["bytes"] == len(b"one") + len(b"nobody names me")
    assert loras["own"] == len(b"nobody names me")  # the link's bytes are the store's
    locks = {u["path"]: u for u in du["locks"]}
    p1 = locks[str(machine["p1"]["lock"])]
    assert (p1["blobs"], p1["bytes"], p1["only"]) == (1, 3, 3)
    assert locks[str(machine["p2"]["lock"])]["blobs"] == 0
    text = run_cli(*machine["p1"]["args"], "du")
    assert "unused: 2 blobs no lock uses" in text.stdout
    assert "unnamed: 1 model file no workflow or lock names (15 B)" in text.stdout


def test_a_blob_two_locks_share_counts_for_neither_alone(synced, run_cli, tmp_path):
    (tmp_path / "p3").mkdir()
    write_lock(tmp_path / "p3" / "comfy.lock", [Model("loras", "p1.safetensors", b"one")])
    root = synced["p1"]["target"].parents[2]
    p3 = ["--lock", str(tmp_path / "p3" / "comfy.lock"), "--comfyui-root", str(root)]
    assert run_cli(*p3, "sync").exit_code == 0
    du = _json(run_cli(*p3, "du", "--json"))
    locks = {u["path"]: u for u in du["locks"]}
    assert locks[str(tmp_path / "p3" / "comfy.lock")]["only"] == 0
    assert locks[str(synced["p1"]["lock"])]["only"] == 0
    assert locks[str(synced["p2"]["lock"])]["only"] == 3


def test_du_without_a_models_tree_shows_the_store(synced, run_cli):
    result = run_cli("--lock", str(synced["p1"]["lock"]), "du")
    assert result.exit_code == 0, result
    assert "models: no --comfyui-root or --models-dir given" in result.stdout
    assert "2 blobs" in result.stdout


def test_du_with_an_unreadable_registered_lock(synced, run_cli):
    synced["p2"]["lock"].write_text("version = 1\n[[model]]\nfolder = 3\n")
    plain = run_cli(*synced["p1"]["args"], "du")
    assert plain.exit_code == 0, plain
    assert "cannot be read" in plain.stdout
    assert "unused blobs: unknown" in plain.stdout
    strict = run_cli(*synced["p1"]["args"], "du", "--unused")
    gc = run_cli(*synced["p1"]["args"], "gc", "--dry-run")
    assert strict.exit_code == gc.exit_code == 2, (strict, gc)
    assert "Traceback" not in strict.output
