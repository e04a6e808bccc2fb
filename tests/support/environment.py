"""Hermetic stand-ins for the environment tests (SPEC §9), shared with ``tools/demo.py``:
small pure-Python wheels written here (never downloaded), a PEP 503 simple index serving
them on 127.0.0.1, a ComfyUI stand-in git repository and node packs with requirements."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import re
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fakes import (
    FakeCivitai,
    FakeRegistry,
    LoopbackServer,
    civitai_file,
    civitai_model,
)
from tests.support.syncutil import GIT_ENV

__all__ = [
    "GIT_ENV",
    "env_world",
    "MODEL_BYTES",
    "WHEELS",
    "Pack",
    "Wheel",
    "bare_clone",
    "build_env_world",
    "clashing_packs",
    "commit_all",
    "git",
    "make_comfyui_repo",
    "make_pack_repo",
    "serve_env_world",
    "serving_index",
    "standard_packs",
    "write_index",
    "write_wheel",
]

# Every zip entry gets this time, so a wheel written twice is the same bytes.
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)


def _normal(name: str) -> str:
    """PEP 503 normal form (the index's directory name)."""
    return re.sub(r"[-_.]+", "-", name).lower()


class Wheel:
    """A pure-Python distribution: ``name``, ``version``, its ``requires`` (PEP 508 lines)
    and one module, ``<name>.py``, that records its own version."""

    def __init__(self, name: str, version: str, requires: tuple[str, ...] = ()) -> None:
        self.name, self.version, self.requires = name, version, tuple(requires)

    @property
    def module(self) -> str:
        return _normal(self.name).replace("-", "_")

    @property
    def filename(self) -> str:
        return f"{self.module}-{self.version}-py3-none-any.whl"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def write_wheel(wheel: Wheel, out_dir: Path) -> Path:
    """The wheel file (a minimal, valid PEP 427 archive) in ``out_dir``."""
    dist = f"{wheel.module}-{wheel.version}.dist-info"
    meta = [
        "Metadata-Version: 2.1",
        f"Name: {wheel.name}",
        f"Version: {wheel.version}",
    ]
    meta += [f"Requires-Dist: {r}" for r in wheel.requires]
    files = {
        f"{wheel.module}.py": f'__version__ = "{wheel.version}"\n'.encode(),
        f"{dist}/METADATA": ("\n".join(meta) + "\n").encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: comfylock-tests\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [_record_line(p, d) for p, d in files.items()] + [f"{dist}/RECORD,,"]
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / wheel.filename
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name, _ZIP_TIME), data)
    return path


def write_index(root: Path, wheels: list[Wheel]) -> Path:
    """A static PEP 503 index under ``root``: ``simple/<project>/index.html`` linking each
    wheel in ``files/`` with its ``#sha256=`` fragment. Returns ``root``."""
    by_project: dict[str, list[Path]] = {}
    for wheel in wheels:
        path = write_wheel(wheel, root / "files")
        by_project.setdefault(_normal(wheel.name), []).append(path)
    for project, paths in by_project.items():
        links = "".join(
            f'<a href="../../files/{p.name}#sha256={hashlib.sha256(p.read_bytes()).hexdigest()}">'
            f"{p.name}</a><br/>\n"
            for p in sorted(paths)
        )
        page = root / "simple" / project / "index.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
    names = "".join(f'<a href="{p}/">{p}</a><br/>\n' for p in sorted(by_project))
    (root / "simple" / "index.html").write_text(f"<html><body>\n{names}</body></html>\n")
    return root


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the index's request log is noise in test output
        pass


