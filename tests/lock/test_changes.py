"""lock.changes: what changed between two locks, section by section (pure)."""

from __future__ import annotations

import msgspec

from comfylock.lock import changes
from comfylock.lock.changes import diff_locks, source_label
from comfylock.lock.structs import (
    CivitaiSource,
    FileSource,
    HuggingFaceSource,
    Lock,
    LockedModel,
    LockedNode,
    LockedSnapshot,
    SnapshotFile,
    UrlSource,
)

A, B = "a" * 64, "b" * 64


def _model(name="x.safetensors", sha=A, size=1, **kw) -> LockedModel:
    return LockedModel(folder="loras", name=name, size=size, sha256=sha, **kw)


def test_equal_locks_have_no_changes():
    lock = Lock(version=1, model=(_model(),))
    assert diff_locks(lock, lock).is_empty


def test_a_changed_model_names_only_the_fields_that_differ():
    old = Lock(version=1, model=(_model(source=(UrlSource(url="https://e.x/a"),)),))
    new = Lock(version=1, model=(_model(sha=B, license="mit", source=old.model[0].source),))
    (change,) = diff_locks(old, new).changes
    assert (change.section, change.key, change.kind) == ("model", "loras/x.safetensors", "changed")
    assert {f.field: (f.old, f.new) for f in change.fields} == {
        "sha256": (A, B),
        "license": (None, "mit"),
    }


def test_added_and_removed_entries_in_every_section():
    snap = LockedSnapshot(
        repo="o/r",
        revision="c" * 40,
        dir="models/r",
        file=(SnapshotFile(path="f", size=1, sha256=A),),
    )
    old = Lock(version=1, node=(LockedNode(id="p", repo="https://g/p", commit="1" * 40),))
    new = Lock(version=1, model=(_model(),), snapshot=(snap,))
    got = [(c.section, c.key, c.kind) for c in diff_locks(old, new).changes]
    assert got == [
        ("model", "loras/x.safetensors", "added"),
        ("node", "p", "removed"),
        ("snapshot", "models/r", "added"),
    ]


def test_source_labels_tell_sources_apart():
    assert source_label(CivitaiSource(model_id=1, version_id=2, file_id=3)) == "civitai 1@2 file 3"
    hf = HuggingFaceSource(repo="o/r", revision="d" * 40, path="a/b.safetensors")
    assert source_label(hf) == f"huggingface o/r@{'d' * 12}/a/b.safetensors"
    assert source_label(UrlSource(url="https://e.x/f")) == "url https://e.x/f"
    assert source_label(FileSource(path="wf/a.png")) == "file wf/a.png"
    assert (
        source_label(FileSource(path="input/a.png", root="comfyui")) == "file input/a.png (comfyui)"
    )


def test_a_new_section_is_one_entry(monkeypatch):
    """The comparison knows no section: a part of the lock joins with one (name, fn) row."""
    extra = ("pins", lambda side: {m.key: {"size": m.size} for m in side.lock.model})
    monkeypatch.setattr(changes, "SECTIONS", [extra])
    old = Lock(version=1, model=(_model(),))
    new = Lock(version=1, model=(msgspec.structs.replace(old.model[0], size=2),))
    (change,) = diff_locks(old, new).changes
    assert (change.section, change.fields[0].old, change.fields[0].new) == ("pins", 1, 2)


def _pylock(**versions: str) -> str:
    rows = [f'[[packages]]\nname = "{n}"\nversion = "{v}"\n' for n, v in versions.items()]
    return 'lock-version = "1.0"\ncreated-by = "uv"\n\n' + "\n".join(rows)


def _env_lock(commit: str, version: str, specs: tuple[str, ...]) -> Lock:
    from comfylock.lock.structs import (
        LockedComfyUI,
        LockedPython,
        PythonRequirement,
        PythonTarget,
    )

    return Lock(
        version=1,
        comfyui=LockedComfyUI(commit=commit, version=version, matched_by="local"),
        python=LockedPython(
            version="3.11",
            inputs="sha256:" + commit[0] * 64,
            target=(
                PythonTarget(
                    name="linux",
                    platform="x86_64-manylinux_2_28",
                    file="pylock.linux.toml",
                    sha256=commit[0] * 64,
                ),
            ),
            requirement=(PythonRequirement(pack="pack-a", source="requirements.txt", specs=specs),),
        ),
    )


def test_comfyui_python_and_its_packages_are_sections():
    from comfylock.lock.changes import LockSide

    old = LockSide(
        lock=_env_lock("1" * 40, "0.3.40", ("alpha>=1.0",)),
        pylocks={"pylock.linux.toml": _pylock(alpha="1.0", beta="1.0", Old_Thing="2")},
    )
    new = LockSide(
        lock=_env_lock("2" * 40, "0.3.41", ("alpha>=1.1",)),
        pylocks={"pylock.linux.toml": _pylock(alpha="1.1", beta="1.0", numpy="2.1.0")},
    )
    got = {(c.section, c.key, c.kind): c.fields for c in diff_locks(old, new).changes}
    assert set(got) == {
        ("comfyui", "comfyui", "changed"),
        ("python", "python", "changed"),
        ("python package", "linux/alpha", "changed"),
        ("python package", "linux/numpy", "added"),
        ("python package", "linux/old-thing", "removed"),
    }
    core = {f.field: (f.old, f.new) for f in got[("comfyui", "comfyui", "changed")]}
    assert core == {"commit": ("1" * 40, "2" * 40), "version": ("0.3.40", "0.3.41")}
    (alpha,) = got[("python package", "linux/alpha", "changed")]
    assert (alpha.old, alpha.new) == ("1.0", "1.1")
    (req,) = got[("python", "python", "changed")]  # the inputs digest is no change of its own
    assert req.field == "requirements"
