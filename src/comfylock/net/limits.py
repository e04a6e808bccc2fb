"""Bounds on what the network may make us hold or wait for.

Why: a server (or a workflow author) decides how many bytes it sends and how slowly. Without
a cap, a gzip answer of 1 MB inflates to gigabytes in memory, an endless body fills the disk,
and a body dripping one byte every two seconds hangs a sync forever. Every reader of network
bytes takes its limit from here; the environment can tune each one (README, "Safety").
"""

from __future__ import annotations

import os
import time

import msgspec

from ..errors import RemoteError

__all__ = [
    "API_MAX_BYTES",
    "ENV_FETCH_MAX",
    "ENV_LOWEST_SPEED",
    "ENV_STALL_SECONDS",
    "Limits",
    "SpeedWatch",
    "read_capped",
    "save_body",
]

ENV_FETCH_MAX = "COMFYLOCK_FETCH_MAX_BYTES"
ENV_LOWEST_SPEED = "COMFYLOCK_LOWEST_SPEED"
ENV_STALL_SECONDS = "COMFYLOCK_STALL_SECONDS"

API_MAX_BYTES = 64 * 1024 * 1024  # decoded size of one API answer (JSON); real ones are < 5 MB
FETCH_MAX_BYTES = 64 * 1024**3  # `resolve --fetch` of a URL with no known size
LOWEST_SPEED = 1024  # bytes per second, measured over ``stall_seconds``
STALL_SECONDS = 60.0


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value > 0 else default


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """The caps in force now: defaults, or the environment's values when set."""

    fetch_max: int = FETCH_MAX_BYTES
    lowest_speed: int = LOWEST_SPEED
    stall_seconds: float = STALL_SECONDS

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            fetch_max=int(_env_number(ENV_FETCH_MAX, FETCH_MAX_BYTES)),
            lowest_speed=int(_env_number(ENV_LOWEST_SPEED, LOWEST_SPEED)),
            stall_seconds=_env_number(ENV_STALL_SECONDS, STALL_SECONDS),
        )


class SpeedWatch:
    """Fails a transfer that moves fewer than ``lowest_speed`` bytes per second over a whole
    window of ``stall_seconds`` (like curl's ``-Y``/``-y``). Feed it the running total."""

    def __init__(self, limits: Limits, what: str, clock=time.monotonic) -> None:
        self._limits = limits
        self._what = what
        self._clock = clock
        self._start = clock()
        self._start_total: int | None = None

    def update(self, total: int) -> None:
        now = self._clock()
        if self._start_total is None:
            self._start, self._start_total = now, total
            return
        elapsed = now - self._start
        if elapsed < self._limits.stall_seconds:
            return
        rate = (total - self._start_total) / elapsed
        if rate < self._limits.lowest_speed:
            raise RemoteError(
                f"{self._what}: stalled (under {self._limits.lowest_speed} bytes/s for "
                f"{self._limits.stall_seconds:g} s)",
                hint=f"run sync again to resume; {ENV_LOWEST_SPEED} and {ENV_STALL_SECONDS} tune this",
            )
        self._start, self._start_total = now, total  # a fresh window


def read_capped(response, limit: int, what: str) -> bytes:
    """The decoded body of a streamed httpx response, refusing more than ``limit`` bytes
    (a compressed answer is inflated piece by piece, never whole) and corrupt encodings."""
    import httpx

    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > limit:
                raise RemoteError(
                    f"{what}: the answer is larger than {limit // (1024 * 1024)} MiB; refused",
                    hint="is the base URL right?",
                )
            chunks.append(chunk)
    except httpx.DecodingError:
        raise RemoteError(
            f"{what}: the answer's compressed body is corrupt", hint="run again later"
        ) from None
    finally:
        response.close()
    return b"".join(chunks)


def save_body(response, path, limits: Limits, what: str) -> int:
    """Stream a response body into ``path``: at most ``limits.fetch_max`` bytes, at the lowest
    speed; a cut connection or a corrupt encoding is a RemoteError. Returns the size."""
    import httpx

    watch = SpeedWatch(limits, what)
    total = 0
    try:
        with open(path, "wb") as fh:
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > limits.fetch_max:
                    raise RemoteError(
                        f"{what}: larger than the --fetch limit of {limits.fetch_max} bytes",
                        hint=f"raise {ENV_FETCH_MAX} if this file is really that big",
                    )
                fh.write(chunk)
                watch.update(total)
    except (httpx.TransportError, httpx.DecodingError) as exc:
        raise RemoteError(f"{what}: {type(exc).__name__}", hint="run again later") from None
    return total
