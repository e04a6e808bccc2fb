"""resolve.resolve() and staleness.compare() with a dict-backed Sources fake (no I/O)."""

from __future__ import annotations

import json

from comfylock.config import Config
from comfylock.lock import file as lockfile
from comfylock.lock.staleness import compare
from comfylock.lock.structs import CivitaiSource, HuggingFaceSource, LockedNode, UrlSource
from comfylock.resolve.core import Found, NodeCandidate, resolve
from comfylock.workflows.reader import parse_obj
from comfylock.workflows.refs import WorkflowInput

SHA_A = "a" * 64
SHA_B = "b" * 64
COMMIT = "c" * 40


def api(nodes: dict) -> dict:
    return {
        str(i): {"class_type": t, "inputs": inputs}
        for i, (t, inputs) in enumerate(nodes.items(), 1)
    }


def wf(path: str, obj: dict) -> WorkflowInput:
    return WorkflowInput(path, parse_obj(obj))


class FakeSources:
    def __init__(self, *, local=None, by_hash=None, urls=None, search=None, packs=None):
        self.local = local or {}
        self.by_hash = by_hash or {}
        self.urls = urls or {}
        self.search = search or {}
        self.packs = packs or {}
        self.calls: list[tuple] = []

    def local_file(self, folder, name):
        self.calls.append(("local", folder, name))
        return self.local.get(f"{folder}/{name}")

    def local_folders(self, folders, name):
        return [f for f in folders if f"{f}/{name}" in self.local]

    def civitai_by_hash(self, sha256):
        self.calls.append(("by_hash", sha256))
        return self.by_hash.get(sha256)

    def hand_pin(self, spec, ref):
        self.calls.append(("pin", spec))
        return self.urls.get(spec)

    def from_url(self, url, declared):
        self.calls.append(("url", url))
        return self.urls.get(url)

    def model_list(self, folder, name):
        return []

    def civitai_search(self, folder, name):
        self.calls.append(("search", folder, name))
        return self.search.get(name)

    def node_candidates(self, node):
        return self.packs.get(node.class_type, [])

    def settle_pin(self, class_name, candidates, pin):
        return next(c for c in candidates if c.id == pin)

    def pin_node(self, candidate):
        return LockedNode(id=candidate.id, repo=candidate.repo, commit=COMMIT)


CIVITAI = CivitaiSource(
    matched_by="hash",
    model_id=1,
    version_id=2,
    file_id=3,
    url="https://civitai.com/api/download/models/2",
)


def test_local_file_is_identified_by_hash_and_workflow_url_added():
    w = wf(
        "w.json",
        {
            "nodes": [
                {
                    "id": 1,
                    "type": "CheckpointLoaderSimple",
                    "widgets_values": ["base.safetensors"],
                    "properties": {
                        "models": [
                            {
                                "name": "base.safetensors",
                                "directory": "checkpoints",
                                "url": "https://huggingface.co/o/r/resolve/main/base.safetensors",
                            }
                        ]
                    },
                }
            ]
        },
    )
    hf = HuggingFaceSource(matched_by="url", repo="o/r", revision=COMMIT, path="base.safetensors")
    fake = FakeSources(
        local={
            "checkpoints/base.safetensors": Found(
                sha256=SHA_A, size=10, source=None, blake3="d" * 64
            )
        },
        by_hash={SHA_A: Found(sha256=SHA_A, size=10, source=CIVITAI)},
        urls={
            "https://huggingface.co/o/r/resolve/main/base.safetensors": Found(
                sha256=SHA_A, size=10, source=hf
            )
        },
    )
    result = resolve([w], old=None, config=Config(), sources=fake)
    (model,) = result.lock.model
    assert (model.sha256, model.size, model.blake3) == (SHA_A, 10, "d" * 64)
    assert [type(s).__name__ for s in model.source] == ["CivitaiSource", "HuggingFaceSource"]
    assert not result.unresolved


