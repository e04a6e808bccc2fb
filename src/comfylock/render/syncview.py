"""What ``sync`` and ``status`` print: the plan, for people (lines) and for programs (JSON),
and the outcome after the work. Pure: returns strings (``Printed``: stdout and stderr lines).
"""

from __future__ import annotations

import msgspec

from ..basics.units import count, human_size
from ..lock.unpinned import fixes as unpinned_fixes
from ..lock.unpinned import label, summary
from ..pathsafe import printable
from ..sync.plan import SyncPlan

__all__ = [
    "Printed",
    "done_line",
    "outcome_json",
    "outcome_output",
    "plan_json",
    "plan_lines",
    "plan_output",
    "summary_line",
]


def _rel(path: str, base: str | None) -> str:
    """``path`` relative to ``base`` when inside it (string prefix only: no I/O here)."""
    if base:
        for sep in ("/", "\\"):
            if path.startswith(base.rstrip(sep) + sep):
                return path[len(base.rstrip(sep)) + 1 :].replace("\\", "/")
    return path


def _env_lines(env, base: str | None) -> list[str]:
    """The core, the venv and the Python packages, in the order sync runs them; paths
    inside the ComfyUI root (``base``'s parent) shown relative to it."""
    if env is None:
        return []
    root = base.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[0] if base else None
    lines = [f"conflict  {path}: {reason}" for path, reason in env.conflicts]
    core = env.core
    if core is not None:
        verb = "clone" if type(core).__name__ == "CoreClone" else "checkout"
        lines.append(f"{verb:<9} ComfyUI @ {core.commit[:12]} ({core.reason})")
    if env.venv is not None:
        venv = _rel(env.venv.path, root)
        lines.append(f"venv      {venv} (Python {env.venv.version}, {env.venv.reason})")
    py = env.python
    if py is not None:
        rows = [f"+ {p.name} {p.version}" for p in py.add]
        rows += [f"~ {p.name} {p.current} -> {p.version}" for p in py.change]
        rows += [f"- {p.name} {p.version} (--exact)" for p in py.remove]
        lines += [f"python    {row}" for row in rows]
        if rows:
            where = f"into {_rel(py.python, root)} ({py.via}), target {py.target}"
            lines.append(f"          ({where})")
        if py.held:
            lines.append(f"python    held as installed (--torch to change): {', '.join(py.held)}")
    return lines


def plan_lines(plan: SyncPlan, *, base: str | None = None) -> list[str]:
    """One line per action, grouped in the order apply runs them."""
    lines: list[str] = _env_lines(plan.environment, base)
    for c in plan.conflicts:
        lines.append(f"conflict  {_rel(c.target, base)}: {c.reason}")
    for f in plan.fetch:
        kinds = (
            ", ".join(sorted({type(s).__name__.replace("Source", "").lower() for s in f.sources}))
            or "no source"
        )
        if f.remote:
            kinds = f"remote {f.remote} (origins as backup: {kinds})"
        elif f.awaits:
            kinds = f"remote {f.awaits} once another machine pushes it (it holds the claim)"
        elif f.claim:
            kinds = f"{kinds} (claimed on {f.claim}, then pushed there for the other machines)"
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


def _env_done(env) -> list[str]:
    if env is None:
        return []
    parts = [f"{env.core} ComfyUI"] if env.core else []
    if env.venv:
        parts.append("created its .venv")
    changed = [
        f"{verb} {count(n, 'Python package')}"
        for n, verb in ((env.installed, "installed"), (env.changed, "changed"))
        if n
    ]
    if env.removed:
        changed.append(f"removed {env.removed}")
    return parts + changed


