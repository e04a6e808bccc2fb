"""Node packs: which repository provides a node class, and which commit to lock.

Why tiers (SPEC §4): what the workflow itself says is best, then the Comfy Registry, then
ComfyUI-Manager's community map. Within a tier every claimant is returned: a class claimed by
several packs is *ambiguous* and only a ``[nodes]`` pin in comfylock.toml settles it
(``settle``), never "first match wins".

0. (after the node's own hints) the shipped custom-node knowledge table, offline: the pack
   whose code defines the class, or every such pack (ambiguous); no request at all.
1. hints on the node: ``cnr_id`` (registry id; ``comfy-core`` is never a pack) →
   ``GET /nodes/{id}`` (the registry 302-redirects other spellings to the canonical id);
   ``aux_id`` ``owner/repo`` → ``https://github.com/owner/repo``; ``ver`` may be a semver,
   a 40-hex commit or ``unknown``.
2. the registry's class lookup: ``GET /nodes/search?comfy_node_search=<Class>`` (all
   claimants), else ``GET /comfy-nodes/<Class>/node`` (its single best answer).
3. a map in ``extension-node-map.json`` format from ``COMFYLOCK_NODE_MAP_URL``: a pack that
   *preempts* the class wins; else every pack listing it; else every ``nodename_pattern``
   match. The core entry (ComfyUI itself) is never a candidate.
4. the class map shipped with comfylock (``nodetable.mapped_packs``), offline.

``pin_pack`` needs no HTTP: a commit ``ver`` is used as is; else ``git ls-remote`` finds the
tag of the version (``v1.2.3`` or ``1.2.3``, peeled), else the default branch's HEAD. Repos
must be https, a local path or ``file://``; ``http://`` and ``git://`` only for loopback
hosts and ``allow-http`` hosts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote, urlencode, urlsplit

import msgspec

from ...basics.redact import redact
from ...errors import InputError, NotFoundError, RemoteError
from ...lock.structs import LockedNode
from ...net.endpoints import Endpoints
from ...net.gitrun import run_git
from ...net.http import TTL_METADATA, TTL_SEARCH, ServiceClient, convert, fetch_document
from ...net.limits import Limits
from ...net.send import Retry
from ...net.urlpolicy import check_repo, git_env

if TYPE_CHECKING:
    import httpx

    from ...net.httpcache import HttpCache

__all__ = [
    "CORE_PACK_ID",
    "NodeMap",
    "NodeResolver",
    "PackCandidate",
    "RegistryNode",
    "build_node_map",
    "distinct",
    "is_commit",
    "load_node_map",
    "ls_remote",
    "normalise_repo",
    "offline_candidates",
    "pack_id_for_repo",
    "pin_pack",
    "settle",
    "shipped_map_candidates",
    "table_candidates",
]

CORE_PACK_ID = "comfy-core"
CORE_REPOS = frozenset(
    {"https://github.com/comfyanonymous/comfyui", "https://github.com/comfy-org/comfyui"}
)
Via = Literal["cnr_id", "aux_id", "table", "registry", "preemption", "node-map", "pattern", "pin"]
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_OWNER_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.][A-Za-z0-9_.-]*$")


def is_commit(value: str | None) -> bool:
    return bool(value) and bool(_COMMIT.match(value.strip().lower()))


class PackCandidate(msgspec.Struct, frozen=True, kw_only=True):
    """A pack that may provide a class; ``via`` says which tier found it."""

    id: str
    repo: str
    via: Via
    version: str | None = None
    commit: str | None = None
    registry_id: str | None = None


# --- registry shapes ------------------------------------------------------------------------


class _NodeVersion(msgspec.Struct, frozen=True):
    version: str | None = None


class RegistryNode(msgspec.Struct, frozen=True):
    id: str
    name: str | None = None
    repository: str | None = None
    latest_version: _NodeVersion | None = None


class _SearchPage(msgspec.Struct, frozen=True):
    nodes: list[RegistryNode] = []


# --- repo helpers ---------------------------------------------------------------------------


def normalise_repo(repo: str) -> str:
    """A comparison key: lower-case, no trailing slash or ``.git``."""
    key = repo.strip().rstrip("/").lower()
    return key[:-4] if key.endswith(".git") else key


def pack_id_for_repo(repo: str) -> str:
    """``owner/repo`` for a hosted repo URL; the directory name for a local one."""
    parts = urlsplit(repo)
    segments = [s for s in parts.path.split("/") if s]
    if parts.scheme.lower() in ("https", "http", "git") and len(segments) >= 2:
        owner, name = segments[-2], segments[-1]
        return f"{owner}/{name[:-4] if name.endswith('.git') else name}"
    name = segments[-1] if segments else repo
    return name[:-4] if name.endswith(".git") else name


def ls_remote(
    repo: str,
    patterns: Iterable[str] = (),
    *,
    allow_http: Iterable[str] = (),
    timeout: float | None = None,
) -> dict[str, str]:
    """``git ls-remote`` as {ref: commit}; only the transports ``check_repo`` allows. Bounded
    like a download (``net.gitrun``), and by a wall clock: ``timeout``, else the stall
    limit (one small answer never takes longer)."""
    allow_http = tuple(allow_http)
    check_repo(repo, allow_http)
    config = [
        "-c",
        "protocol.allow=never",
        "-c",
        "protocol.https.allow=always",
        "-c",
        "protocol.file.allow=always",
    ]
    if urlsplit(repo).scheme.lower() in ("http", "git"):  # check_repo allowed this host
        config += ["-c", "protocol.http.allow=always", "-c", "protocol.git.allow=always"]
    target = os.path.expanduser(repo) if repo.startswith("~") else repo
    limits = Limits.from_env()
    done = run_git(
        [*config, "ls-remote", "--", target, *patterns],
        env=git_env(repo),
        what=f"git ls-remote {repo}",
        wall=timeout if timeout is not None else limits.stall_seconds,
        limits=limits,
    )
    if done.returncode != 0:
        first = next((line for line in done.stderr.splitlines() if line.strip()), "failed")
        raise RemoteError(
            redact(f"git ls-remote {repo}: {first.strip()}"),
            hint="check the repo URL and your network",
        )
    refs: dict[str, str] = {}
    for line in done.stdout.splitlines():
        sha, _, ref = line.partition("\t")
        if is_commit(sha) and ref:
            refs[ref.strip()] = sha.strip().lower()
    return refs


def pin_pack(
    candidate: PackCandidate, *, allow_http: Iterable[str] = (), timeout: float | None = None
) -> LockedNode:
    """Lock a candidate to a commit (see the module docstring for the order)."""
    allow_http = tuple(allow_http)
    check_repo(candidate.repo, allow_http)
    if candidate.commit and is_commit(candidate.commit):
        return LockedNode(
            id=candidate.id,
            repo=candidate.repo,
            commit=candidate.commit.lower(),
            version=candidate.version,
        )
    if candidate.version:
        bare = candidate.version[1:] if candidate.version[:1] in "vV" else candidate.version
        tags = [f"refs/tags/v{bare}", f"refs/tags/{bare}"]
        patterns = [p for tag in tags for p in (tag, f"{tag}^{{}}")]
        refs = ls_remote(candidate.repo, patterns, allow_http=allow_http, timeout=timeout)
        for tag in tags:
            commit = refs.get(f"{tag}^{{}}") or refs.get(tag)  # peeled first: annotated tags
            if commit:
                return LockedNode(
                    id=candidate.id, repo=candidate.repo, commit=commit, version=candidate.version
                )
    refs = ls_remote(candidate.repo, ["HEAD"], allow_http=allow_http, timeout=timeout)
    if "HEAD" not in refs:
        raise NotFoundError(redact(f"git ls-remote {candidate.repo}: no HEAD (empty repository?)"))
    # NOTE: the version is dropped when its tag was not found: the lock must not claim a
    # version the commit may not be.
    return LockedNode(id=candidate.id, repo=candidate.repo, commit=refs["HEAD"])


# --- the class -> pack map (extension-node-map.json format) ---------------------------------


class NodeMap:
    """Manager's class→pack map: listings, ``preemptions`` and ``nodename_pattern`` regexes."""

    def __init__(self) -> None:
        self.by_class: dict[str, list[str]] = {}
        self.preemptions: dict[str, str] = {}
        self.patterns: list[tuple[re.Pattern[str], str]] = []

    def __repr__(self) -> str:
        return f"NodeMap({len(self.by_class)} classes, {len(self.patterns)} patterns)"

    def candidates(self, class_name: str) -> list[PackCandidate]:
        pre = self.preemptions.get(class_name)
        if pre is not None:
            return [] if _is_core(pre) else [_map_candidate(pre, "preemption")]
        listed = self.by_class.get(class_name, [])
        if listed:
            return [_map_candidate(r, "node-map") for r in listed if not _is_core(r)]
        return [
            _map_candidate(r, "pattern")
            for rx, r in self.patterns
            if rx.search(class_name) and not _is_core(r)
        ]


