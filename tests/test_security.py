"""Trust (issue 9): what an attacker or a careless moment must never achieve.

``test_fs_…``: a user's file is never destroyed (displaced names never collide, gc keeps a
blob a live link still uses), every write stays inside the tree after symlinks are resolved,
and names with control characters reach the terminal escaped. ``test_lock_…``: a lock or a
comfylock.toml that is nonsense is refused with exit 2 and one line; a full disk under the
store index is exit 6; the rendered lock does not depend on the order of its input.

``test_net_…``: tokens only to their own origin on every hop, the https-only rule on every hop
of every client, bounds on bytes and time, safe generated scripts, git's protocol allow-list,
network and input failures with their exit codes, no crash on Ctrl-C (loopback servers).

Real temp dirs and the real CLI; the fs/lock tests seed the store through its own ingest (no network).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import msgspec
import pytest
from werkzeug import Response

from comfylock.errors import InsecureUrlError, RemoteError
from comfylock.store.hashing import Expected
from tests.support.syncutil import (
    Model,
    loopback_server,
    make_bare_repo,
    payload,
    range_response,
    stop_server,
    tree_snapshot,
    write_lock,
)

ROOT = Path(__file__).resolve().parent.parent


def _store() -> Path:
    return Path(os.environ["COMFYLOCK_STORE"])


def _seed(tmp_path: Path, data: bytes) -> str:
    """Put ``data`` in the store as a verified blob; return its sha256."""
    from comfylock.store.blobs import Store
    from comfylock.store.hashing import Expected

    sha = hashlib.sha256(data).hexdigest()
    src = tmp_path / f"seed-{sha[:8]}"
    src.write_bytes(data)
    store = Store(_store()).ensure()
    try:
        store.ingest(src, Expected(size=len(data), sha256=sha))
    finally:
        store.close()
    return sha


def _seeded_lock(tmp_path: Path, models: list[Model]) -> Path:
    """A hand-written lock of ``models`` whose bytes are all in the store already."""
    for m in models:
        _seed(tmp_path, m.data)
    return write_lock(tmp_path / "comfy.lock", models)


def _one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def _comfyui(base: Path) -> Path:
    root = base / "ComfyUI"
    (root / "models").mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    return root


# --- a user's file is never destroyed ---------------------------------------------------------


def _displaced_files() -> dict[bytes, Path]:
    found = [p for p in (_store() / "displaced").rglob("*") if p.is_file()]
    return {p.read_bytes(): p for p in found}


def test_fs_force_keeps_two_files_of_one_name_from_two_extra_model_paths_dirs(tmp_path, run_cli):
    """Two extra_model_paths.yaml dirs each hold a user's ``x.safetensors``: before, both
    were displaced to ``displaced/<second>/x.safetensors`` and one was lost."""
    root = _comfyui(tmp_path)
    loras, ckpts = tmp_path / "disk-a" / "loras", tmp_path / "disk-b" / "ckpts"
    (root / "extra_model_paths.yaml").write_text(
        f"mine:\n  loras: {loras}\n  checkpoints: {ckpts}\n  is_default: true\n"
    )
    for d, text in ((loras, b"user lora"), (ckpts, b"user checkpoint")):
        d.mkdir(parents=True)
        (d / "x.safetensors").write_bytes(text)
    locked = [
        Model("loras", "x.safetensors", b"L" * 64),
        Model("checkpoints", "x.safetensors", b"C" * 64),
    ]
    lock = _seeded_lock(tmp_path, locked)
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync", "--force")
    assert result.exit_code == 0, result
    assert (loras / "x.safetensors").read_bytes() == b"L" * 64
    assert (ckpts / "x.safetensors").read_bytes() == b"C" * 64
    kept = _displaced_files()
    assert set(kept) == {b"user lora", b"user checkpoint"}
    # the whole original path is kept, so the user can tell which was which
    assert str(kept[b"user lora"]).endswith(str(loras / "x.safetensors"))


def test_fs_force_in_two_comfyui_roots_on_one_store_keeps_both_files(tmp_path, run_cli):
    """Two roots sharing one store, forced within one second: one displaced dir per run."""
    model = Model("loras", "detail.safetensors", b"locked bytes" * 8)
    _seed(tmp_path, model.data)
    roots = []
    for name in ("one", "two"):
        root = _comfyui(tmp_path / name)
        target = root / "models" / "loras" / "detail.safetensors"
        target.parent.mkdir(parents=True)
        target.write_bytes(f"the {name} user's own lora".encode())
        lock = write_lock(tmp_path / name / "comfy.lock", [model])
        roots.append(["--lock", str(lock), "--comfyui-root", str(root)])
    for args in roots:
        result = run_cli(*args, "sync", "--force")
        assert result.exit_code == 0, result
    assert set(_displaced_files()) == {b"the one user's own lora", b"the two user's own lora"}
    runs = list((_store() / "displaced").iterdir())
    assert len(runs) == 2 and all("." in r.name and "-" in r.name for r in runs)


def test_fs_displace_never_moves_onto_an_existing_name(tmp_path):
    from comfylock.store.blobs import Store

    store = Store(tmp_path / "store").ensure()
    run = store.displace_dir()
    first, second = tmp_path / "a" / "f.bin", tmp_path / "b" / "f.bin"
    for p, data in ((first, b"first"), (second, b"second")):
        p.parent.mkdir()
        p.write_bytes(data)
    moved = store.displace(first, run)
    second.rename(first)  # another file at the same path, displaced in the same run
    again = store.displace(first, run)
    assert moved != again and moved.read_bytes() == b"first" and again.read_bytes() == b"second"
    assert store.displace_dir() != run


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_fs_gc_keeps_the_blob_of_an_adopted_file_the_lock_stopped_naming(tmp_path, run_cli, link):
    """Before: the user's adopted file became a link into the store, the lock dropped it,
    gc deleted the blob and the user's path was left dangling."""
    root = _comfyui(tmp_path)
    mine = root / "models" / "loras" / "mine.safetensors"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"the user's own lora, adopted")
    lock = write_lock(
        tmp_path / "comfy.lock", [Model("loras", "mine.safetensors", mine.read_bytes())]
    )
    args = ["--lock", str(lock), "--comfyui-root", str(root)]
    assert run_cli(*args, "sync", "--link", link).exit_code == 0
    assert link != "symlink" or mine.is_symlink()  # adopted: now a link into the store
    write_lock(lock, [])  # the workflow no longer uses it
    result = run_cli(*args, "gc")
    assert result.exit_code == 0, result
    assert mine.read_bytes() == b"the user's own lora, adopted"
    assert str(mine) in result.stdout  # says which path keeps the blob
    blobs = [p for p in (_store() / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1
    mine.unlink()  # the user removes it: now nothing depends on the blob
    assert run_cli(*args, "gc").exit_code == 0
    assert not [p for p in (_store() / "blobs").rglob("*") if p.is_file()]


# --- every write stays inside the tree, symlinks resolved -------------------------------------


@pytest.fixture
def escape_world(tmp_path):
    """``models/vae/root -> <outside>``, where a user's file lives outside the tree."""
    root = _comfyui(tmp_path)
    outside = tmp_path / "outside"
    (outside / "etc").mkdir(parents=True)
    (outside / "etc" / "passwd.safetensors").write_bytes(b"not comfylock's")
    (root / "models" / "vae").mkdir()
    os.symlink(outside, root / "models" / "vae" / "root")
    models = [
        Model("vae", "root/etc/passwd.safetensors", b"attacker bytes" * 4),
        Model("vae", "root/newdir/sub/x.safetensors", b"more attacker bytes"),
    ]
    lock = _seeded_lock(tmp_path, models)
    return {
        "args": ["--lock", str(lock), "--comfyui-root", str(root)],
        "outside": outside,
        "root": root,
    }


@pytest.mark.parametrize("command", [["sync", "--force"], ["sync"], ["status"]])
def test_fs_a_directory_symlink_out_of_models_is_never_followed(escape_world, run_cli, command):
    before = tree_snapshot(escape_world["outside"])
    result = run_cli(*escape_world["args"], *command)
    assert result.exit_code == 2, result
    line = _one_error_line(result.stderr)
    assert "vae/root/" in line and "outside the models tree" in line
    assert tree_snapshot(escape_world["outside"]) == before
    assert not (_store() / "displaced").exists()


def test_fs_a_symlinked_models_root_and_folder_dir_are_roots_of_their_own(tmp_path, run_cli):
    """The common setups still work: models/ itself, or models/checkpoints, on another disk."""
    root = tmp_path / "ComfyUI"
    root.mkdir()
    (tmp_path / "disk" / "models").mkdir(parents=True)
    (tmp_path / "big" / "ckpts").mkdir(parents=True)
    os.symlink(tmp_path / "disk" / "models", root / "models")
    os.symlink(tmp_path / "big" / "ckpts", root / "models" / "checkpoints")
    models = [
        Model("checkpoints", "SDXL/a.safetensors", b"a" * 40),
        Model("vae", "v.safetensors", b"v" * 40),
    ]
    lock = _seeded_lock(tmp_path, models)
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync")
    assert result.exit_code == 0, result
    assert (tmp_path / "big" / "ckpts" / "SDXL" / "a.safetensors").read_bytes() == b"a" * 40
    assert (tmp_path / "disk" / "models" / "vae" / "v.safetensors").read_bytes() == b"v" * 40


def test_fs_linker_refuses_a_parent_that_became_a_symlink_out_after_observe(tmp_path):
    """apply re-checks at the moment of writing (the tree may change after observe)."""
    from comfylock.errors import UnsafePathError
    from comfylock.pathsafe import real_roots
    from comfylock.store.linking import Linker

    models, outside = tmp_path / "models", tmp_path / "outside"
    (models / "loras").mkdir(parents=True)
    outside.mkdir()
    blob = tmp_path / "blob"
    blob.write_bytes(b"x")
    os.symlink(outside, models / "loras" / "sub")
    linker = Linker("auto", roots=real_roots([models]))
    with pytest.raises(UnsafePathError, match="outside the models tree"):
        linker.link(blob, models / "loras" / "sub" / "deeper" / "x.safetensors")
    assert list(outside.iterdir()) == []
    linker.link(blob, models / "loras" / "ok" / "x.safetensors")  # inside: placed
    assert (models / "loras" / "ok" / "x.safetensors").read_bytes() == b"x"


def test_fs_a_node_pack_is_never_cloned_through_a_symlink_out_of_custom_nodes(tmp_path, run_cli):
    """A repo named ``evil\\Pack`` becomes ``custom_nodes/evil/Pack``; ``evil`` leads out."""
    root = _comfyui(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "custom_nodes" / "evil")
    bare, commits = make_bare_repo(tmp_path / "repos", name="evil\\Pack")
    lock = tmp_path / "comfy.lock"
    lock.write_text(
        f'version = 1\n[[node]]\nid = "evil-pack"\nrepo = {json.dumps(str(bare))}\n'
        f'commit = "{commits[0]}"\n',
        encoding="utf-8",
    )
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync")
    assert result.exit_code == 2, result
    assert "custom_nodes" in _one_error_line(result.stderr)
    assert list(outside.iterdir()) == []


# --- control characters never reach the terminal raw ------------------------------------------

_NASTY = "x\x1b]0;pwned\x07\x1b[2J\r\x9bz.safetensors"
_RAW = ("\x1b", "\x07", "\r", "\x9b")


def _no_raw_controls(text: str) -> None:
    for ch in _RAW:
        assert ch not in text, repr(text)


def test_fs_terminal_status_and_sync_escape_control_characters(tmp_path, run_cli):
    root = _comfyui(tmp_path)
    lock = tmp_path / "comfy.lock"
    lock.write_text(
        'version = 1\n[[model]]\nfolder = "loras"\n'
        f'name = {json.dumps(_NASTY)}\nsize = 3\nsha256 = "{"a" * 64}"\n',
        encoding="utf-8",
    )
    args = ["--lock", str(lock), "--comfyui-root", str(root)]
    status = run_cli(*args, "status")
    assert status.exit_code == 0, status
    _no_raw_controls(status.output)
    assert "\\x1b]0;pwned\\x07" in status.stdout and "\\r" in status.stdout
    sync = run_cli(*args, "sync")  # no source: fails, naming the model
    assert sync.exit_code != 0
    _no_raw_controls(sync.output)
    as_json = run_cli(*args, "status", "--json")  # JSON stays exact
    assert _NASTY in json.loads(as_json.stdout)["link"][0]["target"]


def _nasty_workflow(tmp_path: Path) -> Path:
    wf = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": _NASTY}},
        "2": {"class_type": "Evil\x1b[31mNode", "inputs": {}},
    }
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(wf), encoding="utf-8")
    return path


