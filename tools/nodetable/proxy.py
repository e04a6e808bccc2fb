"""A measure without truth: what the reader says of custom-node values that name a model.

Usage: python -m tools.nodetable.proxy DIR... [--comfyui-root ROOT] [--summary]

Truth written by hand (``measure.py``) is the honest measure, but it takes readers hours per
sample, so a new sample is first read with this proxy: every value of a custom node that is
plainly a model file (a name the reader takes for one: ``x.safetensors``, ``y.pth``) or, on an
input whose name says model/repo/checkpoint, a Hugging Face repo id, and what the reader made
of it — **placed** (a folder or a directory), **cannot tell** (reported without a place, with
its reason) or **not reported** (silently outside the lock). It misses what truth catches (a
label the code maps to a file, ``'v1'``) and counts a few values no code loads (a file name in
a text field), so its numbers are a floor on honesty, not a score; its lists show where the
reader stops on data nobody tuned it on.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

from comfylock.errors import ComfylockError
from comfylock.workflows.discover import read_workflows
from comfylock.workflows.reader import is_model_filename
from comfylock.workflows.widgets import NONE_VALUES

from .measure import _answers_of, _input_of, _instances, _place, _same_value, reading_as_inspect

_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_MODEL_WORDS = ("model", "repo", "ckpt", "checkpoint")


def model_like(name: str, value: str) -> str | None:
    """What ``value`` (of input ``name``) plainly names: "file", "repo", or None (nothing)."""
    value = value.strip()
    if "\n" in value or value.startswith(("http://", "https://")):
        return None
    if is_model_filename(value):
        return "file"
    named = not name.startswith("widgets_values[")
    if named and any(w in name.lower() for w in _MODEL_WORDS) and _REPO.match(value):
        return "repo"
    return None


def _values(values: dict, positions: dict):
    """(input name, value) of one instance: named values, then unnamed UI positions."""
    yield from values.items()
    for i, value in enumerate(positions.get("_list") or ()):
        if i not in positions:
            yield f"widgets_values[{i}]", value


def _covers(answer, name: str, value: str, positions: dict) -> bool:
    if _same_value(answer, value) or _input_of(answer, positions) == name:
        return True
    return any(value in pattern for pattern in getattr(answer, "allow", ()))


def proxy(paths: list[str], comfyui_root: Path | None = None) -> dict:
    """Counts and lists of what the reader said of each model-like value in ``paths``."""
    with reading_as_inspect(comfyui_root):
        result = read_workflows(paths)
    counts: Counter = Counter()
    detail: dict[str, Counter] = {"cannot tell": Counter(), "not reported": Counter()}
    for wf in result.workflows:
        try:
            obj = json.loads(Path(wf.path).read_bytes())
        except (OSError, ValueError):
            continue  # an image: its values are not read here
        custom = {n.node_id for n in wf.info.nodes if not n.core}
        answers = _answers_of(wf.info)
        for nid, cls, values, positions in _instances(obj):
            if nid not in custom:
                continue
            seen: set[str] = set()
            for name, value in _values(values, positions):
                if not isinstance(value, str) or value.strip() in NONE_VALUES or value in seen:
                    continue
                kind = model_like(name, value)
                if kind is None:
                    continue
                seen.add(value)
                mine = [a for a in answers.get(nid, []) if _covers(a, name, value, positions)]
                if not mine:
                    counts["not reported"] += 1
                    detail["not reported"][f"{cls}.{name} [{kind}]"] += 1
                elif _place(mine[0])[0] == "none":
                    counts["cannot tell"] += 1
                    detail["cannot tell"][f"{cls}: {mine[0].reason}"] += 1
                else:
                    counts["placed"] += 1
    total = sum(counts.values())
    return {
        "workflows": len(result.workflows),
        "values": total,
        **{
            f"{k.replace(' ', '_')}_pct": round(100.0 * counts[k] / total, 1) if total else 0.0
            for k in ("placed", "cannot tell", "not reported")
        },
        "cannot_tell": [f"{n}x {w}" for w, n in detail["cannot tell"].most_common()],
        "not_reported": [f"{n}x {w}" for w, n in detail["not reported"].most_common()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--comfyui-root", type=Path, help="read the packs installed there too")
    parser.add_argument("--summary", action="store_true", help="the summary line only")
    args = parser.parse_args(argv)
    try:
        report = proxy(args.paths, args.comfyui_root)
    except ComfylockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(
        f"{report['workflows']} workflows, {report['values']} custom-node values naming a model:"
        f" placed {report['placed_pct']}%, cannot tell {report['cannot_tell_pct']}%,"
        f" not reported {report['not_reported_pct']}%"
    )
    if not args.summary:
        for key in ("not_reported", "cannot_tell"):
            print(f"\n{key.replace('_', ' ')}:")
            print("\n".join(f"  {line}" for line in report[key][:40]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
