"""Hugging Face repo snapshots for download-and-load nodes: the reader finds the repo id, the
lock pins repo + commit + every file, sync places the files through the store.

The knowledge table is injected (``node_table``): the shipped one is filled by its generator.
The hub is the loopback fake (tests/support/fakes.py) with the revision and tree APIs in the real
shapes, the tree paginated by ``Link`` headers.
"""

from __future__ import annotations

import hashlib
import json
import os

import msgspec
import pytest
import tomllib

from comfylock.errors import LockfileError
from comfylock.lock import file as lockfile
from comfylock.lock.structs import Lock, LockedSnapshot, SnapshotFile, snapshot_models
from comfylock.workflows import nodeknowledge
from comfylock.workflows.reader import parse_obj
from comfylock.workflows.repos import is_repo_id, repo_dir, repo_reference
from tests.e2e.test_resolve import make_pack_repo
from tests.support.fakes import FakeHub, FakeRegistry, LoopbackServer

REPO = "THUDM/CogVideoX-5b"
DIR = "models/CogVideo/CogVideoX-5b"
C1 = "1111111111111111111111111111111111111111"
C2 = "2222222222222222222222222222222222222222"
FILES = {  # path -> (content, lfs)
    "model_index.json": ('{"_class_name": "CogVideoXPipeline"}', False),
    "transformer/config.json": ('{"num_layers": 42}', False),
    "transformer/diffusion_pytorch_model.safetensors": ("transformer weights " * 50, True),
    "vae/diffusion_pytorch_model.safetensors": ("vae weights " * 40, True),
    "scheduler/scheduler_config.json": ('{"beta_end": 0.012}', False),
}
TABLE = {
    "version": 1,
    "packs": {"cogvideox": {"repo": "https://github.com/kijai/ComfyUI-CogVideoXWrapper"}},
    "classes": {
        "DownloadAndLoadCogVideoModel": {
            "pack": "cogvideox",
            "downloads": {"model": "models/CogVideo/{repo_name}"},
        },
        "DownloadAndLoadFlorence2Model": {
            "pack": "florence2",
            "downloads": {"model": "models/LLM/{repo_name}"},
        },
    },
}


@pytest.fixture
def node_table(monkeypatch):
    """A small knowledge table in place of the shipped one."""
    table = msgspec.convert(TABLE, nodeknowledge.Table)
    monkeypatch.setattr(nodeknowledge, "current_table", lambda: table)
    return table


def api_workflow(repo: str = REPO) -> dict:
    return {
        "1": {
            "class_type": "DownloadAndLoadCogVideoModel",
            "inputs": {"model": repo, "precision": "bf16", "load_device": "main_device"},
        },
        "2": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "none"}},
    }


# --- reader ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["THUDM/CogVideoX-5b", "microsoft/Florence-2-large", "Kijai/llava-llama-3-8b-text-encoder"],
)
def test_repo_ids_are_recognised(value):
    assert is_repo_id(value)


@pytest.mark.parametrize(
    "value",
    [
        "../evil",
        "a/../b",
        "owner/..",
        "owner/a..b",
        "/abs/path",
        "a/b/c",
        "C:\\models\\x",
        "https://huggingface.co/a/b",
        "CogVideoX-5b",
        "owner/name with space",
        ".hidden/name",
        "x" * 97 + "/name",
        7,
        None,
    ],
)
def test_values_that_are_not_repo_ids(value):
    assert not is_repo_id(value)


