"""remotes/probe.py: which remote has which blob; what it lacks comes from the origins."""

from __future__ import annotations

from tests.support.remoteutil import BUCKET, blob_rel, s3_client
from tests.support.remoteutil import installed as _installed
from tests.support.syncutil import paths_in


def test_a_blob_the_remote_lacks_comes_from_its_origin_only(
    world, s3, run_cli, tmp_path, monkeypatch
):
    a, b, c = world["models"]
    for m in (a, c):
        s3_client().put_object(Bucket=BUCKET, Key=f"t/{blob_rel(m.sha256)}", Body=m.data)
    monkeypatch.setenv("COMFYLOCK_REMOTE", f"s3://{BUCKET}/t")
    status = run_cli(*world["args"], "status")
    assert status.stdout.count("from remote env") == 2, status
    result = run_cli(*world["args"], "sync")
    assert result.exit_code == 0, result
    assert "Fetched 2 from team remotes, 1 from origins" in result.stdout
    seen = paths_in(world["server"])
    assert world["paths"]["hf"] in seen  # b's origin
    assert world["paths"]["url"] not in seen and world["paths"]["civitai"] not in seen
    _installed(world["args"], world)


def test_threads_follow_the_remotes_latency():
    from comfylock.remotes.probe import workers

    assert workers(0, 0.5) == 0
    assert workers(38, 0.0002) == 1  # a LAN mirror: one kept-alive connection
    assert workers(38, 0.001) == 2
    assert workers(38, 0.05) == 16  # across the internet: as many as allowed
    assert workers(3, 0.05) == 3  # never more threads than requests


class _Remote:
    """A remote whose every HEAD takes ``delay`` seconds (on ``clock``, the probe's clock
    in the test; really slept too, so that slow answers overlap); records the threads."""

    name = "lan"
    supports_leases = False

    def __init__(self, delay: float, clock: list[float]) -> None:
        self.delay, self.clock, self.threads = delay, clock, set()

    def has(self, sha: str, size=None) -> bool:
        import threading
        import time

        self.threads.add(threading.get_ident())
        if self.delay:
            self.clock[0] += self.delay
            time.sleep(self.delay)
        return sha.startswith("a")


def test_a_fast_remote_is_asked_on_one_thread_a_slow_one_on_many(monkeypatch):
    import types

    from comfylock.remotes import probe as probing

    clock = [0.0]
    monkeypatch.setattr(probing, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    shas = [f"{'a' if i % 2 else 'b'}{i:063d}" for i in range(40)]
    fast, slow = _Remote(0.0, clock), _Remote(0.03, clock)
    for remote in (fast, slow):
        view = probing.probe([remote], shas)
        assert sorted(view.found) == sorted(s for s in shas if s.startswith("a"))
        assert set(view.found.values()) == {remote.name}
    assert len(fast.threads) == 1
    assert len(slow.threads) > 8


class _Asked:
    """A remote that records every HEAD; ``down``: its answer is an error; ``leases``: the
    blobs other machines have claimed there (``None``: it keeps no leases)."""

    name = "team"

    def __init__(self, *, down: bool = False, leases: set[str] | None = None) -> None:
        self.heads: list[str] = []
        self.down, self.claimed, self.listings = down, leases, 0
        self.supports_leases = leases is not None

    def has(self, sha: str, size=None) -> bool:
        from comfylock.errors import RemoteError

        self.heads.append(sha)
        if self.down:
            raise RemoteError("remote team: unreachable")
        return True

    def leases(self):
        self.listings += 1
        return {sha: ("etag", 0.0) for sha in self.claimed}, 0.0

    def read_lease(self, sha):
        return None  # listed, but already gone: the blob comes from the origins


_SHAS = [f"{i:064x}" for i in range(10)]


def test_blobs_an_early_download_asks_for_are_not_asked_again():
    # aria2c's GET since before the plan is their probe: one HEAD says the remote is up
    from comfylock.remotes.probe import probe

    remote = _Asked()
    early = {sha: "team" for sha in _SHAS[:8]}
    view = probe([remote], _SHAS, asked=early)
    assert set(view.found) == set(_SHAS)
    assert remote.heads == _SHAS[8:]  # the first of the rest, then the rest
    assert view.unconfirmed == frozenset(_SHAS[:8])
    everything = _Asked()
    view = probe([everything], _SHAS, asked={sha: "team" for sha in _SHAS})
    assert len(everything.heads) == 1 and view.unconfirmed == frozenset(_SHAS) - {
        everything.heads[0]
    }


def test_a_remote_that_is_down_is_trusted_with_nothing():
    from comfylock.remotes.probe import probe

    remote = _Asked(down=True)
    view = probe([remote], _SHAS, asked={sha: "team" for sha in _SHAS})
    assert view.found == {} and view.unconfirmed == frozenset()
    assert view.down == frozenset({"team"}) and len(remote.heads) == 1


def test_a_blob_another_machine_claimed_is_asked_as_always():
    # a cold farm: the claimed blob is not on the remote yet; its HEAD and lease decide
    from comfylock.remotes.probe import probe

    remote = _Asked(leases={_SHAS[3]})
    view = probe([remote], _SHAS, asked={sha: "team" for sha in _SHAS})
    assert _SHAS[3] in remote.heads and _SHAS[3] not in view.unconfirmed
    assert remote.listings == 1  # one listing for the whole probe
