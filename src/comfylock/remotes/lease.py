"""Claims in a cold farm (SPEC §7): who fetches a blob from its origin, written on the remote.

When a new lock reaches a farm, its machines start together and the remote is empty. Each
machine claims a blob before it fetches it from an origin, so the origins serve the set about
once in total, split across the machines::

    <prefix>/leases/<sha256>     {"holder": "<this run's random id>", "seconds": 60}

* **claim**: a PUT with ``If-None-Match: *``: one machine's write succeeds, every other gets
  412 (S3, R2 and MinIO honour it; moto's server too). The winner fetches the blob from the
  origins, verifies it, pushes it, then deletes the lease (``If-Match`` its own ETag).
* **renew**: while the download runs, the holder rewrites the lease (``If-Match`` its ETag)
  every ``seconds / 3``, so a live download never looks abandoned.
* **expiry** is judged on the server's clock alone (``Last-Modified`` of the lease +
  ``seconds``, against the ``Date`` of the reply that showed it): machines whose clocks
  disagree still agree on it.
* **take-over**: a lease past its expiry is rewritten with ``If-Match`` its ETag; of several
  machines trying, one wins. A machine that died mid-download delays its blobs only until
  then.

The holder id only tells a machine its own lease from another's: it is never printed. An
HTTP mirror cannot be written, so it has no leases and nothing here applies to it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import msgspec

__all__ = [
    "LEASE_SECONDS",
    "Lease",
    "decode_body",
    "encode_body",
    "lease_key",
    "lease_seconds",
]

LEASE_SECONDS = 60
_MIN_SECONDS = 2
_ENV = "COMFYLOCK_LEASE_SECONDS"


class Lease(msgspec.Struct, frozen=True, kw_only=True):
    """A lease as the remote showed it: whose, since when (server time), for how long."""

    sha256: str
    etag: str
    modified: float  # Last-Modified, in the server's seconds since the epoch
    seconds: int
    holder: str = ""  # this run's id for its own leases; never shown

    @property
    def expires(self) -> float:
        return self.modified + self.seconds

    def is_expired(self, server_now: float | None) -> bool:
        """Past its expiry by the server's clock (unknown time: not expired)."""
        return server_now is not None and server_now >= self.expires

    def __repr__(self) -> str:
        return f"Lease({self.sha256[:12]}…, expires {self.expires:.0f})"


def lease_key(prefix: str, sha256: str) -> str:
    """``<prefix>/leases/<sha256>``: beside the blobs, one object per blob."""
    head = prefix.strip("/")
    return f"{head}/leases/{sha256}" if head else f"leases/{sha256}"


def lease_seconds(env: Mapping[str, str]) -> int:
    """How long a lease lives without renewal: ``COMFYLOCK_LEASE_SECONDS`` (a farm on slow
    links, or a test that kills a holder), else 60 s."""
    raw = env.get(_ENV, "").strip()
    if raw.isdigit():
        return max(_MIN_SECONDS, int(raw))
    return LEASE_SECONDS


def encode_body(holder: str, seconds: int) -> bytes:
    return json.dumps({"holder": holder, "seconds": seconds}, sort_keys=True).encode()


def decode_body(body: bytes) -> tuple[str, int] | None:
    """(holder, seconds) of a lease object's body; None when it is not one of ours."""
    try:
        data = json.loads(body.decode("utf-8"))
        holder, seconds = data["holder"], data["seconds"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    if not isinstance(holder, str) or not isinstance(seconds, int) or isinstance(seconds, bool):
        return None
    return holder, max(_MIN_SECONDS, seconds)
