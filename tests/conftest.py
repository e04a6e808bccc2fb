"""The suite's fixtures: an isolated environment, a CLI runner, trees, the node table, loopback
servers (server, cdn, origin, elsewhere), the HTTP client and a retry policy that never waits."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from comfylock.store import hashing
from tests.support.environment import env_world  # noqa: F401  (SPEC §9's hermetic world)
from tests.support.fakes import Sleeps
from tests.support.paths import FIXTURES, SHARED
from tests.support.readcount import ReadCounter
from tests.support.syncutil import serving

SECRET_VARS = ("CIVITAI_API_KEY", "HF_TOKEN")


@pytest.fixture(autouse=True, scope="session")
def _suite_home(tmp_path_factory):
    """For the whole session: a home of its own (so nothing a test misses lands in the real
    ~/.cache or ~/.config), and Ctrl-C as Python's default. A suite started with SIGINT
    ignored (``make test &`` in a script, some CI runners) hands that on to every child it
    starts, and the Ctrl-C tests' children would never stop. At the end, the stand-in
    home must hold no comfylock cache: a test that wrote one escaped its own isolation."""
    home = tmp_path_factory.mktemp("suite-home")
    saved = {v: os.environ.get(v) for v in _HOME_VARS}
    os.environ.update(
        HOME=str(home),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
    )
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield home
    signal.signal(signal.SIGINT, previous)
    for var, value in saved.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
    escaped = home / ".cache" / "comfylock"
    assert not escaped.exists(), f"a test wrote {escaped}: it escaped its isolation"


_HOME_VARS = ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory, _suite_home):
    """Every test gets its own cache, store and home and no endpoints or tokens from the host.

    Its own MonkeyPatch, not the test's: a test that calls ``monkeypatch.undo()`` to drop its
    own patches must not drop the isolation with them (one did, and the rest of it wrote
    ~/.cache/comfylock in the real home)."""
    base = tmp_path_factory.mktemp("comfylock-home")
    patch = pytest.MonkeyPatch()
    patch.setenv("COMFYLOCK_CACHE_DIR", str(base / "cache"))
    patch.setenv("COMFYLOCK_STORE", str(base / "store"))
    patch.setenv("HOME", str(base / "home"))
    patch.setenv("XDG_CACHE_HOME", str(base / "home" / ".cache"))
    for var in (
        *SECRET_VARS,
        "COMFYUI_ROOT",
        "COMFYLOCK_CIVITAI_URL",
        "HF_ENDPOINT",
        "COMFYLOCK_REGISTRY_URL",
        "COMFYLOCK_MODEL_LIST_URL",
        "COMFYLOCK_NODE_MAP_URL",
        "COMFYLOCK_REMOTE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "VIRTUAL_ENV",  # the shell's active venv (`make test` from an activated one)
        "COMFYLOCK_PYTHON",
    ):
        patch.delenv(var, raising=False)
    # No AWS credentials from the host, and no instance-metadata lookups off loopback.
    patch.setenv("AWS_CONFIG_FILE", str(base / "aws-config"))
    patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(base / "aws-credentials"))
    patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    patch.setenv("NO_COLOR", "1")
    # NOTE: set, not deleted: a library may have put COLUMNS into the process's C environment
    # without os.environ knowing (one did: children saw COLUMNS=80 and wrapped their errors
    # when a test file ran alone). An empty value reaches every child and means "no width".
    patch.setenv("COLUMNS", "")
    _no_dns_off_loopback(patch)
    yield
    from comfylock.sync.job import drop_handed

    drop_handed()  # an aria2c a planned pass started for a full command that never ran
    patch.undo()


def _no_dns_off_loopback(monkeypatch):
    """The suite never looks up a name off this machine (patching the OS, STYLE rule 13):
    a real service's name fails as it does on a machine with no network."""
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host or "")
        if name and not (name.endswith("localhost") or _is_ip(name)):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _is_ip(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


@pytest.fixture
def node_table(monkeypatch, tmp_path):
    """Point the custom-node knowledge table at a small one: the fixture table by default,
    or a dict given to the returned function (written to a temp file)."""
    import json

    def use(data: dict | None = None) -> Path:
        path = FIXTURES / "nodetable" / "custom_nodes.json"
        if data is not None:
            path = tmp_path / "custom_nodes.json"
            path.write_text(json.dumps({"version": 1, **data}))
        monkeypatch.setenv("COMFYLOCK_NODE_TABLE", str(path))
        return path

    use()
    return use


@pytest.fixture
def shared_dir() -> Path:
    """../shared (real workflows, API samples); tests using it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(
            f"../shared is absent ({SHARED}); the project's own fixtures cover this elsewhere"
        )
    return SHARED


@pytest.fixture
def make_tree(tmp_path):
    """make_tree({"a/b.txt": "text", "c.bin": b"bytes"}) -> root Path."""

    def _make(spec: dict[str, str | bytes], root: Path | None = None) -> Path:
        root = root or tmp_path
        for rel, content in spec.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return root

    return _make


class CliResult:
    def __init__(self, result):
        self.exit_code = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr
        self.output = result.output

    def __repr__(self) -> str:
        return f"<exit {self.exit_code}\nstdout:\n{self.stdout}\nstderr:\n{self.stderr}>"


@pytest.fixture
def run_cli():
    """Run the comfylock CLI in-process through the same error mapping as the console script."""
    from comfylock.cli import _run

    def _invoke(
        *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> CliResult:
        runner = CliRunner()
        with runner.isolation(input=input, env=env) as (out, err, *_):
            code = _run(list(args))
            import sys

            sys.stdout.flush()
            sys.stderr.flush()

            class _R:
                exit_code = code
                stdout = out.getvalue().decode()
                stderr = err.getvalue().decode()
                output = stdout + stderr

            return CliResult(_R)

    return _invoke


@pytest.fixture
def server():
    """A loopback HTTP server (pytest-httpserver on 127.0.0.1), stopped after the test."""
    with serving() as s:
        yield s


@pytest.fixture
def cdn():
    """A second server standing for a CDN host (a different origin)."""
    with serving() as s:
        yield s


@pytest.fixture
def origin():
    """The server a download or an API call starts at."""
    with serving() as s:
        yield s


@pytest.fixture
def elsewhere():
    """A second server: another origin (another port) that must never see a token."""
    with serving() as s:
        yield s


@pytest.fixture
def stop():
    """Set at the end of a test: every slow or endless body generator ends."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def client():
    """The one HTTP client, as the service clients get it."""
    from comfylock.net.send import make_client

    with make_client(timeout=5) as c:
        yield c


@pytest.fixture
def no_wait():
    """A Retry policy whose sleeps are recorded (``no_wait.sleep``), never waited."""
    from comfylock.net.send import Retry

    return Retry(sleep=Sleeps(), rng=lambda: 0.5)


@pytest.fixture
def reads(monkeypatch) -> ReadCounter:
    counter = ReadCounter()
    monkeypatch.setattr(hashing, "_open", counter)
    return counter
