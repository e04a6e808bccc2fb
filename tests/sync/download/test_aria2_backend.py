"""The aria2 backend, for real: aria2c on 127.0.0.1 driven over RPC."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import threading

import pytest

from comfylock.store.hashing import Expected
from tests.support.syncutil import payload, range_response

pytestmark = pytest.mark.skipif(shutil.which("aria2c") is None, reason="aria2c is not installed")

DATA = payload(11, 3 * 1024 * 1024 + 123)
EXP = Expected(size=len(DATA), sha256=hashlib.sha256(DATA).hexdigest())


@pytest.fixture
def aria2(tmp_path):
    from comfylock.sync.download.aria2_backend import Aria2Downloader

    d = Aria2Downloader(tmp_dir=tmp_path / "tmp", jobs=4, executable=shutil.which("aria2c"))
    yield d
    d.close()


def _aria2_processes() -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [
        line for line in out.splitlines() if line.startswith(shutil.which("aria2c") or "aria2c")
    ]


def test_multi_source_multi_connection_download(server, aria2, tmp_path):
    hits = {"a": [], "b": []}
    for name in hits:
        server.expect_request(f"/{name}").respond_with_handler(
            lambda r, n=name: (hits[n].append(r.headers.get("Range")), range_response(r, DATA))[1]
        )
    dest = tmp_path / "tmp" / f"{EXP.sha256}.part"
    done = []
    aria2.fetch([server.url_for("/a"), server.url_for("/b")], dest, EXP, len(DATA), {}, done.append)
    assert dest.read_bytes() == DATA
    assert hits["a"] and hits["b"]  # both mirrors served pieces
    assert sum(len(v) for v in hits.values()) > 2  # split into several ranged connections
    assert done and done[-1] == len(DATA)


def test_net_aria2c_never_holds_a_token(server, aria2, tmp_path):
    """A token-bearing source that serves the bytes itself (no redirect) is fetched by the
    built-in downloader: aria2c would replay the token on any redirect it meets later."""
    seen, argv = [], []

    def handler(request):
        seen.append((request.headers.get("User-Agent", ""), request.headers.get("Authorization")))
        argv.extend(_aria2_processes())
        return range_response(request, DATA)

    server.expect_request("/f").respond_with_handler(handler)
    dest = tmp_path / "tmp" / "x.part"
    aria2.fetch([server.url_for("/f")], dest, EXP, len(DATA), {"Authorization": "Bearer tok-123"})
    assert dest.read_bytes() == DATA
    assert {auth for _, auth in seen} == {"Bearer tok-123"}
    assert not any(agent.startswith("aria2") for agent, _ in seen)
    assert not any("tok-123" in line for line in argv)


def test_token_is_not_replayed_to_a_redirect_target(server, aria2, tmp_path):
    from werkzeug import Response

    seen = []
    server.expect_request("/api").respond_with_handler(
        lambda r: Response(status=302, headers={"Location": server.url_for("/cdn")})
    )
    server.expect_request("/cdn").respond_with_handler(
        lambda r: (seen.append(r.headers.get("Authorization")), range_response(r, DATA))[1]
    )
    dest = tmp_path / "tmp" / "x.part"
    aria2.fetch([server.url_for("/api")], dest, EXP, len(DATA), {"Authorization": "Bearer tok-123"})
    assert dest.read_bytes() == DATA and seen and set(seen) == {None}


def test_resumes_a_partial_file(server, aria2, tmp_path):
    ranges = []
    server.expect_request("/f").respond_with_handler(
        lambda r: (ranges.append(r.headers.get("Range")), range_response(r, DATA))[1]
    )
    dest = tmp_path / "tmp" / "x.part"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(DATA[: 2 * 1024 * 1024])
    aria2.fetch([server.url_for("/f")], dest, EXP, len(DATA), {})
    assert dest.read_bytes() == DATA
    # "bytes=0-0" is the one-byte probe that resolves redirects before aria2c starts.
    assert all(
        r in (None, "bytes=0-0") or int(r.split("=")[1].split("-")[0]) >= 2 * 1024 * 1024 - 1
        for r in ranges
    ), ranges


def test_close_stops_aria2c(server, tmp_path):
    from comfylock.sync.download.aria2_backend import Aria2Downloader

    server.expect_request("/f").respond_with_handler(lambda r: range_response(r, DATA))
    d = Aria2Downloader(tmp_dir=tmp_path / "tmp", jobs=1)
    d.fetch([server.url_for("/f")], tmp_path / "tmp" / "x.part", EXP, len(DATA), {})
    proc = d._proc
    d.close()
    assert proc.poll() is not None


def test_cancel_interrupts_a_stalled_download(server, tmp_path):
    from werkzeug import Response

    from comfylock.errors import Interrupted
    from comfylock.sync.download.aria2_backend import Aria2Downloader

    release = threading.Event()

    def stall(request):
        def gen():
            yield DATA[:1000]
            release.wait(30)

        return Response(gen(), headers={"Content-Length": str(len(DATA))}, direct_passthrough=True)

    server.expect_request("/f").respond_with_handler(stall)
    cancel = threading.Event()
    d = Aria2Downloader(tmp_dir=tmp_path / "tmp", jobs=1, cancel=cancel)
    try:
        threading.Timer(0.5, cancel.set).start()
        with pytest.raises(Interrupted):
            d.fetch([server.url_for("/f")], tmp_path / "tmp" / "x.part", EXP, len(DATA), {})
    finally:
        release.set()
        d.close()


def test_the_download_comes_back_hashed(server, aria2, tmp_path):
    """aria2c fetches pieces in order and the backend hashes the finished prefix while it
    runs; what it hands back is the digest of exactly the bytes in the file."""
    server.expect_request("/f").respond_with_handler(lambda r: range_response(r, DATA))
    dest = tmp_path / "tmp" / f"{EXP.sha256}.part"
    streamed = aria2.fetch([server.url_for("/f")], dest, EXP, len(DATA), {})
    digest = streamed.digest_of(dest, len(DATA))
    assert digest is not None and digest.sha256 == EXP.sha256 and digest.size == len(DATA)
    streamed.close()


@pytest.mark.parametrize(
    ("bitfield", "pieces"),
    [(None, 0), ("", 0), ("00", 0), ("80", 1), ("c0", 2), ("f0", 4), ("fe", 7), ("ff", 8)]
    + [("ff8", 9), ("f7ff", 4), ("FFF0", 12)],
)
def test_done_prefix_counts_the_leading_finished_pieces(bitfield, pieces):
    from comfylock.sync.download.aria2_backend import _done_prefix

    assert _done_prefix(bitfield, 1024, 10**9) == pieces * 1024
    assert _done_prefix("ff", 1024, 5000) == 5000  # never past the file's size


def test_prefetched_downloads_run_before_anyone_waits_for_them(server, aria2, tmp_path):
    """Every download handed over at once runs in aria2c's own queue: by the time a worker
    asks for one, it may be done already, and nothing is fetched twice."""
    import time

    files = {f"/f{i}": payload(20 + i, 300_000 + i) for i in range(3)}
    for path, data in files.items():
        server.expect_request(path).respond_with_handler(lambda r, d=data: range_response(r, d))
    dests = {p: tmp_path / "tmp" / f"{p[1:]}.part" for p in files}
    aria2.prefetch([([server.url_for(p)], dests[p], len(d)) for p, d in files.items()])
    deadline = time.monotonic() + 30
    while not all(
        dests[p].exists() and dests[p].stat().st_size == len(d) for p, d in files.items()
    ):
        assert time.monotonic() < deadline, "aria2c did not run the queued downloads"
        time.sleep(0.05)
    for path, data in files.items():
        exp = Expected(size=len(data), sha256=hashlib.sha256(data).hexdigest())
        streamed = aria2.fetch([server.url_for(path)], dests[path], exp, len(data), {})
        assert streamed.digest_of(dests[path], len(data)).sha256 == exp.sha256
        streamed.close()
    gets = [req.path for req, _ in server.log]
    assert sorted(gets) == sorted(files), gets  # one GET each: none fetched again


def test_aria2c_can_start_while_the_plan_is_made(tmp_path):
    import time

    from comfylock.sync.download.aria2_backend import Aria2Downloader

    d = Aria2Downloader(tmp_dir=tmp_path / "tmp", jobs=1, executable=shutil.which("aria2c"))
    try:
        d.start_soon()
        deadline = time.monotonic() + 15
        while d._rpc is None:
            assert time.monotonic() < deadline, "aria2c was not started"
            time.sleep(0.01)
        assert d._rpc.call("aria2.getVersion")["version"]
    finally:
        d.close()


@pytest.fixture
def posted(monkeypatch) -> list:
    """Every JSON-RPC request aria2p's client sends, decoded, in order."""
    import json

    import aria2p

    sent: list = []
    real_post = aria2p.Client.post

    def spy(self, payload):
        sent.append(json.loads(payload))
        return real_post(self, payload)

    monkeypatch.setattr(aria2p.Client, "post", spy)
    return sent