def test_existing_pin_is_kept_without_any_lookup():
    w = wf("w.json", api({"LoraLoader": {"lora_name": "x.safetensors"}}))
    fake = FakeSources(search={"x.safetensors": Found(sha256=SHA_A, size=1, source=CIVITAI)})
    first = resolve([w], old=None, config=Config(), sources=fake).lock
    again = FakeSources()
    second = resolve([w], old=first, config=Config(), sources=again).lock
    assert lockfile.render(first) == lockfile.render(second)
    assert again.calls == []


def test_unresolved_reference_has_a_reason():
    w = wf("w.json", api({"LoraLoader": {"lora_name": "mystery.safetensors"}}))
    result = resolve([w], old=None, config=Config(), sources=FakeSources())
    (u,) = result.unresolved
    assert u.name == "mystery.safetensors" and "not found" in u.reason


def test_declared_hash_conflict_between_workflows_is_reported():
    def with_hash(sha):
        return {
            "nodes": [{"id": 1, "type": "VAELoader", "widgets_values": ["ae.safetensors"]}],
            "models": [
                {
                    "name": "ae.safetensors",
                    "directory": "vae",
                    "url": "https://x.test/ae",
                    "hash": sha,
                    "hash_type": "sha256",
                }
            ],
        }

    url = UrlSource(matched_by="url", url="https://x.test/ae")
    fake = FakeSources(urls={"https://x.test/ae": Found(sha256=SHA_A, size=1, source=url)})
    result = resolve(
        [wf("a.json", with_hash(SHA_A)), wf("b.json", with_hash(SHA_B))],
        old=None,
        config=Config(),
        sources=fake,
    )
    (conflict,) = result.conflicts
    assert conflict.key == "vae/ae.safetensors" and {conflict.first[0], conflict.second[0]} == {
        "a.json",
        "b.json",
    }


def test_ambiguous_node_class_needs_a_pin():
    w = wf("w.json", api({"FaceDetailer": {}}))
    cands = [
        NodeCandidate(id="impact", repo="https://github.com/a/impact"),
        NodeCandidate(id="fork", repo="https://github.com/b/fork"),
    ]
    result = resolve(
        [w], old=None, config=Config(), sources=FakeSources(packs={"FaceDetailer": cands})
    )
    assert result.ambiguous == (("FaceDetailer", ("fork", "impact")),)
    pinned = resolve(
        [w],
        old=None,
        config=Config(nodes={"FaceDetailer": "impact"}),
        sources=FakeSources(packs={"FaceDetailer": cands}),
    )
    assert [n.id for n in pinned.lock.node] == ["impact"] and pinned.lock.node[0].classes == (
        "FaceDetailer",
    )
    assert pinned.lock.workflow[0].nodes == ("impact",)


def test_an_ambiguous_class_names_the_pin_when_one_claimant_is_needed_anyway():
    """A fork that copied a pack's classes: the pack the workflow needs for its other
    classes is named as the pin that settles it, and the class stays unresolved (a pin
    settles an ambiguity, never a guess)."""
    w = wf("w.json", api({"ImageResizeKJ": {}, "OnlyInKJ": {}, "Shared": {}}))
    kj = NodeCandidate(id="kjnodes", repo="https://github.com/a/kjnodes")
    fork = NodeCandidate(id="fork", repo="https://github.com/b/fork")
    other = NodeCandidate(id="other", repo="https://github.com/c/other")
    packs = {"ImageResizeKJ": [kj, fork], "OnlyInKJ": [kj], "Shared": [fork, other]}
    result = resolve([w], old=None, config=Config(), sources=FakeSources(packs=packs))
    reasons = {u.name: u.reason for u in result.unresolved}
    assert [n.id for n in result.lock.node] == ["kjnodes"]
    assert reasons["ImageResizeKJ"] == (
        "claimed by several packs: fork, kjnodes; kjnodes is a pack this project needs for "
        'other node classes: [nodes] "ImageResizeKJ" = "kjnodes" settles it'
    )
    assert reasons["Shared"] == (
        "claimed by several packs: fork, other (settle it with a [nodes] pin in comfylock.toml)"
    )
    assert dict(result.ambiguous) == {
        "ImageResizeKJ": ("fork", "kjnodes"),
        "Shared": ("fork", "other"),
    }


