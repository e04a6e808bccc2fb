"""Scrub secrets from anything shown: token values from the environment, ``token=``-style
query values, bearer values and URL passwords. Every message, log line and report that may
hold a URL passes through here."""

from __future__ import annotations

import os
import re

from ..constants import SECRET_ENV_VARS
from ..lock.urlclean import SECRET_PARAMS

__all__ = ["redact"]

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
