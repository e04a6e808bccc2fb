"""What sync observed on this machine: plain values the pure planner reads.

``scan.observe`` fills these in with stat/readlink (and a hash only for a foreign file that
might be adopted); ``plan.make_plan`` turns them into a ``SyncPlan``. Nothing here does I/O,
so the planner can be tested with hand-made values.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "ModelState",
    "NodeState",
    "PlacedLink",
    "StoreView",
    "Workspace",
]

ModelStatus = Literal[
    "missing",  # nothing at the target, nor in any other search dir
    "ours-ok",  # a link comfylock placed (symlink into the store, hardlink, or a known copy)
    "ours-stale",  # a link comfylock placed, to another blob
    "foreign-matching",  # a user's file with the locked size and sha256: adopt it
    "foreign-different",  # a user's file with other bytes: conflict
    "copy-ok",  # a plain copy whose digest matches (from the hash cache or our own record)
    "elsewhere-ok",  # a matching file in another search dir (extra_model_paths.yaml)
]
NodeStatus = Literal["missing", "ok", "behind", "dirty", "foreign"]


class ModelState(msgspec.Struct, frozen=True, kw_only=True):
    """One locked model as found on disk. ``target`` is where sync places it."""

    key: str
    target: str
    status: ModelStatus
    found: str | None = None  # the path looked at (target, or a file in another search dir)
    current: str | None = None  # sha256 the existing link points at (ours-stale)
    detail: str = ""


class NodeState(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    path: str
    status: NodeStatus
    head: str | None = None
    detail: str = ""


class PlacedLink(msgspec.Struct, frozen=True, kw_only=True):
    """A link comfylock placed earlier (store index) that is still ours on disk."""

    target: str
    sha256: str


class StoreView(msgspec.Struct, frozen=True, kw_only=True):
    """Where the lock's digests can come from without asking an origin.

    ``copies`` and ``remotes`` are observed only when something has to be fetched: a file
    elsewhere in the models tree whose digest the hash cache knows (the machine itself is
    the first remote, SPEC §8), and the team remote that answered HEAD for a digest.
    """

    blobs: frozenset[str] = frozenset()  # locked digests already in blobs/
    copies: dict[str, str] = {}  # sha256 -> a path in the models tree with those bytes
    remotes: dict[str, str] = {}  # sha256 -> name of the first remote that has the blob
    # A cold farm (SPEC §7, ``remotes/lease.py``): blobs another machine has claimed (live
    # lease) and is fetching for the remote, and the remote this run claims the rest on.
    leased: dict[str, str] = {}  # sha256 -> name of the remote holding the lease
    claims: str | None = None  # ``sync --push`` to a remote with leases


class Workspace(msgspec.Struct, frozen=True, kw_only=True):
    models: tuple[ModelState, ...] = ()
    nodes: tuple[NodeState, ...] = ()
    extra_links: tuple[PlacedLink, ...] = ()  # ours, not named by the lock (for --prune)