def done_line(plan: SyncPlan, report, seconds: float, env_report=None) -> str:
    """What a sync did, in the past tense, after the work (``summary_line`` is the plan)."""
    sizes = {", ".join(f.keys): f.size for f in plan.fetch}
    fetched = sum(sizes.get(k, 0) for k in report.fetched)
    parts = []
    if report.fetched:
        parts.append(f"fetched {count(len(report.fetched), 'model')} ({human_size(fetched)})")
    for items, verb in (
        (report.adopted, "adopted"),
        (report.displaced, "moved aside"),
        (report.pruned, "pruned"),
        (report.linked, "linked"),
    ):
        if items:
            parts.append(f"{verb} {len(items)}")
    if report.nodes:
        parts.append(f"installed {count(len(report.nodes), 'node pack')}")
    parts[:0] = _env_done(env_report)
    took = f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"
    return f"Synced in {took}: {', '.join(parts) or 'nothing changed'}."


def plan_json(plan: SyncPlan) -> str:
    data = msgspec.to_builtins(plan)
    data["empty"] = plan.is_empty
    data["summary"] = summary_line(plan)
    return msgspec.json.encode(data).decode()


def _env_in_sync(env) -> str:
    if env is None:
        return ""
    out = f", ComfyUI {env.core_in_sync}" if env.core_in_sync else ""
    return out + (f", {count(env.python_in_sync, 'Python package')}" if env.python else "")


def _env_todo(env) -> list[str]:
    if env is None or env.is_empty:
        return []
    parts = ["ComfyUI to " + ("clone" if type(env.core).__name__ == "CoreClone" else "check out")]
    parts = parts if env.core is not None else []
    py = env.python
    if py is not None and (py.add or py.change):
        parts.append(f"{count(len(py.add) + len(py.change), 'Python package')} to install")
    if py is not None and py.remove:
        parts.append(f"{count(len(py.remove), 'Python package')} to remove")
    return parts


def summary_line(plan: SyncPlan, unpinned: int = 0) -> str:
    """The plan in one line. ``unpinned``: entries the lock leaves unpinned, so an empty plan
    is not "in sync" for them (the lock is incomplete)."""
    if plan.is_empty and unpinned and not (plan.models_in_sync or plan.nodes_in_sync):
        return "Nothing to install: the lock pins no model and no node pack"
    if plan.is_empty and unpinned:
        return f"What the lock pins is in sync: {count(plan.models_in_sync, 'model')}, {count(plan.nodes_in_sync, 'node pack')}"
    if plan.is_empty:
        files = plan.snapshot_files_in_sync
        more = f", {count(files, 'snapshot file')}" if files else ""
        more += _env_in_sync(plan.environment)
        return f"Already in sync: {count(plan.models_in_sync, 'model')}, {count(plan.nodes_in_sync, 'node pack')}{more}"
    total = sum(f.size for f in plan.fetch)
    parts = _env_todo(plan.environment) + [
        f"{len(plan.fetch)} to fetch ({human_size(total)})",
        f"{len(plan.adopt)} to adopt",
        f"{len(plan.link) + len(plan.relink)} to link",
        f"{count(len(plan.node_clone) + len(plan.node_checkout), 'node pack')} to update",
    ]
    if plan.prune:
        parts.append(f"{len(plan.prune)} to prune")
    conflicts = len(plan.conflicts) + len(plan.environment.conflicts if plan.environment else ())
    if conflicts:
        parts.append(f"{conflicts} conflicts")
    return ", ".join(parts)


class Printed(list):
    """Lines to print, in order, each ``(to_stderr, text)``."""

    def out(self, *lines: str) -> None:
        self.extend((False, line) for line in lines)

    def err(self, *lines: str) -> None:
        self.extend((True, line) for line in lines)


def _warnings(warnings) -> Printed:
    printed = Printed()
    printed.err(*(f"warning: {printable(w)}" for w in warnings))
    return printed


def plan_output(outcome, *, quiet: bool, applied: bool) -> Printed:
    """Warnings so far (stderr) and the plan (stdout); for a sync, before the work."""
    printed = _warnings(outcome.warnings)
    if quiet:
        return printed
    # NOTE: names may carry ESC sequences or a \r: every line goes through printable
    printed.out(*(printable(line) for line in plan_lines(outcome.plan, base=outcome.models_root)))
    prefix = "Plan: " if applied and not outcome.plan.is_empty else ""
    printed.out(prefix + summary_line(outcome.plan, len(outcome.unresolved)))
    scripts = getattr(outcome, "install_scripts", ())
    if scripts:
        printed.out(
            f"install scripts (comfylock never runs them): {', '.join(scripts)}; "
            "run one yourself only if you trust it and the pack needs it"
        )
    return printed