def test_repo_dir_fills_the_placeholders_and_refuses_escapes():
    assert repo_dir("models/CogVideo/{repo_name}", REPO) == DIR
    assert repo_dir("models/hf/{repo_owner}/{repo_name}/", REPO) == "models/hf/THUDM/CogVideoX-5b"
    assert repo_dir("models/diffusers/{repo_id}", REPO) == "models/diffusers/THUDM/CogVideoX-5b"
    assert (
        repo_dir("models/CogVideo/CogVideoX-5b-Tora", REPO) == "models/CogVideo/CogVideoX-5b-Tora"
    )
    assert (
        repo_dir("custom_nodes/pack/ckpts/{repo_name}", REPO)
        == "custom_nodes/pack/ckpts/CogVideoX-5b"
    )
    assert repo_dir("../outside/{repo_name}", REPO) is None
    assert repo_dir("models/../../{repo_name}", REPO) is None
    assert repo_dir("/abs/{repo_name}", REPO) is None
    assert repo_dir("models/{revision}", REPO) is None
    assert repo_dir("hf-cache", REPO) is None  # the table's mark for the Hugging Face cache
    assert repo_dir("output/{repo_name}", REPO) is None
    assert repo_dir("models", REPO) is None
    assert repo_dir(["models/CogVideo", "models/CogVideo/{repo_name}"], REPO) is None


def test_repo_reference_needs_the_table(node_table):
    ref = repo_reference("DownloadAndLoadCogVideoModel", "model", REPO, node_id="5")
    assert ref is not None and (ref.repo, ref.dir, ref.node_id) == (REPO, DIR, "5")
    assert repo_reference("DownloadAndLoadCogVideoModel", "precision", REPO, node_id="5") is None
    assert repo_reference("SomeOtherNode", "model", REPO, node_id="5") is None
    assert repo_reference("DownloadAndLoadCogVideoModel", "model", "../x", node_id="5") is None


def test_reader_finds_repos_in_api_and_ui_workflows(node_table):
    api = parse_obj(api_workflow())
    assert [(r.repo, r.dir, r.input) for r in api.repos] == [(REPO, DIR, "model")]
    assert api.models == ()  # a repo id is not a model file
    ui = parse_obj(
        {
            "nodes": [
                {
                    "id": 7,
                    "type": "DownloadAndLoadFlorence2Model",
                    "mode": 4,
                    "inputs": [
                        {"name": "model", "widget": {"name": "model"}},
                        {"name": "precision", "widget": {"name": "precision"}},
                    ],
                    "widgets_values": ["microsoft/Florence-2-large", "fp16"],
                }
            ],
            "links": [],
        }
    )
    assert [(r.repo, r.dir, r.active) for r in ui.repos] == [
        ("microsoft/Florence-2-large", "models/LLM/Florence-2-large", False)
    ]


def test_without_a_table_entry_nothing_is_a_repo(monkeypatch):
    empty = msgspec.convert({"version": 1, "packs": {}, "classes": {}}, nodeknowledge.Table)
    monkeypatch.setattr(nodeknowledge, "current_table", lambda: empty)
    assert parse_obj(api_workflow()).repos == ()


# --- lock format ----------------------------------------------------------------------------


def _snapshot(**kw) -> LockedSnapshot:
    files = (
        SnapshotFile(path="b/config.json", size=2, sha256="b" * 64),
        SnapshotFile(path="a.json", size=1, sha256="a" * 64),
    )
    return LockedSnapshot(**{"repo": REPO, "revision": C1, "dir": DIR, "file": files, **kw})


def test_snapshot_renders_sorted_and_round_trips():
    lock = Lock(version=1, snapshot=(_snapshot(dir="models/z"), _snapshot()))
    text = lockfile.render(lock)
    assert text.index('dir = "models/CogVideo') < text.index('dir = "models/z"')
    assert text.index('path = "a.json"') < text.index('path = "b/config.json"')
    assert "[[snapshot.file]]" in text
    assert lockfile.render(lockfile.loads(text)) == text
    models = snapshot_models(lockfile.loads(text))
    assert {m.key for m in models} >= {f"{DIR}/a.json", f"{DIR}/b/config.json"}