def test_check_detects_a_renamed_loader_file():
    obj = api({"LoraLoader": {"lora_name": "old.safetensors"}})
    fake = FakeSources(
        search={
            "old.safetensors": Found(sha256=SHA_A, size=1, source=CIVITAI),
            "new.safetensors": Found(sha256=SHA_B, size=1, source=CIVITAI),
        }
    )
    lock = resolve([wf("w.json", obj)], old=None, config=Config(), sources=fake).lock
    assert compare(lock, [wf("w.json", obj)]).ok
    changed = json.loads(json.dumps(obj).replace("old.safetensors", "new.safetensors"))
    stale = compare(lock, [wf("w.json", changed)])
    assert not stale.ok
    (change,) = stale.changes
    assert change.path == "w.json" and change.renamed == (
        ("loras/old.safetensors", "loras/new.safetensors"),
    )


def test_name_only_matches_are_flagged_for_strict():
    w = wf("w.json", api({"LoraLoader": {"lora_name": "x.safetensors"}}))
    by_name = CivitaiSource(matched_by="name", model_id=1, version_id=2, file_id=3)
    lock = resolve(
        [w],
        old=None,
        config=Config(),
        sources=FakeSources(search={"x.safetensors": Found(sha256=SHA_A, size=1, source=by_name)}),
    ).lock
    assert compare(lock, [w]).name_only == ("loras/x.safetensors",)


def test_workflow_cache_skips_parsing_unchanged_files(tmp_path, monkeypatch):
    import os

    from comfylock.workflows import reader as workflow_module
    from comfylock.workflows.discover import WorkflowCache, read_files

    files = []
    for i in range(3):
        path = tmp_path / f"w{i}.json"
        path.write_text(json.dumps(api({"LoraLoader": {"lora_name": f"l{i}.safetensors"}})))
        files.append(path)
    calls = []
    real = workflow_module.parse
    monkeypatch.setattr(
        workflow_module, "parse", lambda data, name: calls.append(name) or real(data, name=name)
    )
    cache_file = tmp_path / "cache" / "workflows.msgpack"
    first = read_files(files, WorkflowCache(cache_file))
    assert len(calls) == 3
    second = read_files(files, WorkflowCache(cache_file))
    assert len(calls) == 3 and second.workflows == first.workflows, "nothing parsed the second time"
    files[1].write_text(json.dumps(api({"LoraLoader": {"lora_name": "changed.safetensors"}})))
    os.utime(files[1], ns=(1, 1))
    third = read_files(files, WorkflowCache(cache_file))
    assert len(calls) == 4 and third.workflows[1].info.models[0].name == "changed.safetensors"


def test_embedding_without_extension_is_pinned_under_its_real_file_name():
    w = wf("w.json", api({"CLIPTextEncode": {"text": "embedding:EasyNegative, cat"}}))
    fake = FakeSources(
        local={
            "embeddings/EasyNegative": Found(
                sha256=SHA_A, size=3, source=None, file_name="EasyNegative.safetensors"
            )
        },
        by_hash={SHA_A: Found(sha256=SHA_A, size=3, source=CIVITAI)},
    )
    lock = resolve([w], old=None, config=Config(), sources=fake).lock
    (model,) = lock.model
    assert model.name == "EasyNegative.safetensors"
    assert lock.workflow[0].models == ("embeddings/EasyNegative.safetensors",)
    assert compare(lock, [w]).ok
    again = FakeSources()
    assert resolve([w], old=lock, config=Config(), sources=again).lock == lock and again.calls == []


def _declaring(path: str, url: str, sha: str | None = None) -> WorkflowInput:
    entry = {"name": "ae.safetensors", "directory": "vae", "url": url}
    if sha:
        entry |= {"hash": sha, "hash_type": "sha256"}
    return wf(
        path,
        {
            "nodes": [{"id": 1, "type": "VAELoader", "widgets_values": ["ae.safetensors"]}],
            "models": [entry],
        },
    )


