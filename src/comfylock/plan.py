"""The sync planner: (lock, observed workspace, store view) -> a frozen ``SyncPlan``.

Pure: no filesystem, network or clock. ``sync --dry-run``, ``status`` and ``apply`` all read
the same value, and every entry says why it is there. A plan made right after a successful
apply is empty.
"""

from __future__ import annotations

import msgspec

from .structs import Lock, LockedModel, Source
from .workspace import ModelState, NodeState, StoreView, Workspace

__all__ = [
    "Adopt",
    "Conflict",
    "Displace",
    "Fetch",
    "Link",
    "NodeCheckout",
    "NodeClone",
    "Prune",
    "Relink",
    "SyncPlan",
    "make_plan",
]


class _Entry(msgspec.Struct, frozen=True, kw_only=True):
    reason: str


class Fetch(_Entry, frozen=True, kw_only=True):
    """Download one digest (once, however many targets use it)."""

    sha256: str
    size: int
    blake3: str | None = None
    keys: tuple[str, ...]
    sources: tuple[Source, ...]


class Adopt(_Entry, frozen=True, kw_only=True):
    """Take a user's file with the locked bytes into the store instead of downloading."""

    sha256: str
    size: int
    blake3: str | None = None
    path: str
    key: str


class Link(_Entry, frozen=True, kw_only=True):
    target: str
    sha256: str
    key: str


class Relink(_Entry, frozen=True, kw_only=True):
    """Replace what is at ``target`` (our stale link, or an adopted file) with a link."""

    target: str
    sha256: str
    key: str
    current: str | None = None


class Displace(_Entry, frozen=True, kw_only=True):
    """``--force``: move a user's different file to the store's displaced/ first."""

    target: str
    key: str


class Prune(_Entry, frozen=True, kw_only=True):
    target: str
    sha256: str


class NodeClone(_Entry, frozen=True, kw_only=True):
    id: str
    repo: str
    commit: str
    path: str


class NodeCheckout(_Entry, frozen=True, kw_only=True):
    id: str
    repo: str
    commit: str
    path: str
    head: str | None = None


class Conflict(_Entry, frozen=True, kw_only=True):
    target: str
    key: str


