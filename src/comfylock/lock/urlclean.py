"""URLs as comfylock records and shows them: with no secret left in them.

Why: a workflow's author or a user may paste a URL that carries a credential (Civitai's
``?token=…``, an ``api_key``, a presigned signature, ``user:password@``). The token for a
service comes from the environment at fetch time (SPEC §6), so the copy in a URL is never
needed and must not reach the lock, a report, a script or a message. This module sits under
the workflow reader, so every URL is cleaned once, where it enters.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["SECRET_PARAMS", "is_secret_param", "strip_url_secrets"]

SECRET_PARAMS = frozenset(
    {
        "token",
        "access_token",
        "api_key",
        "apikey",
        "key",
        "auth",
        "password",
        "sig",
        "signature",
        "x-amz-signature",
        "x-amz-security-token",
        "x-amz-credential",
    }
)

_USERINFO = re.compile(r"^[^@/]*@")


def is_secret_param(name: str) -> bool:
    return name.strip().lower() in SECRET_PARAMS


def strip_url_secrets(url: str) -> str:
    """``url`` without credential query parameters and without ``user:password@``; other
    parameters (``type=Model&format=SafeTensor``) and their order are kept. A value that does
    not parse as a URL is returned as is (the URL policy refuses it later)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = _USERINFO.sub("", parts.netloc)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not is_secret_param(k)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