def test_fs_terminal_inspect_and_report_escape_control_characters(tmp_path, run_cli):
    wf = _nasty_workflow(tmp_path)
    root = _comfyui(tmp_path)
    for args in (["inspect", str(wf)], ["--comfyui-root", str(root), "report", str(wf)]):
        result = run_cli(*args)
        assert result.exit_code in (0, 1), result
        _no_raw_controls(result.output)
        assert "\\x1b]0;pwned" in result.stdout
    inspected = json.loads(run_cli("inspect", "--json", str(wf)).stdout)
    assert inspected["workflows"][0]["models"][0]["name"] == _NASTY


def test_fs_terminal_error_lines_escape_control_characters(tmp_path, run_cli):
    result = run_cli("--lock", str(tmp_path / "a\x1b[2Jb.lock"), "status")
    assert result.exit_code == 2, result
    _no_raw_controls(result.stderr)
    assert "a\\x1b[2Jb.lock" in _one_error_line(result.stderr)


@pytest.mark.parametrize("mode", ["plain", "tty"])
def test_fs_terminal_progress_lines_escape_control_characters(mode, capsys):
    import io

    from comfylock.progress import make_progress

    stream = io.StringIO()
    progress = make_progress(mode, stream)
    update = progress.task("loras/" + _NASTY + "[bold]", 10)
    update(10)
    progress.finished("loras/" + _NASTY + "[bold]", 10)
    progress.close()
    shown = stream.getvalue() + capsys.readouterr().err
    assert "fetched loras/x\\x1b]0;pwned" in shown
    assert "[bold]" in shown  # shown as text, not taken as rich markup
    for ch in ("\x07", "\r", "\x9b"):
        assert ch not in shown
    assert "\x1b]0;pwned" not in shown