def _is_core(repo: str) -> bool:
    return normalise_repo(repo) in CORE_REPOS


def _map_candidate(repo: str, via: Via) -> PackCandidate:
    return PackCandidate(id=pack_id_for_repo(repo), repo=repo, via=via)


def build_node_map(data: object) -> NodeMap:
    """Parse ``{pack_url: [[class names], {nodename_pattern?, preemptions?, ...}]}``."""
    result = NodeMap()
    if not isinstance(data, dict):
        return result
    for repo, value in data.items():
        if not (isinstance(repo, str) and isinstance(value, list) and value):
            continue
        names = value[0] if isinstance(value[0], list) else []
        meta = value[1] if len(value) > 1 and isinstance(value[1], dict) else {}
        for name in names:
            if isinstance(name, str):
                result.by_class.setdefault(name, []).append(repo)
        for name in meta.get("preemptions") or ():
            if isinstance(name, str):
                result.preemptions.setdefault(name, repo)
        pattern = meta.get("nodename_pattern")
        if isinstance(pattern, str) and pattern:
            try:
                result.patterns.append((re.compile(pattern), repo))
            except re.error:
                continue  # a broken community regex must not break resolve
    return result


def load_node_map(
    client: httpx.Client | None,
    endpoints: Endpoints | None = None,
    cache: HttpCache | None = None,
    *,
    retry: Retry | None = None,
    refresh: bool = False,
) -> NodeMap:
    """The configured map, cached with the metadata TTL; empty (no request) when unset."""
    endpoints = endpoints or Endpoints.from_env()
    if not endpoints.node_map:
        return NodeMap()
    data = fetch_document(
        client,
        endpoints.node_map,
        endpoints=endpoints,
        cache=cache,
        kind="node-map",
        ttl=TTL_METADATA,
        refresh=refresh,
        retry=retry,
    )
    return NodeMap() if data is None else build_node_map(data)


