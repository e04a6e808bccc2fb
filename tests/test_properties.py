"""Property tests (hypothesis): the reader never crashes, the lock round-trips byte for byte,
path normalisation never escapes its root. Example counts are bounded to keep `make test` fast."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comfylock import lockfile
from comfylock.errors import UnsafePathError, WorkflowError
from comfylock.pathsafe import check_name, safe_join
from comfylock.structs import (
    CivitaiSource,
    HuggingFaceSource,
    Lock,
    LockedModel,
    LockedNode,
    LockedWorkflow,
    Unresolved,
    UrlSource,
)
from comfylock.workflow import parse

from .conftest import FIXTURES

SEEDS = sorted(
    p
    for p in (FIXTURES / "workflows").iterdir()
    if p.suffix in (".json", ".png", ".webp") and p.name != "EXPECTED.json"
)
FEW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20)
)
json_value = st.recursive(
    json_leaf,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=12,
)


def _mutate(obj, rng: random.Random, value):
    """Replace one random node of a JSON tree with ``value``."""
    path = []
    node = obj
    while isinstance(node, (dict, list)) and node and rng.random() < 0.8:
        key = rng.choice(list(node)) if isinstance(node, dict) else rng.randrange(len(node))
        path.append((node, key))
        node = node[key]
    if path:
        parent, key = path[-1]
        parent[key] = value
        return obj
    return value


@FEW
@given(
    seed=st.sampled_from([p for p in SEEDS if p.suffix == ".json"]),
    choice=st.randoms(use_true_random=False),
    value=json_value,
)
def test_reader_never_crashes_on_mutated_workflows(seed, choice, value):
    obj = _mutate(json.loads(seed.read_text()), choice, value)
    try:
        parse(json.dumps(obj).encode(), name=seed.name)
    except WorkflowError:
        pass


@FEW
@given(
    seed=st.sampled_from(SEEDS),
    cut=st.integers(min_value=0, max_value=4000),
    flip=st.integers(min_value=0, max_value=255),
)
def test_reader_never_crashes_on_damaged_bytes(seed, cut, flip):
    data = bytearray(seed.read_bytes())
    if data:
        data[cut % len(data)] ^= flip
    for blob in (bytes(data), bytes(data[: cut % (len(data) + 1)])):
        try:
            parse(blob, name=seed.name)
        except WorkflowError:
            pass


def test_reader_on_mutated_real_workflows(shared_dir):
    rng = random.Random(1234)
    files = sorted((shared_dir / "corpus").rglob("*.json"))[:20]
    for path in files:
        base = json.loads(path.read_text())
        for _ in range(15):
            obj = _mutate(
                json.loads(json.dumps(base)),
                rng,
                rng.choice([None, 1, "x", [], {}, "../../x.safetensors"]),
            )
            try:
                parse(json.dumps(obj).encode(), name=path.name)
            except WorkflowError:
                pass


hexes = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
commits = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)
names = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=30
)
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
        path=names,
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
    ).map(tuple),
    model=st.lists(models, max_size=4).map(tuple),
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


@FEW
@given(name=st.text(alphabet=st.sampled_from(list("ab./\\:C~ ")), min_size=1, max_size=12))
def test_checked_names_never_escape_the_root(tmp_path_factory, name):
    root = Path("/srv/models/loras")
    try:
        joined = safe_join(root, check_name(name))
    except UnsafePathError:
        return
    assert str(joined).startswith(str(root) + "/")


@pytest.mark.parametrize(
    "name",
    ["../x", "a/../../x", "/etc/passwd", "C:\\x", "C:x", "\\\\server\\share\\x", "a/./b", ""],
)
def test_attack_shapes_are_rejected(name):
    with pytest.raises(UnsafePathError):
        check_name(name)
