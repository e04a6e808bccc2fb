"""The no-op receipt: ``sync`` and ``status`` answer "already in sync" without click.

A no-op sync of 1,000 models is mostly interpreter start-up and imports (click, msgspec),
not work (SPEC §7). So a full run that found nothing to do leaves a *receipt*: the exact
invocation (arguments, working directory, the environment variables the run read), what
it printed, and the ``lstat`` signature of every path its decision rested on (the lock, the
config, the root's markers, each model's target and the store blob it links to, the store
index). The next identical invocation checks those signatures with plain ``os.lstat`` before
anything heavy is imported; if every one is unchanged, the full run would observe the same
things and plan the same empty plan, so the receipt's output is printed as it is. Any
difference, a missing or unreadable receipt, or any invocation shape not listed in ``parse``
(``--help``, ``-v``, ``--json``, a typo, work to do) falls through to the click CLI, which
plans from scratch and may write a new receipt.

A signature is (mode, inode, device, size, mtime_ns, ctime_ns): replacing or touching a file
changes its ctime. A symlink is signed together with what it points at, link by link (a lock
shared across installs, a yaml kept in dotfiles: editing the real file changes the last
link's signature), and the real location of every directory a probe sits in is recorded too (a directory moved out of the
tree and replaced by a symlink keeps its files' inodes, but not its realpath). A receipt is
not written if any path changed within 2 s of the run's start (a change in the same clock tick
could keep every field; git calls such entries "racily clean"). Locks that name workflows,
node packs, ComfyUI or Python packages get no receipt: their checks read file contents, git
state and an interpreter's installed set, which a signature cannot vouch for.

A receipt file is a CRC-32 of its body followed by the body (marshal): one damaged byte, a
truncated file or a receipt of another format is dropped without a word, and the full CLI
answers (and writes a sound one).

This module imports only the standard library at import time (``remember`` imports more).
"""

from __future__ import annotations

import marshal
import os
import sys
import time
import zlib

__all__ = [
    "begin",
    "invocation",
    "load",
    "parse",
    "remember",
    "replay",
    "replay_data",
    "still",
    "try_fast",
]

_FORMAT = 3
_RACY_NS = 2_000_000_000
_COMMANDS = ("sync", "status")
_VALUE_OPTIONS = ("--lock", "--comfyui-root", "--models-dir", "--store")
_FLAGS = ("-q", "--quiet", "--no-color", "--no-nodes")
_SYNC_ONLY = ("--no-aria2", "--locked")
# Read by settings and model paths; extra_model_paths.yaml may name more ($VARS). Every
# COMFYLOCK_*/COMFYUI_* variable counts too, and which of them are set.
_ENV = ("XDG_CACHE_HOME", "HOME", "NO_COLOR")
_PREFIXES = ("COMFYLOCK_", "COMFYUI_")

_pending: tuple | None = None  # this invocation's key, when a receipt may be written for it
_started_ns = 0  # when this invocation's full run began (before it observed anything)


def parse(args: list[str]) -> tuple | None:
    """The receipt key of an invocation the fast path can answer, else None.

    Accepted: exactly one ``sync`` or ``status``, the global options that take a value
    (``--lock X`` or ``--lock=X``), ``-q``/``--quiet``, ``--no-color``, ``--no-nodes`` and,
    for sync, ``--no-aria2``/``--locked``. The key is the arguments as given plus the working
    directory: the full CLI decides what they mean, once, and the receipt remembers it."""
    command, i = None, 0
    while i < len(args):
        arg = args[i]
        if arg in _COMMANDS and command is None:
            command = arg
        elif arg in _VALUE_OPTIONS and i + 1 < len(args):
            i += 1
        elif arg.split("=", 1)[0] in _VALUE_OPTIONS and "=" in arg:
            pass
        elif arg not in _FLAGS and not (arg in _SYNC_ONLY and command == "sync"):
            return None
        i += 1
    if command is None:
        return None
    try:
        cwd = os.getcwd()
    except OSError:  # the working directory was removed: the full CLI says what is wrong
        return None
    return (_FORMAT, cwd, tuple(args))


def invocation(args: list[str]) -> tuple[str, dict[str, str], frozenset[str]] | None:
    """(command, {option: value}, flags) of an invocation ``parse`` accepts, as click would
    read it (the last value of an option given twice wins); None for any other shape, or a
    value that looks like an option (click decides what that means)."""
    if parse(args) is None:
        return None
    command, values, flags, i = "", {}, set(), 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if arg in _COMMANDS and not command:
            command = arg
        elif name in _VALUE_OPTIONS:
            if not eq:
                i += 1
                value = args[i]
            if value.startswith("-") or not value:
                return None
            values[name] = value
        else:
            flags.add("--quiet" if arg == "-q" else arg)
        i += 1
    return command, values, frozenset(flags)