def test_a_lock_without_snapshots_renders_as_before():
    text = lockfile.render(Lock(version=1))
    assert "snapshot" not in text
    assert lockfile.loads(text).snapshot == ()


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        (f'dir = "{DIR}"', 'dir = "../escape"', "'..'"),
        (f'dir = "{DIR}"', 'dir = "/abs"', "absolute"),
        ('path = "a.json"', 'path = "../../x"', "'..'"),
        ('path = "a.json"', 'path = "b/config.json"', "listed twice"),
        (f'repo = "{REPO}"', 'repo = "../x"', "repo"),
        (f'revision = "{C1}"', 'revision = "main"', "revision"),
    ],
)
def test_unsafe_or_broken_snapshots_are_refused(old, new, why):
    text = lockfile.render(Lock(version=1, snapshot=(_snapshot(),)))
    assert old in text
    with pytest.raises(LockfileError) as exc:
        lockfile.loads(text.replace(old, new, 1))
    assert why in str(exc.value)


def test_two_snapshots_in_one_dir_are_refused():
    text = lockfile.render(Lock(version=1, snapshot=(_snapshot(),)))
    body = text.split("[[snapshot]]", 1)[1]
    with pytest.raises(LockfileError, match="share this dir"):
        lockfile.loads(text + "\n[[snapshot]]" + body)


# --- end to end against the fake hub ---------------------------------------------------------


def _publish(hub: FakeHub, commit: str, files: dict = FILES, repo: str = REPO) -> None:
    for path, (content, lfs) in files.items():
        hub.add_file(repo, path, commit=commit, content=content, lfs=lfs)


@pytest.fixture
def world(tmp_path, monkeypatch, node_table):
    proj = tmp_path / "proj"
    (proj / "workflows").mkdir(parents=True)
    (proj / "workflows" / "cog.json").write_text(json.dumps(api_workflow()))
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    pack_repo, _commit = make_pack_repo(tmp_path)
    # the table names the class's pack before the registry is asked: its repo is the local one
    table = msgspec.convert(
        {**TABLE, "packs": {"cogvideox": {"repo": str(pack_repo)}}}, nodeknowledge.Table
    )
    monkeypatch.setattr(nodeknowledge, "current_table", lambda: table)
    with LoopbackServer() as hub_srv, LoopbackServer() as cdn_srv, LoopbackServer() as reg_srv:
        hub = FakeHub(hub_srv, cdn_srv, page_size=2)
        _publish(hub, C1)
        registry = FakeRegistry(reg_srv)
        registry.add_node("cogvideox", str(pack_repo), "1.0.0", ["DownloadAndLoadCogVideoModel"])
        monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
        monkeypatch.setenv("COMFYLOCK_REGISTRY_URL", registry.base_url)
        monkeypatch.chdir(proj)
        yield {"proj": proj, "root": root, "hub": hub, "args": ("--comfyui-root", str(root))}


def _lock(proj) -> dict:
    return tomllib.loads((proj / "comfy.lock").read_text())


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_resolve_pins_the_repo_snapshot(world, run_cli):
    result = run_cli(*world["args"], "resolve")
    assert result.exit_code == 0, result
    data = _lock(world["proj"])
    (snap,) = data["snapshot"]
    assert (snap["repo"], snap["revision"], snap["dir"]) == (REPO, C1, DIR)
    files = {f["path"]: (f["size"], f["sha256"]) for f in snap["file"]}
    assert files == {p: (len(c), _sha(c)) for p, (c, _) in FILES.items()}  # every page read
    assert data["workflow"][0]["snapshots"] == [DIR]
    tree_pages = [r for r, _ in world["hub"].srv.log if "/tree/" in r.path]
    assert len(tree_pages) >= 3  # 5 files and 3 directories, 2 per page
    check = run_cli(*world["args"], "check")
    assert check.exit_code == 0, check


