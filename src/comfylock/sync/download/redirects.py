"""A token-bearing source's redirects, resolved before aria2c gets it (aria2c replays headers
on every redirect it follows, so it must never hold a token).

Each source is probed with a one-byte GET, its redirects followed here, every hop checked
(https only, except loopback and ``allow-http``); a 429/5xx/timeout is probed again and its
new answer checked like the first. aria2c then gets the final, token-free URL; a source that
answers without redirecting keeps its bytes for the built-in downloader (``Unredirected``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

from ...errors import RemoteError
from .urls import check_url, redact

__all__ = ["Unredirected", "resolve_redirects"]

_MAX_HOPS = 10


class Unredirected(Exception):
    """A token-bearing source answered without a redirect: aria2c must not get it."""


_PROBE_TRIES = 3


def resolve_redirects(
    urls: Sequence[str],
    headers: Mapping[str, str],
    allow_http: Sequence[str],
    cancel: threading.Event,
    client,
) -> list[str]:
    """The token-free final URL of every source, for aria2c; every hop checked first.

    Each source is probed with a one-byte GET, its redirects followed here; a 429/5xx/timeout
    is probed again (the new answer checked like the first). ``headers`` (a token) go to the
    first hop only. With ``headers``, a source that answers without redirecting raises
    ``Unredirected``: aria2c would need the token for it, and would replay it on any later
    redirect, so it is not aria2c's to fetch. ``client`` is the downloader's shared probe
    client (no redirects followed, no cookies kept).
    """
    finals: list[str] = []
    for url in urls:
        final, hops = _probe(client, url, headers, allow_http, cancel)
        if headers and not hops:
            raise Unredirected(url)
        finals.append(final)
    return list(dict.fromkeys(finals))


def _probe(client, url: str, headers: Mapping[str, str], allow_http, cancel) -> tuple[str, int]:
    """(final URL, hops) of one source, retrying transient answers a few times."""
    import httpx

    from ...net.send import RETRY_STATUSES, redirect_target

    current, hops, sent, tries = url, 0, dict(headers), 0
    while True:
        try:
            with client.stream("GET", current, headers={**sent, "Range": "bytes=0-0"}) as resp:
                status = resp.status_code
                location = resp.headers.get("location") if resp.is_redirect else None
        except httpx.TransportError as exc:
            status, location = None, None
            problem = type(exc).__name__
        else:
            problem = f"HTTP {status}"
        if status is None or status in RETRY_STATUSES:
            tries += 1
            if tries >= _PROBE_TRIES or cancel.wait(0.5 * tries):
                raise RemoteError(f"{redact(current)}: {problem}")
            continue  # the same hop again; its next answer is checked afresh
        if not location:
            return current, hops
        hops += 1
        if hops > _MAX_HOPS:
            raise RemoteError(f"{redact(url)}: more than {_MAX_HOPS} redirects")
        current = check_url(redirect_target("GET", current, location), allow_http)
        sent = {}
