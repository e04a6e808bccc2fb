"""The one redaction of secrets, for what comfylock records and for what it shows.

Recorded: a workflow's author or a user may paste a URL that carries a credential (Civitai's
``?token=…``, an ``api_key``, a presigned signature, ``user:password@``). The token for a
service comes from the environment at fetch time (SPEC §6), so the copy in a URL is never
needed and must not reach the lock, a report or a script: ``strip_url_secrets`` removes it
where a URL enters (the workflow reader, ``add``).

Shown: every message, log line, progress row and report that may hold a URL passes through
``redact``: token values from the environment, ``token=``-style query values, bearer values
and URL passwords become ``***``. Where a URL enters a message, the message redacts it; and
at the edge, everything the CLI writes to stdout and stderr (errors, warnings, progress,
``--json``, ``-v`` tracebacks) passes through it once more (``redacting_streams``), so a
message that forgets cannot put a presigned signature on a terminal or in a CI log.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..constants import SECRET_ENV_VARS

__all__ = [
    "SECRET_PARAMS",
    "RedactingStream",
    "is_secret_param",
    "redact",
    "redacting_streams",
    "strip_url_secrets",
]

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

_LEADING_USERINFO = re.compile(r"^[^@/]*@")


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
    netloc = _LEADING_USERINFO.sub("", parts.netloc)
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(k, v) for k, v in pairs if not is_secret_param(k)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_SECRET_PARAM = re.compile(
    r"(?i)([?&;](?:" + "|".join(map(re.escape, sorted(SECRET_PARAMS))) + r")=)[^&#\s\"']*"
)
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@")


def redact(text: str) -> str:
    """Remove token values, ``token=``-style query values, bearer values and URL passwords."""
    if not text:
        return text
    for var in SECRET_ENV_VARS:
        value = os.environ.get(var, "").strip()
        if len(value) >= 4:
            text = text.replace(value, "***")
    text = _SECRET_PARAM.sub(r"\1***", text)
    text = _BEARER.sub(r"\1***", text)
    return _USERINFO.sub(r"\1***@", text)


class RedactingStream:
    """A text stream that redacts what is written to it, then writes to ``inner``; all else
    (``isatty``, ``fileno``, ``encoding``, ``flush``, ``buffer``) is the inner stream's."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(redact(text) if isinstance(text, str) else text)
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


@contextlib.contextmanager
def redacting_streams() -> Iterator[None]:
    """While inside, ``sys.stdout`` and ``sys.stderr`` redact what they are given: the CLI's
    one edge (``cli._run``)."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(out), RedactingStream(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err
