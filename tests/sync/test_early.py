"""The downloads a sync names before its plan (``sync/early.py``, issue 20): only those the
plan will choose the same way, from the source the plan will use."""

from __future__ import annotations

import os
from collections import namedtuple

import pytest

from comfylock.machine.hashcache import HashCache
from comfylock.project.loading import Project
from comfylock.settings import make_settings
from comfylock.store.blobs import Store
from comfylock.store.hashing import Digest
from comfylock.sync import early
from comfylock.sync.early import likely_downloads
from tests.support.syncutil import (
    Model,
    comfyui_root,
    hf_source,
    seed,
    store_dir,
    url_source,
    write_lock,
)

ORIGIN = "http://127.0.0.1:9"


def _model(name: str, seed_: int, folder: str = "loras", sources=None) -> Model:
    data = f"bytes of {name} {seed_}".encode() * 50
    return Model(folder, name, data, sources or [url_source(f"{ORIGIN}/{name}")])


def _project(tmp_path, models) -> tuple[Project, object]:
    root = comfyui_root(tmp_path)
    lock = write_lock(tmp_path / "comfy.lock", models)
    return Project(make_settings(lock=str(lock), comfyui_root=str(root))), root


def test_without_a_remote_the_origins_token_free_urls_are_named_in_lock_order(tmp_path):
    a, b = _model("a.safetensors", 1), _model("b.safetensors", 2)
    project, _ = _project(tmp_path, [a, b])
    store = Store(store_dir())
    assert likely_downloads(project, push=False) == [
        ((f"{ORIGIN}/a.safetensors",), store.tmp_path(a.sha256), len(a.data)),
        ((f"{ORIGIN}/b.safetensors",), store.tmp_path(b.sha256), len(b.data)),
    ]


def test_a_source_that_needs_a_token_is_never_named_early(tmp_path, monkeypatch):
    """aria2c never holds a token: such a source is probed by the fetch first."""
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    hub = _model("h.safetensors", 3, sources=[hf_source("owner/repo", "h.safetensors")])
    project, _ = _project(tmp_path, [hub])
    assert likely_downloads(project, push=False) == []


def test_with_an_http_mirror_first_its_blob_urls_are_named_never_the_origins(tmp_path, monkeypatch):
    monkeypatch.setenv("COMFYLOCK_REMOTE", "cdn=http://127.0.0.1:9/team")
    a = _model("a.safetensors", 1)
    project, _ = _project(tmp_path, [a])
    [(urls, _dest, size)] = likely_downloads(project, push=False)
    assert urls == (f"{ORIGIN}/team/blobs/sha256/{a.sha256[:2]}/{a.sha256}",)
    assert size == len(a.data)


@pytest.mark.parametrize("remote", ["cdn=http://127.0.0.1:9/team", "team=s3://bucket/prefix"])
def test_nothing_is_named_for_a_cold_farm(tmp_path, monkeypatch, remote):
    """``--push`` claims a blob before anyone fetches it."""
    monkeypatch.setenv("COMFYLOCK_REMOTE", remote)
    project, _ = _project(tmp_path, [_model("a.safetensors", 1)])
    assert likely_downloads(project, push=True) == []