def _unpinned(outcome) -> list[tuple[str, str]]:
    reasons = tuple(getattr(outcome, "unresolved_reasons", ()))
    return list(zip(outcome.unresolved, reasons + ("",) * (len(outcome.unresolved) - len(reasons))))


def _unresolved_error(outcome) -> str:
    entries = _unpinned(outcome)
    names = [label(key) for key, _ in entries]
    shown = printable(", ".join(names[:3])) + (
        f" and {len(names) - 3} more" if len(names) > 3 else ""
    )
    verb = "is" if len(names) == 1 else "are"
    return (
        f"error: the lock is incomplete: {summary(k for k, _ in entries)} {verb} not pinned, "
        f"so not installed: {shown} (hint: {'; '.join(unpinned_fixes(entries))})"
    )


def outcome_json(outcome) -> str:
    doc = msgspec.json.decode(plan_json(outcome.plan))
    if outcome.report is not None:
        doc["report"] = msgspec.to_builtins(outcome.report)
    doc["unresolved"] = list(outcome.unresolved)
    if getattr(outcome, "environment", None) is not None:
        doc["environment_report"] = msgspec.to_builtins(outcome.environment)
    return msgspec.json.format(msgspec.json.encode(doc), indent=2).decode()


def outcome_output(
    outcome, *, quiet: bool, applied: bool, plan_shown: int | None = None
) -> tuple[Printed, int]:
    """What to print after ``sync``/``status``, and the exit code (1 after a sync that left
    references unpinned). ``plan_shown`` is how many warnings the plan already printed
    before a sync's work (None: the plan was not shown yet)."""
    if plan_shown is None:
        printed = plan_output(outcome, quiet=quiet, applied=False)
    else:
        printed = _warnings(outcome.warnings[plan_shown:])
        if not quiet:
            env_report = getattr(outcome, "environment", None)
            printed.out(done_line(outcome.plan, outcome.report, outcome.seconds, env_report))
            printed.out(*_remote_lines(outcome), *displaced_lines(outcome.report))
    findings = outcome.plan.environment.findings if outcome.plan.environment else ()
    if findings and applied:
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        printed.err(f"error: {printable(findings[0])}{more}")
        return printed, 1
    if findings and not quiet:
        printed.out(*(f"finding: {printable(f)}" for f in findings))
    if outcome.unresolved:
        if applied:
            printed.err(_unresolved_error(outcome))
            return printed, 1
        entries = _unpinned(outcome)
        if not quiet:
            printed.out(
                f"incomplete: {summary(k for k, _ in entries)} not pinned in the lock, "
                "so sync will not install them"
            )
            printed.out(*(f"fix: {line}" for line in unpinned_fixes(entries)))
        return printed, 1
    return printed, 0


def displaced_lines(report, most: int = 5) -> list[str]:
    """Where ``--force`` moved the user's own files (never deleted): each path, or the run's
    folder when there are many."""
    moved = list(getattr(report, "displaced", ()) or ())
    lines = [f"moved aside (--force): {printable(p)}" for p in moved[:most]]
    if len(moved) > most:
        import posixpath

        where = posixpath.commonpath(moved)
        lines.append(f"moved aside (--force): {len(moved) - most} more, under {printable(where)}")
    return lines


def _remote_lines(outcome) -> list[str]:
    """Where the fetched blobs came from, and what ``sync --push`` uploaded (SPEC §8)."""
    lines = []
    report = outcome.report
    if report is not None and report.from_remote:
        lines.append(
            f"Fetched {len(report.from_remote)} from team remotes, "
            f"{len(report.from_origin)} from origins"
        )
    lines.extend(f"Pushed to {line}" for line in outcome.pushed)
    return lines