# --- ambiguity ------------------------------------------------------------------------------


def distinct(candidates: Iterable[PackCandidate]) -> list[PackCandidate]:
    """One candidate per repository, first seen first."""
    seen: set[str] = set()
    out = []
    for c in candidates:
        key = normalise_repo(c.repo)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def _matches_pin(candidate: PackCandidate, pin: str) -> bool:
    pin_key = pin.strip().lower()
    return pin_key in (
        candidate.id.lower(),
        (candidate.registry_id or "").lower(),
        pack_id_for_repo(candidate.repo).lower(),
    ) or normalise_repo(pin) == normalise_repo(candidate.repo)


def settle(
    class_name: str, candidates: Iterable[PackCandidate], pins: Mapping[str, str]
) -> PackCandidate | None:
    """The one pack for ``class_name``, or None when it is still ambiguous (or unknown).

    ``pins`` is comfylock.toml's ``[nodes]``: class name → registry id, ``owner/repo`` or repo
    URL. A pin naming none of the candidates is used as is when it is a repo (``via="pin"``).

    Raises:
        InputError: the pin names a registry id that no candidate has.
    """
    found = distinct(candidates)
    pin = pins.get(class_name)
    if pin is None:
        return found[0] if len(found) == 1 else None
    for candidate in found:
        if _matches_pin(candidate, pin):
            return candidate
    if "://" in pin or os.path.isabs(pin):
        return PackCandidate(id=pack_id_for_repo(pin), repo=pin, via="pin")
    if _OWNER_REPO.match(pin):
        return PackCandidate(id=pin, repo=f"https://github.com/{pin}", via="pin")
    names = ", ".join(c.id for c in found) or "none"
    raise InputError(
        f"[nodes] pin {class_name} = {pin!r} matches no pack providing it (candidates: {names})",
        hint="pin a candidate's id, owner/repo or repository URL",
    )