def test_an_s3_remote_is_presigned_later_and_the_fetch_names_the_same_url(tmp_path, monkeypatch):
    """The presigned URL is made on aria2c's start-up thread (a function here), once per
    blob: the remote the plan opens later hands the fetch that very URL, so the download
    started early is the one the fetch follows."""
    for name, value in {
        "COMFYLOCK_REMOTE": "team=s3://bucket/prefix",
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "not-a-real-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }.items():
        monkeypatch.setenv(name, value)
    a = _model("a.safetensors", 1)
    project, _ = _project(tmp_path, [a])
    opened: dict = {}
    [(urls, _dest, size)] = likely_downloads(project, push=False, opened=opened)
    assert callable(urls) and size == len(a.data)
    [early_url] = urls()
    assert "/bucket/prefix/blobs/sha256/" in early_url and "Signature" in early_url
    assert opened["team"].fetch_url(a.sha256) == early_url  # the client the plan is given


def test_a_presigned_url_is_made_once_per_blob_by_one_client(monkeypatch):
    """Signed a second apart, two URLs differ (their X-Amz-Date): the fetch must be handed
    the one the early download uses, or it replaces that download."""
    from comfylock.remotes import open_remote, remote_specs
    from comfylock.remotes.s3 import S3Remote

    monkeypatch.setenv("COMFYLOCK_REMOTE", "team=s3://bucket/prefix")
    remote = open_remote(remote_specs([], os.environ)[0])
    made = iter(range(100))
    monkeypatch.setattr(
        S3Remote, "_presign", lambda self, sha: f"https://signed/{sha}?n={next(made)}"
    )
    assert (
        remote.fetch_url("a" * 64) == remote.fetch_url("a" * 64) == f"https://signed/{'a' * 64}?n=0"
    )
    assert remote.fetch_url("b" * 64).endswith("n=1")


def test_only_blobs_the_plan_will_surely_fetch_are_named(tmp_path):
    """Not a blob the store holds, not one whose target holds a file (adopted or refused),
    not an input file, not one a file the hash cache remembers had (a copy to adopt), and
    each digest once."""
    held, occupied, remembered, wanted = (
        _model(f"{n}.safetensors", i) for i, n in enumerate("hrow")
    )
    twin = Model("vae", "twin.safetensors", wanted.data, wanted.sources)
    image = _model("photo.png", 9, folder="input")
    project, root = _project(tmp_path, [held, occupied, remembered, wanted, twin, image])
    seed(tmp_path, held.data)
    target = root / "models" / "loras" / "r.safetensors"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"a user's own file")
    elsewhere = root / "models" / "loras" / "old-name.safetensors"
    elsewhere.write_bytes(remembered.data)
    with HashCache.in_dir(project.settings.cache_dir) as cache:
        cache.put(
            elsewhere, os.stat(elsewhere), Digest(len(remembered.data), remembered.sha256, "")
        )
    named = [dest.name.split(".")[0] for _, dest, _ in likely_downloads(project, push=False)]
    assert named == [wanted.sha256]
    assert not (root / "models" / "loras" / "w.safetensors").exists()  # nothing written


def test_downloads_that_would_not_fit_the_disk_are_not_started(tmp_path, monkeypatch):
    project, _ = _project(tmp_path, [_model("a.safetensors", 1)])
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(early.shutil, "disk_usage", lambda path: usage(10, 10, 0))
    assert likely_downloads(project, push=False) == []


def test_the_hash_cache_names_the_digests_some_file_had(tmp_path):
    cache_dir = tmp_path / "cache"
    f = tmp_path / "f.bin"
    f.write_bytes(b"x" * 10)
    with HashCache.in_dir(cache_dir) as cache:
        cache.put(f, os.stat(f), Digest(10, "a" * 64, "b" * 64))
        assert cache.known(["a" * 64, "c" * 64]) == {"a" * 64}  # pending rows count
    with HashCache.in_dir(cache_dir) as cache:
        assert cache.known(["a" * 64, "c" * 64]) == {"a" * 64}  # and written ones


def test_a_lazy_cache_never_made_knows_nothing_and_is_not_created(tmp_path):
    from comfylock.machine.hashcache import LazyHashCache

    cache = LazyHashCache(tmp_path / "cache")
    assert cache.known(["a" * 64]) == set()
    cache.close()
    assert not (tmp_path / "cache").exists()


def test_no_walk_of_the_tree_when_no_remembered_file_had_a_wanted_digest(tmp_path, monkeypatch):
    """``local_copies`` can only find files whose cached digest is wanted: with none in the
    cache, the walk (and the node table it loads for pack folders) is skipped."""
    from comfylock.machine import inventory
    from comfylock.sync.observe import local_copies

    project, _ = _project(tmp_path, [_model("a.safetensors", 1)])

    def walked(*a, **k):
        raise AssertionError("the tree was walked")

    monkeypatch.setattr(inventory, "scan_tree", walked)
    with HashCache.in_dir(project.settings.cache_dir) as cache:
        assert local_copies({"d" * 64: 5}, project.model_paths, cache) == {}
        f = tmp_path / "g.bin"
        f.write_bytes(b"12345")
        cache.put(f, os.stat(f), Digest(5, "d" * 64, ""))
        with pytest.raises(AssertionError, match="walked"):
            local_copies({"d" * 64: 5}, project.model_paths, cache)
