"""net/httpcache.py: the SQLite cache of API answers."""

from __future__ import annotations

from comfylock.net.concurrency import map_concurrent


def test_cache_is_safe_across_threads(cache):
    def put(i):
        cache.put(
            "GET",
            f"https://h.example/{i}",
            200,
            b'{"i": %d}' % i,
            kind="search" if i % 2 else "metadata",
        )
        return cache.get("GET", f"https://h.example/{i}", ttl=60).status

    assert map_concurrent(put, range(40), workers=8) == [200] * 40
    stats = cache.stats()
    assert stats.entries == 40 and stats.by_kind == {"metadata": 20, "search": 20}
    assert stats.hits == 40
    assert cache.clear() == 40 and cache.stats().entries == 0