@contextlib.contextmanager
def serving_index(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 (a free port) until the block ends; yields the simple
    index's URL (``http://127.0.0.1:PORT/simple``)."""

    def handler(*args, **kwargs):
        return _Quiet(*args, directory=str(root), **kwargs)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit_all(work: Path, files: dict[str, str], message: str) -> str:
    """Write ``files`` into the work tree, commit everything; returns the commit."""
    for rel, text in files.items():
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", message, cwd=work)
    return git("rev-parse", "HEAD", cwd=work)


def bare_clone(work: Path, bare: Path) -> Path:
    """A bare clone of ``work`` at ``bare`` (what a remote or a team mirror holds)."""
    git("clone", "-q", "--bare", str(work), str(bare), cwd=work.parent)
    return bare


def _init(work: Path) -> None:
    work.mkdir(parents=True)
    git("init", "-q", "-b", "master", cwd=work)


# A ComfyUI stand-in's main.py: imports every node pack the way ComfyUI does (each folder of
# custom_nodes/ as a module), so "it starts" means every pack and its requirements import.
_MAIN_PY = '''"""ComfyUI stand-in: import each node pack, as ComfyUI's start-up does."""
import importlib.util, pathlib, sys
root = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(root))
import comfyui_version
packs = sorted(p for p in (root / "custom_nodes").glob("*/__init__.py"))
for init in packs:
    spec = importlib.util.spec_from_file_location(init.parent.name, init)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(f"ComfyUI {comfyui_version.__version__} started with {len(packs)} node packs")
'''


def make_comfyui_repo(
    base: Path, *, version: str = "0.3.40", requirements: str = "corelib>=1.0\n"
) -> tuple[Path, str]:
    """A work tree standing for a ComfyUI checkout (``comfyui_version.py``,
    ``requirements.txt``, ``main.py``, ``models/``, ``custom_nodes/``); returns (its path,
    HEAD)."""
    work = base / "ComfyUI"
    _init(work)
    files = {
        "comfyui_version.py": f'# generated\n__version__ = "{version}"\n',
        "requirements.txt": requirements,
        "main.py": _MAIN_PY,
        "nodes.py": 'NODE_CLASS_MAPPINGS = {"CheckpointLoaderSimple": object, "SaveImage": object}\n',
        "models/checkpoints/put_checkpoints_here": "",
        "custom_nodes/example_node.py.example": "",
        ".gitignore": "/custom_nodes/*\n!/custom_nodes/example_node.py.example\n/.venv/\n"
        "/models/**/*.safetensors\n",
    }
    return work, commit_all(work, files, f"ComfyUI {version}")


def make_pack_repo(
    base: Path, name: str, files: dict[str, str], *, classes: tuple[str, ...] = ()
) -> tuple[Path, str]:
    """A node pack as a bare repository ``<base>/<name>.git`` with one commit: ``files``
    plus an ``__init__.py`` that maps ``classes``. Returns (bare path, commit)."""
    work = base / f"{name}-work"
    _init(work)
    mapping = ", ".join(f'"{c}": object' for c in classes)
    init = files.get("__init__.py", f"NODE_CLASS_MAPPINGS = {{{mapping}}}\n")
    commit = commit_all(work, {**files, "__init__.py": init}, f"{name} 1.0")
    return bare_clone(work, base / f"{name}.git"), commit


# --- a whole project: ComfyUI stand-in, packs, index, workflow -----------------------------

# The wheels every environment world serves; pack requirements pick among them.
WHEELS = (
    Wheel("corelib", "1.0"),
    Wheel("corelib", "1.1"),
    Wheel("alpha", "1.0", ("corelib>=1.0",)),
    Wheel("beta", "1.0"),
    Wheel("beta", "2.0"),
    Wheel("shared", "1.0"),
    Wheel("shared", "2.0"),
)
MODEL_BYTES = b"environment world: a stand-in checkpoint\n" * 64


class Pack:
    """A node pack of the world: its id, the class it provides, the files it holds."""

    def __init__(self, pack_id: str, node_class: str, files: dict[str, str]) -> None:
        self.id, self.node_class, self.files = pack_id, node_class, files
        self.bare: Path | None = None
        self.commit = ""


def standard_packs(marker: Path) -> list[Pack]:
    """pack-a (requirements.txt), pack-b (pyproject.toml dependencies), pack-s (an
    install.py that would write ``marker`` if anything ran it). Each imports what it needs."""
    return [
        Pack(
            "pack-a",
            "AlphaNode",
            {
                "requirements.txt": "# what pack-a needs\nalpha>=1.0  # the alpha library\n",
                "__init__.py": "import alpha\nNODE_CLASS_MAPPINGS = {'AlphaNode': object}\n",
            },
        ),
        Pack(
            "pack-b",
            "BetaNode",
            {
                "pyproject.toml": '[project]\nname = "pack-b"\nversion = "1.0"\n'
                'dependencies = ["beta>=1,<2"]\n',
                "__init__.py": "import beta\nNODE_CLASS_MAPPINGS = {'BetaNode': object}\n",
            },
        ),
        Pack(
            "pack-s",
            "ScriptNode",
            {
                "requirements.txt": "corelib\n",
                "install.py": f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n",
                "__init__.py": "import corelib\nNODE_CLASS_MAPPINGS = {'ScriptNode': object}\n",
            },
        ),
    ]


def clashing_packs() -> list[Pack]:
    """Two packs that cannot live together: ``shared<2`` against ``shared>=2``."""
    return [
        Pack("pack-old", "OldNode", {"requirements.txt": "shared<2\n"}),
        Pack(
            "pack-new",
            "NewNode",
            {"pyproject.toml": '[project]\nname = "pack-new"\ndependencies = ["shared>=2"]\n'},
        ),
    ]


def _workflow(packs: list[Pack], core_ver: str) -> str:
    import json

    nodes = [
        {
            "id": 1,
            "type": "CheckpointLoaderSimple",
            "mode": 0,
            "properties": {"cnr_id": "comfy-core", "ver": core_ver},
            "widgets_values": ["base.safetensors"],
        }
    ]
    for i, pack in enumerate(packs, start=2):
        nodes.append(
            {
                "id": i,
                "type": pack.node_class,
                "mode": 0,
                "properties": {"cnr_id": pack.id, "ver": pack.commit},
                "widgets_values": [],
            }
        )
    return json.dumps({"nodes": nodes, "links": [], "version": 0.4}, indent=1)


def build_env_world(base: Path, packs: list[Pack], *, version: str = "0.3.40") -> dict:
    """Files of an environment world under ``base`` (no servers): the wheel index, a bare
    ComfyUI stand-in and a studio checkout of it (with the checkpoint in models/), the
    packs as bare repos, and a project with one workflow using them all."""
    index = write_index(base / "index", list(WHEELS))
    src, commit = make_comfyui_repo(base / "upstream", version=version)
    bare = bare_clone(src, base / "ComfyUI.git")
    studio = base / "studio" / "ComfyUI"
    studio.parent.mkdir(parents=True)
    git("clone", "-q", str(bare), str(studio), cwd=studio.parent)
    checkpoint = studio / "models" / "checkpoints" / "base.safetensors"
    checkpoint.write_bytes(MODEL_BYTES)
    for pack in packs:
        pack.bare, pack.commit = make_pack_repo(base / "packs", pack.id, pack.files)
    project = base / "studio" / "project"
    (project / "workflows").mkdir(parents=True)
    (project / "workflows" / "flow.json").write_text(_workflow(packs, version))
    return {
        "base": base,
        "index": index,
        "comfyui_bare": bare,
        "comfyui_commit": commit,
        "studio_root": studio,
        "project": project,
        "packs": {p.id: p for p in packs},
    }


# --- the world with its servers, as a fixture ------------------------------------------------


def serve_env_world(world: dict, civitai: FakeCivitai, registry: FakeRegistry) -> None:
    """Teach the fakes the world: Civitai knows its checkpoint, the registry its packs."""
    sha = hashlib.sha256(MODEL_BYTES).hexdigest()
    file = civitai_file(5001, "base.safetensors", size=len(MODEL_BYTES), sha256=sha, primary=True)
    civitai.add(civitai_model(4001, "base", "Checkpoint", [(5001, "v1", [file])]))
    civitai.downloads[5001] = MODEL_BYTES
    for pack in world["packs"].values():
        registry.add_node(pack.id, str(pack.bare), "1.0.0", [pack.node_class])


@pytest.fixture
def env_world(tmp_path, monkeypatch, request):
    """A world whose packs are ``standard_packs`` (or the list a test parametrizes
    indirectly with a function of the marker path)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    marker = tmp_path / "INSTALL_SCRIPT_RAN"
    make_packs = getattr(request, "param", standard_packs)
    world = build_env_world(tmp_path / "w", make_packs(marker))
    world["marker"] = marker
    with (
        serving_index(world["index"]) as index_url,
        LoopbackServer() as civ,
        LoopbackServer() as reg,
    ):
        civitai, registry = FakeCivitai(civ), FakeRegistry(reg)
        serve_env_world(world, civitai, registry)
        monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", civitai.base_url)
        monkeypatch.setenv("COMFYLOCK_REGISTRY_URL", registry.base_url)
        monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
        monkeypatch.setenv("UV_PYTHON_DOWNLOADS", "never")
        world["index_url"] = index_url
        (world["project"] / "comfylock.toml").write_text(f'[python]\nindex-url = "{index_url}"\n')
        yield world
