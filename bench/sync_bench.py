"""Bench sections for ``sync``: a no-op sync/status of a 1,000-model lock, and downloads
from a loopback server that caps every connection (SPEC §7).

The capped server is nginx with ``limit_rate`` (or, without nginx, the tests' own capped
origin, ``tests/support/origin.py``): no single connection goes faster than ``RATE``. That
cap is what makes multi-connection downloads matter on loopback, as they do against a real
CDN.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from common import BIN, DATA, Row, best_of, verdict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.origin import capped_origin  # noqa: E402
from tests.support.remoteutil import free_port, serving_process  # noqa: E402

__all__ = ["section_downloads", "section_noop_sync"]

MIB = 1 << 20
N_MODELS = 1000
RATE = 25 * MIB  # bytes per second, per connection
BIG = 512 * MIB
MANY = 8
MANY_SIZE = 64 * MIB
RUN_TIMEOUT = 120  # seconds: no single download run may take longer than this


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CIVITAI_API_KEY", "HF_TOKEN", "COMFYUI_ROOT", "COMFYLOCK_STORE")
    }
    env.update(extra)
    return env


def _lock_text(models: list[tuple[str, bytes]], url_for) -> str:
    """A SPEC §3 lock, written the way a person would (sources are plain URLs)."""
    parts = ["# bench lock\nversion = 1\n"]
    for name, data in models:
        parts.append(
            f'[[model]]\nfolder = "loras"\nname = "{name}"\nsize = {len(data)}\n'
            f'sha256 = "{hashlib.sha256(data).hexdigest()}"\n'
            f'[[model.source]]\ntype = "url"\nurl = "{url_for(name)}"\n'
        )
    return "\n".join(parts)


# --- (d) no-op sync and status ------------------------------------------------------------


def _synced_world(root: Path) -> dict[str, str]:
    """A 1,000-model lock, a store holding every blob, and a ComfyUI root synced once by a
    real ``comfylock sync`` (links only: the blobs were ingested beforehand)."""
    from comfylock.store.blobs import Store
    from comfylock.store.hashing import Expected

    env = _env(COMFYLOCK_CACHE_DIR=str(root / "cache"))
    args = [
        "--lock",
        str(root / "project" / "comfy.lock"),
        "--comfyui-root",
        str(root / "ComfyUI"),
        "--store",
        str(root / "store"),
    ]
    if (root / ".complete").exists():
        return {"env": env, "args": args}
    shutil.rmtree(root, ignore_errors=True)
    (root / "project").mkdir(parents=True)
    (root / "ComfyUI" / "models" / "loras").mkdir(parents=True)
    models = [
        (f"set{i // 100:02d}/lora_{i:04d}.safetensors", b"m%06d" % i) for i in range(N_MODELS)
    ]
    # The URL is never contacted: every blob is in the store already.
    text = _lock_text(models, lambda name: f"http://127.0.0.1:9/{name}")
    (root / "project" / "comfy.lock").write_text(text, encoding="utf-8")
    old = time.time() - 3600  # older than the lock cache's 2 s racy window
    os.utime(root / "project" / "comfy.lock", (old, old))
    store = Store(root / "store").ensure()
    try:
        for _name, data in models:
            sha = hashlib.sha256(data).hexdigest()
            tmp = store.tmp_path(sha)
            tmp.write_bytes(data)
            store.ingest(tmp, Expected(size=len(data), sha256=sha))
    finally:
        store.close()
    exe = str(BIN / "comfylock")
    done = subprocess.run([exe, *args, "sync"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"first sync failed ({done.returncode}): {done.stderr.strip()}")
    (root / ".complete").write_text("")
    # NOTE: a no-op is measured on a tree synced a while ago: paths changed within the last
    # 2 s are "racy" and get no no-op receipt (commands/noop.py), so wait that out once.
    time.sleep(2.1)
    return {"env": env, "args": args}


def section_noop_sync() -> list[Row]:
    world = _synced_world(DATA / "noop1000")
    exe = str(BIN / "comfylock")
    # The anchor: a bare start of the same interpreter (absolute times differ per machine).
    bare = best_of(10, lambda: subprocess.run([sys.executable, "-c", "pass"], env=world["env"]))
    rows = [
        Row(
            "no-op 1000",
            "python -c pass (the venv's interpreter, reference)",
            f"{bare * 1000:.0f} ms",
        )
    ]
    rows += _planned_rows(world, bare)
    for cmd in ("sync", "status"):
        argv = [exe, *world["args"], cmd]
        first = subprocess.run(argv, env=world["env"], capture_output=True, text=True)
        t = best_of(5, lambda a=argv: subprocess.run(a, env=world["env"], capture_output=True))
        nothing = f"Already in sync: {N_MODELS} models" in first.stdout
        rows.append(
            Row(
                "no-op 1000",
                f"comfylock {cmd}, 1,000 models already in place (CLI start-up included)",
                f"{t * 1000:.0f} ms",
                "",
                "< 150 ms",
                verdict(t < 0.15 and first.returncode == 0 and nothing),
                f"exit {first.returncode}" + ("" if nothing else f"; said: {first.stdout[-80:]!r}"),
            )
        )
        rows.append(
            Row(
                "no-op 1000",
                "  same run vs a bare interpreter start",
                "",
                f"{t / bare:.1f}x python -c pass",
                "<= 5x",
                verdict(t / bare <= 5 and first.returncode == 0 and nothing),
            )
        )
    return rows


def _planned_rows(world: dict[str, str], bare: float) -> list[Row]:
    """``comfylock sync`` of the same 1,000-model world when the receipt cannot answer: the
    lock just touched (a ``git pull`` that rewrote it with the same bytes), and the lock
    edited (a comment changed: its TOML is read again). Nothing to do either way: this is
    the planner's own cost (``__main__.planned``)."""
    exe, lock = str(BIN / "comfylock"), Path(world["args"][1])
    argv = [exe, *world["args"], "sync"]
    text = lock.read_text(encoding="utf-8")

    def touched() -> None:
        os.utime(lock)
        subprocess.run(argv, env=world["env"], capture_output=True)

    edits = iter(range(10**6))

    def edited() -> None:
        lock.write_text(text.replace("# bench lock", f"# bench lock {next(edits)}", 1))
        subprocess.run(argv, env=world["env"], capture_output=True)

    rows = []
    try:
        for case, run, target in (
            ("lock just touched (same bytes): nothing vouched for in advance", touched, True),
            ("lock edited (a comment): its TOML read again", edited, False),
        ):
            run()
            os.utime(lock)
            first = subprocess.run(argv, env=world["env"], capture_output=True, text=True)
            nothing = f"Already in sync: {N_MODELS} models" in first.stdout
            t = best_of(5, run)
            ok = first.returncode == 0 and nothing
            rows.append(
                Row(
                    "no-op 1000",
                    f"comfylock sync, {case}",
                    f"{t * 1000:.0f} ms",
                    f"{t / bare:.1f}x python -c pass",
                    "<= 5x, < 150 ms" if target else "",
                    verdict(ok and t / bare <= 5 and t < 0.15) if target else "",
                    f"exit {first.returncode}"
                    + ("" if nothing else f"; said {first.stdout[-60:]!r}"),
                )
            )
    finally:
        lock.write_text(text, encoding="utf-8")
        old = time.time() - 3600  # as _synced_world left it: older than any racy window
        os.utime(lock, (old, old))
        time.sleep(2.1)  # the next rows' receipts need the tree unchanged for 2 s
    return rows


