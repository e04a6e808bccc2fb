"""What a source publishes about a model survives the lock's round trip, false flags and
empty lists included: ``allow-derivatives = false`` and ``allow-commercial-use = []`` are
answers ("not allowed", "none"), not defaults to leave out."""

from __future__ import annotations

from comfylock.lock import file as lockfile
from comfylock.lock.structs import Lock, LockedModel, LockedNode


def test_false_flags_and_empty_lists_are_written_and_read_back():
    model = LockedModel(
        folder="loras",
        name="x.safetensors",
        size=1,
        sha256="a" * 64,
        allow_commercial_use=(),
        allow_derivatives=False,
        allow_different_license=False,
        allow_no_credit=True,
        trained_words=("ink",),
    )
    text = lockfile.render(Lock(version=1, model=(model,)))
    assert "allow-commercial-use = []\nallow-derivatives = false\n" in text
    assert "allow-different-license = false\nallow-no-credit = true\n" in text
    assert lockfile.loads(text).model == (model,)


def test_a_default_false_flag_is_still_left_out():
    node = LockedNode(id="p", repo="https://example.invalid/p", commit="1" * 40)
    assert "install-script" not in lockfile.render(Lock(version=1, node=(node,)))
