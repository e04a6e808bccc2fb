"""Property tests (hypothesis): the reader never crashes, the lock round-trips byte for byte,
path normalisation never escapes its root. Example counts are bounded to keep `make test` fast."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comfylock.errors import UnsafePathError, WorkflowError
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
from comfylock.pathsafe import check_name, safe_join, unsafe_reason
from comfylock.workflows.reader import parse
from tests.support.paths import FIXTURES

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
    model=st.lists(models, max_size=4, unique_by=lambda m: (m.folder, m.name)).map(tuple),
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


# --- the planner: a second plan after apply is empty -----------------------------------------

STATES = ("absent", "adoptable", "in-store", "linked", "stale-link", "elsewhere")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    states=st.lists(st.sampled_from(STATES), min_size=1, max_size=5),
    folders=st.lists(
        st.sampled_from(["loras", "vae", "checkpoints", "diffusion_models", "text_encoders"]),
        min_size=5,
        max_size=5,
    ),
    link=st.sampled_from(["auto", "symlink", "hardlink", "copy"]),
)
def test_second_plan_after_apply_is_empty_for_any_start(states, folders, link):
    """Whatever the tree and store hold to begin with (no conflicts, no network needed),
    apply(plan) then plan again finds nothing to do."""
    import tempfile

    from comfylock.machine.modelpaths import load_model_paths
    from comfylock.store.blobs import Store
    from comfylock.store.hashing import Expected
    from comfylock.sync.apply import ApplyContext, run
    from comfylock.sync.observe import observe, store_view
    from comfylock.sync.plan import make_plan
    from tests.support.syncutil import Model, url_source, write_lock

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = tmp / "ComfyUI"
        (root / "models").mkdir(parents=True)
        store = Store(tmp / "store").ensure()
        models = [
            Model(
                folders[i],
                f"sub{i % 2}/m{i}.safetensors",
                f"bytes of model {i}".encode(),
                [url_source(f"https://127.0.0.1:1/{i}")],
            )
            for i in range(len(states))
        ]
        lock_path = write_lock(tmp / "comfy.lock", models)
        paths = load_model_paths(root)
        for m, start in zip(models, states):
            target = paths.target_dir(m.folder) / m.name
            if start != "adoptable":  # everything else starts with the blob in the store
                tmp_blob = store.tmp_path(m.sha256)
                tmp_blob.write_bytes(m.data)
                store.ingest(tmp_blob, Expected(size=len(m.data), sha256=m.sha256))
            target.parent.mkdir(parents=True, exist_ok=True)
            if start == "adoptable":
                target.write_bytes(m.data)
            elif start == "linked":
                target.symlink_to(store.blob_path(m.sha256))
            elif start == "stale-link":
                other = models[(models.index(m) + 1) % len(models)]
                if other is not m and store.has(other.sha256):
                    target.symlink_to(store.blob_path(other.sha256))
            elif (
                start == "elsewhere"
            ):  # the file sits in the folder's other dir (clip/ for text_encoders, …)
                dirs = paths.search_dirs(m.folder)
                place = (dirs[1] if len(dirs) > 1 else dirs[0]) / m.name
                place.parent.mkdir(parents=True, exist_ok=True)
                place.write_bytes(m.data)
        lock = lockfile.load(lock_path)

        def plan_now():
            return make_plan(
                lock, observe(lock, paths, store, lock_path=str(lock_path)), store_view(lock, store)
            )

        first = plan_now()
        assert first.conflicts == ()
        report = run(
            first,
            ApplyContext(
                store=store, lock_path=str(lock_path), models_root=root / "models", link_mode=link
            ),
        )
        assert report.failures == ()
        second = plan_now()
        store.close()
        assert second.is_empty, second