def test_fs_printable_escapes_c0_c1_and_bidi_only():
    from comfylock.pathsafe import printable

    assert printable("ok/naïve ✓.safetensors") == "ok/naïve ✓.safetensors"
    assert printable("a\tb\nc\x00\x7f\x85\u202e") == "a\\tb\\nc\\x00\\x7f\\x85\\u202e"
    assert printable("l1\x1b\nl2", multiline=True) == "l1\\x1b\nl2"


# --- the lock and comfylock.toml refuse nonsense ----------------------------------------------


def _lock_text(*models: tuple[str, str, int, str]) -> str:
    parts = ["version = 1\n"]
    for folder, name, size, sha in models:
        parts.append(
            f'[[model]]\nfolder = "{folder}"\nname = "{name}"\nsize = {size}\nsha256 = "{sha}"\n'
        )
    return "\n".join(parts)


@pytest.mark.parametrize("command", ["status", "check", "sync"])
def test_lock_two_entries_for_one_folder_and_name_are_refused(tmp_path, run_cli, command):
    lock = tmp_path / "comfy.lock"
    lock.write_text(
        _lock_text(("vae", "a.safetensors", 3, "a" * 64), ("vae", "a.safetensors", 3, "b" * 64))
    )
    root = _comfyui(tmp_path)
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), command)
    assert result.exit_code == 2, result
    line = _one_error_line(result.stderr)
    assert str(lock) in line and "vae/a.safetensors" in line and "[[model]]" in line


def test_lock_two_node_entries_with_one_id_are_refused(tmp_path, run_cli):
    lock = tmp_path / "comfy.lock"
    node = '[[node]]\nid = "p"\nrepo = "https://example.invalid/p"\ncommit = "{}"\n'
    lock.write_text("version = 1\n" + node.format("1" * 40) + node.format("2" * 40))
    result = run_cli("--lock", str(lock), "--models-dir", str(tmp_path), "status")
    assert result.exit_code == 2, result
    assert "[[node]]" in _one_error_line(result.stderr)


@pytest.mark.parametrize("size", [10**29, 2**50 + 1, 2**64, -1])
def test_lock_absurd_sizes_are_refused(tmp_path, run_cli, size):
    lock = tmp_path / "comfy.lock"
    lock.write_text(_lock_text(("vae", "a.safetensors", size, "a" * 64)))
    for command in ("status", "check"):
        result = run_cli("--lock", str(lock), "--models-dir", str(tmp_path), command)
        assert result.exit_code == 2, result
        line = _one_error_line(result.stderr)
        assert str(lock) in line and "model[0].size" in line


def test_lock_the_largest_allowed_size_is_2_to_the_50(tmp_path):
    from comfylock.lock.file import loads

    lock = loads(_lock_text(("vae", "a.safetensors", 2**50, "a" * 64)))
    assert lock.model[0].size == 2**50


@pytest.mark.parametrize("which", ["comfy.lock", "comfylock.toml"])
def test_lock_pathological_nesting_is_refused(tmp_path, run_cli, which):
    deep = "x = " + "[" * 100_000 + "]" * 100_000 + "\n"
    lock = tmp_path / "comfy.lock"
    lock.write_text(deep if which == "comfy.lock" else _lock_text())
    if which == "comfylock.toml":
        (tmp_path / "comfylock.toml").write_text(deep)
    result = run_cli("--lock", str(lock), "--models-dir", str(tmp_path), "sync")
    assert result.exit_code == 2, result
    line = _one_error_line(result.stderr)
    assert which in line and "nested too deeply" in line


def test_lock_full_store_index_is_exit_6_disk_full(tmp_path):
    """SQLite's "database or disk is full" is a local disk error, not an internal one."""
    from comfylock.errors import describe_os_error
    from comfylock.store.blobs import Store

    store = Store(tmp_path / "store").ensure()
    index = store.index
    pages = index._db.execute("PRAGMA page_count").fetchone()[0]
    index._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk "is full" now
    with pytest.raises(OSError) as info:
        for i in range(10_000):
            index.add_blob(f"{i:064x}", i, "b" * 64)
    assert "disk full" in describe_os_error(info.value)
    assert str(store.index_path) in describe_os_error(info.value)
    store.close()


