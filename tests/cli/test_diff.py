"""``comfylock diff``: two commits of a fixture project's lock, edited in known ways, give
exactly those changes (words, Markdown and JSON); a lock file works as well as a revision;
bad revisions and places without git are clean usage errors."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from comfylock.lock import file as lockfile
from comfylock.lock.structs import CivitaiSource, LockedModel, LockedWorkflow

SHA = {c: c * 64 for c in "abcdef"}


def _git(repo, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.fixture
def repo(tmp_path):
    """A git repository holding the demo project's lock, committed once."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    _git(tmp_path, "init", "-q", "-b", "main")
    _git(tmp_path, "config", "user.email", "t@example.invalid")
    _git(tmp_path, "config", "user.name", "t")
    _git(tmp_path, "config", "commit.gpgsign", "false")
    lock = lockfile.loads(_base_lock())
    lockfile.dump(lock, tmp_path / "comfy.lock")
    _git(tmp_path, "add", "comfy.lock")
    _git(tmp_path, "commit", "-q", "-m", "v1")
    return tmp_path


def _base_lock() -> str:
    return """version = 1

[[workflow]]
path = "workflows/portrait.json"
digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
models = ["checkpoints/base.safetensors", "loras/old.safetensors", "vae/sdxl_vae.safetensors"]
nodes = ["demo-pack"]

[[model]]
folder = "checkpoints"
name = "base.safetensors"
size = 1000
sha256 = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

[[model.source]]
type = "civitai"
model-id = 1
version-id = 2

[[model]]
folder = "loras"
name = "old.safetensors"
size = 20
sha256 = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

[[model.source]]
type = "url"
url = "https://example.com/old.safetensors"

[[model]]
folder = "vae"
name = "sdxl_vae.safetensors"
size = 300
sha256 = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

[[model.source]]
type = "url"
url = "https://example.com/vae.safetensors"

[[node]]
id = "demo-pack"
repo = "https://github.com/example/demo-pack"
commit = "1111111111111111111111111111111111111111"
version = "1.0.0"
classes = ["DemoNode"]
"""


def _edit(repo) -> None:
    """The known edits: a model added, one removed, one re-pinned (new bytes, size and an
    extra source), the pack moved to a new commit and version, the workflow's list updated."""
    import msgspec

    lock = lockfile.load(repo / "comfy.lock")
    models = {m.key: m for m in lock.model}
    del models["loras/old.safetensors"]
    models["vae/sdxl_vae.safetensors"] = msgspec.structs.replace(
        models["vae/sdxl_vae.safetensors"],
        sha256=SHA["d"],
        size=301,
        source=(
            *models["vae/sdxl_vae.safetensors"].source,
            CivitaiSource(model_id=5, version_id=6),
        ),
    )
    models["loras/new.safetensors"] = LockedModel(
        folder="loras",
        name="new.safetensors",
        size=40,
        sha256=SHA["e"],
        license="openrail++",
        source=(CivitaiSource(model_id=7, version_id=8),),
    )
    (node,) = lock.node
    node = msgspec.structs.replace(node, commit="2" * 40, version="1.1.0")
    (wf,) = lock.workflow
    wf = msgspec.structs.replace(
        wf,
        models=(
            "checkpoints/base.safetensors",
            "loras/new.safetensors",
            "vae/sdxl_vae.safetensors",
        ),
    )
    new = msgspec.structs.replace(lock, model=tuple(models.values()), node=(node,), workflow=(wf,))
    lockfile.dump(new, repo / "comfy.lock")


EXPECTED = [
    ("model", "loras/new.safetensors", "added"),
    ("model", "loras/old.safetensors", "removed"),
    ("model", "vae/sdxl_vae.safetensors", "changed"),
    ("node", "demo-pack", "changed"),
    ("workflow", "workflows/portrait.json", "changed"),
]


def _json(result) -> dict:
    assert result.exit_code == 0, result
    return json.loads(result.stdout)


def test_diff_between_two_commits_lists_exactly_the_edits(repo, run_cli):
    _edit(repo)
    _git(repo, "commit", "-q", "-am", "v2")
    doc = _json(run_cli("--lock", str(repo / "comfy.lock"), "diff", "HEAD~1", "HEAD", "--json"))
    assert [(c["section"], c["key"], c["kind"]) for c in doc["changes"]] == EXPECTED
    by_key = {c["key"]: c["fields"] for c in doc["changes"]}
    vae = by_key["vae/sdxl_vae.safetensors"]
    assert set(vae) == {"size", "sha256", "sources"}
    assert vae["sha256"] == {"old": SHA["c"], "new": SHA["d"]}
    assert vae["size"] == {"old": 300, "new": 301}
    assert vae["sources"]["new"] == ["civitai 5@6", "url https://example.com/vae.safetensors"]
    assert by_key["demo-pack"] == {
        "commit": {"old": "1" * 40, "new": "2" * 40},
        "version": {"old": "1.0.0", "new": "1.1.0"},
    }
    assert by_key["loras/new.safetensors"]["license"] == {"old": None, "new": "openrail++"}
    assert doc["counts"] == {"added": 1, "removed": 1, "changed": 3}


def test_diff_defaults_to_head_against_the_lock_on_disk(repo, run_cli):
    assert "No changes." in run_cli("--lock", str(repo / "comfy.lock"), "diff").stdout
    _edit(repo)
    text = run_cli("--lock", str(repo / "comfy.lock"), "diff")
    assert text.exit_code == 0, text
    lines = text.stdout.splitlines()
    assert lines[0] == f"comfy.lock: HEAD → {repo / 'comfy.lock'}"
    assert any(
        "changed" in line
        and "vae/sdxl_vae.safetensors" in line
        and "sha256 cccccccccccc → dddddddddddd" in line
        for line in lines
    ), text.stdout
    assert any("removed" in line and "loras/old.safetensors" in line for line in lines)
    assert "commit 111111111111 → 222222222222; version 1.0.0 → 1.1.0" in text.stdout
    assert lines[-1] == "5 changes: 1 added, 1 removed, 3 changed."
    assert run_cli("--lock", str(repo / "comfy.lock"), "diff", "--exit-code").exit_code == 1


