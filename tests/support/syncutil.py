"""Helpers for the sync tests: hand-written locks, a Range-capable loopback file server,
and local bare git repos for node packs."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import blake3
from werkzeug import Request, Response

from comfylock.store.hashing import Digest

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@dataclass
class Model:
    folder: str
    name: str
    data: bytes
    sources: list[str] = field(default_factory=list)  # TOML snippets of [[model.source]]
    with_blake3: bool = True

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def blake3(self) -> str:
        return blake3.blake3(self.data).hexdigest()


def payload(seed: int, size: int) -> bytes:
    """Deterministic bytes that are not all alike (so a wrong range shows up)."""
    block = hashlib.sha256(str(seed).encode()).digest() * 2048
    out = (block * (size // len(block) + 1))[:size]
    return bytes(b ^ (i & 0xFF) for i, b in enumerate(out[:4096])) + out[4096:]


def civitai_source(version_id: int) -> str:
    return f'[[model.source]]\ntype = "civitai"\nmodel-id = 1\nversion-id = {version_id}\nurl = "https://civitai.com/api/download/models/{version_id}?type=Model&format=SafeTensor"\n'


def hf_source(repo: str, path: str, revision: str = "a" * 40) -> str:
    return f'[[model.source]]\ntype = "huggingface"\nrepo = "{repo}"\nrevision = "{revision}"\npath = "{path}"\n'


def url_source(url: str) -> str:
    return f'[[model.source]]\ntype = "url"\nurl = "{url}"\n'


def write_lock(path: Path, models: list[Model], nodes: list[tuple[str, str, str]] = ()) -> Path:
    parts = ["# hand-written\nversion = 1\n"]
    for m in models:
        b3 = f'blake3 = "{m.blake3}"\n' if m.with_blake3 else ""
        parts.append(
            f'[[model]]\nfolder = "{m.folder}"\nname = "{m.name}"\nsize = {len(m.data)}\nsha256 = "{m.sha256}"\n{b3}'
        )
        parts.extend(m.sources)
    for node_id, repo, commit in nodes:
        parts.append(f'[[node]]\nid = "{node_id}"\nrepo = "{repo}"\ncommit = "{commit}"\n')
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def range_response(
    request: Request,
    data: bytes,
    *,
    honour_range: bool = True,
    cut_at: int | None = None,
    content_type: str = "application/octet-stream",
) -> Response:
    """Serve ``data`` with Range support; ``cut_at`` stops the body early (a dropped link)."""
    start = 0
    header = request.headers.get("Range")
    status = 200
    if header and honour_range:
        start = int(header.split("=")[1].split("-")[0])
        end_s = header.split("-")[1]
        end = int(end_s) if end_s else len(data) - 1
        if start >= len(data):
            return Response(status=416, headers={"Content-Range": f"bytes */{len(data)}"})
        body = data[start : end + 1]
        status = 206
    else:
        body = data
    headers = {"Accept-Ranges": "bytes", "Content-Type": content_type}
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{start + len(body) - 1}/{len(data)}"
    if cut_at is not None and start < cut_at:
        chunk = body[: cut_at - start]
        headers["Content-Length"] = str(len(body))

        def gen():
            yield chunk  # then the connection closes before Content-Length bytes

        return Response(gen(), status=status, headers=headers, direct_passthrough=True)
    return Response(body, status=status, headers=headers)


def make_bare_repo(base: Path, name: str = "ComfyUI-Test-Pack") -> tuple[Path, list[str]]:
    """A bare repo with two commits; returns (bare path, [commit1, commit2])."""
    work = base / f"{name}-work"
    bare = base / f"{name}.git"
    work.mkdir(parents=True)

    def run(*a, cwd=work):
        return subprocess.run(
            ["git", *a], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
        )  # noqa: E731

    run("init", "-q", "-b", "main")
    commits = []
    for i in range(2):
        (work / "__init__.py").write_text(f"VERSION = {i}\n")
        run("add", "-A")
        run("commit", "-q", "-m", f"c{i}")
        commits.append(run("rev-parse", "HEAD").stdout.strip())
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(work), str(bare)],
        env=GIT_ENV,
        check=True,
        capture_output=True,
    )
    return bare, commits


def loopback_server():
    """A pytest-httpserver bound to 127.0.0.1 on a free port, started."""
    from tests.support.fakes import LoopbackServer

    server = LoopbackServer()
    server.start()
    return server


@contextlib.contextmanager
def serving():
    """A started loopback server for the length of a ``with`` block."""
    server = loopback_server()
    try:
        yield server
    finally:
        stop_server(server)


def stop_server(server) -> None:
    server.clear()
    if server.is_running():
        server.stop()


def paths_in(server) -> list[str]:
    """Request paths the server saw, in order."""
    return [req.path for req, _ in server.log]


def make_world(tmp_path: Path, server, monkeypatch, *, nodes: bool = True) -> dict:
    """A ComfyUI root, a hand-written lock with Civitai, HF and URL sources (and a node pack
    from a local bare repo), served by ``server``; the base URLs point at it."""
    monkeypatch.setenv("COMFYLOCK_CIVITAI_URL", server.url_for("/").rstrip("/"))
    monkeypatch.setenv("HF_ENDPOINT", server.url_for("/").rstrip("/"))
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    models = [
        Model(
            "checkpoints", "SDXL/base.safetensors", payload(1, 300_000), [civitai_source(128078)]
        ),
        Model(
            "loras",
            "detail.safetensors",
            payload(2, 120_000),
            [hf_source("owner/repo", "detail.safetensors")],
            with_blake3=False,
        ),
        Model(
            "vae",
            "vae.safetensors",
            payload(3, 50_000),
            [url_source(server.url_for("/files/vae.safetensors"))],
        ),
    ]
    paths = {
        "civitai": "/api/download/models/128078",
        "signed": "/signed/base.safetensors",
        "hf": f"/owner/repo/resolve/{'a' * 40}/detail.safetensors",
        "url": "/files/vae.safetensors",
    }
    node_rows = []
    bare = commits = None
    if nodes:
        bare, commits = make_bare_repo(tmp_path / "repos")
        node_rows = [("test-pack", str(bare), commits[0])]
    project = tmp_path / "project"
    project.mkdir()
    lock = write_lock(project / "comfy.lock", models, node_rows)
    args = ["--lock", str(lock), "--comfyui-root", str(root)]
    return {
        "root": root,
        "models": models,
        "lock": lock,
        "args": args,
        "bare": bare,
        "commits": commits,
        "server": server,
        "paths": paths,
    }


def serve_world(world: dict, *, signed_handler=None, hf_handler=None, url_handler=None) -> None:
    """Default handlers: Civitai answers 302 to a signed URL; every file supports Range."""
    server, paths, models = world["server"], world["paths"], world["models"]
    server.expect_request(paths["civitai"]).respond_with_handler(
        lambda r: Response(
            status=302,
            headers={
                "Location": server.url_for(paths["signed"]) + "?X-Amz-Signature=s3cr3t&Expires=9"
            },
        )
    )
    server.expect_request(paths["signed"]).respond_with_handler(
        signed_handler or (lambda r: range_response(r, models[0].data))
    )
    server.expect_request(paths["hf"]).respond_with_handler(
        hf_handler or (lambda r: range_response(r, models[1].data))
    )
    server.expect_request(paths["url"]).respond_with_handler(
        url_handler or (lambda r: range_response(r, models[2].data))
    )


def target_of(world: dict, model: Model) -> Path:
    return world["root"] / "models" / model.folder / model.name


def blob_files(store: Path) -> list[Path]:
    return sorted(p for p in (store / "blobs").rglob("*") if p.is_file())


def tree_snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under root with what it is and holds: to prove nothing changed."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        content = os.readlink(p) if p.is_symlink() else (p.read_bytes() if p.is_file() else None)
        out[str(p.relative_to(root))] = (st.st_mode, content)
    return out


def store_dir() -> Path:
    return Path(os.environ["COMFYLOCK_STORE"])


def seed(tmp_path: Path, data: bytes) -> str:
    """Put ``data`` in the store as a verified blob; return its sha256."""
    from comfylock.store.blobs import Store
    from comfylock.store.hashing import Expected

    sha = hashlib.sha256(data).hexdigest()
    src = tmp_path / f"seed-{sha[:8]}"
    src.write_bytes(data)
    store = Store(store_dir()).ensure()
    try:
        store.ingest(src, Expected(size=len(data), sha256=sha))
    finally:
        store.close()
    return sha


def seeded_lock(tmp_path: Path, models: list[Model]) -> Path:
    """A hand-written lock of ``models`` whose bytes are all in the store already."""
    for m in models:
        seed(tmp_path, m.data)
    return write_lock(tmp_path / "comfy.lock", models)


def comfyui_root(base: Path) -> Path:
    """``base/ComfyUI`` with ``models/`` and ``custom_nodes/`` (kept if they exist)."""
    root = base / "ComfyUI"
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "custom_nodes").mkdir(exist_ok=True)
    return root


def lock_text(*models: tuple[str, str, int, str]) -> str:
    parts = ["version = 1\n"]
    for folder, name, size, sha in models:
        parts.append(
            f'[[model]]\nfolder = "{folder}"\nname = "{name}"\nsize = {size}\nsha256 = "{sha}"\n'
        )
    return "\n".join(parts)


def vae_workflow(path: Path, name: str = "vae.safetensors") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"1": {"class_type": "VAELoader", "inputs": {"vae_name": name}}}))
    return path


def url_lock(tmp_path: Path, server, folder: str, name: str, data: bytes, extra: str = ""):
    """A lock pinning one model served by ``server`` at /files/<name>."""
    from werkzeug import Response

    server.expect_request(f"/files/{name}").respond_with_handler(
        lambda r: Response(data, headers={"Content-Type": "application/octet-stream"})
    )
    model = Model(folder, name, data, [url_source(server.url_for(f"/files/{name}"))])
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    lock = write_lock(project / "comfy.lock", [model])
    if extra:
        lock.write_text(lock.read_text() + "\n" + extra)
    return lock, model


def empty_model_list(tmp_path: Path, monkeypatch) -> None:
    """A known-models index that knows nothing (no request leaves the machine)."""
    model_list = tmp_path / "model-list.json"
    model_list.write_text('{"models": []}')
    monkeypatch.setenv("COMFYLOCK_MODEL_LIST_URL", str(model_list))


def one_lora_world(tmp_path: Path, server, size: int = 400_000) -> dict:
    """A ComfyUI root and a lock of one URL-sourced LoRA served (with Range) by ``server``."""
    root = tmp_path / "ComfyUI"
    (root / "models" / "loras").mkdir(parents=True)
    model = Model(
        "loras",
        "detail.safetensors",
        payload(7, size),
        [url_source(server.url_for("/files/detail.safetensors"))],
    )
    server.expect_request("/files/detail.safetensors").respond_with_handler(
        lambda r: range_response(r, model.data)
    )
    project = tmp_path / "project"
    project.mkdir()
    lock = write_lock(project / "comfy.lock", [model])
    return {
        "root": root,
        "model": model,
        "args": ["--lock", str(lock), "--comfyui-root", str(root)],
        "target": root / "models" / "loras" / "detail.safetensors",
        "store": Path(os.environ["COMFYLOCK_STORE"]),
    }


def backdate_tree(root, seconds: int = 3600) -> None:
    """Files older than the cache's racy window, as on a real machine."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 10**9))


def digest_of(data: bytes) -> Digest:
    return Digest(len(data), hashlib.sha256(data).hexdigest(), blake3.blake3(data).hexdigest())


def store_blobs() -> list[Path]:
    return sorted(
        p for p in (Path(os.environ["COMFYLOCK_STORE"]) / "blobs").rglob("*") if p.is_file()
    )


# --- changes to a synced world (the receipt's tests try each) -------------------------------


def retarget_link(world: dict) -> None:
    """The first model's link now points at the second model's blob."""
    target = target_of(world, world["models"][0])
    other = os.readlink(target_of(world, world["models"][1]))
    target.unlink()
    target.symlink_to(other)


def remove_link(world: dict) -> None:
    target_of(world, world["models"][2]).unlink()


def delete_blob(world: dict) -> None:
    """The second model's blob is gone from the store (its link dangles)."""
    blob = os.path.realpath(target_of(world, world["models"][1]))
    os.chmod(os.path.dirname(blob), 0o755)
    os.unlink(blob)
