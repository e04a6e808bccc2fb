"""``comfylock verify``: re-hash store blobs; quarantine the corrupt ones."""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.syncutil import store_blobs as blobs


def test_verify_ok(synced, run_cli):
    result = run_cli("verify")
    assert result.exit_code == 0, result
    assert "Checked 2 blobs" in result.stdout


def test_verify_quarantines_a_corrupt_blob(synced, run_cli):
    blob = blobs()[0]
    os.chmod(blob, 0o644)
    blob.write_bytes(b"rot")
    result = run_cli("verify")
    assert result.exit_code == 4, result
    store = Path(os.environ["COMFYLOCK_STORE"])
    assert (store / "quarantine" / blob.name).exists() and not blob.exists()
    # the next sync notices the dangling link and fetches/adopts again: here no source, so it reports
    status = run_cli(*synced["p1"]["args"], "status")
    assert status.exit_code == 0