class SyncPlan(msgspec.Struct, frozen=True, kw_only=True):
    fetch: tuple[Fetch, ...] = ()
    adopt: tuple[Adopt, ...] = ()
    displace: tuple[Displace, ...] = ()
    prune: tuple[Prune, ...] = ()
    link: tuple[Link, ...] = ()
    relink: tuple[Relink, ...] = ()
    node_clone: tuple[NodeClone, ...] = ()
    node_checkout: tuple[NodeCheckout, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    models_in_sync: int = 0
    nodes_in_sync: int = 0

    @property
    def is_empty(self) -> bool:
        return not any(
            (self.fetch, self.adopt, self.displace, self.prune, self.link, self.relink)
            + (self.node_clone, self.node_checkout, self.conflicts)
        )


_OK = ("ours-ok", "copy-ok", "elsewhere-ok")


def _model_entries(
    model: LockedModel, state: ModelState, force: bool, out: dict[str, list]
) -> str | None:
    """Append the entries for one model; return its digest if the store must get it."""
    sha, key, target = model.sha256, model.key, state.target
    if state.status == "missing":
        out["link"].append(Link(target=target, sha256=sha, key=key, reason="missing"))
    elif state.status == "ours-stale":
        out["relink"].append(
            Relink(
                target=target,
                sha256=sha,
                key=key,
                current=state.current,
                reason="link points at another blob",
            )
        )
    elif state.status == "foreign-matching":
        out["adopt"].append(
            Adopt(
                sha256=sha,
                size=model.size,
                blake3=model.blake3,
                path=state.found or target,
                key=key,
                reason="local file has the locked bytes",
            )
        )
        out["relink"].append(
            Relink(
                target=target, sha256=sha, key=key, reason="replace the adopted file with a link"
            )
        )
        return None
    elif state.status == "foreign-different":
        if not force:
            out["conflicts"].append(
                Conflict(
                    target=target,
                    key=key,
                    reason=f"a file that is not comfylock's is in the way ({state.detail})",
                )
            )
            return None
        out["displace"].append(
            Displace(
                target=target,
                key=key,
                reason=f"--force: move the user's file aside ({state.detail})",
            )
        )
        out["link"].append(
            Link(target=target, sha256=sha, key=key, reason="replaces the displaced file")
        )
    return sha


def _node_entries(node: NodeState, lock: Lock, out: dict[str, list]) -> None:
    locked = next(n for n in lock.node if n.id == node.id)
    if node.status == "missing":
        out["node_clone"].append(
            NodeClone(
                id=node.id,
                repo=locked.repo,
                commit=locked.commit,
                path=node.path,
                reason="not installed",
            )
        )
    elif node.status == "behind":
        out["node_checkout"].append(
            NodeCheckout(
                id=node.id,
                repo=locked.repo,
                commit=locked.commit,
                path=node.path,
                head=node.head,
                reason=f"at {(node.head or '?')[:12]}",
            )
        )
    elif node.status in ("dirty", "foreign"):
        out["conflicts"].append(
            Conflict(target=node.path, key=f"node:{node.id}", reason=node.detail or node.status)
        )


def make_plan(
    lock: Lock,
    workspace: Workspace,
    store_index: StoreView,
    *,
    prune: bool = False,
    force: bool = False,
) -> SyncPlan:
    """Everything sync would do, as a value. ``force`` turns model conflicts into Displace."""
    out: dict[str, list] = {
        k: []
        for k in ("link", "relink", "adopt", "displace", "conflicts", "node_clone", "node_checkout")
    }
    states = {s.key: s for s in workspace.models}
    needed: dict[str, LockedModel] = {}
    needed_keys: dict[str, list[str]] = {}
    in_sync = 0
    for model in lock.model:
        state = states[model.key]
        if state.status in _OK:
            in_sync += 1
            continue
        sha = _model_entries(model, state, force, out)
        if sha is not None:
            needed.setdefault(sha, model)
            needed_keys.setdefault(sha, []).append(model.key)
    adopted = {a.sha256 for a in out["adopt"]}
    fetch = tuple(
        Fetch(
            sha256=sha,
            size=m.size,
            blake3=m.blake3,
            keys=tuple(sorted(needed_keys[sha])),
            sources=m.source,
            reason="not in the store",
        )
        for sha, m in sorted(needed.items())
        if sha not in store_index.blobs and sha not in adopted
    )
    nodes_ok = 0
    for node in workspace.nodes:
        if node.status == "ok":
            nodes_ok += 1
        else:
            _node_entries(node, lock, out)
    prunes = (
        tuple(
            Prune(target=p.target, sha256=p.sha256, reason="the lock no longer names it")
            for p in workspace.extra_links
        )
        if prune
        else ()
    )
    return SyncPlan(
        fetch=fetch,
        adopt=tuple(sorted(_dedupe_adopt(out["adopt"], store_index), key=lambda a: a.path)),
        displace=tuple(sorted(out["displace"], key=lambda d: d.target)),
        prune=tuple(sorted(prunes, key=lambda p: p.target)),
        link=tuple(sorted(out["link"], key=lambda e: e.target)),
        relink=tuple(sorted(out["relink"], key=lambda e: e.target)),
        node_clone=tuple(sorted(out["node_clone"], key=lambda n: n.id)),
        node_checkout=tuple(sorted(out["node_checkout"], key=lambda n: n.id)),
        conflicts=tuple(sorted(out["conflicts"], key=lambda c: c.target)),
        models_in_sync=in_sync,
        nodes_in_sync=nodes_ok,
    )


def _dedupe_adopt(adopts: list[Adopt], store_index: StoreView) -> list[Adopt]:
    """One adoption per digest, and none when the store already has the blob."""
    seen: set[str] = set(store_index.blobs)
    kept = []
    for a in sorted(adopts, key=lambda a: a.path):
        if a.sha256 not in seen:
            seen.add(a.sha256)
            kept.append(a)
    return kept
