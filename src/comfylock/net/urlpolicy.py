"""The one https-only rule of SPEC §6, shared by resolving, downloading and node packs:
https anywhere; plain http only to loopback addresses and hosts listed in ``allow-http``."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from ..errors import InputError, InsecureUrlError

__all__ = ["check_repo", "check_url", "git_env", "is_local_repo", "is_loopback"]

_CONTROL = re.compile("[\x00-\x1f\x7f]")  # one C scan: a sync checks every URL it hands out


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _http_allowed(host: str, allow_http: Iterable[str]) -> bool:
    return is_loopback(host) or host in {h.lower() for h in allow_http}


def _split(value: str, what: str, *, local_ok: bool = False):
    """``urlsplit`` of a URL fit to hand to a client, a script or git: no control characters,
    no backslashes (parsers disagree on them), a parseable host and port. Else InputError."""
    from ..basics.redact import redact

    if _CONTROL.search(value) or ("\\" in value and not local_ok):
        raise InputError(
            f"invalid {what} {redact(value)!r}: control characters or a backslash",
            hint="fix the URL where it was written (workflow, lock or command line)",
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 — raises ValueError for a bad port
    except ValueError as exc:
        raise InputError(f"invalid {what} {redact(value)!r}: {exc}") from None
    return parts


def check_url(url: str, allow_http: Iterable[str] = ()) -> str:
    """``url`` itself when it may be fetched, else InsecureUrlError (exit 2) naming the fix;
    a malformed URL (control characters, backslash, bad host or port) is an InputError."""
    from ..basics.redact import redact

    parts = _split(url, "URL")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme == "https" and host:
        return url
    if scheme == "http" and host and _http_allowed(host, allow_http):
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


def is_local_repo(repo: str) -> bool:
    """A node-pack repo given as a path or ``file://`` URL (a team mirror, a test's bare repo).

    A scheme-less value with a ``:`` is not a path: git reads ``host:path`` as ssh."""
    try:
        scheme = urlsplit(repo).scheme.lower()
    except ValueError:  # e.g. an unbalanced IPv6 bracket: a URL, and a broken one
        return False
    if scheme == "file":
        return True
    if len(scheme) == 1 and repo[1:3] in (":\\", ":/"):  # a Windows drive
        return True
    return not scheme and ":" not in repo and not repo.startswith("-")


def check_repo(repo: str, allow_http: Iterable[str] = ()) -> str:
    """``repo`` itself when git may fetch it (SPEC §6): https, a local path or ``file://``, and
    http/git:// only to loopback or ``allow-http`` hosts. Anything else (ssh, ``ext::``,
    option-looking values) raises InputError or InsecureUrlError (exit 2)."""
    from ..basics.redact import redact

    if repo.startswith("-") or not repo.strip():
        raise InputError(f"invalid node pack repo {redact(repo)!r}")
    parts = _split(repo, "node pack repo", local_ok=is_local_repo(repo))
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if (scheme == "https" and host) or is_local_repo(repo):
        return repo
    if scheme in ("http", "git") and host:
        if _http_allowed(host, allow_http):
            return repo
        raise InsecureUrlError(
            f"refusing {scheme}:// node pack repo {redact(repo)}",
            hint=f'use https, or add the host to comfylock.toml: allow-http = ["{host}"]',
        )
    raise InputError(
        f"unsupported node pack repo {redact(repo)!r}",
        hint="use an https URL, a local path or a file:// URL",
    )


def git_env(repo: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a git call on ``repo`` (already passed ``check_repo``): no prompts,
    and a protocol allow-list git also applies to redirects and submodules, so a remote
    cannot send it anywhere ``check_repo`` would refuse. ``http``/``git`` are listed only for
    a repo that is itself such a URL (loopback or an ``allow-http`` host). A transfer that
    stalls is stopped by curl's low-speed limit (``net.gitrun`` adds the bound on the rest)."""
    import os

    protocols = ["https", "file"]
    try:
        scheme = urlsplit(repo).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme in ("http", "git"):
        protocols.append(scheme)
    from .limits import Limits

    limits = Limits.from_env()
    return {
        **(os.environ if base is None else base),
        # curl's stall limit, from the same settings as every download (COMFYLOCK_LOWEST_SPEED,
        # COMFYLOCK_STALL_SECONDS): a host that stops sending stops git too.
        "GIT_HTTP_LOW_SPEED_LIMIT": str(max(1, limits.lowest_speed)),
        "GIT_HTTP_LOW_SPEED_TIME": str(max(1, int(limits.stall_seconds))),
        "GIT_ALLOW_PROTOCOL": ":".join(protocols),
        "GIT_PROTOCOL_FROM_USER": "0",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_ASKPASS": "",
        "LC_ALL": "C",
    }
