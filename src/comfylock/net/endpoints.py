"""Where each service lives and whose token goes where.

Base URLs come from the environment at call time, so tests and mirrors point elsewhere and a
lock made against a mirror is the same lock. A token (``CIVITAI_API_KEY``, ``HF_TOKEN``) is
read per request and sent only to a URL under its own service's base URL.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal
from urllib.parse import urlsplit

import msgspec

from ..constants import (
    DEFAULT_CIVITAI_URL,
    DEFAULT_HF_ENDPOINT,
    DEFAULT_REGISTRY_URL,
    ENV_CIVITAI_KEY,
    ENV_CIVITAI_URL,
    ENV_HF_ENDPOINT,
    ENV_HF_TOKEN,
    ENV_MODEL_LIST_URL,
    ENV_NODE_MAP_URL,
    ENV_REGISTRY_URL,
)

__all__ = ["TOKEN_ENV", "Endpoints", "Service", "auth_headers", "is_under", "origin", "service_for"]

Service = Literal["civitai", "hf"]
TOKEN_ENV: dict[str, str] = {"civitai": ENV_CIVITAI_KEY, "hf": ENV_HF_TOKEN}


class Endpoints(msgspec.Struct, frozen=True, kw_only=True):
    """Base URLs of every service, without trailing slashes (SPEC §6)."""

    civitai: str = DEFAULT_CIVITAI_URL
    hf: str = DEFAULT_HF_ENDPOINT
    registry: str = DEFAULT_REGISTRY_URL
    model_list: str | None = None
    node_map: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Endpoints:
        """Read the base URLs now (never at import time); empty variables mean the default."""
        env = os.environ if env is None else env

        def base(var: str, default: str) -> str:
            return (env.get(var) or default).rstrip("/")

        return cls(
            civitai=base(ENV_CIVITAI_URL, DEFAULT_CIVITAI_URL),
            hf=base(ENV_HF_ENDPOINT, DEFAULT_HF_ENDPOINT),
            registry=base(ENV_REGISTRY_URL, DEFAULT_REGISTRY_URL),
            model_list=env.get(ENV_MODEL_LIST_URL) or None,
            node_map=env.get(ENV_NODE_MAP_URL) or None,
        )


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def is_under(url: str, base: str) -> bool:
    """True when ``url`` has the origin of ``base`` and a path at or below base's path."""
    if origin(url) != origin(base):
        return False
    prefix = urlsplit(base).path.rstrip("/")
    path = urlsplit(url).path
    return not prefix or path == prefix or path.startswith(prefix + "/")


def service_for(url: str, endpoints: Endpoints) -> Service | None:
    """Which token-bearing service a URL belongs to, by the configured base URLs."""
    if is_under(url, endpoints.civitai):
        return "civitai"
    if is_under(url, endpoints.hf):
        return "hf"
    return None


def auth_headers(url: str, endpoints: Endpoints) -> dict[str, str]:
    service = service_for(url, endpoints)
    token = os.environ.get(TOKEN_ENV[service], "").strip() if service else ""
    return {"Authorization": f"Bearer {token}"} if token else {}
