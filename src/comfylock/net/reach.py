"""Is the network there at all? A failed connection is either the network (no DNS, no
route: retrying cannot help, and the user should hear about ``--offline``) or one service
(refused, timed out, 5xx: worth a retry). ``doctor`` asks the same question up front."""

from __future__ import annotations

import errno
import socket
from urllib.parse import urlsplit

__all__ = ["no_network_reason", "probe"]

_NO_ROUTE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN}


def no_network_reason(exc: BaseException) -> str | None:
    """Why ``exc`` (an httpx/httpcore connect error, or an OSError) means no network:
    "the name HOST does not resolve" or "no route to the network"; None when it is one
    service's trouble (refused, reset, timed out)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, socket.gaierror):
            return "its name does not resolve (no DNS: is the network up?)"
        if isinstance(cur, OSError) and cur.errno in _NO_ROUTE:
            return "no route to it (is the network up?)"
        text = str(cur)
        if "Name or service not known" in text or "name resolution" in text:
            return "its name does not resolve (no DNS: is the network up?)"
        if "Network is unreachable" in text:
            return "no route to it (is the network up?)"
        cur = cur.__cause__ or cur.__context__
    return None


def probe(url: str, timeout: float = 3.0) -> str | None:
    """None when a TCP connection to ``url``'s host opens; else why not, in words."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except TimeoutError:
        return "timed out"
    except OSError as exc:
        return no_network_reason(exc) or (exc.strerror or str(exc)).lower()
