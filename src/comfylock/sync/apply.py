"""Run a ``SyncPlan``: the only code that changes the models tree and ``custom_nodes/``
(through ``fetching`` and ``placing``, in this order).

Fixed order: conflicts are checked before anything is touched (exit 5, nothing changed);
then copies elsewhere in the tree (verified; one whose bytes proved other than the hash cache
said is downloaded instead) → fetch → ingest (verified) → adopt → displace (``--force``) →
prune → link → node packs → link the files that live inside a pack's own directory
(``custom_nodes/<pack>/…``), only into a pack that is there (a failed clone is never papered
over by a directory of links).
Each item that fails is recorded and the items that depend on it are skipped; the rest go on.
Every write is checked right before it happens: its parent directory, symlinks resolved, must
be inside the models tree (``roots``) or ``custom_nodes/`` (``nodes_root``), whatever a
directory symlink made of the path since it was observed.
Ctrl-C stops the downloads (partial files stay in ``tmp/`` for resume), stops aria2c, and
never leaves a half-placed file: every placement is an ``os.replace``.
"""

from __future__ import annotations

import shutil

from ..errors import ConflictError
from ..store.linking import Linker
from .applytypes import ApplyContext, ApplyReport, Failure, model_roots
from .fetching import fetch_all
from .placing import adopt_all, displace_all, link_all, nodes_all, prune_all
from .plan import SyncPlan

__all__ = ["ApplyContext", "ApplyReport", "refuse_conflicts", "run"]


def _preflight(plan: SyncPlan) -> None:
    """Tools the plan needs, checked before the first byte is downloaded (a missing git used
    to surface only after every download had finished)."""
    if (plan.node_clone or plan.node_checkout) and shutil.which("git") is None:
        from ..errors import UsageError

        n = len(plan.node_clone) + len(plan.node_checkout)
        raise UsageError(
            f"git is not installed, and {n} node pack{'s' if n != 1 else ''} need it; "
            "nothing was changed",
            hint="install git, or run `comfylock sync --no-nodes` to install only the models",
        )


def refuse_conflicts(plan: SyncPlan) -> None:
    """ConflictError (exit 5) before anything changes when the plan has conflicts."""
    if plan.conflicts:
        first = plan.conflicts[0]
        more = f" (and {len(plan.conflicts) - 1} more)" if len(plan.conflicts) > 1 else ""
        raise ConflictError(
            f"{first.target}: {first.reason}{more}; nothing was changed",
            hint="move it away, or run `comfylock sync --force` to move it to the store's "
            "displaced/",
        )


def run(plan: SyncPlan, ctx: ApplyContext) -> ApplyReport:
    """Apply ``plan``. Raises ConflictError (nothing changed) if it has conflicts."""
    refuse_conflicts(plan)
    _preflight(plan)
    from .download.urls import url_groups

    for f in plan.fetch:  # NOTE: refuse unsafe URLs (plain http, odd schemes) before any change
        url_groups(f.sources, ctx.env, ctx.allow_http)
    store = ctx.store.ensure()
    failures: list[Failure] = []
    warnings: list[str] = []
    with store.file_lock("gc", shared=True):
        with store.file_lock("store"):
            store.index.register_lock(ctx.lock_path)
        served: dict[str, str] = {}
        refetch: list = []
        pushed: list[str] = []
        adopted = adopt_all([a for a in plan.adopt if a.copy], ctx, failures, refetch)
        fetched = fetch_all(plan, ctx, failures, warnings, served, also=refetch, pushed=pushed)
        warnings.extend(v for k, v in sorted(served.items()) if k.startswith("!"))
        adopted += adopt_all([a for a in plan.adopt if not a.copy], ctx, failures)
        displaced, skip = displace_all(plan, ctx, failures)
        rows = {r.target: r for r in store.index.links()}
        pruned = prune_all(plan, ctx, rows, failures)
        linker = Linker(ctx.link_mode, roots=model_roots(ctx))
        # NOTE: files a pack keeps in its own directory are linked once the pack is there
        linked = link_all(plan, ctx, rows, skip, failures, linker, in_packs=False)
        nodes = nodes_all(plan, ctx, failures)
        linked += link_all(plan, ctx, rows, skip, failures, linker, in_packs=True)
    return ApplyReport(
        fetched=tuple(fetched),
        adopted=tuple(adopted),
        displaced=tuple(displaced),
        pruned=tuple(pruned),
        linked=tuple(linked),
        nodes=tuple(nodes),
        failures=tuple(failures),
        warnings=tuple(warnings + linker.warnings),
        link_modes=dict(linker.used),
        from_remote=tuple(sorted(k for k, v in served.items() if v.startswith("remote:"))),
        from_origin=tuple(sorted(k for k, v in served.items() if v == "origin")),
        pushed=tuple(sorted(pushed)),
    )
