"""Pin a whole Hugging Face repo: a commit and every file's path, size and sha256.

Download-and-load nodes fetch a repo's newest revision at run time; a lock pins it instead:

1. ``GET {HF_ENDPOINT}/api/models/{repo}/revision/{rev}`` → ``sha``, the commit ``rev`` (the
   default branch, ``main``) points at now;
2. ``GET {HF_ENDPOINT}/api/models/{repo}/tree/{commit}?recursive=true`` → every entry
   (``HfClient.tree_entries``: ``[{type, path, oid, size, lfs?: {oid, size}}]``, paged by a
   ``Link`` header followed only on the hub's own origin);
3. an LFS entry's ``lfs.oid`` *is* the file's sha256. A small non-LFS file (config, tokenizer
   text) has only its git blob id (``oid`` = sha1 of ``"blob <size>\\0"`` + bytes), so its
   bytes are fetched once from ``/{repo}/resolve/{commit}/{path}`` (at most
   ``MAX_SMALL_FILE`` bytes; the hub keeps bigger files in LFS), checked against that git
   id, and hashed: the lock then names every file by sha256 and ``sync`` verifies each one
   like any other blob.

Everything goes through the shared HTTP client, its retries and the response cache; the
listing and the small files' digests are cached by commit, which never changes. Gated and
private repos need ``HF_TOKEN`` (``AuthError``, exit 3, with that hint).
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING
from urllib.parse import quote

import msgspec

from ...basics.redact import redact
from ...errors import IntegrityError, NotFoundError, RemoteError
from ...lock.structs import LockedSnapshot, SnapshotFile
from ...net.http import TTL_METADATA, TTL_SEARCH, convert
from ...net.send import send
from ...pathsafe import unsafe_reason
from .huggingface import HfClient, HfRef, HfTreeEntry, resolve_url

if TYPE_CHECKING:
    import httpx

__all__ = ["MAX_FILES", "MAX_SMALL_FILE", "HfSnapshots", "git_blob_id"]

MAX_SMALL_FILE = 10 * 1024 * 1024  # the hub refuses non-LFS files above 10 MB
MAX_FILES = 10_000
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class _Revision(msgspec.Struct, frozen=True):
    sha: str


def _allowed(path: str, allow: tuple[str, ...]) -> bool:
    """``huggingface_hub``'s allow-patterns: ``fnmatch`` on the file's path in the repo."""
    if not allow:
        return True
    from fnmatch import fnmatch

    return any(fnmatch(path, pattern) for pattern in allow)


def git_blob_id(data: bytes) -> str:
    """The git blob id of ``data`` (what the tree API calls a non-LFS file's ``oid``)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class HfSnapshots(HfClient):
    """The hub client with the snapshot calls (same HTTP client, cache, retries, tokens)."""

    def pin_snapshot(
        self, repo: str, dir: str, *, revision: str = "main", allow: tuple[str, ...] = ()
    ) -> LockedSnapshot:
        """The repo at ``revision`` pinned to its commit, every file with size and sha256
        (only the files an ``allow`` pattern matches, as the hub's own client filters them,
        when the node gives patterns).

        Raises:
            NotFoundError: the revision does not exist.
            AuthError: gated, private or unknown repo (the hub answers those alike).
            IntegrityError: a small file's bytes do not match the tree's git id.
            RemoteError: other failures, an unsafe path, or more than ``MAX_FILES`` files.
        """
        commit = self._commit(repo, revision)
        entries = self.tree_entries(repo, commit, recursive=True)
        files = [e for e in entries if e.type == "file" and _allowed(e.path, allow)]
        if len(files) > MAX_FILES:
            raise RemoteError(f"{repo} has {len(files)} files; snapshots hold at most {MAX_FILES}")
        for entry in files:
            if unsafe_reason(entry.path):
                raise RemoteError(f"{repo}: unsafe path {entry.path!r} in the hub's file list")
        from ...net.concurrency import map_concurrent

        pinned = map_concurrent(lambda e: self._file(repo, commit, e), files, workers=8)
        return LockedSnapshot(
            repo=repo, revision=commit, dir=dir, allow=tuple(allow), file=tuple(pinned)
        )

    def _commit(self, repo: str, revision: str) -> str:
        url = self._api(repo, "model", "revision", quote(revision, safe=""))
        data = self._get_json(url, kind="hf-revision", ttl=TTL_SEARCH)
        if data is None:
            raise NotFoundError(redact(f"GET {url}: 404 Not Found"), hint="check the revision")
        sha = convert(data, _Revision, f"the revision of {repo}").sha.lower()
        if not _HEX40.match(sha):
            raise RemoteError(
                redact(f"GET {url}: no commit in the answer"), hint="is HF_ENDPOINT right?"
            )
        return sha

    def _file(self, repo: str, commit: str, entry: HfTreeEntry) -> SnapshotFile:
        if entry.sha256 and entry.lfs is not None:
            return SnapshotFile(path=entry.path, size=entry.lfs.size, sha256=entry.sha256)
        size, sha256 = self._small_file(repo, commit, entry)
        return SnapshotFile(path=entry.path, size=size, sha256=sha256)

    def _small_file(self, repo: str, commit: str, entry: HfTreeEntry) -> tuple[int, str]:
        """Fetch a small non-LFS file once, check it against its git id: (size, sha256)."""
        url = resolve_url(HfRef(repo=repo, revision=commit, path=entry.path), self.endpoints.hf)
        if self._cache is not None:  # keyed by commit: the bytes behind it never change
            hit = self._cache.get("GET", url, ttl=TTL_METADATA)
            if hit is not None and hit.status == 200:
                size, _, digest = hit.body.decode().partition(" ")
                if size.isdigit() and _HEX64.match(digest):
                    return int(size), digest
        if entry.size is None or entry.size > MAX_SMALL_FILE or not entry.oid:
            raise RemoteError(f"{repo}/{entry.path}: neither LFS nor a small git file; not pinned")
        data = self._get_bytes(url).content
        if len(data) != entry.size or git_blob_id(data) != entry.oid.lower():
            raise IntegrityError(
                f"{repo}/{entry.path} at {commit[:12]}: the hub served other bytes than its file list names",
                hint="run resolve again; if it persists, the hub or a mirror in between is broken",
            )
        digest = hashlib.sha256(data).hexdigest()
        if self._cache is not None:
            self._cache.put("GET", url, 200, f"{len(data)} {digest}".encode(), kind="hf-sha256")
        return len(data), digest

    def _get_bytes(self, url: str) -> httpx.Response:
        if self._client is None:
            raise RemoteError(f"cannot fetch {redact(url)} offline")
        response = send(
            self._client,
            "GET",
            url,
            endpoints=self.endpoints,
            headers={"Accept-Encoding": "identity"},
            follow="same-origin",
            retry=self._retry,
        )
        if response.status_code >= 400:
            raise self._error(url, response, method="GET")
        return response