def test_hand_pin_of_other_bytes_than_declared_is_not_pinned():
    url = UrlSource(matched_by="pin", url="https://x.test/ae")
    fake = FakeSources(urls={"https://x.test/ae": Found(sha256=SHA_B, size=1, source=url)})
    config = Config(sources={"vae/ae.safetensors": "https://x.test/ae"})
    result = resolve(
        [_declaring("w.json", "https://x.test/ae", SHA_A)], old=None, config=config, sources=fake
    )
    assert not result.lock.model
    (u,) = result.unresolved
    assert SHA_A in u.reason and SHA_B in u.reason and "hand pin" in u.reason


def test_kept_pin_is_re_resolved_when_its_bytes_are_not_the_declared_ones():
    url = UrlSource(matched_by="url", url="https://x.test/ae")
    first = resolve(
        [_declaring("w.json", "https://x.test/ae")],
        old=None,
        config=Config(),
        sources=FakeSources(urls={"https://x.test/ae": Found(sha256=SHA_B, size=1, source=url)}),
    ).lock
    fake = FakeSources(by_hash={SHA_A: Found(sha256=SHA_A, size=2, source=CIVITAI)})
    second = resolve(
        [_declaring("w.json", "https://x.test/ae", SHA_A)], old=first, config=Config(), sources=fake
    )
    (model,) = second.lock.model
    assert (model.sha256, model.source) == (SHA_A, (CIVITAI,))
    assert ("by_hash", SHA_A) in fake.calls


def test_urls_naming_different_files_conflict_unless_their_bytes_agree():
    a, b = "https://x.test/a/ae", "https://y.test/b/ae"
    workflows = [_declaring("a.json", a), _declaring("b.json", b)]

    def run(sha_b):
        urls = {
            a: Found(sha256=SHA_A, size=1, source=UrlSource(matched_by="url", url=a)),
            b: Found(sha256=sha_b, size=1, source=UrlSource(matched_by="url", url=b)),
        }
        return resolve(workflows, old=None, config=Config(), sources=FakeSources(urls=urls))

    (conflict,) = run(SHA_B).conflicts
    assert conflict.what == "url" and {conflict.first, conflict.second} == {
        ("a.json", a),
        ("b.json", b),
    }
    agreeing = run(SHA_A)
    assert not agreeing.conflicts and len(agreeing.lock.model[0].source) == 2
    unknown = resolve(workflows, old=None, config=Config(), sources=FakeSources())
    assert [c.key for c in unknown.conflicts] == ["vae/ae.safetensors"]


def test_a_new_workflow_naming_another_file_conflicts_with_a_kept_pin():
    a, b = "https://x.test/a/ae", "https://y.test/b/ae"
    urls = {
        a: Found(sha256=SHA_A, size=1, source=UrlSource(matched_by="url", url=a)),
        b: Found(sha256=SHA_B, size=1, source=UrlSource(matched_by="url", url=b)),
    }
    first = resolve(
        [_declaring("a.json", a)], old=None, config=Config(), sources=FakeSources(urls=urls)
    )
    assert not first.conflicts
    again = FakeSources(urls=urls)
    second = resolve(
        [_declaring("a.json", a), _declaring("b.json", b)],
        old=first.lock,
        config=Config(),
        sources=again,
    )
    (conflict,) = second.conflicts
    assert {conflict.first[0], conflict.second[0]} == {"a.json", "b.json"}
    assert ("url", a) not in again.calls, "the kept pin already answers for the first URL"