def test_sync_places_the_snapshot_then_is_a_noop(world, run_cli):
    assert run_cli(*world["args"], "resolve").exit_code == 0
    status = run_cli(*world["args"], "status")
    assert "link      CogVideo/CogVideoX-5b/model_index.json (missing)" in status.stdout, status
    assert "fetch     models/CogVideo/CogVideoX-5b/vae/diffusion" in status.stdout
    assert run_cli(*world["args"], "check", "--installed").exit_code == 1
    result = run_cli(*world["args"], "sync", "--no-aria2")
    assert result.exit_code == 0, result
    assert run_cli(*world["args"], "check", "--installed").exit_code == 0
    base = world["root"] / DIR
    for path, (content, _) in FILES.items():
        target = base / path
        assert target.is_symlink() and target.read_text() == content
        assert os.path.realpath(target).startswith(os.environ["COMFYLOCK_STORE"])
    seen = len(world["hub"].srv.log) + len(world["hub"].cdn.log)
    again = run_cli(*world["args"], "sync", "--no-aria2")
    assert again.exit_code == 0, again
    assert "Already in sync" in again.output and "5 snapshot files" in again.output
    assert len(world["hub"].srv.log) + len(world["hub"].cdn.log) == seen


def test_an_existing_pin_is_kept_unless_upgrade(world, run_cli):
    assert run_cli(*world["args"], "resolve").exit_code == 0
    _publish(world["hub"], C2, {"model_index.json": ('{"v": 2}', False)})
    assert run_cli(*world["args"], "resolve").exit_code == 0
    assert _lock(world["proj"])["snapshot"][0]["revision"] == C1
    assert run_cli(*world["args"], "resolve", "--upgrade", "--refresh").exit_code == 0
    (snap,) = _lock(world["proj"])["snapshot"]
    assert snap["revision"] == C2
    assert {f["path"]: f["sha256"] for f in snap["file"]}["model_index.json"] == _sha('{"v": 2}')


def test_gated_repo_without_token_is_a_network_error_naming_hf_token(world, run_cli):
    world["hub"].gated.add(REPO)
    result = run_cli(*world["args"], "resolve")
    assert result.exit_code == 3, result
    assert "HF_TOKEN" in result.stderr
    assert not (world["proj"] / "comfy.lock").exists()


def test_missing_repo_answers_like_a_private_one(world, run_cli):
    """The hub answers 401 RepoNotFound for an unknown repo and a private one alike."""
    (world["proj"] / "workflows" / "cog.json").write_text(json.dumps(api_workflow("nobody/none")))
    result = run_cli(*world["args"], "resolve")
    assert result.exit_code == 3, result
    assert "HF_TOKEN" in result.stderr and "nobody/none" in result.stderr
    assert not (world["proj"] / "comfy.lock").exists()


def test_a_repo_without_the_revision_is_unresolved(world, run_cli):
    world["hub"].refs.pop((REPO, "main"))
    result = run_cli(*world["args"], "resolve")
    assert result.exit_code == 1, result
    assert f"unresolved repo snapshot {DIR}: {REPO}: not found" in result.stdout
    assert not (world["proj"] / "comfy.lock").exists()


def test_small_file_with_other_bytes_than_the_tree_names_is_refused(world, run_cli):
    world["hub"].files[(REPO, C1, "model_index.json")]["content"] = b'{"tampered": 1}'
    result = run_cli(*world["args"], "resolve")
    assert result.exit_code == 4, result
    assert not (world["proj"] / "comfy.lock").exists()


def test_wrong_bytes_at_sync_are_refused_and_nothing_is_placed(world, run_cli):
    assert run_cli(*world["args"], "resolve").exit_code == 0
    hub = world["hub"]
    for path, (content, lfs) in FILES.items():  # the hub now serves other bytes, same sizes
        if lfs:
            hub.blobs[_sha(content)] = b"X" * len(content)
        else:
            hub.files[(REPO, C1, path)]["content"] = b"X" * len(content)
    result = run_cli(*world["args"], "sync", "--no-aria2")
    assert result.exit_code == 4, result
    assert not (world["root"] / DIR).exists() or not any((world["root"] / DIR).rglob("*.*"))


