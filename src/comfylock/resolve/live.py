"""The real ``resolve.Sources``: local files, Civitai, Hugging Face, plain URLs, the
known-models index and node packs, behind one object with the network rules of SPEC §4/§6.

``offline`` turns every network lookup into "not found" (the lock, local files, workflow
metadata and caches still count). Everything network-shaped is imported lazily so that
``check`` never pays for httpx.
"""

from __future__ import annotations

import re
import threading
from pathlib import PurePosixPath
from urllib.parse import parse_qs, urlsplit

import msgspec

from ..config import Config
from ..errors import InputError, NotFoundError, RemoteError
from ..lock.structs import LockedNode, LockedSnapshot, UrlSource
from ..settings import Settings
from ..workflows.refs import ModelRef, NodeUse
from .core import About, Found, NodeCandidate

__all__ = ["LiveSources"]

_CIVITAI_DOWNLOAD = re.compile(r"/api/download/models/(\d+)")
CIVITAI_PIN = re.compile(r"^civitai:(\d+)(?:@(\d+))?$")


# Suggestions look in at most this many of the lock's Hugging Face repos, and list at most
# this many directories in each: a courtesy must not cost a minute of API calls.
HF_SUGGEST_REPOS = 5
HF_SUGGEST_LISTINGS = 20


