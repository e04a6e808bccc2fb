"""The downloads a sync will almost surely make, known before its plan (issue 20).

A sync that downloads spends its first ~0.2 s on imports (aria2p's among them), observing
the tree and asking the remotes; aria2c, meanwhile, could already be moving bytes. So the
sync names, from the lock and a few stats, the blobs it will most likely fetch, and aria2c
starts them from its input file at start-up (``Aria2Downloader.start_soon``). A guess that
proves wrong costs little and is never trusted: every byte is verified when the fetch that
the plan makes ingests it, and a fetch that wants other URLs removes the early download and
its bytes.

Only the cases where the guess is the plan's own choice: a blob the store lacks whose target
is empty (nothing there to adopt or to refuse) and that no file the hash cache remembers
had (no copy elsewhere in the tree to adopt), not an input file, fetched from the first team remote when it
is an HTTP mirror or S3 (a presigned URL is made once per blob and process, so the fetch
names the same one; a cold farm's ``--push`` claims a blob before anyone fetches it), or, with no remote at all,
from its first token-free origin group (the URLs ``fetching`` hands aria2c itself). Never
for a remote's origins: the origins serve a farm each blob once (SPEC §7).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import ComfylockError
from ..workflows.tables import INPUT_FOLDER

__all__ = ["likely_downloads"]


def likely_downloads(
    project, *, push: bool, opened: dict | None = None, via: dict | None = None
) -> list[tuple]:
    """(urls, tmp path, size) of each blob this sync will most likely fetch, in lock order;
    [] when nothing can be said before the plan, or the downloads would not fit. ``urls`` is
    a function making them for an S3 remote (presigning waits for botocore's signer); the
    remote it opens goes in ``opened`` (by name), for the plan to use. ``via`` gets, by
    sha256, the remote each download asks: its answer stands in for the plan's HEAD
    (``remotes.probe``)."""
    from ..store.blobs import Store
    from .observe import model_target

    if push:
        return []
    settings = project.settings
    store = Store(settings.store_dir)
    source = _source(project, {} if opened is None else opened)
    if source is None:
        return []
    out: list[tuple] = []  # (urls or a function making them, tmp path, size)
    sized: list[tuple[str, int]] = []  # (sha256, size) of each, for the disk check
    lacking = [
        m
        for m in project.lock.model
        if m.folder != INPUT_FOLDER and not os.path.isfile(store.blob_path(m.sha256))
    ]
    seen = _copies_here(settings.cache_dir, {m.sha256 for m in lacking})
    for model in lacking:
        if model.sha256 in seen:
            continue
        try:
            if os.path.lexists(model_target(model, project.model_paths)):
                continue
            urls = source(model)
        except (ComfylockError, OSError, ValueError):
            continue  # the plan meets it and says what is wrong
        if urls:
            seen.add(model.sha256)
            out.append((urls, store.tmp_path(model.sha256), model.size))
            sized.append((model.sha256, model.size))
    if not _fits(store, sized):
        return []
    if via is not None and project.remote_specs:
        via.update((sha, project.remote_specs[0].name) for sha, _ in sized)
    return out


def _copies_here(cache_dir, shas: set[str]) -> set[str]:
    """The digests a file in this tree may already have (the hash cache remembers one): the
    plan adopts such a copy rather than download it (``observe.local_copies``)."""
    from ..machine.hashcache import LazyHashCache

    cache = LazyHashCache(cache_dir)
    try:
        return cache.known(shas)
    finally:
        cache.close()


def _source(project, opened: dict):
    """The URLs of a model's likely source, as a function; None when none is known early."""
    specs = project.remote_specs
    allow_http = project.allow_http
    if specs:
        if specs[0].kind == "s3":
            from functools import partial

            from ..remotes import open_remote

            # NOTE: presigned on aria2c's start-up thread (the signer's import overlaps the
            # plan); the fetch later gets the same URL (``S3Remote.fetch_url``)
            remote = opened.get(specs[0].name)
            if remote is None:
                remote = opened[specs[0].name] = open_remote(specs[0], allow_http)
            return lambda model: partial(_presigned, remote, model.sha256)
        from ..net.urlpolicy import check_url
        from ..remotes.mirror import MirrorRemote

        mirror = MirrorRemote(specs[0], allow_http)
        return lambda model: (check_url(mirror.fetch_url(model.sha256), allow_http),)

    from .download.urls import url_groups

    def origin(model) -> tuple[str, ...]:
        groups = url_groups(model.source, os.environ, allow_http)
        return tuple(groups[0].urls) if groups and not groups[0].headers else ()

    return origin


def _presigned(remote, sha256: str) -> tuple[str, ...]:
    return (remote.fetch_url(sha256),)


def _fits(store, sized: list[tuple[str, int]]) -> bool:
    """Whether the downloads of (sha256, size) fit the store's disk
    (``fetching.check_disk_space`` refuses them with a message when the plan's own do not)."""
    if not sized:
        return True
    from .fetching import bytes_to_fetch

    need = bytes_to_fetch(store, sized)
    where = Path(store.tmp_dir)
    while not where.exists() and where.parent != where:
        where = where.parent  # the store is made by the fetch, not here
    try:
        return need <= shutil.disk_usage(where).free
    except OSError:
        return False