_FSIZE_SYNC = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from comfylock.cli import main
main(sys.argv[2:])
"""


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin", reason="RLIMIT_FSIZE")
def test_lock_a_store_index_that_cannot_grow_ends_in_exit_6(tmp_path, run_cli):
    """A sync whose index write fails (the file may not grow: a full disk as the kernel
    sees it) ends with one error line and exit 6, not an internal error."""
    root = _comfyui(tmp_path)
    first = root / "models" / "loras" / "a.safetensors"
    first.parent.mkdir(parents=True)
    first.write_bytes(b"first")
    lock = write_lock(tmp_path / "comfy.lock", [Model("loras", "a.safetensors", b"first")])
    args = ["--lock", str(lock), "--comfyui-root", str(root)]
    assert run_cli(*args, "sync").exit_code == 0
    many = [
        Model("loras", f"m{i:03}.safetensors", f"user file {i}".encode() * 50) for i in range(60)
    ]
    for m in many:
        (root / "models" / "loras" / m.name).write_bytes(m.data)
    write_lock(lock, many)
    index = _store() / "index.sqlite"
    proc = subprocess.run(
        [sys.executable, "-c", _FSIZE_SYNC, str(index.stat().st_size), *args, "sync"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert proc.returncode == 6, proc.stderr
    line = _one_error_line(proc.stderr)
    assert "index.sqlite" in line and "disk" in line
    for m in many:  # every user file is still there, with its bytes
        assert (root / "models" / "loras" / m.name).read_bytes() == m.data


# --- the rendered lock does not depend on the order of its input -----------------------------


def _shuffled(lock, rng: random.Random):
    def mix(items):
        items = list(items)
        rng.shuffle(items)
        return tuple(items)

    replace = msgspec.structs.replace
    return replace(
        lock,
        workflow=mix(replace(w, models=mix(w.models), nodes=mix(w.nodes)) for w in lock.workflow),
        model=mix(lock.model),  # each model's sources keep their order: sync tries them so
        node=mix(replace(n, classes=mix(n.classes)) for n in lock.node),
        unresolved=mix(lock.unresolved),
    )


def test_lock_render_from_shuffled_input_is_byte_identical():
    """Determinism must not rest on resolve handing models over in order."""
    from comfylock.lock.file import loads, render
    from comfylock.lock.structs import (
        CivitaiSource,
        HuggingFaceSource,
        Lock,
        LockedModel,
        LockedNode,
        LockedWorkflow,
        Unresolved,
        UrlSource,
    )

    sources = (
        CivitaiSource(matched_by="hash", model_id=1, version_id=2, url="https://civitai.com/x"),
        HuggingFaceSource(repo="o/r", revision="c" * 40, path="m.safetensors"),
        UrlSource(url="https://example.com/m.safetensors"),
    )
    models = tuple(
        LockedModel(folder=f, name=n, size=i, sha256=f"{i:064x}", source=sources)
        for i, (f, n) in enumerate(
            [
                (f, f"{d}{n}.safetensors")
                for f in ("vae", "checkpoints", "loras")
                for d in ("", "b/", "a/")
                for n in "zyx"
            ]
        )
    )
    lock = Lock(
        version=1,
        workflow=tuple(
            LockedWorkflow(
                path=f"wf/{c}.json",
                digest="sha256:" + "d" * 64,
                models=tuple(m.key for m in models[:7]),
                nodes=("pack-b", "pack-a", "pack-c"),
            )
            for c in "qpr"
        ),
        model=models,
        node=tuple(
            LockedNode(
                id=f"pack-{c}",
                repo=f"https://github.com/o/{c}",
                commit=c * 40,
                classes=("Z", "A", "M", "B"),
            )
            for c in "bca"
        ),
        unresolved=tuple(
            Unresolved(folder=f, name=n, reason="?") for f in ("vae", "loras") for n in ("q", "p")
        ),
    )
    expected = render(lock)
    assert loads(expected) == loads(render(loads(expected)))
    rng = random.Random(9)
    for _ in range(20):
        assert render(_shuffled(lock, rng)) == expected
    # the sources keep their given order: it is the order sync tries them in
    assert [type(s) for s in loads(expected).model[0].source] == [type(s) for s in sources]


@pytest.mark.parametrize(
    ("entry", "expect"),
    [
        (
            '[[model]]\nfolder = "vae"\nname = "'
            + "n" * 300
            + '"\nsize = 1\nsha256 = "'
            + "a" * 64
            + '"\n',
            "longer than 255 bytes",
        ),
        (
            '[[model]]\nfolder = "vae"\nname = "a"\nsize = 1\nsha256 = "'
            + "a" * 64
            + '"\n[[model.source]]\ntype = "url"\nurl = "https://[::1/x"\n',
            "not a valid URL",
        ),
        (
            '[[model]]\nfolder = "vae"\nname = "a"\nsize = 1\nsha256 = "'
            + "a" * 64
            + '"\n[[model.source]]\ntype = "url"\nurl = "https://h/x\\ndir=/etc"\n',
            "control character",
        ),
        (
            '[[node]]\nid = "x"\nrepo = "https://[::1"\ncommit = "' + "1" * 40 + '"\n',
            "not a valid URL",
        ),
        (
            '[[workflow]]\npath = "a.json"\ndigest = "sha256:'
            + "a" * 64
            + '"\n' * 1
            + '[[workflow]]\npath = "a.json"\ndigest = "sha256:'
            + "a" * 64
            + '"\n',
            "two entries",
        ),
    ],
    ids=["long-name", "bad-ipv6-url", "newline-in-url", "bad-ipv6-repo", "two-workflows"],
)
def test_lock_entries_no_filesystem_or_url_parser_can_take_are_refused(
    tmp_path, run_cli, entry, expect
):
    """Each of these ended in exit 70 (an internal error) or exit 6 before."""
    lock = tmp_path / "comfy.lock"
    lock.write_text("version = 1\n" + entry, encoding="utf-8")
    root = _comfyui(tmp_path)
    for command in ("status", "sync"):
        result = run_cli("--lock", str(lock), "--comfyui-root", str(root), command)
        assert result.exit_code == 2, result
        line = _one_error_line(result.stderr)
        assert str(lock) in line and expect in line


def _model_with_source(source: str) -> str:
    return (
        '[[model]]\nfolder = "vae"\nname = "a.safetensors"\nsize = 3\nsha256 = "'
        + "a" * 64
        + '"\n[[model.source]]\n'
        + source
    )


@pytest.mark.parametrize(
    ("source", "expect"),
    [
        (
            'type = "huggingface"\nrepo = "o/r"\nrevision = "' + "1" * 40 + '"\npath = "../../x"\n',
            "'..' in path",
        ),
        (
            'type = "huggingface"\nrepo = "o/r"\nrevision = "' + "1" * 40 + '"\npath = "/etc/x"\n',
            "absolute path",
        ),
        (
            'type = "huggingface"\nrepo = "o/r"\nrevision = "' + "1" * 40 + '"\npath = "a\\\\b"\n',
            "backslash",
        ),
        (
            'type = "huggingface"\nrepo = "../o/r"\nrevision = "' + "1" * 40 + '"\npath = "x"\n',
            "not an owner/name id",
        ),
        ('type = "civitai"\nversion-id = -5\n', "is not an id"),
    ],
    ids=["hf-dotdot-path", "hf-absolute-path", "hf-backslash", "hf-bad-repo", "civitai-negative"],
)
def test_lock_sources_that_would_request_another_file_are_refused(
    tmp_path, run_cli, source, expect
):
    """These went straight into a download URL before (a hub path of '../../x')."""
    lock = tmp_path / "comfy.lock"
    lock.write_text("version = 1\n" + _model_with_source(source), encoding="utf-8")
    root = _comfyui(tmp_path)
    for command in ("status", "sync"):
        result = run_cli("--lock", str(lock), "--comfyui-root", str(root), command)
        assert result.exit_code == 2, result
        line = _one_error_line(result.stderr)
        assert str(lock) in line and expect in line, line


@pytest.mark.parametrize("version", [0, -1])
def test_lock_versions_below_1_are_refused(tmp_path, run_cli, version):
    lock = tmp_path / "comfy.lock"
    lock.write_text(f"version = {version}\n")
    result = run_cli("--lock", str(lock), "--models-dir", str(tmp_path), "status")
    assert result.exit_code == 2, result
    assert "does not exist" in _one_error_line(result.stderr)


def test_fs_a_name_too_long_for_the_filesystem_is_an_input_error(tmp_path, run_cli):
    name = "/".join(["d" * 200] * 30) + ".safetensors"  # each part fits; the whole does not
    lock = tmp_path / "comfy.lock"
    lock.write_text(_lock_text(("vae", name, 1, "a" * 64)))
    result = run_cli("--lock", str(lock), "--comfyui-root", str(_comfyui(tmp_path)), "status")
    assert result.exit_code == 2, result
    assert "too long" in _one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("content", "expect"),
    [(b"\xff\xfe not utf-8", "not UTF-8"), (b'workflows = ["/etc/*"]\n', "is absolute")],
    ids=["binary", "absolute-glob"],
)
@pytest.mark.parametrize("command", ["status", "check", "why"])
def test_lock_a_comfylock_toml_that_cannot_be_used_is_exit_2(
    tmp_path, run_cli, content, expect, command
):
    """Both ended in exit 70 before (UnicodeDecodeError; Path.glob's NotImplementedError)."""
    lock = tmp_path / "comfy.lock"
    lock.write_text("version = 1\n")
    (tmp_path / "comfylock.toml").write_bytes(content)
    args = ["why", "x"] if command == "why" else [command]
    result = run_cli("--lock", str(lock), "--models-dir", str(tmp_path), *args)
    assert result.exit_code == 2, result
    line = _one_error_line(result.stderr)
    assert "comfylock.toml" in line and expect in line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fs_a_fifo_named_like_a_workflow_is_never_read(tmp_path):
    """Reading a FIFO blocks forever: before, `inspect DIR` hung on one. (The subprocess
    timeout only keeps a regression from hanging the suite; nothing is timed.)"""
    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "ok.json").write_text(
        json.dumps({"1": {"class_type": "VAELoader", "inputs": {"vae_name": "v.safetensors"}}})
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cli = [sys.executable, "-m", "comfylock"]
    walk = subprocess.run(
        [*cli, "inspect", str(tmp_path)], capture_output=True, text=True, env=env, timeout=120
    )
    assert walk.returncode == 0, walk.stderr
    assert "skipped" in walk.stdout and "pipe.json: not a regular file" in walk.stdout
    named = subprocess.run(
        [*cli, "inspect", str(tmp_path / "pipe.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert named.returncode == 2
    assert "not a regular file" in _one_error_line(named.stderr)


# ==================== network side (test_net_*) ====================

HAVE_ARIA2 = shutil.which("aria2c") is not None
BACKENDS = [
    "httpx",
    pytest.param("aria2", marks=pytest.mark.skipif(not HAVE_ARIA2, reason="no aria2c")),
]
DATA = payload(21, 2 * 1024 * 1024 + 17)
EXP = Expected(size=len(DATA), sha256=hashlib.sha256(DATA).hexdigest())
TOKEN = "tok-s3cr3t-4242"


@pytest.fixture
def origin():
    s = loopback_server()
    yield s
    stop_server(s)


@pytest.fixture
def elsewhere():
    """A second server: another origin (another port) that must never see a token."""
    s = loopback_server()
    yield s
    stop_server(s)


@pytest.fixture
def stop():
    """Set at the end of a test: every slow or endless body generator ends."""
    event = threading.Event()
    yield event
    event.set()


def _downloader(kind: str, tmp_path: Path, allow_http=()):
    if kind == "aria2":
        from comfylock.sync.download.aria2_backend import Aria2Downloader

        return Aria2Downloader(
            tmp_dir=tmp_path / "tmp",
            jobs=2,
            executable=shutil.which("aria2c"),
            allow_http=allow_http,
        )
    from comfylock.sync.download.httpx_backend import HttpxDownloader

    return HttpxDownloader(allow_http=allow_http, sleep=lambda s: None)


def _auth_seen(server) -> list[str | None]:
    return [req.headers.get("Authorization") for req, _ in server.log]


def _fetch(kind: str, tmp_path: Path, url: str, size: int = len(DATA), headers=None) -> Path:
    """One download by backend ``kind`` into ``tmp/x.part``; the downloader is closed after."""
    d = _downloader(kind, tmp_path)
    dest = tmp_path / "tmp" / "x.part"
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        d.fetch([url], dest, EXP, size, headers or {})
    finally:
        d.close()
    return dest


# --- 1. tokens go only to their own origin, whatever happened before ----------------------


@pytest.mark.parametrize("kind", BACKENDS)
def test_net_token_not_sent_elsewhere_after_a_503_then_redirect(kind, origin, elsewhere, tmp_path):
    answers = iter([Response(status=503)])

    def api(request):
        first = next(answers, None)
        if first is not None:
            return first
        return Response(status=302, headers={"Location": elsewhere.url_for("/cdn/file")})

    origin.expect_request("/api/download").respond_with_handler(api)
    elsewhere.expect_request("/cdn/file").respond_with_handler(lambda r: range_response(r, DATA))
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    dest = _fetch(kind, tmp_path, origin.url_for("/api/download"), headers=bearer)
    assert dest.read_bytes() == DATA
    assert set(_auth_seen(origin)) == {f"Bearer {TOKEN}"}
    assert elsewhere.log and set(_auth_seen(elsewhere)) == {None}


@pytest.mark.parametrize("kind", BACKENDS)
def test_net_redirect_to_plain_http_elsewhere_after_a_503_is_refused(
    kind, origin, elsewhere, tmp_path
):
    """``[::ffff:127.0.0.1]`` is not a loopback name to the rule: plain http there is refused,
    and no request (let alone a token) reaches it."""
    answers = iter([Response(status=503)])
    mapped = f"http://[::ffff:127.0.0.1]:{elsewhere.port}/cdn/file"
    origin.expect_request("/api/download").respond_with_handler(
        lambda r: next(answers, None) or Response(status=302, headers={"Location": mapped})
    )
    elsewhere.expect_request("/cdn/file").respond_with_handler(lambda r: range_response(r, DATA))
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    with pytest.raises(InsecureUrlError):
        _fetch(kind, tmp_path, origin.url_for("/api/download"), headers=bearer)
    assert elsewhere.log == []


@pytest.mark.skipif(not HAVE_ARIA2, reason="no aria2c")
@pytest.mark.parametrize("token", [None, TOKEN])
def test_net_aria2_own_redirect_to_plain_http_is_not_followed(token, origin, elsewhere, tmp_path):
    """The probe sees the file; only aria2c's own requests are sent to plain http elsewhere."""

    def handler(request):
        if request.headers.get("User-Agent", "").startswith("aria2"):
            where = f"http://[::ffff:127.0.0.1]:{elsewhere.port}/evil"
            return Response(status=302, headers={"Location": where})
        return range_response(request, DATA)

    origin.expect_request("/f").respond_with_handler(handler)
    origin.expect_request("/api").respond_with_handler(
        lambda r: Response(status=302, headers={"Location": origin.url_for("/f")})
    )
    elsewhere.expect_request("/evil").respond_with_handler(lambda r: range_response(r, DATA))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    dest = _fetch("aria2", tmp_path, origin.url_for("/api"), headers=headers)
    assert elsewhere.log == []  # aria2c's redirect to plain http went nowhere
    assert dest.read_bytes() == DATA  # the built-in downloader finished the file


# --- 4. bounds: the locked size, stalls -----------------------------------------------------


def _endless(stop: threading.Event, limit: int = 256 * 1024 * 1024):
    def handler(request):
        def gen():
            sent = 0
            block = b"\0" * 65536
            while sent < limit and not stop.is_set():
                yield block
                sent += len(block)

        return Response(
            gen(), headers={"Content-Type": "application/octet-stream"}, direct_passthrough=True
        )

    return handler


@pytest.mark.parametrize("kind", BACKENDS)
def test_net_endless_body_stops_at_the_locked_size(kind, origin, stop, tmp_path):
    origin.expect_request("/f").respond_with_handler(_endless(stop))
    size = 1024 * 1024
    with pytest.raises(RemoteError, match="locked size"):
        _fetch(kind, tmp_path, origin.url_for("/f"), size)
    dest = tmp_path / "tmp" / "x.part"
    assert not dest.exists() or dest.stat().st_size <= size


def _drip(stop: threading.Event, every: float = 0.1, count: int = 400):
    def handler(request):
        def gen():
            for _ in range(count):
                if stop.wait(every):
                    return
                yield b"x"

        return Response(gen(), headers={"Content-Length": str(count)}, direct_passthrough=True)

    return handler


@pytest.mark.parametrize("kind", BACKENDS)
def test_net_stalled_transfer_fails_with_a_remote_error(kind, origin, stop, tmp_path, monkeypatch):
    monkeypatch.setenv("COMFYLOCK_STALL_SECONDS", "1")
    monkeypatch.setenv("COMFYLOCK_LOWEST_SPEED", "100")
    origin.expect_request("/f").respond_with_handler(_drip(stop))
    with pytest.raises(RemoteError, match="stalled"):
        _fetch(kind, tmp_path, origin.url_for("/f"), 400)


# --- resolve --fetch: a cap, and the https-only rule on every hop --------------------------


def _url_workflow(url: str, name: str = "canny.safetensors") -> dict:
    return {
        "nodes": [
            {
                "id": 1,
                "type": "ControlNetLoader",
                "mode": 0,
                "widgets_values": [name],
                "properties": {"models": [{"name": name, "directory": "controlnet", "url": url}]},
            }
        ],
        "links": [],
        "version": 0.4,
    }


@pytest.fixture
def project(tmp_path, monkeypatch, origin):
    """A project dir (cwd) whose Civitai finds nothing by name; write ``w.json`` into it."""
    import json

    proj = tmp_path / "proj"
    proj.mkdir()
    origin.expect_request("/civitai/api/v1/models").respond_with_json({"items": [], "metadata": {}})
    monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", origin.url_for("/civitai").rstrip("/"))
    monkeypatch.setenv("HF_ENDPOINT", origin.url_for("/hf").rstrip("/"))
    monkeypatch.setenv("COMFYLOCK_RETRIES", "1")
    monkeypatch.chdir(proj)

    def write(url: str, name: str = "canny.safetensors") -> Path:
        (proj / "w.json").write_text(json.dumps(_url_workflow(url, name)))
        return proj

    return write


def _blobs(store: Path) -> list[Path]:
    return sorted(p for p in (store / "blobs").rglob("*") if p.is_file()) if store.exists() else []


def _error_line(stderr: str) -> str:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def test_net_resolve_fetch_has_a_size_cap(origin, project, stop, run_cli, monkeypatch, tmp_path):
    import os

    monkeypatch.setenv("COMFYLOCK_FETCH_MAX_BYTES", str(1024 * 1024))
    origin.expect_request("/files/canny.safetensors").respond_with_handler(_endless(stop))
    proj = project(origin.url_for("/files/canny.safetensors"))
    result = run_cli("resolve", "--fetch")
    assert result.exit_code == 3, result
    assert "larger than the --fetch limit" in _error_line(result.stderr)
    store = Path(os.environ["COMFYLOCK_STORE"])
    assert _blobs(store) == []
    assert all(p.stat().st_size <= 1024 * 1024 + 65536 for p in store.rglob("*.part"))
    assert not (proj / "comfy.lock").exists() or "canny" not in (proj / "comfy.lock").read_text()


def test_net_resolve_fetch_refuses_a_plain_http_hop(origin, elsewhere, project, run_cli):
    mapped = f"http://[::ffff:127.0.0.1]:{elsewhere.port}/files/canny.safetensors"
    origin.expect_request("/files/canny.safetensors").respond_with_handler(
        lambda r: Response(status=302, headers={"Location": mapped})
    )
    elsewhere.expect_request("/files/canny.safetensors").respond_with_data(b"x" * 1000)
    project(origin.url_for("/files/canny.safetensors"))
    result = run_cli("resolve", "--fetch")
    assert result.exit_code == 2, result
    assert "refusing to download over http" in _error_line(result.stderr)
    assert elsewhere.log == []


# --- 5. generated scripts; 1. tokens in workflow URLs ---------------------------------------


def _script(run_cli, tmp_path, workflow: dict) -> tuple[str, Path]:
    import json

    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True, exist_ok=True)
    wf = tmp_path / "w.json"
    wf.write_text(json.dumps(workflow))
    result = run_cli("--comfyui-root", str(root), "report", "--format", "script", str(wf))
    assert result.exit_code == 1, result
    return result.stdout, root


def _run_script(script: str, tmp_path: Path) -> tuple[str, str]:
    """Run the script with fake aria2c/curl that record their input; returns (aria2 input,
    curl argv)."""
    import os
    import stat
    import subprocess

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "record"
    fake_aria2 = bin_dir / "aria2c"
    fake_aria2.write_text(
        '#!/bin/sh\nfor a in "$@"; do case "$a" in --input-file=*) cat "${a#--input-file=}" >> '
        f'"{record}.aria2";; esac; done\n'
    )
    fake_curl = bin_dir / "curl"
    fake_curl.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{record}.curl"\n')
    for exe in (fake_aria2, fake_curl):
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path), "HF_TOKEN": TOKEN}
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    read = lambda p: p.read_text() if p.exists() else ""  # noqa: E731
    return read(Path(f"{record}.aria2")), read(Path(f"{record}.curl"))


def test_net_script_refuses_a_newline_in_a_url(run_cli, tmp_path):
    evil = "https://example.com/a.safetensors\n  dir=/tmp/outside\n  out=evil"
    wf = _url_workflow(evil)
    wf["nodes"].append(
        _url_workflow("https://example.com/ok.safetensors", "ok.safetensors")["nodes"][0]
        | {"id": 2}
    )
    script, root = _script(run_cli, tmp_path, wf)
    aria2_input, _ = _run_script(script, tmp_path)
    assert "outside" not in aria2_input and "evil" not in aria2_input
    entries = [ln for ln in aria2_input.splitlines() if ln.startswith("  dir=")]
    assert entries == [f"  dir={root / 'models' / 'controlnet'}"]  # the good one only
    assert "skipped controlnet/canny.safetensors" in script


def test_net_script_quotes_names_and_keeps_tokens_off_aria2(run_cli, tmp_path):
    wf = _url_workflow(
        f"https://huggingface.co/o/r/resolve/main/a'b $(touch pwned).safetensors?token={TOKEN}",
        "a'b $(touch pwned).safetensors",
    )
    script, root = _script(run_cli, tmp_path, wf)
    assert TOKEN not in script
    aria2_input, curl_args = _run_script(script, tmp_path)
    assert not list(tmp_path.rglob("pwned"))
    assert "Authorization" not in aria2_input and TOKEN not in aria2_input
    args = curl_args.splitlines()
    assert "--proto-redir" in args and "=https" in args  # never a plain-http hop
    assert args[-1] == "https://huggingface.co/o/r/resolve/main/a'b $(touch pwned).safetensors"
    assert not any(TOKEN in a for a in args)  # the token is in a 0600 header file, not argv


def test_net_tokens_in_workflow_urls_never_reach_the_lock_or_reports(
    origin, project, run_cli, tmp_path
):
    data = b"weights " * 500
    origin.expect_request("/files/canny.safetensors").respond_with_data(
        data, content_type="application/octet-stream"
    )
    url = origin.url_for("/files/canny.safetensors") + f"?type=Model&token={TOKEN}"
    proj = project(url)
    result = run_cli("resolve", "--fetch")
    assert result.exit_code == 0, result
    lock = (proj / "comfy.lock").read_text()
    assert TOKEN not in lock and "type=Model" in lock
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    for fmt in ("markdown", "json", "script"):
        report = run_cli(
            "--comfyui-root", str(root), "report", "--format", fmt, str(proj / "w.json")
        )
        assert TOKEN not in report.stdout + report.stderr, fmt
    inspect = run_cli("inspect", str(proj / "w.json"))
    assert TOKEN not in inspect.stdout + inspect.stderr


def test_net_a_failing_add_does_not_print_the_token(origin, project, run_cli):
    origin.expect_request("/files/x.safetensors").respond_with_data(b"", status=404)
    project(origin.url_for("/files/other.safetensors"))
    url = origin.url_for("/files/x.safetensors") + f"?token={TOKEN}"
    result = run_cli("add", url, "--folder", "loras")
    assert result.exit_code != 0
    assert TOKEN not in result.stdout + result.stderr
    assert all(TOKEN not in p.read_text() for p in Path.cwd().glob("*.toml"))


# --- 4. decompressed metadata and API answers have caps -------------------------------------


def _png_with_ztxt(key: bytes, text_size: int) -> bytes:
    import struct

    def chunk(ctype: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + ctype
            + body
            + struct.pack(">I", zlib.crc32(ctype + body))
        )

    inflater = zlib.compressobj(9)
    block = b" " * (1024 * 1024)
    packed = inflater.compress(b'{"nodes": [], "pad": "')
    for _ in range(text_size // len(block)):
        packed += inflater.compress(block)
    packed += inflater.compress(b'"}') + inflater.flush()
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"zTXt", key + b"\0\0" + packed)
        + chunk(b"IEND", b"")
    )


