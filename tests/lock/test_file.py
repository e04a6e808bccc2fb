"""lock/file.py: reading and rendering ``comfy.lock``."""

from __future__ import annotations

import random

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from comfylock.lock import file as lockfile
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
from comfylock.pathsafe import unsafe_reason
from tests.support.output import one_line_error as _one_line_error
from tests.support.strategies import FEW


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


def test_lock_version_2_is_refused_with_upgrade_hint(tmp_path, run_cli):
    lock = tmp_path / "comfy.lock"
    lock.write_text("version = 2\n", encoding="utf-8")
    for cmd in (["status"], ["sync"], ["check"]):
        result = run_cli("--lock", str(lock), "--models-dir", str(tmp_path / "m"), *cmd)
        assert result.exit_code == 2, (cmd, result)
        line = _one_line_error(result.stderr, "")
        assert "newer than this comfylock understands" in line
        assert "upgrade comfylock" in line


@pytest.mark.parametrize(
    "text, key",
    [
        ("version = 1\nflavour = 'x'\n", "flavour"),
        (
            "version = 1\n[[model]]\nfolder = 'loras'\nname = 'a.safetensors'\nsize = 1\n"
            f"sha256 = '{'a' * 64}'\ncolour = 'red'\n",
            "colour",
        ),
    ],
)
def test_lock_with_unknown_key_names_it(tmp_path, run_cli, text, key):
    lock = tmp_path / "comfy.lock"
    lock.write_text(text, encoding="utf-8")
    result = run_cli("--lock", str(lock), "--models-dir", str(tmp_path / "m"), "status")
    assert result.exit_code == 2, result
    line = _one_line_error(result.stderr, "")
    assert key in line and "comfy.lock" in line


hexes = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


commits = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)


names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
)


# a hub path is a relative path inside the repo (lock validation refuses '..', '/x', '\\')
hub_paths = names.filter(lambda n: unsafe_reason(n) is None and "\\" not in n)


sources = st.one_of(
    st.builds(
        CivitaiSource,
        matched_by=st.sampled_from(["hash", "name", "pin"]),
        model_id=st.integers(1, 10**7),
        version_id=st.integers(1, 10**7),
        file_id=st.integers(1, 10**7),
        url=st.none() | st.just("https://civitai.com/api/download/models/1"),
    ),
    st.builds(
        HuggingFaceSource,
        matched_by=st.just("url"),
        repo=st.just("org/repo"),
        revision=commits,
        path=hub_paths,
    ),
    st.builds(
        UrlSource, matched_by=st.just("url"), url=names.map(lambda n: "https://example.com/" + n)
    ),
)


models = st.builds(
    LockedModel,
    folder=st.sampled_from(["checkpoints", "loras", "vae"]),
    name=names,
    size=st.integers(0, 2**40),
    sha256=hexes,
    blake3=st.none() | hexes,
    source=st.lists(sources, max_size=3).map(tuple),
)


def _placeable(models: tuple[LockedModel, ...]) -> bool:
    """Models a lock may hold: each at a path of its own that can be written (the reader
    refuses the rest; ``lock/validate.check_write_paths``)."""
    from comfylock.errors import LockfileError
    from comfylock.lock.validate import check_write_paths, write_paths

    try:
        check_write_paths(write_paths(Lock(version=1, model=models)), "generated")
    except LockfileError:
        return False
    return True


locks = st.builds(
    Lock,
    version=st.just(1),
    workflow=st.lists(
        st.builds(
            LockedWorkflow,
            path=names,
            digest=hexes.map(lambda h: "sha256:" + h),
            models=st.lists(names, max_size=3).map(tuple),
            nodes=st.lists(names, max_size=2).map(tuple),
        ),
        max_size=3,
        unique_by=lambda w: w.path,
    ).map(tuple),
    model=st.lists(models, max_size=4, unique_by=lambda m: (m.folder, m.name))
    .map(tuple)
    .filter(_placeable),
    node=st.lists(
        st.builds(
            LockedNode,
            id=names,
            repo=st.just("https://github.com/a/b"),
            commit=commits,
            version=st.none() | st.just("1.0.0"),
            classes=st.lists(names, max_size=3).map(tuple),
        ),
        max_size=3,
        unique_by=lambda n: n.id,  # a lock names each pack once (two entries are refused)
    ).map(tuple),
    unresolved=st.lists(
        st.builds(Unresolved, folder=st.just("loras"), name=names, reason=names), max_size=2
    ).map(tuple),
)


@FEW
@given(lock=locks)
def test_lock_render_parse_render_is_identical(lock):
    text = lockfile.render(lock)
    assert lockfile.render(lockfile.loads(text)) == text