def _cache_dir(env) -> str | None:
    """``settings.default_cache_dir()`` without importing it (msgspec); Linux rule only."""
    if env.get("COMFYLOCK_CACHE_DIR"):
        return env["COMFYLOCK_CACHE_DIR"]
    if not sys.platform.startswith("linux"):
        return None  # platformdirs decides there: leave it to the full CLI
    base = env.get("XDG_CACHE_HOME", "").strip() or os.path.expanduser("~/.cache")
    return os.path.join(base, "comfylock")


def _receipt_path(key: tuple, env) -> str | None:
    base = _cache_dir(env)
    if base is None:
        return None
    return os.path.join(base, "noop", f"{zlib.crc32(repr(key).encode()):08x}.receipt")


def _env_digest(names, env) -> tuple:
    """(name, crc32, length) of each variable: values themselves never go in a receipt."""
    names = sorted({*names, *(n for n in env if n.startswith(_PREFIXES))})
    return tuple(
        (n, zlib.crc32(env[n].encode("utf-8", "surrogateescape")), len(env[n]))
        if n in env
        else (n,)
        for n in names
    )


def _sig(path: str):
    """The path's own signature (``lstat``: a symlink's chain is probed link by link)."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_mode, st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def load(key: tuple, env=os.environ) -> tuple | None:
    """The decoded receipt of ``key`` if it is this version's, for this invocation and
    environment; None when there is none, or it is damaged, stale or of another shape."""
    from .. import __version__

    path = _receipt_path(key, env)
    if path is None:
        return None
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
        body = raw[4:]
        if len(raw) < 4 or zlib.crc32(body) != int.from_bytes(raw[:4], "big"):
            return None
        data = marshal.loads(body)
        if not isinstance(data, tuple) or len(data) != 10:
            return None
        version, got_key, names, digest, out, code = data[:6]
        if version != __version__ or got_key != key or _env_digest(names, env) != digest:
            return None
        if not isinstance(out, str) or not isinstance(code, int):
            return None
    except Exception:  # noqa: BLE001 — a damaged receipt only costs the fast path
        return None
    return data


def still(probes, present, dirs) -> bool:
    """Whether every signature, presence and real place recorded still holds."""
    for probe, sig in probes:
        if _sig(probe) != sig:
            return False
    for probe, there in present:
        if os.path.exists(probe) != there:
            return False
    return all(os.path.realpath(d) == real for d, real in dirs)


def replay(key: tuple, env=os.environ) -> int | None:
    """Print the receipt's output and return its exit code if it still holds, else None.
    A receipt that cannot be read or fails any check is ignored, never an error."""
    return replay_data(load(key, env))


def replay_data(data: tuple | None) -> int | None:
    """``replay`` of a receipt already ``load``-ed (the link planner reads the same one)."""
    if data is None or data[6] is None:  # a receipt for the link planner only (linkplan.py)
        return None
    try:
        if not still(data[6], data[7], data[8]):
            return None
    except Exception:  # noqa: BLE001 — a damaged receipt only costs the fast path
        return None
    sys.stdout.write(data[4])
    return data[5]


def begin(args: list[str]) -> tuple | None:
    """Note this invocation's key (a full run may leave a receipt for it); return it."""
    global _pending, _started_ns
    _pending, _started_ns = parse(args), time.time_ns()
    return _pending


def try_fast(args: list[str]) -> int | None:
    """The entry point's first step: the receipt's exit code, or None to run the CLI."""
    key = parse(args)
    return None if key is None else replay(key)


def remember(settings, outcome, *, code: int, nodes: bool, printed, lock=None) -> None:
    """After a full ``sync``/``status`` run printed ``printed`` (``(to_stderr, line)`` pairs,
    None for JSON) for ``outcome`` and would exit ``code``: leave a receipt if it was a no-op
    this module can vouch for; replaying it prints the same stdout lines (tests compare both
    paths' output). ``lock``: the lock the run planned with (else it is read again). Best
    effort: any failure only costs the next run its fast path."""
    global _pending
    key, _pending = _pending, None
    plan = outcome.plan
    if key is None or code != 0 or not plan.is_empty or outcome.warnings or printed is None:
        return
    if getattr(outcome, "unresolved", ()) or any(to_stderr for to_stderr, _ in printed):
        return
    lines = [line for _, line in printed]
    try:
        _write(key, settings, lines, code, nodes, lock)
    except (OSError, ValueError):
        pass


