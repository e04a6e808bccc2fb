"""Does each configured remote answer? One request per remote, for ``doctor``.

Never shows a credential: only the remote's name, its configured URL and what happened.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from ..errors import ComfylockError

__all__ = ["RemoteHealth", "remote_health"]


class RemoteHealth(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    url: str
    push: bool
    ok: bool
    detail: str
    fix: str = ""


def remote_health(specs: Sequence, allow_http: Sequence[str] = ()) -> list[RemoteHealth]:
    """Each remote in use (``Project.remote_specs``), asked once (list / HEAD)."""
    from . import open_remote

    out = []
    for spec in specs:
        remote = open_remote(spec, allow_http)
        try:
            detail, ok, fix = remote.ping(), True, ""
        except ComfylockError as exc:
            detail, ok, fix = exc.message, False, exc.hint or ""
        finally:
            remote.close()
        mode = "push" if spec.push else "read-only"
        out.append(
            RemoteHealth(
                name=spec.name,
                url=spec.url,
                push=spec.push,
                ok=ok,
                detail=f"{mode}; {detail}",
                fix=fix,
            )
        )
    return out
