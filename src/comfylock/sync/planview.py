"""Render a ``SyncPlan`` for people (lines) and for programs (JSON). Pure: returns strings."""

from __future__ import annotations

import msgspec

from .plan import SyncPlan

__all__ = ["done_line", "human_size", "plan_json", "plan_lines", "summary_line"]


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def _rel(path: str, base: str | None) -> str:
    """``path`` relative to ``base`` when inside it (string prefix only: no I/O here)."""
    if base:
        for sep in ("/", "\\"):
            if path.startswith(base.rstrip(sep) + sep):
                return path[len(base.rstrip(sep)) + 1 :].replace("\\", "/")
    return path


def plan_lines(plan: SyncPlan, *, base: str | None = None) -> list[str]:
    """One line per action, grouped in the order apply runs them."""
    lines: list[str] = []
    for c in plan.conflicts:
        lines.append(f"conflict  {_rel(c.target, base)}: {c.reason}")
    for f in plan.fetch:
        kinds = (
            ", ".join(sorted({type(s).__name__.replace("Source", "").lower() for s in f.sources}))
            or "no source"
        )
        if f.remote:
            kinds = f"remote {f.remote} (origins as backup: {kinds})"
        lines.append(f"fetch     {', '.join(f.keys)} ({human_size(f.size)}) from {kinds}")
    for a in plan.adopt:
        lines.append(f"adopt     {_rel(a.path, base)} ({a.reason})")
    for d in plan.displace:
        lines.append(f"displace  {_rel(d.target, base)} ({d.reason})")
    for p in plan.prune:
        lines.append(f"prune     {_rel(p.target, base)} ({p.reason})")
    for link in plan.link:
        lines.append(f"link      {_rel(link.target, base)} ({link.reason})")
    for r in plan.relink:
        lines.append(f"relink    {_rel(r.target, base)} ({r.reason})")
    for n in plan.node_clone:
        lines.append(f"clone     {n.id} @ {n.commit[:12]} ({n.reason})")
    for n in plan.node_checkout:
        lines.append(f"checkout  {n.id} @ {n.commit[:12]} ({n.reason})")
    return lines


def summary_line(plan: SyncPlan) -> str:
    if plan.is_empty:
        files = plan.snapshot_files_in_sync
        more = f", {_count(files, 'snapshot file')}" if files else ""
        return f"Already in sync: {_count(plan.models_in_sync, 'model')}, {_count(plan.nodes_in_sync, 'node pack')}{more}"
    total = sum(f.size for f in plan.fetch)
    parts = [
        f"{len(plan.fetch)} to fetch ({human_size(total)})",
        f"{len(plan.adopt)} to adopt",
        f"{len(plan.link) + len(plan.relink)} to link",
        f"{_count(len(plan.node_clone) + len(plan.node_checkout), 'node pack')} to update",
    ]
    if plan.prune:
        parts.append(f"{len(plan.prune)} to prune")
    if plan.conflicts:
        parts.append(f"{len(plan.conflicts)} conflicts")
    return ", ".join(parts)


def done_line(plan: SyncPlan, report, seconds: float) -> str:
    """What a sync did, in the past tense, after the work (``summary_line`` is the plan)."""
    sizes = {", ".join(f.keys): f.size for f in plan.fetch}
    fetched = sum(sizes.get(k, 0) for k in report.fetched)
    parts = []
    if report.fetched:
        parts.append(f"fetched {_count(len(report.fetched), 'model')} ({human_size(fetched)})")
    for items, verb in (
        (report.adopted, "adopted"),
        (report.displaced, "moved aside"),
        (report.pruned, "pruned"),
        (report.linked, "linked"),
    ):
        if items:
            parts.append(f"{verb} {len(items)}")
    if report.nodes:
        parts.append(f"installed {_count(len(report.nodes), 'node pack')}")
    took = f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
    return f"Synced in {took}: {', '.join(parts) or 'nothing changed'}."


def plan_json(plan: SyncPlan) -> str:
    data = msgspec.to_builtins(plan)
    data["empty"] = plan.is_empty
    data["summary"] = summary_line(plan)
    return msgspec.json.encode(data).decode()