def _is_racy(path: str) -> bool:
    """Whether ``path`` (or a link of its chain) changed within the racy window of this run:
    then no receipt is written, so the probes of every model need not be computed."""
    from .observe import chain

    links: list[str] = []
    chain(path, links)
    return any((_sig(p) or (0,) * 6)[5] > _started_ns - _RACY_NS for p in links)


def _write(key: tuple, settings, lines: list[str], code: int, nodes: bool, lock) -> None:
    """Write the receipt of this no-op: its signatures when none of them is racy (the lock's
    among them), and the link planner's context (``linkplan.context_of``) when it can answer
    for this lock; nothing when neither."""
    from ..machine.modelpaths import load_model_paths
    from .linkplan import context_of
    from .observe import chain, noop_probes

    if lock is None:
        from ..lock.fastcopy import load_lock_cached

        lock = load_lock_cached(settings.lock_path, settings.cache_dir)
    if lock.workflow or (nodes and lock.node) or lock.comfyui or lock.python:
        return  # git state and an interpreter's packages: no signature vouches for them
    model_paths = load_model_paths(settings.comfyui_root, settings.models_dir)
    decided = _decided()
    discovery = _discovery(key, settings)
    signed = None
    if not _is_racy(str(settings.lock_path)):  # NOTE: a lock just written or touched
        exact, present, _ = noop_probes(lock, settings, model_paths)
        for path in decided:
            chain(path, exact)
        probes = _signed(exact)
        if probes is not None:
            # Where each probed directory really is: a directory moved out of the tree and
            # replaced by a symlink keeps its files' signatures, not its place (observe
            # refuses it). (The store's shard directories are not models: its root stands
            # for them.)
            blobs = os.path.join(str(settings.store_dir), "blobs", "")
            dirs = {os.path.dirname(p) for p in exact if not p.startswith(blobs)}
            where = sorted({*dirs, str(settings.store_dir)})
            places = tuple((d, os.path.realpath(d)) for d in where)
            signed = (tuple(probes), (*present, *discovery), places)
    plan = context_of(settings, lock, model_paths, decided, discovery, _signed)
    if signed is None and plan is None:
        return
    names = list(_ENV)
    for config in model_paths.read_from:  # the $VARS extra_model_paths.yaml expands
        import re

        with open(config, encoding="utf-8", errors="replace") as fh:
            names += sorted(set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", fh.read())))
    from .. import __version__

    path = _receipt_path(key, os.environ)
    if path is None:
        return
    from ..basics.redact import redact

    out = redact("".join(f"{line}\n" for line in lines))  # replayed as is: redacted now
    data = (__version__, key, tuple(names), _env_digest(names, os.environ), out, code)
    data += (*(signed or (None, None, None)), plan)
    body = marshal.dumps(data)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(zlib.crc32(body).to_bytes(4, "big") + body)
    os.replace(tmp, path)


def _decided() -> list[str]:
    """The code that decided (an edited or upgraded comfylock re-decides, same
    ``__version__``) and the data it reads (folder and node tables, where a table may be
    swapped in)."""
    decided = sorted(
        m.__file__
        for n, m in list(sys.modules.items())
        if n.startswith("comfylock") and getattr(m, "__file__", None)
    )
    data = os.path.join(os.path.dirname(os.path.dirname(__file__)), "workflows", "data")
    decided += sorted(os.path.join(data, n) for n in os.listdir(data))
    if os.environ.get("COMFYLOCK_NODE_TABLE"):
        decided.append(os.path.abspath(os.environ["COMFYLOCK_NODE_TABLE"]))
    return decided


def _signed(paths: list[str]) -> list[tuple] | None:
    """(path, signature) of each path; None if one changed within the racy window (it could
    change again within the same clock tick and keep its signature)."""
    probes = []
    for path in paths:
        sig = _sig(path)
        if sig is not None and sig[5] > _started_ns - _RACY_NS:
            return None
        probes.append((path, sig))
    return probes


def _discovery(key: tuple, settings) -> list[tuple[str, bool]]:
    """Where the lock was looked for when ``--lock`` was not given: comfy.lock and
    comfylock.toml in the working directory and each parent up to the lock's own."""
    if any(a == "--lock" or a.startswith("--lock=") for a in key[2]):
        return []
    directory, lock_dir = key[1], os.path.dirname(str(settings.lock_path))
    out: list[tuple[str, bool]] = []
    while True:
        for name in ("comfy.lock", "comfylock.toml"):
            probe = os.path.join(directory, name)
            out.append((probe, os.path.exists(probe)))
        parent = os.path.dirname(directory)
        if directory == lock_dir or parent == directory:
            return out
        directory = parent
