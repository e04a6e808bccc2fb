"""The one https-only rule of SPEC §6, shared by resolving, downloading and node packs:
https anywhere; plain http only to loopback addresses and hosts listed in ``allow-http``."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from ..errors import InsecureUrlError

__all__ = ["check_url", "is_loopback"]


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, allow_http: Iterable[str] = ()) -> str:
    """``url`` itself when it may be fetched, else InsecureUrlError (exit 2) naming the fix."""
    from .redact import redact

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme == "https" and host:
        return url
    if scheme == "http" and host and (is_loopback(host) or host in {h.lower() for h in allow_http}):
        return url
    if scheme == "http" and host:
        raise InsecureUrlError(
            f"refusing to download over http from {host}: {redact(url)}",
            hint=f'use https, or add the host to comfylock.toml: allow-http = ["{host}"]',
        )
    raise InsecureUrlError(
        f"refusing to download {redact(url)!r}: not an https URL",
        hint="model sources must be https:// URLs",
    )
