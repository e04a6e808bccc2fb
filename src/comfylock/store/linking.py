"""Placing a store blob at a target path: symlink, hardlink or copy (SPEC §5, STYLE rule 9).

``--link auto`` tries symlink, then hardlink, then copy. The first mode that works for a
(store dir, target dir) pair is remembered, so the probing happens once per pair. Only
errnos that mean "this filesystem or OS cannot do that" fall through; anything else (a full
disk, a permission problem on the target) is raised. Every placement is atomic: the link is
made under a temporary name beside the target and then ``os.replace``d over it, so ComfyUI
never sees the file missing. With ``roots``, the target's parent must really (symlinks
resolved) be inside one of them, before and after its directories are created.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path
from typing import Literal

from ..pathsafe import check_parent_within, temp_sibling

__all__ = ["FALLBACK_ERRNOS", "LINK_MODES", "LinkMode", "Linker", "place"]

LinkMode = Literal["symlink", "hardlink", "copy"]
LINK_MODES: tuple[str, ...] = ("auto", "symlink", "hardlink", "copy")
_AUTO_ORDER: tuple[LinkMode, ...] = ("symlink", "hardlink", "copy")

# "the filesystem or platform can't do this kind of link": try the next mode.
FALLBACK_ERRNOS = frozenset(
    e
    for e in (
        errno.EPERM,  # symlinks without privilege (Windows), hardlinks on some FUSE mounts
        errno.EXDEV,  # hardlink across filesystems
        errno.EOPNOTSUPP,
        getattr(errno, "ENOTSUP", errno.EOPNOTSUPP),
        errno.EMLINK,  # too many hardlinks to one inode
        errno.ENOSYS,
        getattr(errno, "EINVAL", None),  # some filesystems answer EINVAL to symlink()
    )
    if e is not None
)


def place(blob: Path, target: Path, mode: LinkMode, roots: tuple[str, ...] | None = None) -> None:
    """Make ``target`` refer to ``blob`` with one mode, atomically. Raises OSError, or
    UnsafePathError when ``roots`` are given and the target's parent leads outside them."""
    if roots is not None:
        check_parent_within(target, roots)
    target.parent.mkdir(parents=True, exist_ok=True)
    if roots is not None:
        check_parent_within(target, roots)  # NOTE: again: mkdir may have followed a new link
    tmp = temp_sibling(target)
    try:
        if mode == "symlink":
            os.symlink(blob, tmp)
        elif mode == "hardlink":
            os.link(blob, tmp)
        else:
            shutil.copyfile(blob, tmp)
            os.chmod(tmp, 0o444)
        os.replace(tmp, target)
        tmp = None
    finally:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


class Linker:
    """Places blobs with a requested mode; ``auto`` probes and remembers per directory pair."""

    def __init__(self, requested: str = "auto", *, roots: tuple[str, ...] | None = None) -> None:
        if requested not in LINK_MODES:
            raise ValueError(f"unknown link mode {requested!r}")
        self.requested = requested
        self.roots = roots
        self._probed: dict[tuple[str, str], LinkMode] = {}
        self.warnings: list[str] = []
        self.used: dict[str, int] = {}

    def _order(self, key: tuple[str, str]) -> tuple[LinkMode, ...]:
        if self.requested != "auto":
            return (self.requested,)  # type: ignore[return-value]
        known = self._probed.get(key)
        if known is None:
            return _AUTO_ORDER
        return _AUTO_ORDER[_AUTO_ORDER.index(known) :]

    def link(self, blob: Path, target: Path) -> LinkMode:
        """Place ``blob`` at ``target``; return the mode used."""
        key = (str(blob.parent.parent.parent), str(target.parent))
        last: OSError | None = None
        for mode in self._order(key):
            try:
                place(blob, target, mode, self.roots)
            except OSError as exc:
                if self.requested != "auto" or exc.errno not in FALLBACK_ERRNOS:
                    raise
                last = exc
                continue
            if mode == "copy" and self.requested == "auto" and not self.warnings:
                self.warnings.append(
                    f"cannot symlink or hardlink from the store into {target.parent} "
                    f"({last.strerror if last else 'unsupported'}); copying files there"
                )
            self._probed[key] = mode
            self.used[mode] = self.used.get(mode, 0) + 1
            return mode
        assert last is not None
        raise last
