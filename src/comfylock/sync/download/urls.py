"""Turn a lock's canonical sources into concrete download URLs, at fetch time (SPEC §6).

The lock stores host-independent sources; the base URLs come from the environment now, so a
mirror or a test server can stand in. Tokens are attached as headers only for their own
service and are never part of a URL, so nothing that prints a URL can leak one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from urllib.parse import quote, urlsplit

import msgspec

from ...basics.redact import redact
from ...constants import (
    DEFAULT_CIVITAI_URL,
    DEFAULT_HF_ENDPOINT,
    ENV_CIVITAI_KEY,
    ENV_CIVITAI_URL,
    ENV_HF_ENDPOINT,
    ENV_HF_TOKEN,
)
from ...lock.structs import CivitaiSource, HuggingFaceSource, Source, UrlSource
from ...net.urlpolicy import check_url

__all__ = ["UrlGroup", "check_url", "pinned_urls", "redact", "source_urls", "url_groups"]


class UrlGroup(msgspec.Struct, frozen=True):
    """URLs that may be fetched together (one aria2 download): they share their headers."""

    urls: tuple[str, ...]
    headers: tuple[tuple[str, str], ...] = ()


def _civitai(src: CivitaiSource, env: Mapping[str, str]) -> tuple[str, dict[str, str]] | None:
    base = (env.get(ENV_CIVITAI_URL) or DEFAULT_CIVITAI_URL).rstrip("/")
    if src.version_id is None:
        return None
    url = f"{base}/api/download/models/{src.version_id}"
    query = urlsplit(src.url).query if src.url else ""
    if query:
        url += "?" + query
    token = env.get(ENV_CIVITAI_KEY)
    return url, ({"Authorization": f"Bearer {token}"} if token else {})


def _huggingface(src: HuggingFaceSource, env: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    base = (env.get(ENV_HF_ENDPOINT) or DEFAULT_HF_ENDPOINT).rstrip("/")
    prefix = {"dataset": "datasets/", "space": "spaces/"}.get(src.repo_type or "model", "")
    url = f"{base}/{prefix}{src.repo}/resolve/{src.revision}/{quote(src.path)}"
    token = env.get(ENV_HF_TOKEN)
    return url, ({"Authorization": f"Bearer {token}"} if token else {})


def source_urls(
    sources: Sequence[Source], env: Mapping[str, str] | None = None, allow_http: Sequence[str] = ()
) -> list[tuple[str, dict[str, str]]]:
    """(url, headers) for every usable source, in lock order. Unsafe URLs raise UsageError."""
    env = os.environ if env is None else env
    out: list[tuple[str, dict[str, str]]] = []
    for src in sources:
        if isinstance(src, CivitaiSource):
            got = _civitai(src, env)
        elif isinstance(src, HuggingFaceSource):
            got = _huggingface(src, env)
        elif isinstance(src, UrlSource):
            got = (src.url, {})
        else:  # a file source: read from this machine's files (``machine.inputfiles``)
            got = None
        if got is not None:
            out.append((check_url(got[0], allow_http), got[1]))
    return out


def url_groups(
    sources: Sequence[Source], env: Mapping[str, str] | None = None, allow_http: Sequence[str] = ()
) -> list[UrlGroup]:
    """Sources grouped by identical headers, so no service ever receives another's token."""
    groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for url, headers in source_urls(sources, env, allow_http):
        groups.setdefault(tuple(sorted(headers.items())), []).append(url)
    return [UrlGroup(tuple(urls), key) for key, urls in groups.items()]


def pinned_urls(lock) -> dict[tuple[str, str], tuple[str | None, str]]:
    """(folder, name) -> (first download URL, sha256) for every model the lock pins, for
    ``report``. No token goes near these URLs: they are built from an environment without
    secrets, and the report's script adds tokens at its own run time."""
    from ...constants import SECRET_ENV_VARS
    from ...errors import ComfylockError

    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_VARS}
    out: dict[tuple[str, str], tuple[str | None, str]] = {}
    for model in lock.model:
        try:
            urls = source_urls(model.source, env)
        except ComfylockError:
            urls = []
        out[(model.folder, model.name)] = (urls[0][0] if urls else None, model.sha256)
    return out