# --- (e) downloads under a per-connection cap ---------------------------------------------


_NGINX_CONF = """daemon off;
worker_processes 2;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log off;
  client_body_temp_path {run}/tmp; proxy_temp_path {run}/tmp; fastcgi_temp_path {run}/tmp;
  uwsgi_temp_path {run}/tmp; scgi_temp_path {run}/tmp;
  default_type application/octet-stream;
  sendfile on;
  server {{ listen 127.0.0.1:{port}; root {root}; limit_rate {rate}; }}
}}
"""


@contextlib.contextmanager
def _nginx(exe: str, root: Path, rate: int) -> Iterator[str]:
    """nginx with ``limit_rate`` (a per-connection cap), on 127.0.0.1 only, stopped on exit."""
    run_dir = DATA / "nginx"
    shutil.rmtree(run_dir, ignore_errors=True)
    (run_dir / "tmp").mkdir(parents=True)
    port = free_port()
    conf = run_dir / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(run=run_dir, port=port, root=root, rate=rate))
    argv = [exe, "-c", str(conf), "-p", str(run_dir)]
    with serving_process(argv, port, log=run_dir / "error.log", seconds=10) as base:
        yield base


@contextlib.contextmanager
def capped_server(root: Path, rate: int = RATE) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 at ``rate`` bytes/s per connection; yields the base URL.
    nginx (``limit_rate``) when installed, else the bench's own Python server."""
    exe = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if exe:
        with _nginx(exe, root, rate) as base:
            yield base
        return
    with _python_server(root, rate) as base:
        yield base


