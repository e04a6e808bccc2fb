"""``gc`` and ``sync`` share one lock from the start of planning to the end of applying
(issue 16, attack 9), and the store stays sound with syncs and gc running at once (held)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading

from comfylock.errors import ConflictError
from comfylock.project.loading import Project
from comfylock.settings import make_settings
from comfylock.store.blobs import Store
from comfylock.store.sweep import gc
from comfylock.sync.job import SyncOptions, sync
from tests.support.syncutil import (
    Model,
    blob_files,
    comfyui_root,
    make_world,
    seed,
    serve_world,
    store_dir,
    target_of,
    write_lock,
)


def test_gc_cannot_run_between_a_syncs_plan_and_its_apply(tmp_path):
    """The blob a new lock's plan links is referenced by no registered lock yet: a gc in the
    gap between planning and applying used to delete it, and the sync failed with exit 4."""
    root = comfyui_root(tmp_path)
    model = Model("loras", "x.safetensors", b"bytes a plan will link")
    seed(tmp_path, model.data)
    lock = write_lock(tmp_path / "comfy.lock", [model])
    project = Project(make_settings(lock=str(lock), comfyui_root=str(root)))
    seen: list[object] = []

    def gc_now(outcome) -> None:
        assert [e.key for e in outcome.plan.link] == ["loras/x.safetensors"]
        try:
            seen.append(gc(Store(store_dir())))
        except ConflictError as exc:
            seen.append(exc)

    outcome = sync(project, SyncOptions(nodes=False), on_plan=gc_now)
    assert isinstance(seen[0], ConflictError), f"gc ran in the middle of a sync: {seen[0]}"
    assert outcome.report.linked and not outcome.report.failures
    assert (root / "models" / "loras" / "x.safetensors").read_bytes() == model.data


def test_four_syncs_and_repeated_gc_on_one_store_and_root(tmp_path, server, monkeypatch):
    """Held (issue 16): four syncs of one lock into one root and store at once, with gc run
    over and over meanwhile; each sync succeeds or reports gc's refusal, never a bad blob."""
    world = make_world(tmp_path, server, monkeypatch, nodes=False)
    serve_world(world)
    cmd = [sys.executable, "-m", "comfylock", *world["args"], "sync", "--no-aria2"]
    syncs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    stop = threading.Event()
    gcs: list[int] = []

    def keep_collecting() -> None:
        while not stop.is_set():
            done = subprocess.run(
                [sys.executable, "-m", "comfylock", "gc"], capture_output=True, text=True
            )
            gcs.append(done.returncode)

    collector = threading.Thread(target=keep_collecting)
    collector.start()
    try:
        results = [(p.wait(timeout=120), *p.communicate()) for p in syncs]
    finally:
        stop.set()
        collector.join(timeout=120)
    for code, _out, err in results:
        assert code == 0, err
    assert gcs and set(gcs) <= {0, 5}, gcs  # 5: "a sync is using the store right now"
    for m in world["models"]:
        assert target_of(world, m).read_bytes() == m.data
    for blob in blob_files(store_dir()):
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    assert not list((store_dir() / "tmp").glob("*.verify"))
