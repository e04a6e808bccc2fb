"""Node packs from a local bare repo: clone at the commit, move a clean clone, never touch
local changes or a foreign directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.support.hostile import sync_args as _sync_world
from tests.support.output import error_line as _error_line
from tests.support.output import one_error_line as _one_error_line
from tests.support.syncutil import (
    GIT_ENV,
    make_bare_repo,
    write_lock,
)
from tests.support.syncutil import comfyui_root as _comfyui


@pytest.fixture
def pack(tmp_path):
    bare, commits = make_bare_repo(tmp_path / "repos")
    root = tmp_path / "ComfyUI"
    (root / "models").mkdir(parents=True)
    (root / "custom_nodes").mkdir()
    return {"bare": bare, "commits": commits, "root": root, "tmp": tmp_path}


def sync_args(pack, commit, repo=None):
    lock = write_lock(
        pack["tmp"] / "comfy.lock", [], [("test-pack", repo or str(pack["bare"]), commit)]
    )
    return ["--lock", str(lock), "--comfyui-root", str(pack["root"])]


def head(path):
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, check=True
    ).stdout.strip()


def pack_dir(pack):
    return pack["root"] / "custom_nodes" / "ComfyUI-Test-Pack"


def test_clone_at_commit_then_move_to_another(pack, run_cli):
    first, second = pack["commits"]
    result = run_cli(*sync_args(pack, first), "sync")
    assert result.exit_code == 0, result
    assert head(pack_dir(pack)) == first
    again = run_cli(*sync_args(pack, first), "sync")
    assert "Already in sync: 0 models, 1 node pack" in again.stdout
    moved = run_cli(*sync_args(pack, second), "sync")
    assert moved.exit_code == 0, moved
    assert head(pack_dir(pack)) == second


def test_file_url_repo(pack, run_cli):
    result = run_cli(*sync_args(pack, pack["commits"][1], repo=pack["bare"].as_uri()), "sync")
    assert result.exit_code == 0, result
    assert head(pack_dir(pack)) == pack["commits"][1]


def test_local_changes_are_a_conflict_and_untouched(pack, run_cli):
    first, second = pack["commits"]
    assert run_cli(*sync_args(pack, first), "sync").exit_code == 0
    (pack_dir(pack) / "__init__.py").write_text("MY EDIT\n")
    result = run_cli(*sync_args(pack, second), "sync")
    assert result.exit_code == 5, result
    assert (pack_dir(pack) / "__init__.py").read_text() == "MY EDIT\n"
    assert head(pack_dir(pack)) == first


def test_a_non_git_directory_is_a_conflict(pack, run_cli):
    pack_dir(pack).mkdir()
    (pack_dir(pack) / "mine.py").write_text("x")
    result = run_cli(*sync_args(pack, pack["commits"][0]), "sync")
    assert result.exit_code == 5, result
    assert sorted(p.name for p in pack_dir(pack).iterdir()) == ["mine.py"]


def test_a_clone_of_another_remote_is_a_conflict(pack, run_cli, tmp_path):
    other, _ = make_bare_repo(tmp_path / "other", name="ComfyUI-Test-Pack")
    subprocess.run(
        ["git", "clone", "-q", str(other), str(pack_dir(pack))],
        env=GIT_ENV,
        check=True,
        capture_output=True,
    )
    result = run_cli(*sync_args(pack, pack["commits"][0]), "sync")
    assert result.exit_code == 5, result
    assert "another remote" in result.stderr


def test_no_nodes_skips_packs(pack, run_cli):
    result = run_cli(*sync_args(pack, pack["commits"][0]), "sync", "--no-nodes")
    assert result.exit_code == 0, result
    assert not pack_dir(pack).exists()


def test_an_unsafe_pack_name_is_refused(pack, run_cli):
    result = run_cli(
        *sync_args(pack, pack["commits"][0], repo="https://example.invalid/.."), "sync"
    )
    assert result.exit_code == 2, result


def test_plain_http_repo_is_refused(pack, run_cli):
    result = run_cli(
        *sync_args(pack, pack["commits"][0], repo="http://example.invalid/o/pack"), "sync"
    )
    assert result.exit_code == 2, result


def test_fs_a_node_pack_is_never_cloned_through_a_symlink_out_of_custom_nodes(tmp_path, run_cli):
    """A repo named ``evil\\Pack`` becomes ``custom_nodes/evil/Pack``; ``evil`` leads out."""
    root = _comfyui(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, root / "custom_nodes" / "evil")
    bare, commits = make_bare_repo(tmp_path / "repos", name="evil\\Pack")
    lock = tmp_path / "comfy.lock"
    lock.write_text(
        f'version = 1\n[[node]]\nid = "evil-pack"\nrepo = {json.dumps(str(bare))}\n'
        f'commit = "{commits[0]}"\n',
        encoding="utf-8",
    )
    result = run_cli("--lock", str(lock), "--comfyui-root", str(root), "sync")
    assert result.exit_code == 2, result
    assert "custom_nodes" in _one_error_line(result.stderr)
    assert list(outside.iterdir()) == []


def test_net_invalid_ipv6_node_repo_exits_2(tmp_path, run_cli):
    args = _sync_world(tmp_path, "", nodes=[("bad", "https://[zz::1]/o/r.git", "a" * 40)])
    result = run_cli(*args, "--no-aria2")
    assert result.exit_code == 2, result
    assert "repo" in _error_line(result.stderr)


class _Recorder:
    """A threaded loopback HTTP(S) server: records request paths, answers with ``answer``."""

    def __init__(self, answer, tls: tuple[Path, Path] | None = None) -> None:
        import http.server
        import ssl

        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                seen.append(self.path)
                status, headers = answer(self.path)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(str(tls[0]), str(tls[1]))
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


@pytest.mark.skipif(
    shutil.which("openssl") is None or shutil.which("git") is None, reason="needs openssl and git"
)
def test_net_git_clone_refuses_a_redirect_to_plain_http(tmp_path, monkeypatch):
    from comfylock.errors import RemoteError
    from comfylock.sync.nodepacks import clone_pack

    plain = _Recorder(lambda path: (404, {}))
    tls = _self_signed(tmp_path)
    secure = _Recorder(
        lambda path: (302, {"Location": f"http://127.0.0.1:{plain.port}{path}"}), tls=tls
    )
    monkeypatch.setenv("GIT_SSL_CAINFO", str(tls[0]))
    try:
        with pytest.raises(RemoteError):
            clone_pack(
                f"https://127.0.0.1:{secure.port}/pack.git", "a" * 40, tmp_path / "nodes" / "pack"
            )
    finally:
        secure.close()
        plain.close()
    assert secure.seen  # git asked the https repo ...
    assert plain.seen == []  # ... and did not follow it to plain http