# --- the resolver ---------------------------------------------------------------------------


class NodeResolver(ServiceClient):
    """Finds candidate packs for node classes through the registry and the node map."""

    _node_map: NodeMap | None = None  # the class map, fetched on first use

    def __repr__(self) -> str:
        return f"NodeResolver({self.endpoints.registry!r})"

    @property
    def node_map(self) -> NodeMap:
        if self._node_map is None:
            self._node_map = load_node_map(
                self._client, self.endpoints, self._cache, retry=self._retry, refresh=self._refresh
            )
        return self._node_map

    def _get(self, path: str, *, kind: str, ttl: float) -> object:
        return self._get_json(f"{self.endpoints.registry}{path}", kind=kind, ttl=ttl)

    def registry_node(self, node_id: str) -> RegistryNode | None:
        data = self._get(f"/nodes/{quote(node_id, safe='')}", kind="metadata", ttl=TTL_METADATA)
        return None if data is None else convert(data, RegistryNode, "the Comfy Registry")

    def registry_candidates(self, class_name: str) -> list[PackCandidate]:
        query = urlencode({"comfy_node_search": class_name, "limit": 50})
        data = self._get(f"/nodes/search?{query}", kind="search", ttl=TTL_SEARCH)
        nodes = convert(data, _SearchPage, "the Comfy Registry").nodes if data is not None else []
        if not nodes:
            one = self._get(
                f"/comfy-nodes/{quote(class_name, safe='')}/node", kind="search", ttl=TTL_SEARCH
            )
            nodes = [convert(one, RegistryNode, "the Comfy Registry")] if one is not None else []
        return [_registry_candidate(n, "registry") for n in nodes if n.repository]

    def candidates_for_class(
        self,
        class_name: str,
        *,
        cnr_id: str | None = None,
        aux_id: str | None = None,
        ver: str | None = None,
    ) -> list[PackCandidate]:
        """Candidate packs for a class, from the first tier that knows it (module docstring)."""
        from ...workflows.tables import core_nodes

        if cnr_id == CORE_PACK_ID or (class_name in core_nodes() and not (cnr_id or aux_id)):
            return []
        hinted = self._from_hints(cnr_id, aux_id, ver)
        if hinted is not None:
            return [hinted]
        known = table_candidates(class_name)
        if known:
            return known
        found = distinct(self.registry_candidates(class_name))
        mapped = found or distinct(self.node_map.candidates(class_name))
        return mapped or shipped_map_candidates(class_name)

    def _from_hints(
        self, cnr_id: str | None, aux_id: str | None, ver: str | None
    ) -> PackCandidate | None:
        commit, semver = _ver_parts(ver)
        if cnr_id:
            node = self.registry_node(cnr_id)
            if node is not None and node.repository:
                c = _registry_candidate(node, "cnr_id")
                return msgspec.structs.replace(c, version=semver or c.version, commit=commit)
        return _aux_candidate(aux_id, commit)

    def pin_pack(self, candidate: PackCandidate, *, allow_http: Iterable[str] = ()) -> LockedNode:
        return pin_pack(candidate, allow_http=allow_http)