def test_the_pinned_rows_add_up_one_model_in_each_way():
    """Issue 19: "pinned 5" over rows 0 + 2 + 2 (no "by URL" row) must not happen: every
    pinned model counts in exactly one row (kept, by hand, by hash, by URL, by name)."""
    from comfylock.resolve.core import PINNED_ROWS

    url = "https://example.com/u.safetensors"
    nodes = {
        "CheckpointLoaderSimple": {"ckpt_name": "local.safetensors"},
        "LoraLoader": {"lora_name": "named.safetensors"},
        "VAELoader": {"vae_name": "pinned.safetensors"},
        "UpscaleModelLoader": {"model_name": "kept.safetensors"},
    }
    w = wf("w.json", api(nodes))
    w_url = wf(
        "u.json",
        {
            "nodes": [
                {
                    "id": 1,
                    "type": "ControlNetLoader",
                    "widgets_values": ["u.safetensors"],
                    "properties": {"models": [{"name": "u.safetensors", "url": url}]},
                }
            ]
        },
    )
    src = UrlSource(matched_by="url", url=url)
    kept_lock = resolve(
        [wf("k.json", api({"UpscaleModelLoader": {"model_name": "kept.safetensors"}}))],
        old=None,
        config=Config(),
        sources=FakeSources(search={"kept.safetensors": Found(sha256=SHA_B, size=1, source=src)}),
    ).lock
    fake = FakeSources(
        local={"checkpoints/local.safetensors": Found(sha256=SHA_A, size=1, source=None)},
        by_hash={SHA_A: Found(sha256=SHA_A, size=1, source=CIVITAI)},
        search={"named.safetensors": Found(sha256=SHA_B, size=1, source=src)},
        urls={
            url: Found(sha256=SHA_B, size=1, source=src),
            "pin:x": Found(sha256=SHA_B, size=1, source=src),
        },
    )
    config = Config(sources={"vae/pinned.safetensors": "pin:x"})
    result = resolve([w, w_url], old=kept_lock, config=config, sources=fake)
    stats = result.stats
    assert stats["pinned"] == 5 == len(result.lock.model)
    assert sum(stats[row] for row in PINNED_ROWS) == stats["pinned"], stats
    assert [stats[row] for row in PINNED_ROWS] == [1, 1, 1, 1, 1], stats


def test_a_pin_add_just_made_counts_as_by_hand_not_kept():
    w = wf("w.json", api({"LoraLoader": {"lora_name": "x.safetensors"}}))
    fake = FakeSources(search={"x.safetensors": Found(sha256=SHA_A, size=1, source=CIVITAI)})
    old = resolve([w], old=None, config=Config(), sources=fake).lock
    again = resolve(
        [w],
        old=old,
        config=Config(),
        sources=FakeSources(),
        hand_pinned=frozenset({old.model[0].key}),
    )
    assert (again.stats["kept"], again.stats["by_pin"]) == (0, 1), again.stats


def _selector_table(node_table):
    node_table(
        {
            "packs": {"sel": {"repo": "https://github.com/o/sel", "nodes": ["Selector"]}},
            "classes": {
                "Selector": {
                    "pack": "sel",
                    "inputs": {"model_name": ["diffusion_models", "text_encoders"]},
                }
            },
        }
    )


def test_a_file_a_node_lists_from_two_folders_is_placed_where_this_machine_has_it(node_table):
    _selector_table(node_table)
    obj = api({"Selector": {"model_name": "umt5.safetensors"}})
    here = Found(sha256=SHA_A, size=5, source=CIVITAI)
    pack = NodeCandidate(id="sel", repo="https://github.com/o/sel")
    fake = FakeSources(local={"text_encoders/umt5.safetensors": here}, packs={"Selector": [pack]})
    result = resolve([wf("w.json", obj)], old=None, config=Config(), sources=fake)
    assert not result.unresolved
    (model,) = result.lock.model
    assert model.key == "text_encoders/umt5.safetensors"
    (entry,) = result.lock.workflow
    assert entry.models == ("text_encoders/umt5.safetensors",)
    # check reads the workflow again (the reader alone cannot tell the folder): still in sync
    assert compare(result.lock, [wf("w.json", obj)]).ok


def test_a_file_two_listed_folders_both_hold_is_still_cannot_tell(node_table):
    _selector_table(node_table)
    obj = api({"Selector": {"model_name": "umt5.safetensors"}})
    here = Found(sha256=SHA_A, size=5, source=CIVITAI)
    both = {f"{f}/umt5.safetensors": here for f in ("diffusion_models", "text_encoders")}
    result = resolve(
        [wf("w.json", obj)], old=None, config=Config(), sources=FakeSources(local=both)
    )
    assert not result.lock.model
    (u,) = [u for u in result.unresolved if u.name == "umt5.safetensors"]
    assert "lists files of diffusion_models, text_encoders" in u.reason
