"""What applying a plan takes and gives back: the context, the report, and one failure.

Shared by ``apply`` (the order), ``fetching`` and ``placing`` (the work).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import msgspec

from ..basics.progress import NullProgress
from ..errors import ComfylockError
from ..pathsafe import real_roots
from ..store.blobs import Store

__all__ = ["ApplyContext", "ApplyReport", "Failure", "failure_of", "model_roots"]


class Failure(msgspec.Struct, frozen=True):
    item: str
    error: str
    exit_code: int
    hint: str = ""


class ApplyReport(msgspec.Struct, frozen=True, kw_only=True):
    fetched: tuple[str, ...] = ()
    adopted: tuple[str, ...] = ()
    displaced: tuple[str, ...] = ()
    pruned: tuple[str, ...] = ()
    linked: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    failures: tuple[Failure, ...] = ()
    warnings: tuple[str, ...] = ()
    link_modes: dict[str, int] = {}
    from_remote: tuple[str, ...] = ()  # digests a team remote served (verified)
    from_origin: tuple[str, ...] = ()  # digests the origins served (what sync --push uploads)
    pushed: tuple[str, ...] = ()  # digests a cold farm's claim pushed as soon as verified


class ApplyContext(msgspec.Struct, kw_only=True):
    """What ``run`` needs besides the plan; built by the sync command from Settings."""

    store: Store
    lock_path: str
    models_root: Path | None = None
    roots: tuple[str, ...] = ()  # observe.write_roots(); empty means just models_root
    nodes_root: Path | None = None  # <ComfyUI root>/custom_nodes
    link_mode: str = "auto"
    jobs: int = 8
    use_aria2: bool = True
    allow_http: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    progress: object = msgspec.field(default_factory=NullProgress)
    downloader_factory: Callable | None = None  # (tmp_dir, jobs, cancel) -> (Downloader, note)
    downloader: object | None = None  # one already started (aria2c, while the plan was made)
    remotes: Mapping[str, object] = {}  # name -> remotes.Remote, for Fetch.remote
    # on a remote by an early download's word, not a HEAD's: a 404 is the remote's answer
    unconfirmed: frozenset[str] = frozenset()
    claims: str | None = None  # the remote this run claims blobs on (a cold farm, --push)
    hash_cache: object | None = None  # machine.hashcache's: stale rows adoption disproves go


def model_roots(ctx: ApplyContext) -> tuple[str, ...]:
    return ctx.roots or real_roots([ctx.models_root] if ctx.models_root is not None else [])


def failure_of(item: str, exc: BaseException) -> Failure:
    if isinstance(exc, ComfylockError):
        return Failure(item, exc.message or type(exc).__name__, exc.exit_code, exc.hint or "")
    if isinstance(exc, OSError):  # a local disk problem: say what it is and what to do
        from ..errors import describe_os_error

        return Failure(item, describe_os_error(exc), 6)
    return Failure(item, str(exc) or type(exc).__name__, 6)
