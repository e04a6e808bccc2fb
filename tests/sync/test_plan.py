"""The pure planner: one behaviour per test, from hand-made observations."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comfylock.lock import file as lockfile
from comfylock.lock.structs import Lock, LockedModel, LockedNode, UrlSource
from comfylock.render.syncview import plan_json, plan_lines, summary_line
from comfylock.store.hashing import Expected
from comfylock.sync.plan import make_plan
from comfylock.sync.workspace import ModelState, NodeState, PlacedLink, StoreView, Workspace
from tests.support.syncutil import Model, url_source, write_lock

A, B = hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest()
SRC = (UrlSource(url="https://example.invalid/a"),)


def lock_of(*models: LockedModel, nodes: tuple[LockedNode, ...] = ()) -> Lock:
    return Lock(version=1, model=models, node=nodes)


def model(name: str, sha: str = A) -> LockedModel:
    return LockedModel(folder="loras", name=name, size=1, sha256=sha, source=SRC)


def state(name: str, status: str, **kw) -> ModelState:
    return ModelState(key=f"loras/{name}", target=f"/m/loras/{name}", status=status, **kw)


def plan_for(states, models=None, blobs=(), **kw):
    models = models or tuple(model(s.key.split("/", 1)[1]) for s in states)
    return make_plan(
        lock_of(*models), Workspace(models=tuple(states)), StoreView(blobs=frozenset(blobs)), **kw
    )


def test_missing_model_not_in_store_is_fetched_and_linked():
    plan = plan_for([state("x", "missing")])
    assert [f.sha256 for f in plan.fetch] == [A]
    assert [link.target for link in plan.link] == ["/m/loras/x"]


def test_missing_model_already_in_store_is_only_linked():
    plan = plan_for([state("x", "missing")], blobs=[A])
    assert plan.fetch == () and len(plan.link) == 1


def test_two_targets_with_one_digest_fetch_once():
    plan = plan_for([state("x", "missing"), state("y", "missing")])
    assert len(plan.fetch) == 1 and plan.fetch[0].keys == ("loras/x", "loras/y")


@pytest.mark.parametrize("status", ["ours-ok", "copy-ok", "elsewhere-ok"])
def test_satisfied_models_need_nothing(status):
    plan = plan_for([state("x", status)])
    assert plan.is_empty and plan.models_in_sync == 1
    assert summary_line(plan) == "Already in sync: 1 model, 0 node packs"


def test_stale_link_is_relinked():
    plan = plan_for([state("x", "ours-stale", current=B)], blobs=[A])
    assert [(r.target, r.current) for r in plan.relink] == [("/m/loras/x", B)]


def test_matching_user_file_is_adopted_not_fetched():
    plan = plan_for([state("x", "foreign-matching", found="/m/loras/x"), state("y", "missing")])
    assert plan.fetch == ()
    assert [a.path for a in plan.adopt] == ["/m/loras/x"]
    assert {r.target for r in plan.relink} == {"/m/loras/x"}


def test_different_user_file_is_a_conflict():
    plan = plan_for([state("x", "foreign-different", detail="size 9")])
    assert [c.target for c in plan.conflicts] == ["/m/loras/x"]
    assert plan.link == () and plan.fetch == ()


def test_force_displaces_instead_of_conflicting():
    plan = plan_for([state("x", "foreign-different")], force=True)
    assert plan.conflicts == ()
    assert [d.target for d in plan.displace] == ["/m/loras/x"]
    assert [link.target for link in plan.link] == ["/m/loras/x"]


def test_extra_links_are_pruned_only_with_prune():
    ws = Workspace(models=(), extra_links=(PlacedLink(target="/m/loras/old", sha256=B),))
    assert make_plan(lock_of(), ws, StoreView()).is_empty
    assert [p.target for p in make_plan(lock_of(), ws, StoreView(), prune=True).prune] == [
        "/m/loras/old"
    ]


def test_node_states_map_to_clone_checkout_conflict():
    nodes = tuple(
        LockedNode(id=i, repo=f"https://example.invalid/{i}", commit="c" * 40) for i in "abcd"
    )
    ws = Workspace(
        nodes=(
            NodeState(id="a", path="/cn/a", status="missing"),
            NodeState(id="b", path="/cn/b", status="behind", head="d" * 40),
            NodeState(id="c", path="/cn/c", status="dirty", detail="local changes"),
            NodeState(id="d", path="/cn/d", status="ok"),
        )
    )
    plan = make_plan(lock_of(nodes=nodes), ws, StoreView())
    assert [n.id for n in plan.node_clone] == ["a"]
    assert [n.id for n in plan.node_checkout] == ["b"]
    assert [c.key for c in plan.conflicts] == ["node:c"]
    assert plan.nodes_in_sync == 1


def _farm_plan(**view):
    states = [state("x", "missing"), state("y", "missing")]
    models = (model("x", A), model("y", B))
    return make_plan(lock_of(*models), Workspace(models=tuple(states)), StoreView(**view))


def test_a_blob_another_machine_claimed_is_expected_from_the_remote():
    plan = _farm_plan(leased={A: "team"})
    by = {f.sha256: f for f in plan.fetch}
    assert (by[A].awaits, by[A].remote, by[A].claim) == ("team", None, None)
    assert by[B].awaits is None and by[B].claim is None
    with_claims = {f.sha256: f for f in _farm_plan(leased={A: "team"}, claims="team").fetch}
    assert (with_claims[A].awaits, with_claims[A].claim) == ("team", "team")  # if it is let go
    lines = plan_lines(plan, base="/m")
    assert any("loras/x" in ln and "another machine" in ln and "team" in ln for ln in lines)


def test_with_claims_a_blob_nobody_holds_is_claimed_then_pushed():
    plan = _farm_plan(remotes={B: "team"}, leased={}, claims="team")
    by = {f.sha256: f for f in plan.fetch}
    assert by[A].claim == "team" and by[A].awaits is None
    assert by[B].claim is None and by[B].remote == "team"  # on the remote already
    text = "\n".join(plan_lines(plan, base="/m"))
    assert "loras/x" in text and "claim" in text and "push" in text, text


def test_plan_is_frozen_and_renders():
    plan = plan_for([state("x", "missing")])
    with pytest.raises(AttributeError):
        plan.fetch = ()  # type: ignore[misc]
    assert any(line.startswith("fetch") for line in plan_lines(plan, base="/m"))
    assert "loras/x" in "\n".join(plan_lines(plan, base="/m"))
    assert '"empty":false' in plan_json(plan)


def test_second_plan_after_apply_is_empty(tmp_path, monkeypatch):
    """Contract: apply, observe again, plan again -> nothing to do."""
    from comfylock.machine.modelpaths import load_model_paths
    from comfylock.store.blobs import Store
    from comfylock.sync.apply import ApplyContext, run
    from comfylock.sync.observe import observe, store_view

    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    models = [
        Model("loras", "a.safetensors", b"aaa", [url_source("https://127.0.0.1:1/a")]),
        Model("vae", "sub/b.safetensors", b"bbb"),
    ]
    lock_path = write_lock(tmp_path / "comfy.lock", models)
    (root / "models" / "loras").mkdir()
    (root / "models" / "loras" / "a.safetensors").write_bytes(b"aaa")  # adoptable
    store = Store(tmp_path / "store").ensure()
    blob_tmp = store.tmp_path(models[1].sha256)
    blob_tmp.write_bytes(b"bbb")
    store.ingest(blob_tmp, Expected(size=3, sha256=models[1].sha256))
    lock, paths = lockfile.load(lock_path), load_model_paths(root)

    def plan_now():
        return make_plan(
            lock, observe(lock, paths, store, lock_path=str(lock_path)), store_view(lock, store)
        )

    first = plan_now()
    assert len(first.adopt) == 1 and len(first.link) == 1 and first.fetch == ()
    report = run(
        first, ApplyContext(store=store, lock_path=str(lock_path), models_root=root / "models")
    )
    assert report.failures == ()
    second = plan_now()
    assert second.is_empty and second.models_in_sync == 2


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