def test_diff_as_a_pull_request_comment(repo, run_cli):
    _edit(repo)
    md = run_cli("--lock", str(repo / "comfy.lock"), "diff", "--format", "markdown")
    assert md.exit_code == 0, md
    assert md.stdout.startswith("### comfy.lock: 5 changes: 1 added, 1 removed, 3 changed.")
    assert "| added | `loras/new.safetensors` |" in md.stdout
    assert "**Node packs**" in md.stdout


def test_diff_against_another_lock_file(repo, run_cli, tmp_path):
    other = tmp_path / "old.lock"
    shutil.copy(repo / "comfy.lock", other)
    _edit(repo)
    doc = _json(run_cli("--lock", str(repo / "comfy.lock"), "diff", str(other), "--json"))
    assert [(c["section"], c["key"], c["kind"]) for c in doc["changes"]] == EXPECTED


def test_a_lock_new_since_the_revision_shows_everything_added(repo, run_cli):
    _git(repo, "rm", "-q", "--cached", "comfy.lock")
    _git(repo, "commit", "-q", "-m", "untrack")
    doc = _json(run_cli("--lock", str(repo / "comfy.lock"), "diff", "--json"))
    assert doc["old"] == "HEAD (no comfy.lock)"
    assert {c["kind"] for c in doc["changes"]} == {"added"}
    assert doc["counts"]["added"] == 5  # 3 models, 1 node pack, 1 workflow


def test_an_unknown_revision_is_a_usage_error(repo, run_cli):
    result = run_cli("--lock", str(repo / "comfy.lock"), "diff", "no-such-branch")
    assert result.exit_code == 2, result
    assert "neither a lock file nor a revision git knows" in result.stderr
    assert "Traceback" not in result.output
    dashed = run_cli("--lock", str(repo / "comfy.lock"), "diff", "--", "--output=x")
    assert dashed.exit_code == 2, dashed
    assert not (repo / "x").exists()


def test_outside_git_a_revision_is_a_usage_error(tmp_path, run_cli):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    lockfile.dump(lockfile.loads(_base_lock()), tmp_path / "comfy.lock")
    result = run_cli("--lock", str(tmp_path / "comfy.lock"), "diff")
    assert result.exit_code == 2, result
    assert "not in a git repository" in result.stderr


def test_a_broken_lock_at_the_revision_is_named(repo, run_cli):
    (repo / "comfy.lock").write_text("version = 1\n[[model]]\nfolder = 3\n")
    _git(repo, "commit", "-q", "-am", "broken")
    lockfile.dump(lockfile.loads(_base_lock()), repo / "comfy.lock")
    result = run_cli("--lock", str(repo / "comfy.lock"), "diff")
    assert result.exit_code == 2, result
    assert result.stderr.startswith("error: HEAD:comfy.lock:")


def test_workflow_entries_added(repo, run_cli):
    import msgspec

    lock = lockfile.load(repo / "comfy.lock")
    extra = LockedWorkflow(
        path="workflows/new.json",
        digest="sha256:" + "2" * 64,
        models=("checkpoints/base.safetensors",),
    )
    lockfile.dump(
        msgspec.structs.replace(lock, workflow=(*lock.workflow, extra)), repo / "comfy.lock"
    )
    doc = _json(run_cli("--lock", str(repo / "comfy.lock"), "diff", "--json"))
    (change,) = doc["changes"]
    assert (change["section"], change["key"], change["kind"]) == (
        "workflow",
        "workflows/new.json",
        "added",
    )


def test_python_packages_come_from_the_pylock_at_each_revision(repo, run_cli):
    """The packages of [python]'s targets are read from the pylock files beside the lock,
    at the revision for the old side and on disk for the new one."""
    python = """
[comfyui]
commit = "{commit}"
version = "{version}"

[python]
version = "3.11"
inputs = "sha256:{inputs}"

[[python.target]]
name = "linux"
platform = "x86_64-manylinux_2_28"
file = "pylock.linux.toml"
sha256 = "{inputs}"
"""

    def write(commit, version, packages):
        text = _base_lock() + python.format(commit=commit, version=version, inputs="9" * 64)
        (repo / "comfy.lock").write_text(text)
        rows = "".join(f'[[packages]]\nname = "{n}"\nversion = "{v}"\n\n' for n, v in packages)
        (repo / "pylock.linux.toml").write_text(f'lock-version = "1.0"\n\n{rows}')

    write("a" * 40, "0.3.40", [("torch", "2.5.1"), ("numpy", "1.26.4")])
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "env")
    write("b" * 40, "0.3.41", [("torch", "2.5.1"), ("numpy", "2.1.0"), ("einops", "0.8.0")])
    doc = _json(run_cli("--lock", str(repo / "comfy.lock"), "diff", "--json"))
    assert [(c["section"], c["key"], c["kind"]) for c in doc["changes"]] == [
        ("comfyui", "comfyui", "changed"),
        ("python package", "linux/einops", "added"),
        ("python package", "linux/numpy", "changed"),
    ]
    text = run_cli("--lock", str(repo / "comfy.lock"), "diff").stdout
    assert "Python packages" in text and "version 1.26.4 → 2.1.0" in text