def test_a_user_file_in_the_way_is_a_conflict(world, run_cli):
    assert run_cli(*world["args"], "resolve").exit_code == 0
    mine = world["root"] / DIR / "model_index.json"
    mine.parent.mkdir(parents=True)
    mine.write_text("my own edit")
    result = run_cli(*world["args"], "sync", "--no-aria2")
    assert result.exit_code == 5, result
    assert mine.read_text() == "my own edit"
    assert not (world["root"] / DIR / "transformer").exists()


def test_a_hand_written_lock_without_snapshots_still_syncs(tmp_path, run_cli, monkeypatch):
    data = b"hand pinned bytes"
    with LoopbackServer() as srv:
        srv.expect_request("/f.bin").respond_with_data(data)
        (tmp_path / "comfy.lock").write_text(
            'version = 1\n\n[[model]]\nfolder = "vae"\nname = "f.bin"\n'
            f'size = {len(data)}\nsha256 = "{hashlib.sha256(data).hexdigest()}"\n\n'
            f'[[model.source]]\ntype = "url"\nurl = "{srv.url_for("/f.bin")}"\n'
        )
        root = tmp_path / "ComfyUI"
        (root / "models").mkdir(parents=True)
        monkeypatch.chdir(tmp_path)
        result = run_cli("--comfyui-root", str(root), "sync", "--no-aria2")
    assert result.exit_code == 0, result
    assert (root / "models" / "vae" / "f.bin").read_bytes() == data


def test_inspect_and_resolve_show_the_repo(world, run_cli):
    shown = run_cli("inspect", "--json", "workflows/cog.json")
    assert shown.exit_code == 0, shown
    (wf,) = json.loads(shown.stdout)["workflows"]
    assert wf["repos"] == [
        {
            "repo": REPO,
            "dir": DIR,
            "node_id": "1",
            "node_type": "DownloadAndLoadCogVideoModel",
            "input": "model",
        }
    ]
    text = run_cli("inspect", "workflows/cog.json").stdout
    assert f"{REPO}  -> {DIR}" in text
    resolved = run_cli(*world["args"], "resolve")
    assert "repo snapshots: 1 pinned, 0 unresolved" in resolved.stdout, resolved