def test_net_png_text_bomb_is_refused_without_inflating_it(run_cli, tmp_path):
    import tracemalloc

    from comfylock.workflows.embedded import MAX_TEXT, EmbeddedError, extract

    data = _png_with_ztxt(b"workflow", MAX_TEXT + 8 * 1024 * 1024)
    assert len(data) < 1024 * 1024  # a small file ...
    tracemalloc.start()
    try:
        with pytest.raises(EmbeddedError, match="inflates to more than"):
            extract(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MAX_TEXT + 16 * 1024 * 1024  # ... never inflated whole
    png = tmp_path / "bomb.png"
    png.write_bytes(data)
    result = run_cli("inspect", str(png))
    assert result.exit_code == 2, result
    assert "inflates to more than" in _error_line(result.stderr)


def _gzip_bomb(size: int) -> bytes:
    import io

    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9) as gz:
        gz.write(b'{"items": [')
        block = b" " * (1024 * 1024)
        for _ in range(size // len(block)):
            gz.write(block)
        gz.write(b"]}")
    return buf.getvalue()


def test_net_api_answer_is_capped_after_decoding(origin, run_cli, monkeypatch):
    from comfylock.net.limits import API_MAX_BYTES
    from comfylock.net.send import make_client, send

    body = _gzip_bomb(API_MAX_BYTES + 4 * 1024 * 1024)
    origin.expect_request("/api").respond_with_data(
        body, headers={"Content-Encoding": "gzip"}, content_type="application/json"
    )
    with make_client() as client, pytest.raises(RemoteError, match="larger than"):
        send(client, "GET", origin.url_for("/api"))


@pytest.mark.parametrize("what", ["corrupt-gzip", "redirect-loop"])
def test_net_bad_api_answers_end_in_exit_3(what, origin, project, run_cli):
    """Civitai's search answers with a corrupt gzip body, or redirects in a circle."""
    origin.clear_all_handlers()
    if what == "corrupt-gzip":
        origin.expect_request("/civitai/api/v1/models").respond_with_data(
            b"\x1f\x8b\x08\x00garbage-not-deflate" * 10,
            headers={"Content-Encoding": "gzip"},
            content_type="application/json",
        )
    else:
        origin.expect_request("/civitai/api/v1/models").respond_with_handler(
            lambda r: Response(status=302, headers={"Location": r.url})
        )
    project("")
    result = run_cli("resolve")
    assert result.exit_code == 3, result
    _error_line(result.stderr)


# --- 7. every network or input failure has its exit code, never 70 --------------------------


def _sync_world(tmp_path: Path, url: str, nodes=()) -> list[str]:
    from tests.support.syncutil import Model, url_source, write_lock

    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "custom_nodes").mkdir(exist_ok=True)
    model = Model("loras", "x.safetensors", DATA[:50_000], [url_source(url)] if url else [])
    lock = write_lock(tmp_path / "comfy.lock", [model], list(nodes))
    return ["--lock", str(lock), "--comfyui-root", str(root), "sync"]


