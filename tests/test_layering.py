"""Layering rules of STYLE.md Part 1: imports run one way down the data flow, the planner,
reader and renderers are pure, only the network rooms import network libraries, and a no-op
sync imports nothing heavy."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "comfylock"
IO_MODULES = {
    "os",
    "io",
    "pathlib",
    "shutil",
    "subprocess",
    "socket",
    "sqlite3",
    "tempfile",
    "fcntl",
    "httpx",
    "aria2p",
    "requests",
    "urllib",
    "glob",
    "time",
    "threading",
}

# The one-way order of the data flow, top to bottom: a module may import its own room and
# rooms below it, never one above. Read bottom-up it is the flow itself: the shared basics,
# packcode (what a custom-node pack's source says, read without running it: the facts the
# reader's knowledge table holds), workflows (the reader's references), the lock made from them, the edges that touch the
# machine (store, machine, net, remotes, environment), the project value, resolve (workflows
# -> lock), sync (lock -> machine), the doctor's checks, the renderers and the commands.
# Top-level modules sit where their imports put them.
TIERS: list[tuple[str, ...]] = [
    ("cli", "commands", "__main__"),
    ("render",),
    ("checkup",),
    ("sync",),
    ("resolve",),
    ("project",),
    ("environment",),
    ("remotes",),
    ("net",),
    ("machine",),
    ("store",),
    ("lock",),
    ("workflows",),
    ("packcode",),
    (
        "config",
        "settings",
        "basics",
        "pathsafe",
        "errors",
        "constants",
        "",
    ),
]
NETWORK_ROOMS = ("net/", "resolve/sources/", "sync/download/", "remotes/")
NETWORK_LIBRARIES = {"httpx", "aria2p", "boto3", "botocore", "obstore", "requests", "urllib3"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + (node.module or ""))
    return names


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_imports(path: Path) -> set[str]:
    """Absolute comfylock module names (without the 'comfylock.' prefix) that ``path`` imports."""
    own = module_name(path)
    package = own if path.name == "__init__.py" else own.rpartition(".")[0]
    out = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".") if package else []
            base = base[: len(base) - (node.level - 1)]
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            if node.module is None:  # `from . import x` may name modules
                out.update(f"{target}.{a.name}".strip(".") for a in node.names)
            out.add(target)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            for mod in mods:
                if mod and (mod == "comfylock" or mod.startswith("comfylock.")):
                    out.add(mod.removeprefix("comfylock").lstrip("."))
    return out


def tier_of(module: str) -> int:
    room = module.split(".")[0]
    for index, rooms in enumerate(TIERS):
        if room in rooms:
            return index
    # a name imported from the package root (`from . import __version__`) is the root's
    return len(TIERS) - 1


def upward_imports(path: Path) -> list[str]:
    # the package root is the public face: its lazy re-exports may reach any room
    mine = 0 if path == SRC / "__init__.py" else tier_of(module_name(path))
    return sorted(m for m in package_imports(path) if tier_of(m) < mine)


def all_modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_top_level_holds_only_the_shell_and_shared_basics():
    allowed = {"__init__", "__main__", "cli", "settings", "config", "errors", "constants"}
    allowed.add("pathsafe")
    assert {p.stem for p in SRC.glob("*.py")} <= allowed
    for child in SRC.iterdir():
        if child.is_dir() and child.name != "__pycache__":
            assert child.name in {r for tier in TIERS for r in tier}, child


@pytest.mark.parametrize("path", all_modules(), ids=lambda p: module_name(p) or "__init__")
def test_imports_run_one_way_down_the_data_flow(path):
    assert upward_imports(path) == [], f"{module_name(path)} imports a room above it"


def test_an_upward_import_is_caught(tmp_path):
    """The rule can fail: a lock module importing the sync planner is reported."""
    global SRC
    fake = tmp_path / "comfylock"
    (fake / "lock").mkdir(parents=True)
    (fake / "lock" / "bad.py").write_text("from ..sync.plan import make_plan\n")
    saved, SRC = SRC, fake
    try:
        assert upward_imports(fake / "lock" / "bad.py") == ["sync.plan"]
    finally:
        SRC = saved


PURE = ["sync/plan.py", "sync/workspace.py", "environment/steps.py"]


@pytest.mark.parametrize("module", PURE)
def test_planner_imports_no_io(module):
    names = imported_modules(SRC / module)
    assert not {n.split(".")[0] for n in names} & IO_MODULES, names
    local = {m for m in package_imports(SRC / module)}
    allowed = {"lock.structs", "sync.workspace", "sync.plan", "sync", "environment.steps"}
    assert local <= allowed, local


def test_only_network_rooms_import_network_libraries():
    for path in all_modules():
        rel = path.relative_to(SRC).as_posix()
        heavy = {n.split(".")[0] for n in imported_modules(path)} & NETWORK_LIBRARIES
        if heavy:
            assert rel.startswith(NETWORK_ROOMS), rel


def test_noop_sync_does_not_import_httpx_aria2p_or_rich(tmp_path):
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    lock = tmp_path / "comfy.lock"
    lock.write_text("version = 1\n")
    code = (
        "import sys\n"
        "from comfylock.cli import _run\n"
        f"rc = _run(['--lock', {str(lock)!r}, '--comfyui-root', {str(root)!r}, 'sync'])\n"
        "heavy = ('httpx', 'aria2p', 'rich', 'tomlkit', 'boto3', 'botocore')\n"
        "bad = sorted(m for m in heavy if m in sys.modules)\n"
        "print(rc, bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=True,
    )
    assert out.stdout.strip().endswith("0 []"), out


@pytest.mark.parametrize(
    "module",
    [
        "workflows/reader.py",
        "workflows/embedded.py",
        "workflows/inference.py",
        "workflows/subgraphs.py",
        "render/references.py",
        "render/gaps.py",
        "render/resolution.py",
        "render/syncview.py",
        "render/text.py",
        "workflows/refs.py",
        "lock/structs.py",
    ],
)
def test_reader_and_renderers_import_no_io(module):
    """The reader takes bytes, renderers return strings: neither touches files or the network."""
    names = imported_modules(SRC / module) - {"urllib.parse"}  # string parsing only
    assert not {n.split(".")[0] for n in names} & IO_MODULES, names


def test_config_imports_no_stage():
    """comfylock.toml's reader sits with the shared basics: every stage may read the config."""
    base = set(TIERS[-1])
    assert {m.split(".")[0] for m in package_imports(SRC / "config.py")} <= base


def test_a_file_name_means_one_thing():
    """Two modules share a file name only when they play the same role in two stages, and
    their first docstring line says so (``resolve/job.py`` and ``sync/job.py``)."""
    by_name: dict[str, list[Path]] = {}
    for path in all_modules():
        if path.name != "__init__.py":
            by_name.setdefault(path.name, []).append(path)
    for paths in (p for p in by_name.values() if len(p) > 1):
        for path in paths:
            doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
            first = " ".join(doc.split("\n\n", 1)[0].split())
            others = [o for o in paths if o != path]
            assert all(
                f"same role as ``{o.relative_to(SRC).as_posix()}``" in first for o in others
            ), f"{path.relative_to(SRC)} shares its name with {others}"


def test_the_readme_shows_this_order():
    """The README's one line of rooms is TIERS read bottom-up (the data flow)."""
    readme = (SRC.parent.parent / "README.md").read_text(encoding="utf-8")
    shown = readme.split("<!-- rooms -->", 1)[1].strip().split("\n\n", 1)[0]
    rooms = [r.strip() for r in " ".join(shown.split()).split("→")]
    label = {TIERS[-1]: "basics", TIERS[0]: "commands"}
    assert rooms == [label.get(tier, tier[0]) for tier in reversed(TIERS)]
