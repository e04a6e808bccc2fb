"""Downloading a verified blob into the store's ``tmp/``: the protocol and the backend choice.

Backends only move bytes into ``dest_tmp`` (resuming what is there); the store verifies them
(``Store.ingest``) before anything is placed. httpx and aria2p are imported only here, on the
fetch path, so a sync with nothing to download never pays for them (SPEC §7).
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ...errors import RemoteError
from ...store.hashing import Expected

__all__ = ["Downloader", "ProgressFn", "discard_partial", "make_downloader", "partial_size"]

ProgressFn = Callable[[int], None]  # called with the number of bytes of the file done so far


def partial_size(dest_tmp: Path) -> int:
    """Bytes of a download already in ``dest_tmp`` (0 when there is none)."""
    try:
        return dest_tmp.stat().st_size
    except OSError:
        return 0


def discard_partial(dest_tmp: Path) -> None:
    """Remove a download's bytes and aria2c's control file beside them (``<name>.aria2``)."""
    for path in (dest_tmp, dest_tmp.with_name(dest_tmp.name + ".aria2")):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


class Downloader:
    """Fetch one file from any of ``urls`` (mirrors of the same bytes) into ``dest_tmp``.

    The backends share this entry point and differ in ``_fetch``; anything with the same
    ``fetch``/``close`` methods (a test's fake) can stand in."""

    def fetch(
        self,
        urls: Sequence[str],
        dest_tmp: Path,
        expected: Expected,
        size: int,
        headers: Mapping[str, str],
        progress: ProgressFn | None = None,
    ):
        """Download into ``dest_tmp``; returns a ``hashing.StreamHasher`` that read the
        bytes as they arrived (the store then re-reads nothing) or None."""
        if not urls:
            raise RemoteError(
                "no download source in the lock",
                hint="add a source with `comfylock add` or resolve again",
            )
        return self._fetch(list(urls), dest_tmp, expected, size, dict(headers), progress)

    def _fetch(
        self,
        urls: list[str],
        dest_tmp: Path,
        expected: Expected,
        size: int,
        headers: dict[str, str],
        progress: ProgressFn | None,
    ) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections and child processes (idempotent)."""


def make_downloader(
    *,
    tmp_dir: Path,
    jobs: int,
    use_aria2: bool,
    cancel: threading.Event,
    allow_http: Sequence[str] = (),
) -> tuple[Downloader, str | None]:
    """The aria2 backend when asked for and aria2c is installed, else httpx; plus a note.

    ``allow_http`` is checked on every redirect too (SPEC §6), not only on the lock's URLs.
    """
    if use_aria2:
        exe = shutil.which("aria2c")
        if exe is not None:
            from .aria2_backend import Aria2Downloader

            return (
                Aria2Downloader(
                    tmp_dir=tmp_dir,
                    jobs=jobs,
                    cancel=cancel,
                    executable=exe,
                    allow_http=allow_http,
                ),
                None,
            )
        note = (
            "aria2c not found; using the built-in downloader (install aria2 for faster downloads)"
        )
    else:
        note = None
    from .httpx_backend import HttpxDownloader

    return HttpxDownloader(cancel=cancel, allow_http=allow_http), note