@pytest.mark.parametrize("kind", ["--no-aria2", "aria2"])
def test_net_download_redirect_loop_exits_3(kind, origin, tmp_path, run_cli):
    if kind == "aria2" and not HAVE_ARIA2:
        pytest.skip("no aria2c")
    origin.expect_request("/loop").respond_with_handler(
        lambda r: Response(status=302, headers={"Location": "/loop"})
    )
    args = _sync_world(tmp_path, origin.url_for("/loop"))
    result = run_cli(*args, *([kind] if kind.startswith("--") else []))
    assert result.exit_code == 3, result
    assert "redirects" in _error_line(result.stderr)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.invalid/a\\\\b.safetensors",  # one backslash once TOML reads it
        "https://example.invalid/a\\nb.safetensors",  # a newline
        "https://example.invalid/a\\b.safetensors",  # a backspace
        "https://[::1/x.safetensors",
    ],
)
def test_net_malformed_lock_urls_exit_2(url, tmp_path, run_cli):
    result = run_cli(*_sync_world(tmp_path, url), "--no-aria2")
    assert result.exit_code == 2, result
    # the lock's own validation or the URL rule, whichever sees it first: one line, exit 2
    assert "URL" in _error_line(result.stderr)


def test_net_invalid_ipv6_node_repo_exits_2(tmp_path, run_cli):
    args = _sync_world(tmp_path, "", nodes=[("bad", "https://[zz::1]/o/r.git", "a" * 40)])
    result = run_cli(*args, "--no-aria2")
    assert result.exit_code == 2, result
    assert "repo" in _error_line(result.stderr)


