"""net/concurrency.py: calling a function over many items on worker threads."""

from __future__ import annotations

import threading

import pytest

from comfylock.net.concurrency import map_concurrent


def test_map_concurrent_dedupes_keeps_order_and_raises_first_error():
    calls = []
    lock = threading.Lock()

    def fn(x):
        with lock:
            calls.append(x)
        if x == "bad":
            raise ValueError(x)
        return x.upper()

    assert map_concurrent(fn, ["a", "b", "a", "c", "b"], workers=4) == ["A", "B", "A", "C", "B"]
    assert sorted(calls) == ["a", "b", "c"]
    with pytest.raises(ValueError, match="bad"):
        map_concurrent(fn, ["x", "bad", "y"])
    assert map_concurrent(fn, []) == []