class LiveSources:
    """Implements ``resolve.Sources`` against this machine and the configured endpoints."""

    def __init__(
        self,
        settings: Settings,
        config: Config,
        *,
        offline: bool = False,
        refresh: bool = False,
        fetch: bool = False,
    ) -> None:
        self.settings = settings
        self.config = config
        self.offline = offline
        self.refresh = refresh
        self.fetch = fetch
        self._inventory = None
        self._hash_cache = None
        self._clients: dict[str, object] = {}
        self._lock = threading.Lock()  # resolve calls in from several worker threads
        self._scan_lock = threading.Lock()

    # -- plumbing --

    def _net(self, name: str):
        """Lazily built network clients, shared by all threads (httpx.Client is thread-safe)."""
        with self._lock:
            return self._net_locked(name)

    def _net_locked(self, name: str):
        if name not in self._clients:
            from ..net.endpoints import Endpoints
            from ..net.httpcache import open_cache
            from ..net.send import make_client

            if "http" not in self._clients:
                self._clients["http"] = make_client()
                self._clients["cache"] = open_cache(self.settings)
                self._clients["endpoints"] = Endpoints.from_env()
            http, cache, endpoints = (
                self._clients["http"],
                self._clients["cache"],
                self._clients["endpoints"],
            )
            if name == "civitai":
                from .sources.civitai import CivitaiClient

                self._clients[name] = CivitaiClient(http, endpoints, cache, refresh=self.refresh)
            elif name == "hf":
                from .sources.hfsnapshot import HfSnapshots  # an HfClient that also pins repos

                self._clients[name] = HfSnapshots(http, endpoints, cache, refresh=self.refresh)
            elif name == "nodes":
                from .sources.registry import NodeResolver

                self._clients[name] = NodeResolver(http, endpoints, cache, refresh=self.refresh)
            elif name == "modellist":
                from .sources.modellist import load_model_list

                self._clients[name] = load_model_list(http, endpoints, cache, refresh=self.refresh)
        return self._clients[name]

    def close(self) -> None:
        if "http" in self._clients:
            self._clients["http"].close()
            self._clients["cache"].close()
        if self._hash_cache is not None:
            self._hash_cache.close()

    # -- local files --

    def _local_index(self):
        with self._scan_lock:  # the first worker thread scans; the others wait for its result
            return self._local_index_locked()

    def _local_index_locked(self):
        if self._inventory is None:
            from ..machine.hashcache import HashCache
            from ..machine.inventory import scan_tree
            from ..machine.modelpaths import load_model_paths

            root, models = self.settings.comfyui_root, self.settings.models_dir
            if self._hash_cache is None:
                self._hash_cache = HashCache.in_dir(self.settings.cache_dir)
            if root is None and models is None:
                self._inventory = False
            else:
                self._inventory = scan_tree(
                    load_model_paths(root, models), self._hash_cache, hash=False
                )
        return self._inventory

    def local_folders(self, folders: tuple[str, ...], name: str) -> list[str]:
        """Those of ``folders`` whose directories hold ``name`` here (by that name only)."""
        inventory = self._local_index()
        if not inventory:
            return []
        return [f for f in folders if inventory.find(f, name) is not None]

    def local_file(self, folder: str, name: str) -> Found | None:
        inventory = self._local_index()
        if not inventory:
            return None
        match = inventory.find(folder, name)
        if match is None and folder == "embeddings":
            match = next(
                (
                    inventory.find(folder, name + ext)
                    for ext in (".safetensors", ".pt", ".bin")
                    if inventory.find(folder, name + ext)
                ),
                None,
            )
        if (
            match is None
        ):  # found by name elsewhere in the tree (a wrong folder still has the bytes)
            same = inventory.by_name(PurePosixPath(name).name)
            match = same[0] if len(same) == 1 else None
        if match is None:
            return None
        from ..machine.hashcache import cached_hash

        digest = cached_hash(match.path, self._hash_cache)
        return Found(
            sha256=digest.sha256,
            size=digest.size,
            blake3=digest.blake3,
            source=None,
            file_name=PurePosixPath(match.name).name,
        )

    # -- input files --

    def input_files(self, workflow: str, name: str) -> list[Found]:
        """The files an input reference names here: beside the workflow, then in the ComfyUI
        root's input/ (``machine.inputfiles``), each hashed through the hash cache."""
        from ..machine.hashcache import HashCache, cached_hash
        from ..machine.inputfiles import candidates

        found = []
        places = candidates(self.settings.project_dir, self.settings.comfyui_root, workflow, name)
        for source, path in places:
            with self._scan_lock:
                if self._hash_cache is None:
                    self._hash_cache = HashCache.in_dir(self.settings.cache_dir)
            digest = cached_hash(path, self._hash_cache)
            found.append(
                Found(sha256=digest.sha256, size=digest.size, blake3=digest.blake3, source=source)
            )
        return found

    # -- what sources publish (licences, permissions, base model, trained words) --

    def about(self, source) -> About | None:
        """What ``source`` publishes about its file; None offline, for sources that publish
        nothing, and when the lookup fails (it never fails a resolve)."""
        if self.offline:
            return None
        from ..lock.structs import CivitaiSource, HuggingFaceSource

        try:
            if isinstance(source, CivitaiSource) and source.model_id:
                found = self._net("civitai").about(source.model_id, source.version_id)
                return None if found is None else About(**found)
            if isinstance(source, HuggingFaceSource):
                info = self._net("hf").model_info(
                    source.repo, source.revision, repo_type=source.repo_type or "model"
                )
                return None if info is None else About(**info.about())
        except RemoteError:
            return None
        return None

    # -- Civitai --

    def civitai_by_hash(self, sha256: str) -> Found | None:
        if self.offline:
            return None
        hit = self._net("civitai").by_hash(sha256)
        return (
            None
            if hit is None
            else Found(
                sha256=hit.sha256, size=hit.size, blake3=hit.blake3, source=hit.to_source("hash")
            )
        )

    def civitai_search(self, folder: str, name: str) -> Found | None:
        if self.offline:
            return None
        from ..lock.keys import lock_keys

        names = [key.split("/", 1)[1] for key in lock_keys(folder, name)]
        hits = [h for n in names for h in self._net("civitai").search_by_name(n, folder)]
        for hit in hits:
            if hit.sha256 and hit.size is not None:
                return Found(
                    sha256=hit.sha256,
                    size=hit.size,
                    blake3=hit.blake3,
                    source=hit.to_source("name"),
                )
        return None

    def suggest(
        self, folder: str, name: str, sha256: str | None = None, hf_repos: tuple = ()
    ) -> list:
        """Candidates for an unresolved reference (``machine.suggest``): local files with the
        same bytes or a similar name, Civitai files with a similar name, and files of a
        similar name in the Hugging Face repos (repo, revision) the lock already uses."""
        from ..basics.units import human_size
        from ..machine.suggest import Candidate, local_suggestions, rank_by_name

        out = []
        inventory = self._local_index()
        if inventory:
            out += local_suggestions(folder, name, inventory.files, sha256=sha256)
        if self.offline:
            return out
        candidates = [
            Candidate(
                kind="civitai",
                source=f"civitai:{hit.model_id}@{hit.version_id}",
                file_name=hit.file_name,
                detail=", ".join(
                    p
                    for p in (
                        f"Civitai {hit.model_name!r}" if hit.model_name else "Civitai",
                        hit.base_model,
                        human_size(hit.size) if hit.size is not None else None,
                    )
                    if p
                ),
            )
            for hit in self._net("civitai").search(name, folder)
        ]
        for repo, revision in hf_repos[:HF_SUGGEST_REPOS]:
            candidates += self._hf_candidates(repo, revision)
        return out + rank_by_name(folder, name, candidates)

    def _hf_candidates(self, repo: str, revision: str) -> list:
        """Model files of one repo at ``revision``, two directory levels deep at most."""
        from ..basics.units import human_size
        from ..machine.suggest import Candidate
        from ..workflows.reader import is_model_filename

        out, todo, listed = [], [""], 0
        while todo and listed < HF_SUGGEST_LISTINGS:
            directory = todo.pop(0)
            listed += 1
            for entry in self._net("hf").tree_entries(repo, revision, directory):
                if entry.type == "directory" and entry.path.count("/") < 2:
                    todo.append(entry.path)
                elif entry.type == "file" and is_model_filename(entry.path):
                    size = entry.lfs.size if entry.lfs else entry.size
                    out.append(
                        Candidate(
                            kind="huggingface",
                            source=f"hf:{repo}@{revision}/{entry.path}",
                            file_name=PurePosixPath(entry.path).name,
                            detail=f"Hugging Face {repo}/{entry.path}"
                            + (f", {human_size(size)}" if size is not None else ""),
                        )
                    )
        return out

    def _civitai_version_file(
        self, version_id: int, want: str, file_id: int | None, matched_by: str
    ) -> Found | None:
        from .sources.civitai import hits_from_version

        version = self._net("civitai").version(version_id)
        if version is None:
            return None
        hits = hits_from_version(version)
        pick = (
            (next((h for h in hits if h.file_id == file_id), None) if file_id else None)
            or next((h for h in hits if h.file_name == want), None)
            or next((h for h in hits if h.primary), None)
            or (hits[0] if len(hits) == 1 else None)
        )
        if pick is None or not pick.sha256:
            return None
        return Found(
            sha256=pick.sha256,
            size=pick.size,
            blake3=pick.blake3,
            source=pick.to_source(matched_by),
            file_name=pick.file_name,
        )

    # -- hand pins and URLs --

    def hand_pin(self, spec: str, ref: ModelRef) -> Found | None:
        civitai = CIVITAI_PIN.match(spec.strip())
        if civitai:
            if self.offline:
                return None
            model_id, version_id = int(civitai.group(1)), civitai.group(2)
            if version_id is None:
                model = self._net("civitai").model(model_id)
                if model is None or not model.modelVersions:
                    return None
                version_id = model.modelVersions[0].id
            return self._civitai_version_file(
                int(version_id), PurePosixPath(ref.name).name, None, "pin"
            )
        if spec.startswith("hf:"):
            from .sources.huggingface import parse_hf_spec

            return self._hf(parse_hf_spec(spec), "pin", ref.sha256)
        if "://" in spec:
            if self.offline and ref.sha256:
                return self._url_by_bytes_here(spec, ref)
            found = self.from_url(spec, ref.sha256)
            return (
                None
                if found is None
                else msgspec.structs.replace(
                    found,
                    source=msgspec.structs.replace(found.source, matched_by="pin")
                    if found.source
                    else None,
                )
            )
        raise InputError(
            f"comfylock.toml [sources]: cannot read {spec!r}",
            hint="use civitai:MODEL[@VERSION], hf:OWNER/REPO[@REV]/PATH or an https URL",
        )

    def _hf(self, ref, matched_by: str, declared: str | None = None) -> Found | None:
        """Pin a hub file; with a declared sha256 the hub's other bytes are never pinned: the
        repo's history is searched for a revision that has the declared ones (also when the
        file is gone from the revision named)."""
        if self.offline:
            return None
        hf = self._net("hf")
        try:
            pin = hf.pin(ref)
        except NotFoundError:
            older = self._hf_history(hf, ref, declared)[0] if declared else None
            return None if older is None else _hf_found(older, "hash")
        if declared and pin.sha256 and pin.sha256 != declared:
            older, note = self._hf_history(hf, pin.ref, declared)
            if older is None:
                found = _hf_found(pin, matched_by)
                return msgspec.structs.replace(found, note=note)
            pin, matched_by = older, "hash"
        found = _hf_found(pin, matched_by)
        return found if found.sha256 else msgspec.structs.replace(found, sha256=declared)

    @staticmethod
    def _hf_history(hf, ref, declared: str):
        """(the pin of the newest commit from ``ref.revision`` whose file has ``declared``,
        or None; why not)."""
        from .sources.huggingface import REVISION_SEARCH_LIMIT

        try:
            older, looked = hf.find_revision(ref, declared)
        except RemoteError as exc:  # the search is best effort; the reference stays unpinned
            why = exc.message.rsplit(": ", 1)[-1]  # the status, without the mirror's host
            return None, f"its history could not be searched ({why})"
        if older is not None:
            return older, None
        bound = " (the search stops there)" if looked >= REVISION_SEARCH_LIMIT else ""
        return None, (
            f"no earlier revision has the declared bytes: looked at {looked} commits of "
            f"{ref.repo} up to {ref.revision[:12]}{bound}"
        )

    def from_url(self, url: str, declared_sha256: str | None) -> Found | None:
        from ..net.endpoints import Endpoints

        endpoints = Endpoints.from_env()
        from .sources.huggingface import parse_hf_url

        hf_ref = parse_hf_url(url, endpoint=endpoints.hf)
        if hf_ref is not None:
            return self._hf(hf_ref, "url", declared_sha256)
        host = urlsplit(url).hostname or ""
        civitai = _CIVITAI_DOWNLOAD.search(urlsplit(url).path)
        if civitai and (host.endswith("civitai.com") or url.startswith(endpoints.civitai)):
            if self.offline:
                return None
            file_id = parse_qs(urlsplit(url).query).get("fileId", [None])[0]
            found = self._civitai_version_file(
                int(civitai.group(1)), "", int(file_id) if file_id else None, "url"
            )
            if found is not None and declared_sha256 and found.sha256 != declared_sha256:
                # the declared bytes may be another file on Civitai: ask by hash
                return self.civitai_by_hash(declared_sha256) or found
            return found
        return self._plain_url(url, declared_sha256)

    def _plain_url(self, url: str, declared_sha256: str | None) -> Found | None:
        from .sources.url import check_url

        check_url(url, self.config.allow_http)
        if self.offline:
            return None
        if self.fetch and not declared_sha256:
            return self._fetch(url)
        if not declared_sha256:
            return None  # a URL alone does not say which bytes: use --fetch or declare the hash
        from .sources.url import probe

        info = probe(
            self._net("http"),
            url,
            allow_http=self.config.allow_http,
            endpoints=self._net("endpoints"),
        )
        if info.size is None or info.is_html:
            return None
        # NOTE: a server that publishes the sha256 (a 64-hex ETag) may contradict the
        # declaration; then those bytes are reported, never pinned. Otherwise the declared
        # sha256 is pinned and every download is verified against it.
        return Found(
            sha256=info.sha256 or declared_sha256,
            size=info.size,
            source=UrlSource(matched_by="url", url=url),
        )

    def _url_by_bytes_here(self, url: str, ref: ModelRef) -> Found | None:
        """Offline, a URL with a declared sha256 (``add --offline``): only the size was missing,
        and verified bytes on this machine tell it: a store blob, or the file the pin names in
        the models tree when it hashes to the declaration. Hub and Civitai URLs pin through
        their APIs (revision, ids), so they wait for the network."""
        from .sources.url import check_url

        check_url(url, self.config.allow_http)
        host = urlsplit(url).hostname or ""
        if _CIVITAI_DOWNLOAD.search(urlsplit(url).path) or host.endswith(
            ("huggingface.co", "hf.co")
        ):
            return None
        source = UrlSource(matched_by="pin", url=url)
        from ..store.blobs import Store

        try:  # the store holds only verified blobs
            size = Store(self.settings.store_dir).blob_path(ref.sha256).stat().st_size
            return Found(sha256=ref.sha256, size=size, source=source)
        except OSError:
            pass  # not in the store: the models tree may have it
        here = self.local_file(ref.folder, ref.name)
        if here is None or here.sha256 != ref.sha256:
            return None
        return Found(sha256=here.sha256, size=here.size, blake3=here.blake3, source=source)

    def _fetch(self, url: str) -> Found | None:
        """Download once straight into the store (resolve --fetch); sync then has nothing to do."""
        from .fetch import fetch_into_store

        digest = fetch_into_store(self.settings, url, allow_http=self.config.allow_http)
        return Found(
            sha256=digest.sha256,
            size=digest.size,
            blake3=digest.blake3,
            source=UrlSource(matched_by="url", url=url),
        )

    # -- whole-repo snapshots --

    def snapshot(
        self, repo: str, dir: str, *, allow: tuple[str, ...] = ()
    ) -> LockedSnapshot | None:
        """The repo's default branch pinned with every file (those ``allow`` matches, when
        given); None offline or when absent."""
        if self.offline:
            return None
        try:
            return self._net("hf").pin_snapshot(repo, dir, allow=allow)
        except NotFoundError:
            return None

    # -- known-models index --

    def model_list(self, folder: str, name: str) -> list[str]:
        if self.offline:
            return []
        return [e.url for e in self._net("modellist").lookup(folder, name) if e.url]

    # -- node packs --

    def node_candidates(self, node: NodeUse) -> list[NodeCandidate]:
        if self.offline:  # the node's own hints, the shipped table and class map
            from .sources.registry import offline_candidates

            found = offline_candidates(
                node.class_type, cnr_id=node.cnr_id, aux_id=node.aux_id, ver=node.ver
            )
            return [_to_candidate(c) for c in found]
        found = self._net("nodes").candidates_for_class(
            node.class_type, cnr_id=node.cnr_id, aux_id=node.aux_id, ver=node.ver
        )
        return [_to_candidate(c) for c in found]

    def settle_pin(
        self, class_name: str, candidates: list[NodeCandidate], pin: str
    ) -> NodeCandidate:
        from .sources.registry import PackCandidate, settle

        packs = [
            PackCandidate(id=c.id, repo=c.repo, via="registry", version=c.version, commit=c.commit)
            for c in candidates
        ]
        chosen = settle(class_name, packs, {class_name: pin})
        return _to_candidate(chosen)

    def pin_node(self, candidate: NodeCandidate) -> LockedNode | None:
        """The candidate at a commit; None offline when nothing known offline names one (a
        local repo is no network: it is pinned offline too)."""
        from ..net.urlpolicy import is_local_repo
        from .sources.registry import PackCandidate, pin_pack

        if candidate.commit and re.fullmatch(r"[0-9a-f]{40}", candidate.commit):
            return LockedNode(
                id=candidate.id,
                repo=candidate.repo,
                commit=candidate.commit,
                version=candidate.version,
            )
        if self.offline and not is_local_repo(candidate.repo):  # `git ls-remote` is the network
            return None
        pack = PackCandidate(
            id=candidate.id,
            repo=candidate.repo,
            via="registry",
            version=candidate.version,
            commit=candidate.commit,
        )
        return pin_pack(pack, allow_http=self.config.allow_http)


def _hf_found(pin, matched_by: str) -> Found:
    return Found(sha256=pin.sha256, size=pin.size, source=pin.to_source(matched_by))


def _to_candidate(pack) -> NodeCandidate:
    return NodeCandidate(id=pack.id, repo=pack.repo, version=pack.version, commit=pack.commit)