def test_git_blob_id_is_gits():
    from comfylock.resolve.sources.hfsnapshot import git_blob_id

    assert git_blob_id(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object


def test_an_unsafe_path_in_the_hubs_listing_is_refused(world, run_cli):
    world["hub"].add_file(REPO, "transformer/../../../etc/x", commit=C1, content="x", lfs=True)
    result = run_cli(*world["args"], "resolve")
    assert result.exit_code == 3, result
    assert "unsafe path" in result.stderr
    assert not (world["proj"] / "comfy.lock").exists()


def test_offline_resolve_keeps_the_pin_and_cannot_make_one(world, run_cli):
    assert run_cli(*world["args"], "resolve", "--offline").exit_code == 1
    assert run_cli(*world["args"], "resolve").exit_code == 0
    before = (world["proj"] / "comfy.lock").read_text()
    seen = len(world["hub"].srv.log)
    assert run_cli(*world["args"], "resolve", "--offline", "--check").exit_code == 0
    assert (world["proj"] / "comfy.lock").read_text() == before
    assert len(world["hub"].srv.log) == seen


def test_the_planner_treats_snapshot_files_like_models():
    from comfylock.sync.plan import make_plan
    from comfylock.sync.workspace import ModelState, StoreView, Workspace

    lock = Lock(version=1, snapshot=(_snapshot(),))
    a, b = (f"{DIR}/a.json", f"{DIR}/b/config.json")
    missing = Workspace(
        models=(
            ModelState(key=a, target="/r/" + a, status="missing"),
            ModelState(key=b, target="/r/" + b, status="foreign-different", detail="mine"),
        )
    )
    plan = make_plan(lock, missing, StoreView())
    assert [(f.keys, f.sources[0].path) for f in plan.fetch] == [((a,), "a.json")]
    assert [link.target for link in plan.link] == ["/r/" + a]
    assert [c.key for c in plan.conflicts] == [b]
    done = Workspace(models=(ModelState(key=a, target="/r/" + a, status="ours-ok"),))
    plan = make_plan(lock, done, StoreView(blobs=frozenset({"a" * 64})))
    assert plan.is_empty and plan.snapshot_files_in_sync == 1 and plan.models_in_sync == 0


# --- with the shipped knowledge table -------------------------------------------------------

FLORENCE = "microsoft/Florence-2-large"
FLORENCE_FILES = {
    "config.json": ('{"model_type": "florence2"}', False),
    "pytorch_model.bin": ("florence weights " * 60, True),
    "processor/tokenizer.json": ('{"version": "1.0"}', False),
}


def test_shipped_table_locks_and_places_a_florence2_snapshot(tmp_path, monkeypatch, run_cli):
    """The generated table (not an injected one) says where DownloadAndLoadFlorence2Model puts
    the repo it downloads; resolve pins it, sync places it there, a second sync is a no-op.
    Another pack copies the class with other code: the table keeps kijai's pack's facts as
    that pack's variant, used here as a machine with only that pack would."""
    shipped = nodeknowledge.current_table()
    name, pack_id = "DownloadAndLoadFlorence2Model", "comfyui-florence2"
    entry = shipped.classes[name]
    facts = entry.variants.get(pack_id) or {}
    where = facts.get("downloads", {}).get("model")
    if not isinstance(where, str):
        pytest.fail("the shipped table lost DownloadAndLoadFlorence2Model's download directory")
    own = msgspec.convert({**facts, "pack": pack_id}, nodeknowledge.ClassEntry)
    shipped = msgspec.structs.replace(shipped, classes={**shipped.classes, name: own})
    proj = tmp_path / "proj"
    (proj / "workflows").mkdir(parents=True)
    workflow = {
        "1": {
            "class_type": "DownloadAndLoadFlorence2Model",
            "inputs": {"model": FLORENCE, "precision": "fp16", "attention": "sdpa"},
        }
    }
    (proj / "workflows" / "caption.json").write_text(json.dumps(workflow))
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    # only the pack's repository is swapped for a local one (no network for git here); the
    # class's download facts stay exactly as generated from the pack's code
    pack_repo, _commit = make_pack_repo(tmp_path)
    packs = {
        **shipped.packs,
        pack_id: msgspec.structs.replace(shipped.packs[pack_id], repo=str(pack_repo)),
    }
    table = msgspec.structs.replace(shipped, packs=packs)
    monkeypatch.setattr(nodeknowledge, "current_table", lambda: table)
    with LoopbackServer() as hub_srv, LoopbackServer() as cdn_srv, LoopbackServer() as reg_srv:
        hub = FakeHub(hub_srv, cdn_srv)
        _publish(hub, C1, FLORENCE_FILES, repo=FLORENCE)
        monkeypatch.setenv("HF_ENDPOINT", hub.base_url)
        monkeypatch.setenv("COMFYLOCK_REGISTRY_URL", FakeRegistry(reg_srv).base_url)
        monkeypatch.chdir(proj)
        args = ("--comfyui-root", str(root))
        result = run_cli(*args, "resolve")
        assert result.exit_code == 0, result
        (snap,) = _lock(proj)["snapshot"]
        expected_dir = where.replace("{repo_name}", "Florence-2-large")
        assert (snap["repo"], snap["revision"], snap["dir"]) == (FLORENCE, C1, expected_dir)
        assert run_cli(*args, "sync", "--no-aria2").exit_code == 0
        for path, (content, _) in FLORENCE_FILES.items():
            assert (root / expected_dir / path).read_text() == content
        seen = len(hub.srv.log) + len(hub.cdn.log)
        again = run_cli(*args, "sync", "--no-aria2")
        assert again.exit_code == 0 and "Already in sync" in again.output, again
        assert len(hub.srv.log) + len(hub.cdn.log) == seen
