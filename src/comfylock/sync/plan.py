"""The sync planner: (lock, observed workspace, store view) -> a frozen ``SyncPlan``.

Pure: no filesystem, network or clock. ``sync --dry-run``, ``status`` and ``apply`` all read
the same value, and every entry says why it is there. A plan made right after a successful
apply is empty.

A repo snapshot's files are planned like models (``LockedSnapshot.models``): fetched into the
store by sha256, verified, linked at ``<dir>/<path>``; a user's file in the way is a conflict.
Files the workspace did not observe (no place for them on this machine) are left out.
"""

from __future__ import annotations

import msgspec

from ..environment.steps import EnvPlan
from ..lock.structs import Lock, LockedModel, Source, snapshot_models
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
    remote: str | None = None  # a team remote that has the blob: asked first, origins back it
    awaits: str | None = None  # another machine claimed it there: fetched once it is pushed
    # this run claims it on that remote (when nobody holds it, or its holder gave up),
    # fetches it from the origins and pushes it there
    claim: str | None = None


class Adopt(_Entry, frozen=True, kw_only=True):
    """Take a user's file with the locked bytes into the store instead of downloading."""

    sha256: str
    size: int
    blake3: str | None = None
    path: str
    key: str
    copy: bool = False  # the file stays the user's: copy it into the store, never share it
    fallback: Fetch | None = None  # a copy whose bytes prove other than the hash cache said


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
    snapshot_files_in_sync: int = 0
    environment: EnvPlan | None = None  # ComfyUI core and Python (SPEC §9), when locked

    @property
    def is_empty(self) -> bool:
        env_work = self.environment is not None and not self.environment.is_empty
        return not env_work and not any(
            (self.fetch, self.adopt, self.displace, self.prune, self.link, self.relink)
            + (self.node_clone, self.node_checkout, self.conflicts)
        )


_OK = ("ours-ok", "copy-ok", "elsewhere-ok")


def _model_entries(
    model: LockedModel, state: ModelState, force: bool, out: dict[str, list]
) -> str | None:
    """Append the entries for one model; return its digest if the store must get it."""
    sha, key, target, detail = model.sha256, model.key, state.target, state.detail
    at = {"target": target, "sha256": sha, "key": key}
    if state.status == "missing":
        out["link"].append(Link(**at, reason="missing"))
    elif state.status == "ours-stale":
        why = "link points at another blob"
        out["relink"].append(Relink(**at, current=state.current, reason=why))
    elif state.status == "foreign-matching":
        found = state.found or target
        why = "local file has the locked bytes"
        kw = {"size": model.size, "blake3": model.blake3, "reason": why}
        out["adopt"].append(Adopt(sha256=sha, path=found, key=key, **kw))
        out["relink"].append(Relink(**at, reason="replace the adopted file with a link"))
        return None
    elif state.status == "foreign-different" and not force:
        why = f"a file that is not comfylock's is in the way ({detail})"
        out["conflicts"].append(Conflict(target=target, key=key, reason=why))
        return None
    elif state.status == "foreign-different":
        why = f"--force: move the user's file aside ({detail})"
        out["displace"].append(Displace(target=target, key=key, reason=why))
        out["link"].append(Link(**at, reason="replaces the displaced file"))
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


def _fetch(sha: str, models: list[LockedModel], view: StoreView) -> Fetch:
    remote = view.remotes.get(sha)
    awaits = view.leased.get(sha) if remote is None else None
    claim = view.claims if remote is None else None  # awaited too: if its holder gives up
    if remote is not None:
        reason = f"remote {remote} has it"
    elif awaits is not None:
        reason = f"another machine claimed it on {awaits}"
    else:
        reason = "not in the store"
    return Fetch(
        sha256=sha,
        size=models[0].size,
        blake3=models[0].blake3,
        keys=tuple(sorted(m.key for m in models)),
        sources=models[0].source,
        remote=remote,
        awaits=awaits,
        claim=claim,
        reason=reason,
    )


def _fetches(
    needed: dict[str, list[LockedModel]], view: StoreView, adopted: set[str]
) -> tuple[Fetch, ...]:
    """One Fetch per digest the store lacks and no adoption provides."""
    return tuple(
        _fetch(sha, models, view)
        for sha, models in sorted(needed.items())
        if sha not in view.blobs and sha not in adopted and sha not in view.copies
    )


def _copies(needed: dict[str, list[LockedModel]], view: StoreView) -> list[Adopt]:
    """The machine is the first remote: a file elsewhere in the tree with the locked bytes."""
    return [
        Adopt(
            sha256=sha,
            size=models[0].size,
            blake3=models[0].blake3,
            path=view.copies[sha],
            key=models[0].key,
            copy=True,
            reason=f"same bytes as {models[0].key} (hash cache); copied, the file stays",
            # NOTE: the hash cache's word is re-checked by the copy; if it was stale, the
            # download this adoption saved happens after all.
            fallback=_fetch(sha, models, view),
        )
        for sha, models in sorted(needed.items())
        if sha in view.copies and sha not in view.blobs
    ]


def make_plan(
    lock: Lock,
    workspace: Workspace,
    store_index: StoreView,
    *,
    prune: bool = False,
    force: bool = False,
) -> SyncPlan:
    """Everything sync would do, as a value. ``force`` turns model conflicts into Displace."""
    names = ("link", "relink", "adopt", "displace", "conflicts", "node_clone", "node_checkout")
    out: dict[str, list] = {k: [] for k in names}
    states = {s.key: s for s in workspace.models}
    models = {m.key for m in lock.model}
    needed: dict[str, list[LockedModel]] = {}
    for model in (*lock.model, *snapshot_models(lock)):
        state = states.get(model.key)
        if state is not None and state.status not in _OK:
            sha = _model_entries(model, state, force, out)
            if sha is not None:
                needed.setdefault(sha, []).append(model)
    for node in workspace.nodes:
        if node.status != "ok":
            _node_entries(node, lock, out)
    reason = "the lock no longer names it"
    prunes = [Prune(target=p.target, sha256=p.sha256, reason=reason) for p in workspace.extra_links]
    adopts = _dedupe_adopt(out["adopt"] + _copies(needed, store_index), store_index)
    return SyncPlan(
        fetch=_fetches(needed, store_index, {a.sha256 for a in adopts}),
        adopt=tuple(adopts),
        displace=_by(out["displace"], "target"),
        prune=_by(prunes if prune else [], "target"),
        link=_by(out["link"], "target"),
        relink=_by(out["relink"], "target"),
        node_clone=_by(out["node_clone"], "id"),
        node_checkout=_by(out["node_checkout"], "id"),
        conflicts=_by(out["conflicts"], "target"),
        models_in_sync=sum(1 for s in workspace.models if s.status in _OK and s.key in models),
        snapshot_files_in_sync=sum(
            1 for s in workspace.models if s.status in _OK and s.key not in models
        ),
        nodes_in_sync=sum(1 for n in workspace.nodes if n.status == "ok"),
    )


def _by(entries: list, field: str) -> tuple:
    return tuple(sorted(entries, key=lambda e: getattr(e, field)))


def _dedupe_adopt(adopts: list[Adopt], store_index: StoreView) -> list[Adopt]:
    """One adoption per digest, and none when the store already has the blob."""
    seen: set[str] = set(store_index.blobs)
    kept = []
    for a in sorted(adopts, key=lambda a: a.path):
        if a.sha256 not in seen:
            seen.add(a.sha256)
            kept.append(a)
    return kept