def test_every_waited_download_is_polled_in_one_request_per_round(server, aria2, tmp_path, posted):
    """Three downloads waited on at once: their status comes from one ``system.multicall``
    per round through aria2p's client, never one ``tellStatus`` request per download."""
    import time

    def slow(request):
        time.sleep(0.3)  # several poll rounds while all three run
        return range_response(request, DATA)

    for i in range(3):
        server.expect_request(f"/s{i}").respond_with_handler(slow)
    dests = [tmp_path / "tmp" / f"s{i}.part" for i in range(3)]
    threads = [
        threading.Thread(
            target=aria2.fetch, args=([server.url_for(f"/s{i}")], dests[i], EXP, len(DATA), {})
        )
        for i in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(d.read_bytes() == DATA for d in dests)
    singles = [p for p in posted if p.get("method") == "aria2.tellStatus"]
    rounds = [
        {c["params"][1] for c in p["params"][0] if c["methodName"] == "aria2.tellStatus"}
        for p in posted
        if p.get("method") == "system.multicall"
    ]
    assert not singles, singles
    assert max(len(gids) for gids in rounds) == 3, rounds  # all three in one request
    assert all(
        "token:" in c["params"][0]
        for p in posted
        if p.get("method") == "system.multicall"
        for c in p["params"][0]
    )


def _added(posted: list) -> list[str]:
    """The downloads added over RPC, alone or inside a ``system.multicall``."""
    calls = [(p.get("method"), p.get("params")) for p in posted]
    inner = [
        (c["methodName"], c["params"])
        for method, params in calls
        if method == "system.multicall"
        for c in params[0]
    ]
    return [m for m, _ in calls + inner if m == "aria2.addUri"]


def test_downloads_known_before_the_plan_start_from_aria2cs_input_file(server, tmp_path, posted):
    """``start_soon(first)``: aria2c reads the downloads from an input file at start-up (no
    RPC call adds them), and the fetch the plan makes later follows the same download: one
    GET each, and the input file (URLs) is gone once aria2c listens."""
    import time

    from comfylock.sync.download.aria2_backend import Aria2Downloader

    files = {f"/e{i}": payload(40 + i, 200_000 + i) for i in range(2)}
    for path, data in files.items():
        server.expect_request(path).respond_with_handler(lambda r, d=data: range_response(r, d))
    tmp = tmp_path / "tmp"
    dests = {p: tmp / f"{p[1:]}.part" for p in files}
    d = Aria2Downloader(tmp_dir=tmp, jobs=2, executable=shutil.which("aria2c"))
    try:
        known = [([server.url_for(p)], dests[p], len(data)) for p, data in files.items()]
        d.start_soon(known)
        d.prefetch(known)  # the plan hands the same downloads over: none is added twice
        deadline = time.monotonic() + 30
        while not all(
            dests[p].exists() and dests[p].stat().st_size == len(x) for p, x in files.items()
        ):
            assert time.monotonic() < deadline, "aria2c did not run the input file"
            time.sleep(0.05)
        assert _added(posted) == []  # none was added over RPC
        assert not list(tmp.glob(".aria2-input-*"))  # read at start-up, then removed
        for path, data in files.items():
            exp = Expected(size=len(data), sha256=hashlib.sha256(data).hexdigest())
            streamed = d.fetch([server.url_for(path)], dests[path], exp, len(data), {})
            assert streamed.digest_of(dests[path], len(data)).sha256 == exp.sha256
            streamed.close()
        assert _added(posted) == []
        assert sorted(req.path for req, _ in server.log) == sorted(files)
        assert d.sizes_before == {str(p): 0 for p in dests.values()}  # nothing was here before
    finally:
        d.close()


def test_an_early_download_the_plan_does_not_choose_is_removed_with_its_bytes(server, tmp_path):
    """The plan found the blob elsewhere than the early guess (the remote lacks it): the
    fetch's own URLs replace the early download, and the bytes the guess wrote are dropped
    rather than resumed from (they come from no source the plan chose)."""
    import time

    from comfylock.sync.download.aria2_backend import Aria2Downloader

    wrong = payload(50, len(DATA))  # the guessed source serves other bytes of the same size
    server.expect_request("/guess").respond_with_handler(lambda r: range_response(r, wrong))
    server.expect_request("/origin").respond_with_handler(lambda r: range_response(r, DATA))
    dest = tmp_path / "tmp" / f"{EXP.sha256}.part"
    d = Aria2Downloader(tmp_dir=tmp_path / "tmp", jobs=1, executable=shutil.which("aria2c"))
    try:
        d.start_soon([([server.url_for("/guess")], dest, len(DATA))])
        deadline = time.monotonic() + 30
        while not (dest.exists() and dest.stat().st_size == len(DATA)):
            assert time.monotonic() < deadline, "the early download did not run"
            time.sleep(0.05)
        streamed = d.fetch([server.url_for("/origin")], dest, EXP, len(DATA), {})
        assert dest.read_bytes() == DATA
        assert streamed.digest_of(dest, len(DATA)).sha256 == EXP.sha256
        streamed.close()
    finally:
        d.close()


def test_finished_downloads_are_forgotten_with_the_next_poll_not_one_request_each(
    server, aria2, tmp_path, posted
):
    for i in range(3):
        server.expect_request(f"/g{i}").respond_with_handler(lambda r: range_response(r, DATA))
    for i in range(3):
        dest = tmp_path / "tmp" / f"g{i}.part"
        aria2.fetch([server.url_for(f"/g{i}")], dest, EXP, len(DATA), {}).close()
    singles = [p for p in posted if p.get("method") == "aria2.removeDownloadResult"]
    batched = [
        c["params"][0]
        for p in posted
        if p.get("method") == "system.multicall"
        for c in p["params"][0]
        if c["methodName"] == "aria2.removeDownloadResult"
    ]
    assert not singles, singles
    assert len(batched) >= 2  # the first two went with the polls of the downloads after them


def test_an_input_file_left_by_a_killed_run_is_removed_by_the_next(server, tmp_path):
    """An input file may hold presigned URLs: one whose process is gone (killed between
    writing it and aria2c reading it) does not outlive the next run's start."""
    import subprocess as sp

    from comfylock.sync.download.aria2_backend import Aria2Downloader

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    dead = sp.Popen(["true"])
    dead.wait()
    leftover = tmp / f".aria2-input-{dead.pid}-abcd1234"
    leftover.write_text("https://bucket.example/blob?X-Amz-Signature=secret\n")
    alive = tmp / f".aria2-input-{os.getpid()}-0000ffff"
    alive.write_text("a running sync's own\n")
    server.expect_request("/k").respond_with_handler(lambda r: range_response(r, DATA))
    d = Aria2Downloader(tmp_dir=tmp, jobs=1, executable=shutil.which("aria2c"))
    try:
        d.start_soon([([server.url_for("/k")], tmp / "k.part", len(DATA))])
        streamed = d.fetch([server.url_for("/k")], tmp / "k.part", EXP, len(DATA), {})
        if streamed is not None:
            streamed.close()
    finally:
        d.close()
    assert (tmp / "k.part").read_bytes() == DATA
    assert not leftover.exists()
    assert alive.exists()  # a live process's file is its own to remove