def table_candidates(class_name: str) -> list[PackCandidate]:
    """The packs the knowledge table says define ``class_name`` (no network); a pack read
    from this machine's ``custom_nodes/`` comes with the commit it is checked out at."""
    from ...workflows import nodetable

    out = []
    for pack in nodetable.packs_of(class_name):
        repo = nodetable.pack_repo(pack)
        if repo:
            registry_id = nodetable.pack_registry_id(pack)
            out.append(
                PackCandidate(
                    id=registry_id or pack,
                    repo=repo,
                    via="table",
                    registry_id=registry_id,
                    commit=nodetable.installed_commit(pack),
                )
            )
    return distinct(out)


def shipped_map_candidates(class_name: str) -> list[PackCandidate]:
    """The packs the class map shipped with comfylock names (no network): the last tier."""
    from ...workflows import nodetable

    found = [
        PackCandidate(id=pack, repo=repo, via="node-map")  # the id `inspect` prints
        for pack, repo in nodetable.mapped_packs(class_name)
        if not _is_core(repo)
    ]
    return distinct(found)


def offline_candidates(
    class_name: str,
    *,
    cnr_id: str | None = None,
    aux_id: str | None = None,
    ver: str | None = None,
) -> list[PackCandidate]:
    """What is known about a class's pack with no network, under the names ``inspect``
    prints: the node's own ``cnr_id`` (its repo from the shipped table) or ``aux_id``, with
    ``ver`` as the commit when it is one; else the shipped table; else the shipped class map."""
    from ...workflows import nodetable
    from ...workflows.tables import core_nodes

    if cnr_id == CORE_PACK_ID or (class_name in core_nodes() and not (cnr_id or aux_id)):
        return []
    commit, semver = _ver_parts(ver)
    if cnr_id:
        repo = nodetable.pack_repo(cnr_id) or nodetable.registry_repo(cnr_id)
        if repo:
            return [
                PackCandidate(
                    id=cnr_id,
                    repo=repo,
                    via="cnr_id",
                    version=semver,
                    commit=commit or nodetable.installed_commit(cnr_id),
                    registry_id=cnr_id,
                )
            ]
    hinted = _aux_candidate(aux_id, commit)
    if hinted is not None:
        return [hinted]
    return table_candidates(class_name) or shipped_map_candidates(class_name)


def _ver_parts(ver: str | None) -> tuple[str | None, str | None]:
    """A node's ``ver`` as (commit, version): a 40-hex commit, a semver, or neither."""
    ver = (ver or "").strip() or None
    commit = ver.lower() if is_commit(ver) else None
    return commit, ver if ver and not commit and ver.lower() != "unknown" else None


def _aux_candidate(aux_id: str | None, commit: str | None) -> PackCandidate | None:
    """The pack a node's ``aux_id`` (``owner/repo``) names, on GitHub."""
    if not (aux_id and _OWNER_REPO.match(aux_id.strip())):
        return None
    owner_repo = aux_id.strip()
    return PackCandidate(
        id=owner_repo, repo=f"https://github.com/{owner_repo}", via="aux_id", commit=commit
    )


def _registry_candidate(node: RegistryNode, via: Via) -> PackCandidate:
    version = node.latest_version.version if node.latest_version else None
    return PackCandidate(
        id=node.id,
        repo=(node.repository or "").strip(),
        via=via,
        version=version,
        registry_id=node.id,
    )
