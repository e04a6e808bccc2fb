"""lock/file.py: reading and rendering ``comfy.lock``."""

from __future__ import annotations

import random

import msgspec


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