# --- 9. git runs with a protocol allow-list -------------------------------------------------


class _Recorder:
    """A threaded loopback HTTP(S) server: records request paths, answers with ``answer``."""

    def __init__(self, answer, tls: tuple[Path, Path] | None = None) -> None:
        import http.server
        import ssl

        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                seen.append(self.path)
                status, headers = answer(self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.mark.skipif(
    shutil.which("openssl") is None or shutil.which("git") is None, reason="needs openssl and git"
)
def test_net_git_clone_refuses_a_redirect_to_plain_http(tmp_path, monkeypatch):
    from comfylock.errors import RemoteError
    from comfylock.sync.nodepacks import clone_pack

    plain = _Recorder(lambda path: (404, {}))
    tls = _self_signed(tmp_path)
    secure = _Recorder(
        lambda path: (302, {"Location": f"http://127.0.0.1:{plain.port}{path}"}), tls=tls
    )
    monkeypatch.setenv("GIT_SSL_CAINFO", str(tls[0]))
    try:
        with pytest.raises(RemoteError):
            clone_pack(
                f"https://127.0.0.1:{secure.port}/pack.git", "a" * 40, tmp_path / "nodes" / "pack"
            )
    finally:
        secure.close()
        plain.close()
    assert secure.seen  # git asked the https repo ...
    assert plain.seen == []  # ... and did not follow it to plain http


# --- 10. Ctrl-C during a sync: no worker is left inside the store ---------------------------


def test_net_ctrl_c_waits_for_workers_inside_the_store(tmp_path, monkeypatch):
    """A worker still in SQLite/blake3 while the index closed and the interpreter finalised
    crashed with SIGSEGV (1 in ~10 Ctrl-C'd httpx syncs under load). After Ctrl-C no worker
    may still be inside the store when ``_fetch_all`` returns."""
    import _thread

    from comfylock.errors import Interrupted
    from comfylock.lock.structs import UrlSource
    from comfylock.store.blobs import Store
    from comfylock.sync.apply import ApplyContext
    from comfylock.sync.fetching import fetch_all
    from comfylock.sync.plan import Fetch, SyncPlan

    store = Store(tmp_path / "store").ensure()
    quick, stalled = b"quick bytes" * 100, b"never arrives"
    cancel_box: list[threading.Event] = []
    inside = threading.Event()

    class Fake:
        def fetch(self, urls, dest, expected, size, headers, progress=None):
            if urls[0].endswith("/quick"):
                dest.write_bytes(quick)
            else:  # a stalled download: it sees cancel only
                cancel_box[0].wait(10)
                raise Interrupted("download interrupted")

        def close(self):
            pass

    def factory(tmp_dir, jobs, cancel):
        cancel_box.append(cancel)
        return Fake(), None

    real_ingest = store.ingest

    def slow_ingest(tmp, expected, **kw):
        inside.set()
        _thread.interrupt_main()  # Ctrl-C arrives while this worker is in the store
        cancel_box[0].wait(10)
        time.sleep(0.3)  # still hashing / writing the index
        try:
            return real_ingest(tmp, expected, **kw)
        finally:
            inside.clear()

    monkeypatch.setattr(store, "ingest", slow_ingest)
    fetches = tuple(
        Fetch(
            reason="missing",
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            keys=(name,),
            sources=(UrlSource(url=f"https://example.invalid/{name}"),),
        )
        for name, data in (("quick", quick), ("stalled", stalled))
    )
    plan = SyncPlan(fetch=fetches)
    ctx = ApplyContext(
        store=store, lock_path=str(tmp_path / "comfy.lock"), jobs=2, downloader_factory=factory
    )
    try:
        with pytest.raises(Interrupted):
            fetch_all(plan, ctx, [], [], {})
        assert not inside.is_set(), "a worker is still inside the store after Ctrl-C"
    finally:
        store.close()


@pytest.mark.parametrize("kind", ["--no-aria2", "aria2"])
def test_net_stalled_sync_exits_3_and_keeps_the_partial_file(
    kind, origin, stop, tmp_path, run_cli, monkeypatch
):
    import os

    if kind == "aria2" and not HAVE_ARIA2:
        pytest.skip("no aria2c")
    monkeypatch.setenv("COMFYLOCK_STALL_SECONDS", "1")
    monkeypatch.setenv("COMFYLOCK_LOWEST_SPEED", "100")
    data = DATA[:50_000]

    def handler(request):
        def gen():
            yield data[:20_000]
            for _ in range(100):
                if stop.wait(0.1):
                    return
                yield b"x"

        return Response(gen(), headers={"Content-Length": str(len(data))}, direct_passthrough=True)

    origin.expect_request("/f").respond_with_handler(handler)
    args = _sync_world(tmp_path, origin.url_for("/f"))
    result = run_cli(*args, *([kind] if kind.startswith("--") else []))
    assert result.exit_code == 3, result
    assert "stalled" in _error_line(result.stderr)
    parts = list((Path(os.environ["COMFYLOCK_STORE"]) / "tmp").glob("*.part"))
    assert parts and parts[0].stat().st_size >= 20_000  # kept: the next sync resumes it


@pytest.mark.parametrize(
    "value",
    [
        "https://a/b\nc",
        "https://a\\b/x",
        "https://[::1/x",
        "https://a:99999/x",
        "https://[zz::1]/r",
    ],
)
def test_net_url_rules_raise_input_errors_for_malformed_values(value):
    """Whatever reaches the URL rule (workflow URLs at resolve, registry repos at ls-remote)
    gets exit 2 with a message, never a ValueError from the URL parser (exit 70)."""
    from comfylock.errors import InputError
    from comfylock.net.urlpolicy import check_repo, check_url

    for check in (check_url, check_repo):
        with pytest.raises(InputError):
            check(value)


def test_net_api_redirect_to_plain_http_elsewhere_is_refused(origin, elsewhere, project, run_cli):
    """API clients obey the https-only rule on every hop too (SPEC §6)."""
    origin.clear_all_handlers()
    mapped = f"http://[::ffff:127.0.0.1]:{elsewhere.port}/api/v1/models"
    origin.expect_request("/civitai/api/v1/models").respond_with_handler(
        lambda r: Response(status=302, headers={"Location": mapped})
    )
    elsewhere.expect_request("/api/v1/models").respond_with_json({"items": [], "metadata": {}})
    project("")
    result = run_cli("resolve")
    assert result.exit_code == 2, result
    assert "refusing" in _error_line(result.stderr)
    assert elsewhere.log == []
