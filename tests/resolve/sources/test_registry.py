"""comfylock.resolve.sources.registry: hints, registry, node map, ambiguity, and git pinning of packs."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from comfylock.errors import InputError, RemoteError
from comfylock.lock.structs import LockedNode
from comfylock.net.httpcache import HttpCache
from comfylock.net.urlpolicy import check_repo
from comfylock.resolve.sources.registry import (
    NodeResolver,
    PackCandidate,
    build_node_map,
    ls_remote,
    pack_id_for_repo,
    pin_pack,
    settle,
)
from tests.support import fakes

IMPACT = "https://github.com/ltdrdata/ComfyUI-Impact-Pack"
INSPIRE = "https://github.com/ltdrdata/ComfyUI-Inspire-Pack"
COMMIT = "c0ffee" + "0" * 34


def _git(*args: str, cwd: Path) -> str:
    cmd = [
        "git",
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.invalid",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "tag.gpgsign=false",
        *args,
    ]
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def bare_repo(tmp_path) -> tuple[Path, dict[str, str]]:
    """A bare repo: c1 tagged v1.2.3 (annotated), c2 tagged 2.0.0 (lightweight), HEAD c3."""
    work = tmp_path / "work"
    work.mkdir()
    _git("init", "-q", "-b", "main", cwd=work)
    commits = {}
    for n in ("c1", "c2", "c3"):
        (work / "f.txt").write_text(n)
        _git("add", "f.txt", cwd=work)
        _git("commit", "-q", "-m", n, cwd=work)
        commits[n] = _git("rev-parse", "HEAD", cwd=work)
        if n == "c1":
            _git("tag", "-a", "-m", "release", "v1.2.3", cwd=work)
        if n == "c2":
            _git("tag", "2.0.0", cwd=work)
    bare = tmp_path / "pack.git"
    _git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    return bare, commits


# --- git pinning ----------------------------------------------------------------------------


def test_commit_ver_is_used_without_git():
    cand = PackCandidate(id="x/y", repo="https://github.com/x/y", via="aux_id", commit=COMMIT)
    assert pin_pack(cand) == LockedNode(id="x/y", repo="https://github.com/x/y", commit=COMMIT)


def test_annotated_tag_is_peeled(bare_repo):
    bare, commits = bare_repo
    node = pin_pack(PackCandidate(id="pack", repo=str(bare), via="registry", version="1.2.3"))
    assert node.commit == commits["c1"] and node.version == "1.2.3"


def test_plain_tag_and_file_url(bare_repo):
    bare, commits = bare_repo
    node = pin_pack(PackCandidate(id="pack", repo=bare.as_uri(), via="registry", version="2.0.0"))
    assert node.commit == commits["c2"] and node.repo == bare.as_uri()


def test_missing_tag_falls_back_to_head_and_drops_version(bare_repo):
    bare, commits = bare_repo
    node = pin_pack(PackCandidate(id="pack", repo=str(bare), via="registry", version="9.9.9"))
    assert node.commit == commits["c3"] and node.version is None
    assert (
        pin_pack(PackCandidate(id="pack", repo=str(bare), via="node-map")).commit == commits["c3"]
    )


def test_ls_remote_lists_refs(bare_repo):
    bare, commits = bare_repo
    refs = ls_remote(str(bare))
    assert refs["HEAD"] == refs["refs/heads/main"] == commits["c3"]
    assert refs["refs/tags/v1.2.3^{}"] == commits["c1"]


def test_unreachable_repo_is_remote_error(tmp_path):
    with pytest.raises(RemoteError) as info:
        pin_pack(PackCandidate(id="gone", repo=str(tmp_path / "nope.git"), via="node-map"))
    assert info.value.exit_code == 3


@pytest.mark.parametrize(
    "repo",
    [
        "git@github.com:o/r.git",
        "ssh://github.com/o/r",
        "ext::sh -c touch% /tmp/pwned",
        "-uhoh",
        "http://example.com/o/r",
        "git://example.com/o/r",
    ],
)
def test_repo_scheme_policy_rejects(repo):
    with pytest.raises(InputError):
        check_repo(repo)


def test_repo_scheme_policy_allows():
    for repo in (
        "https://github.com/o/r",
        "file:///srv/git/r.git",
        "/srv/git/r.git",
        "./r.git",
        "http://127.0.0.1:9/r",
        "git://localhost/r",
    ):
        check_repo(repo)
    check_repo("http://git.lan/o/r", allow_http=["git.lan"])
    with pytest.raises(InputError) as info:
        check_repo("http://git.lan/o/r")
    assert "allow-http" in info.value.hint


def test_pack_ids():
    assert (
        pack_id_for_repo("https://github.com/ltdrdata/ComfyUI-Impact-Pack.git")
        == "ltdrdata/ComfyUI-Impact-Pack"
    )
    assert pack_id_for_repo("/srv/git/my-pack.git") == "my-pack"


# --- candidates -----------------------------------------------------------------------------


@pytest.fixture
def registry(server, monkeypatch):
    fake = fakes.FakeRegistry(server)
    monkeypatch.setenv("COMFYLOCK_REGISTRY_URL", fake.base_url)
    fake.add_node("comfyui-impact-pack", IMPACT, "8.8.1", ["FaceDetailer", "SAMLoader", "Shared"])
    fake.add_node("comfyui-inspire-pack", INSPIRE, "1.9", ["Shared"])
    return fake


@pytest.fixture
def resolver(client, no_wait, tmp_path, node_table):
    node_table({"packs": {}, "classes": {}})  # these tests are about the registry's tiers
    with HttpCache(tmp_path / "http.sqlite") as cache:
        yield NodeResolver(client, cache=cache, retry=no_wait)


def test_cnr_id_hint_follows_case_redirect(registry, resolver, server):
    [cand] = resolver.candidates_for_class(
        "FaceDetailer", cnr_id="ComfyUI-Impact-Pack", ver="8.5.0"
    )
    assert (cand.id, cand.repo, cand.version, cand.via) == (
        "comfyui-impact-pack",
        IMPACT,
        "8.5.0",
        "cnr_id",
    )
    assert [r.path for r, _ in server.log] == [
        "/nodes/ComfyUI-Impact-Pack",
        "/nodes/comfyui-impact-pack",
    ]


def test_cnr_id_with_unknown_ver_takes_latest(registry, resolver):
    [cand] = resolver.candidates_for_class(
        "FaceDetailer", cnr_id="comfyui-impact-pack", ver="unknown"
    )
    assert cand.version == "8.8.1" and cand.commit is None


def test_comfy_core_and_core_classes_are_not_packs(registry, resolver, server):
    assert resolver.candidates_for_class("KSampler", cnr_id="comfy-core", ver="0.3.64") == []
    assert resolver.candidates_for_class("KSampler") == []
    assert server.log == []


def test_aux_id_hint_with_commit(registry, resolver, server):
    [cand] = resolver.candidates_for_class(
        "Whatever", aux_id="kijai/ComfyUI-KJNodes", ver=COMMIT.upper()
    )
    assert cand == PackCandidate(
        id="kijai/ComfyUI-KJNodes",
        repo="https://github.com/kijai/ComfyUI-KJNodes",
        via="aux_id",
        commit=COMMIT,
    )
    assert server.log == []
    assert pin_pack(cand).commit == COMMIT


def test_registry_class_lookup_single(registry, resolver):
    [cand] = resolver.candidates_for_class("SAMLoader")
    assert (cand.id, cand.registry_id, cand.via, cand.version) == (
        "comfyui-impact-pack",
        "comfyui-impact-pack",
        "registry",
        "8.8.1",
    )


def test_registry_ambiguity_is_returned_and_settled_by_a_pin(registry, resolver):
    cands = resolver.candidates_for_class("Shared")
    assert [c.id for c in cands] == ["comfyui-impact-pack", "comfyui-inspire-pack"]
    assert settle("Shared", cands, {}) is None
    assert settle("Shared", cands, {"Shared": "comfyui-inspire-pack"}).repo == INSPIRE
    assert (
        settle("Shared", cands, {"Shared": "ltdrdata/ComfyUI-Impact-Pack"}).id
        == "comfyui-impact-pack"
    )
    assert settle("Shared", cands, {"Shared": IMPACT + ".git/"}).id == "comfyui-impact-pack"
    other = settle("Shared", cands, {"Shared": "someone/fork"})
    assert (other.repo, other.via) == ("https://github.com/someone/fork", "pin")
    with pytest.raises(InputError, match="comfyui-impact-pack, comfyui-inspire-pack"):
        settle("Shared", cands, {"Shared": "no-such-id"})
    assert (
        settle("SAMLoader", resolver.candidates_for_class("SAMLoader"), {}).id
        == "comfyui-impact-pack"
    )


def test_knowledge_table_names_the_pack_before_the_registry(registry, resolver, server, node_table):
    node_table(
        {
            "packs": {
                "comfyui-impact-pack": {"repo": IMPACT, "registry-id": "comfyui-impact-pack"},
                "someone/inspire-fork": {"repo": "https://github.com/someone/inspire-fork"},
            },
            "classes": {
                "SAMLoader": {"pack": "comfyui-impact-pack"},
                "Shared": {"pack": "comfyui-impact-pack", "claimed-by": ["someone/inspire-fork"]},
            },
        }
    )
    [cand] = resolver.candidates_for_class("SAMLoader")
    assert (cand.id, cand.repo, cand.via, cand.registry_id) == (
        "comfyui-impact-pack",
        IMPACT,
        "table",
        "comfyui-impact-pack",
    )
    assert server.log == []  # offline: no registry request for a class the table knows
    both = resolver.candidates_for_class("Shared")
    assert [c.id for c in both] == ["comfyui-impact-pack", "someone/inspire-fork"]
    assert settle("Shared", both, {}) is None  # ambiguous, reported, never the first one
    assert server.log == []
    [asked] = resolver.candidates_for_class("FaceDetailer")  # unknown to the table
    assert asked.via == "registry" and server.log


def test_shipped_class_map_is_the_last_tier(registry, resolver, monkeypatch):
    from comfylock.workflows import nodetable

    small = nodetable._NodeMap(
        packs=[("x/one", "https://github.com/x/one"), ("y/two", "https://github.com/y/two")],
        classes={"OnlyInTheMap": 0, "MappedTwice": [0, 1]},
    )
    monkeypatch.setattr(nodetable, "_node_map", lambda: small)
    [cand] = resolver.candidates_for_class("OnlyInTheMap")  # the registry does not know it
    assert (cand.id, cand.repo, cand.via) == ("x/one", "https://github.com/x/one", "node-map")
    both = resolver.candidates_for_class("MappedTwice")
    assert [c.id for c in both] == ["x/one", "y/two"] and settle("MappedTwice", both, {}) is None
    [registry_first] = resolver.candidates_for_class("SAMLoader")
    assert registry_first.via == "registry"


def test_registry_without_search_uses_single_lookup(server, monkeypatch, resolver):
    fake = fakes.FakeRegistry(server, search=False)
    monkeypatch.setenv("COMFYLOCK_REGISTRY_URL", fake.base_url)
    fake.add_node("comfyui-impact-pack", IMPACT, "8.8.1", ["FaceDetailer"])
    resolver.endpoints = resolver.endpoints.__class__.from_env()
    [cand] = resolver.candidates_for_class("FaceDetailer")
    assert cand.id == "comfyui-impact-pack"
    assert server.log[-1][0].path == "/comfy-nodes/FaceDetailer/node"


NODE_MAP = {
    "https://github.com/comfyanonymous/ComfyUI": [
        ["KSamplerLike", "Overridden"],
        {"title_aux": "ComfyUI"},
    ],
    "https://github.com/a/pack-one": [["OnlyOne", "Twice", "Overridden"], {"title_aux": "one"}],
    "https://github.com/b/pack-two": [
        ["Twice"],
        {"title_aux": "two", "preemptions": ["Preempted"]},
    ],
    "https://github.com/c/pack-three": [
        ["Preempted"],
        {"title_aux": "three", "nodename_pattern": "^Three_"},
    ],
    "https://github.com/d/bad-regex": [[], {"title_aux": "bad", "nodename_pattern": "(["}],
}


@pytest.fixture
def mapped(cdn, monkeypatch, registry):
    """The map is served from another host (a raw-file host, in real life)."""
    cdn.expect_request("/extension-node-map.json").respond_with_json(NODE_MAP)
    monkeypatch.setenv("COMFYLOCK_NODE_MAP_URL", cdn.url_for("/extension-node-map.json"))


def _ids(resolver, cls):
    return [(c.id, c.via) for c in resolver.candidates_for_class(cls)]


def test_node_map_tiers(mapped, client, no_wait, tmp_path, cdn, node_table):
    node_table({"packs": {}, "classes": {}})  # about the registry's and the map's tiers
    with HttpCache(tmp_path / "c.sqlite") as cache:
        resolver = NodeResolver(client, cache=cache, retry=no_wait)
        assert _ids(resolver, "OnlyOne") == [("a/pack-one", "node-map")]
        assert _ids(resolver, "Twice") == [("a/pack-one", "node-map"), ("b/pack-two", "node-map")]
        assert _ids(resolver, "Preempted") == [("b/pack-two", "preemption")]
        assert _ids(resolver, "Three_Thing") == [("c/pack-three", "pattern")]
        assert _ids(resolver, "Overridden") == [
            ("a/pack-one", "node-map")
        ]  # the core entry is never a pack
        assert _ids(resolver, "KSamplerLike") == []
        assert _ids(resolver, "Unknown") == []
        assert _ids(resolver, "FaceDetailer") == [
            ("comfyui-impact-pack", "registry")
        ]  # registry first
        NodeResolver(client, cache=cache, retry=no_wait).candidates_for_class("OnlyOne")
    assert [r.path for r, _ in cdn.log] == ["/extension-node-map.json"]


def test_no_node_map_configured_means_no_request(registry, resolver, server):
    assert resolver.candidates_for_class("Unknown") == []
    assert all(r.path != "/extension-node-map.json" for r, _ in server.log)


def test_registry_candidate_pins_through_git(registry, resolver, bare_repo):
    bare, commits = bare_repo
    registry.add_node("local-pack", bare.as_uri(), "1.2.3", ["LocalNode"])
    [cand] = resolver.candidates_for_class("LocalNode")
    node = resolver.pin_pack(cand)
    assert node == LockedNode(
        id="local-pack", repo=bare.as_uri(), commit=commits["c1"], version="1.2.3"
    )


@pytest.mark.corpus
def test_real_extension_node_map(shared_dir):
    data = json.loads(
        (shared_dir / "comfyui" / "manager" / "extension-node-map.json").read_text(encoding="utf-8")
    )
    node_map = build_node_map(data)
    assert len(node_map.patterns) >= 30
    [pre] = node_map.candidates("AIO_Preprocessor")
    assert (
        pre.repo == "https://github.com/Fannovel16/comfyui_controlnet_aux"
        and pre.via == "preemption"
    )
    assert [c.via for c in node_map.candidates("ttN something new")] == ["pattern"]