def server_kind() -> str:
    return (
        "nginx limit_rate"
        if shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK)
        else "bench's Python server"
    )


@contextlib.contextmanager
def _python_server(root: Path, rate: int) -> Iterator[str]:
    """The tests' capped origin (``tests/support/origin.py``) when nginx is absent."""
    with capped_origin(root, rate) as srv:
        yield srv.base_url


def _random_file(path: Path, size: int) -> str:
    """A file of random bytes (no sparse or zero-page shortcut); returns its sha256."""
    digest_file = path.with_name(path.name + ".sha256")
    if path.is_file() and path.stat().st_size == size and digest_file.is_file():
        return digest_file.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256()
    with open(path, "wb") as fh:
        left = size
        while left:  # NOTE: sizes that are not a multiple of 16 MiB too (LoRAs: 4 MiB)
            chunk = os.urandom(min(left, 16 * MIB))
            sha.update(chunk)
            fh.write(chunk)
            left -= len(chunk)
    digest_file.write_text(sha.hexdigest())
    return sha.hexdigest()


def _timed(argv: list[str], *, env=None, cwd=None) -> tuple[float, int, str]:
    start = time.perf_counter()
    try:
        done = subprocess.run(
            argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=RUN_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return time.perf_counter() - start, -1, f"timed out after {RUN_TIMEOUT} s"
    err = (done.stderr.strip().splitlines() or [""])[-1]
    return time.perf_counter() - start, done.returncode, err


def _mbps(size: int, seconds: float) -> str:
    return f"{seconds:.2f} s  {size / seconds / 1e6:6.1f} MB/s"


def write_lock(path: Path, files: list[tuple[str, int, str]], base: str) -> None:
    """A lock naming ``files`` (name, size, sha256) as checkpoints at ``base/<name>``."""
    parts = ["version = 1\n"]
    for name, size, sha in files:
        parts.append(
            f'[[model]]\nfolder = "checkpoints"\nname = "{name}"\nsize = {size}\n'
            f'sha256 = "{sha}"\n[[model.source]]\ntype = "url"\nurl = "{base}/{name}"\n'
        )
    path.write_text("\n".join(parts), encoding="utf-8")


def _comfylock_sync(work: Path, files: list[tuple[str, int, str]], base: str, *extra: str):
    """A fresh store, ComfyUI root and lock naming ``files`` (name, size, sha256); time one
    real ``comfylock sync``. Returns (seconds, exit code, last stderr line)."""
    shutil.rmtree(work, ignore_errors=True)
    (work / "ComfyUI" / "models").mkdir(parents=True)
    write_lock(work / "comfy.lock", files, base)
    argv = [
        str(BIN / "comfylock"),
        "--lock",
        str(work / "comfy.lock"),
        "--comfyui-root",
        str(work / "ComfyUI"),
        "--store",
        str(work / "store"),
        "sync",
        *extra,
    ]
    result = _timed(argv, env=_env(COMFYLOCK_CACHE_DIR=str(work / "cache")))
    shutil.rmtree(work, ignore_errors=True)  # half a GiB per run: do not keep it
    return result


def _raw(argv: list[str], out: Path) -> tuple[float, int, str]:
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    result = _timed(argv, cwd=out)
    shutil.rmtree(out, ignore_errors=True)
    return result


def _ratio_row(row: Row, mine: float, ref: float, ref_name: str, target: float) -> None:
    """Fill ``row``'s ratio (how many times faster than ``ref``) and verdict."""
    speedup = ref / mine
    row.ratio = f"{speedup:.2f}x {ref_name}"
    row.target = f">= {target:g}x"
    row.verdict = verdict(speedup >= target)


def section_downloads() -> list[Row]:
    """One big file: comfylock (aria2, httpx) vs raw aria2c -x16 vs curl vs comfy-cli; then
    8 files at once vs the same 8 one after another."""
    data, work = DATA / "dl-data", DATA / "dl-work"
    big_sha = _random_file(data / "big.bin", BIG)
    many = [(f"part{i}.bin", MANY_SIZE) for i in range(MANY)]
    many_files = [(n, s, _random_file(data / n, s)) for n, s in many]
    rows: list[Row] = []
    sec = f"download {BIG // MIB} MiB, {RATE // MIB} MiB/s per connection ({server_kind()})"
    with capped_server(data) as base:
        url = f"{base}/big.bin"

        def add(case: str, result: tuple[float, int, str], size: int = BIG) -> Row:
            t, code, err = result
            row = Row(
                sec,
                case,
                _mbps(size, t) if code == 0 else "failed",
                note="" if code == 0 else f"exit {code}: {err[:90]}",
            )
            rows.append(row)
            return row

        curl = _raw(["curl", "-sS", "-f", "-o", "big.bin", url], work / "curl")
        add("curl, one stream (reference)", curl)
        aria = _raw(
            ["aria2c", "--no-conf", "-q", "-x16", "-s16", "-k1M", "-o", "big.bin", url],
            work / "aria2c",
        )
        add("raw aria2c -x16 -s16 -k1M (reference)", aria)
        mine = add(
            "comfylock sync (aria2 backend), fresh store",
            _comfylock_sync(work / "cl", [("big.bin", BIG, big_sha)], base),
        )
        if mine.result != "failed":
            t = _comfylock_t(mine)
            _ratio_row(mine, t, aria[0], "raw aria2c", 0.9)
            vs_curl = Row(sec, "  same run vs curl", "", "", "", "", "")
            _ratio_row(vs_curl, t, curl[0], "curl", 8)
            rows.append(vs_curl)
        plain = add(
            "comfylock sync --no-aria2 (httpx, one stream)",
            _comfylock_sync(work / "cl", [("big.bin", BIG, big_sha)], base, "--no-aria2"),
        )
        if plain.result != "failed":
            plain.ratio = f"{curl[0] / _comfylock_t(plain):.2f}x curl"
            plain.note = "single stream by design: the fallback when aria2c is absent"
        rows.append(_comfy_cli_row(sec, url, work / "comfy-cli", curl[0]))

        sec_many = f"{MANY} x {MANY_SIZE // MIB} MiB at once, {RATE // MIB} MiB/s per connection"
        total = MANY * MANY_SIZE
        argv = ["curl", "-sS", "-f"]
        for name, _ in many:
            argv += ["-o", name, f"{base}/{name}"]
        seq = _raw(argv, work / "seq")
        rows.append(
            Row(
                sec_many,
                "curl, the files one after another (reference)",
                _mbps(total, seq[0]) if seq[1] == 0 else "failed",
            )
        )
        listing = DATA / "dl-many.txt"
        listing.write_text("".join(f"{base}/{name}\n  out={name}\n" for name, _ in many))
        ceiling = _raw(
            [
                "aria2c",
                "--no-conf",
                "-q",
                "-j",
                str(MANY),
                "-x16",
                "-s16",
                "-k1M",
                "-i",
                str(listing),
            ],
            work / "aria2c-many",
        )
        ceil_row = Row(
            sec_many,
            f"raw aria2c -j{MANY} -x16 -s16 -k1M, all at once (this machine's ceiling)",
            _mbps(total, ceiling[0]) if ceiling[1] == 0 else "failed",
        )
        if ceiling[1] == 0 and seq[1] == 0:
            ceil_row.ratio = f"{seq[0] / ceiling[0]:.2f}x sequential"
        rows.append(ceil_row)
        t, code, err = _comfylock_sync(work / "cl", many_files, base)
        row = Row(
            sec_many,
            "comfylock sync (aria2 backend, default -j 8), fresh store",
            _mbps(total, t) if code == 0 else "failed",
            note="" if code == 0 else f"exit {code}: {err[:90]}",
        )
        if code == 0 and seq[1] == 0:
            _ratio_row(row, t, seq[0], "sequential", 15)
        rows.append(row)
        if code == 0 and ceiling[1] == 0:
            vs_raw = Row(sec_many, f"  same run vs raw aria2c -j{MANY}", "", "", "", "", "")
            _ratio_row(vs_raw, t, ceiling[0], "raw aria2c", 0.9)
            rows.append(vs_raw)
    return rows


def _comfylock_t(row: Row) -> float:
    return float(row.result.split(" s", 1)[0])


def _comfy_cli() -> tuple[Path | None, str]:
    """comfy-cli (the peer users would otherwise pick) in its own venv under .bench/."""
    venv = DATA / "comfy-cli-venv"
    exe = venv / "bin" / "comfy"
    if exe.exists():
        return exe, ""
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "comfy-cli"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"pip install comfy-cli failed: {type(exc).__name__}"
    return (exe, "") if exe.exists() else (None, "pip install comfy-cli made no `comfy`")


def _comfy_cli_row(sec: str, url: str, work: Path, curl_t: float) -> Row:
    """``comfy model download`` into a throwaway workspace. ``--skip-prompt`` answers the
    tracking question with its default (off); HOME is private so no user config is read."""
    case = "comfy-cli `comfy model download` (its default httpx downloader)"
    exe, why = _comfy_cli()
    if exe is None:
        return Row(sec, case, "not run", note=why)
    shutil.rmtree(work, ignore_errors=True)
    (work / "ws" / "models" / "checkpoints").mkdir(parents=True)
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout
    argv = [
        str(exe),
        "--skip-prompt",
        "--no-json",
        "--workspace",
        str(work / "ws"),
        "model",
        "download",
        "--url",
        url,
        "--relative-path",
        "models/checkpoints",
        "--filename",
        "big.bin",
    ]
    t, code, err = _timed(argv, env=_env(HOME=str(work / "home")))
    got = work / "ws" / "models" / "checkpoints" / "big.bin"
    ok = code == 0 and got.is_file() and got.stat().st_size == BIG
    shutil.rmtree(work, ignore_errors=True)
    if not ok:
        return Row(sec, case, "not run", note=f"exit {code}: {err[:90]}")
    ver = version.split('"version": "')[1].split('"')[0] if '"version": "' in version else "?"
    return Row(sec, case, _mbps(BIG, t), f"{curl_t / t:.2f}x curl", note=f"comfy-cli {ver}")
