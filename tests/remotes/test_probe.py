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
