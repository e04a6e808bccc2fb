"""Hugging Face: turn any hub file URL into (repo, revision, path) and pin it to a commit.

Why a HEAD and not the API: one ``HEAD {endpoint}/{repo}/resolve/{rev}/{path}`` answers
everything a lock needs (the commit the revision resolved to, the LFS object's sha256 and its
size), which is exactly what the official client reads before a download. For LFS files the
hub answers 302 to a CDN; we stop there and read the hub's headers, so the CDN is never
contacted. The first response that carries ``X-Repo-Commit`` gives the pin, whatever its
``Location`` (a CDN, the hub's own origin as self-hosted mirrors answer, or a relative path);
only a response without it is followed, and only to a relative ``Location`` (a renamed repo),
as the official client does.

A workflow may declare the file's sha256. When the revision it names now has other bytes,
``find_revision`` walks the repo's history (``list_commits``, newest first, at most
``REVISION_SEARCH_LIMIT`` commits) and reads each commit's directory listing
(``tree_entries``: LFS entries carry the sha256 as ``lfs.oid``) for a commit that has the
declared bytes. Both listings go through the response cache.

``pin`` raises ``NotFoundError`` for RepoNotFound / RevisionNotFound / EntryNotFound (the
workflow named something that does not exist) and ``AuthError`` (hint: ``HF_TOKEN``) for
gated or private repos.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote, unquote, urljoin, urlsplit

import msgspec

from ...basics.redact import redact
from ...errors import AuthError, NotFoundError, RemoteError, UsageError
from ...lock.structs import HuggingFaceSource, MatchedBy
from ...net.endpoints import Endpoints, origin
from ...net.http import TTL_METADATA, TTL_SEARCH, ServiceClient, SingleFlight, convert
from ...net.send import MAX_REDIRECTS, auth_error, send

if TYPE_CHECKING:
    import httpx


__all__ = [
    "CANONICAL_ENDPOINT",
    "REVISION_SEARCH_LIMIT",
    "HfClient",
    "HfCommit",
    "HfModelInfo",
    "HfPin",
    "HfRef",
    "HfTreeEntry",
    "canonical_url",
    "parse_hf_spec",
    "parse_hf_url",
    "resolve_url",
]

CANONICAL_ENDPOINT = "https://huggingface.co"
HUB_HOSTS = frozenset({"huggingface.co", "www.huggingface.co", "hf.co"})
NOT_FOUND_CODES = frozenset({"RepoNotFound", "RevisionNotFound", "EntryNotFound"})
RepoType = Literal["model", "dataset", "space"]
_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_REPO_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?', re.I)
REVISION_SEARCH_LIMIT = 50  # commits looked at for a declared sha256 (each costs a tree listing)
_MAX_PAGES = 20  # pages of one listing (the hub pages trees by 1,000 entries)
_PAGES = SingleFlight()  # listings in flight, shared by the resolver's threads
_API_PREFIX = {"model": "models", "dataset": "datasets", "space": "spaces"}


class HfRef(msgspec.Struct, frozen=True, kw_only=True):
    """A file in a hub repo at a revision (branch, tag, ``refs/pr/N`` or commit)."""

    repo: str
    revision: str = "main"
    path: str
    repo_type: RepoType = "model"


class HfPin(msgspec.Struct, frozen=True, kw_only=True):
    """A hub file pinned to a commit, with the LFS sha256 and size when the hub gives them."""

    repo: str
    repo_type: RepoType = "model"
    revision: str  # as asked
    commit: str  # 40 hex
    path: str
    sha256: str | None = None
    size: int | None = None
    etag: str | None = None

    @property
    def ref(self) -> HfRef:
        return HfRef(repo=self.repo, revision=self.commit, path=self.path, repo_type=self.repo_type)

    def to_source(self, matched_by: MatchedBy) -> HuggingFaceSource:
        return HuggingFaceSource(
            matched_by=matched_by,
            repo=self.repo,
            revision=self.commit,
            path=self.path,
            repo_type=None if self.repo_type == "model" else self.repo_type,
        )


class HfCommit(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of ``GET /api/{models}/{repo}/commits/{rev}`` (newest first)."""

    id: str
    title: str = ""
    date: str | None = None


class HfLfs(msgspec.Struct, frozen=True, kw_only=True):
    oid: str  # the LFS object's sha256
    size: int


class HfTreeEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of ``GET /api/{models}/{repo}/tree/{rev}/{dir}``."""

    type: str  # "file" | "directory"
    path: str
    oid: str | None = None  # git blob sha1
    size: int | None = None
    lfs: HfLfs | None = None

    @property
    def sha256(self) -> str | None:
        oid = (self.lfs.oid if self.lfs else "").lower()
        return oid if _HEX64.match(oid) else None


class HfCardData(msgspec.Struct, frozen=True):
    """The model card's metadata block (``cardData``): only what a lock records."""

    license: str | list[str] | None = None
    license_name: str | None = None  # the real name when ``license`` is "other"
    base_model: str | list[str] | None = None


class HfModelInfo(msgspec.Struct, frozen=True):
    """``GET /api/{models}/{repo}/revision/{rev}``: the card's metadata and the access gate
    (``false``, ``"auto"``: accepted on request, ``"manual"``: reviewed by the authors)."""

    sha: str | None = None
    gated: bool | str = False
    cardData: HfCardData | None = None
    tags: list[str] = []

    def about(self) -> dict:
        """What the lock records (``LockedModel`` field names): the card's licence (its
        ``license_name`` when the licence is "other"; else a ``license:`` tag), the gate,
        the base model."""
        card = self.cardData or HfCardData()
        license = card.license
        if isinstance(license, list):
            license = ", ".join(str(x) for x in license) or None
        if license == "other" and card.license_name:
            license = card.license_name
        if not license:
            tags = [t.split(":", 1)[1] for t in self.tags if t.startswith("license:")]
            license = tags[0] if len(tags) == 1 else None
        base = card.base_model
        if isinstance(base, list):
            base = ", ".join(str(x) for x in base) or None
        return {
            "license": license or None,
            "gated": self.gated if self.gated in ("auto", "manual") else None,
            "base_model": base or None,
        }


def resolve_url(ref: HfRef, endpoint: str) -> str:
    """``{endpoint}/{datasets/|spaces/}{repo}/resolve/{quoted revision}/{path}``."""
    return (
        f"{endpoint.rstrip('/')}/{_PREFIX[ref.repo_type]}{ref.repo}"
        f"/resolve/{quote(ref.revision, safe='')}/{quote(ref.path)}"
    )


def canonical_url(pin: HfPin) -> str:
    """The host-independent public URL of a pinned file (``https://huggingface.co/...``)."""
    return resolve_url(pin.ref, CANONICAL_ENDPOINT)


def parse_hf_url(url: str, *, endpoint: str | None = None) -> HfRef | None:
    """Parse a hub file URL (``resolve``/``blob``/``raw``, ``datasets/``/``spaces/``, any query).

    Hosts: huggingface.co, hf.co and the host of ``endpoint`` (default ``$HF_ENDPOINT``).
    Returns None for anything that is not a file URL on the hub.
    """
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https"):
        return None
    endpoint = endpoint or Endpoints.from_env().hf
    segments = [s for s in parts.path.split("/") if s]
    base = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    if (host, parts.port) == ((base.hostname or "").lower(), base.port):
        prefix = [s for s in base.path.split("/") if s]
        if segments[: len(prefix)] != prefix:
            return None
        segments = segments[len(prefix) :]
    elif host not in HUB_HOSTS:
        return None
    return _parse_segments(segments)


def _parse_segments(segments: list[str]) -> HfRef | None:
    repo_type: RepoType = "model"
    if segments and segments[0] in ("datasets", "spaces"):
        repo_type = "dataset" if segments[0] == "datasets" else "space"
        segments = segments[1:]
    verb = next((i for i, s in enumerate(segments[:3]) if s in ("resolve", "blob", "raw")), None)
    if verb not in (1, 2) or len(segments) < verb + 3:
        return None
    repo_parts = [unquote(s) for s in segments[:verb]]
    if not all(_REPO_PART.match(p) for p in repo_parts):
        return None
    revision, rest = unquote(segments[verb + 1]), segments[verb + 2 :]
    if revision == "refs" and len(rest) >= 3 and rest[0] in ("pr", "convert"):
        revision, rest = f"refs/{rest[0]}/{unquote(rest[1])}", rest[2:]
    path_parts = [unquote(s) for s in rest]
    if not path_parts or any(p in (".", "..") for p in path_parts):
        return None
    return HfRef(
        repo="/".join(repo_parts), revision=revision, path="/".join(path_parts), repo_type=repo_type
    )


def parse_hf_spec(spec: str) -> HfRef:
    """``hf:OWNER/REPO[@REV]/PATH`` (the ``comfylock add`` form) → HfRef."""
    body = spec[3:] if spec.startswith("hf:") else spec
    owner, _, rest = body.partition("/")
    name, _, path = rest.partition("/")
    name, _, revision = name.partition("@")
    if not (owner and name and path) or not (_REPO_PART.match(owner) and _REPO_PART.match(name)):
        raise UsageError(
            f"not a Hugging Face file: {spec!r}", hint="write hf:OWNER/REPO[@REV]/PATH"
        )
    if any(p in ("", ".", "..") for p in path.split("/")):
        raise UsageError(f"unsafe path in {spec!r}")
    return HfRef(repo=f"{owner}/{name}", revision=revision or "main", path=path)


def _normalise_etag(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"').lower() or None


class HfClient(ServiceClient):
    """Pins hub files with a HEAD request; the token (``HF_TOKEN``) goes only to the hub."""

    def __repr__(self) -> str:
        return f"HfClient({self.endpoints.hf!r})"

    def pin(self, ref: HfRef) -> HfPin:
        """Resolve ``ref.revision`` to a commit and read the file's sha256 and size."""
        url = resolve_url(ref, self.endpoints.hf)
        if self._cache is not None and not self._refresh:
            hit = self._cache.get("HEAD", url, ttl=TTL_METADATA)
            if hit is not None and hit.status == 200:
                return msgspec.json.decode(hit.body, type=HfPin)
        response, final = self._head(url)
        pin = self._read(ref, final, response)
        if self._cache is not None:
            self._cache.put("HEAD", url, 200, msgspec.json.encode(pin), kind="pin")
        return pin

    def _head(self, url: str) -> tuple[httpx.Response, str]:
        """HEAD until a response carries ``X-Repo-Commit`` or is no relative redirect."""
        for _ in range(MAX_REDIRECTS + 1):
            response = send(
                self._client,
                "HEAD",
                url,
                endpoints=self.endpoints,
                headers={"Accept-Encoding": "identity"},
                follow="none",
                retry=self._retry,
            )
            location = response.headers.get("location") or ""
            target = urlsplit(location)
            if (
                not response.is_redirect
                or response.headers.get("x-repo-commit")
                or not location
                or target.scheme
                or target.netloc
            ):
                return response, url
            url = urljoin(url, location)
        raise RemoteError(redact(f"HEAD {url}: more than {MAX_REDIRECTS} redirects"))

    def model_info(
        self, repo: str, revision: str, *, repo_type: RepoType = "model"
    ) -> HfModelInfo | None:
        """The repo's card metadata and gate at ``revision`` (a commit: cached as metadata);
        None when the hub has no such repo or revision."""
        url = self._api(repo, repo_type, "revision", quote(revision, safe=""))
        ttl = TTL_METADATA if _HEX40.match(revision) else TTL_SEARCH
        data = self._get_json(url, kind="hf-info", ttl=ttl)
        return None if data is None else convert(data, HfModelInfo, f"the model info of {repo}")

    # -- history: a declared sha256 at another revision --

    def _api(self, repo: str, repo_type: RepoType, *parts: str) -> str:
        return "/".join(
            [f"{self.endpoints.hf}/api/{_API_PREFIX[repo_type]}/{repo}", *(p for p in parts if p)]
        )

    def list_commits(
        self,
        repo: str,
        revision: str,
        *,
        repo_type: RepoType = "model",
        limit: int = REVISION_SEARCH_LIMIT,
    ) -> list[HfCommit]:
        """The commits reachable from ``revision``, newest first, at most ``limit``."""
        url = self._api(repo, repo_type, "commits", quote(revision, safe=""))
        ttl = TTL_METADATA if _HEX40.match(revision) else TTL_SEARCH  # a branch moves
        items = self._get_pages(url, kind="hf-commits", ttl=ttl, limit=limit)
        return convert(items[:limit], list[HfCommit], f"the commits of {repo}")

    def tree_entries(
        self,
        repo: str,
        commit: str,
        directory: str = "",
        *,
        repo_type: RepoType = "model",
        recursive: bool = False,
    ) -> list[HfTreeEntry]:
        """The entries of ``directory`` at ``commit`` (with ``recursive``, every file and
        directory below it); [] where it is absent."""
        url = self._api(repo, repo_type, "tree", quote(commit, safe=""), quote(directory))
        url += "?recursive=true" if recursive else ""
        items = self._get_pages(url, kind="hf-tree", ttl=TTL_METADATA, limit=1_000 * _MAX_PAGES)
        return convert(items, list[HfTreeEntry], f"the file list of {repo}")

    def find_revision(
        self, ref: HfRef, sha256: str, *, limit: int = REVISION_SEARCH_LIMIT
    ) -> tuple[HfPin | None, int]:
        """The newest commit reachable from ``ref.revision`` whose ``ref.path`` has ``sha256``
        (or None), and how many commits were looked at."""
        wanted = sha256.lower()
        directory = ref.path.rpartition("/")[0]
        commits = self.list_commits(ref.repo, ref.revision, repo_type=ref.repo_type, limit=limit)
        for commit in commits:
            if not _HEX40.match(commit.id):
                continue
            entries = self.tree_entries(ref.repo, commit.id, directory, repo_type=ref.repo_type)
            entry = next((e for e in entries if e.path == ref.path and e.type == "file"), None)
            if entry is not None and entry.sha256 == wanted:
                pin = HfPin(
                    repo=ref.repo,
                    repo_type=ref.repo_type,
                    revision=ref.revision,
                    commit=commit.id,
                    path=ref.path,
                    sha256=wanted,
                    size=entry.lfs.size if entry.lfs else entry.size,
                )
                return pin, commits.index(commit) + 1
        return None, len(commits)

    def _get_pages(self, url: str, *, kind: str, ttl: float, limit: int) -> list:
        """A listing's items, following ``Link: <…>; rel="next"`` on the hub's own origin."""
        items: list = []
        for _ in range(_MAX_PAGES):
            page, next_url = self._get_page(url, kind=kind, ttl=ttl)
            items += page
            if not next_url or len(items) >= limit:
                break
            url = urljoin(url, next_url)
            if origin(url) != origin(self.endpoints.hf):
                break
        return items

    def _get_page(self, url: str, *, kind: str, ttl: float) -> tuple[list, str | None]:
        """One page (cached as ``{"items", "next"}``); a 404 is an empty page. Files of one
        repo resolved at once ask for the same listings: one request serves them all."""
        body = self._cached_page(url, ttl)
        if body is None:
            # NOTE: asked again inside the single flight: a caller that missed the cache just
            # before another one finished (and wrote it) must not send a second request
            body = _PAGES.run(
                (redact(url), self._refresh),
                lambda: self._cached_page(url, ttl, count=False) or self._fetch_page(url, kind),
            )
        return _decode_page(body)

    def _cached_page(self, url: str, ttl: float, *, count: bool = True) -> bytes | None:
        if self._cache is None or self._refresh:
            return None
        hit = self._cache.get("GET", url, ttl=ttl, count=count)
        return None if hit is None else hit.body

    def _fetch_page(self, url: str, kind: str) -> bytes:
        response = send(
            self._client,
            "GET",
            url,
            endpoints=self.endpoints,
            headers={"Accept": "application/json"},
            follow="same-origin",
            retry=self._retry,
        )
        if response.status_code in (404, 410):
            body = msgspec.json.encode({"items": [], "next": None})
        elif response.status_code >= 400:
            raise self._error(url, response, method="GET")
        else:
            try:
                data = msgspec.json.decode(response.content)
            except msgspec.DecodeError:
                raise RemoteError(
                    redact(f"GET {url}: the answer is not JSON"), hint="is HF_ENDPOINT right?"
                ) from None
            link = _LINK_NEXT.search(response.headers.get("link", ""))
            body = msgspec.json.encode(
                {"items": data if isinstance(data, list) else [], "next": link and link.group(1)}
            )
        if self._cache is not None:
            self._cache.put("GET", url, 200, body, kind=kind)
        return body

    def _read(self, ref: HfRef, url: str, response: httpx.Response) -> HfPin:
        headers = response.headers
        status = response.status_code
        if status >= 400:
            raise self._error(url, response)
        commit = (headers.get("x-repo-commit") or "").strip().lower()
        if not _HEX40.match(commit):
            raise RemoteError(
                redact(f"HEAD {url}: {status} without an X-Repo-Commit header"),
                hint="is HF_ENDPOINT a Hugging Face hub?",
            )
        sha256 = None
        linked = _normalise_etag(headers.get("x-linked-etag"))
        plain = _normalise_etag(headers.get("etag"))
        for candidate in (linked, plain):
            if candidate and _HEX64.match(candidate):
                sha256 = candidate
                break
        size = _int(headers.get("x-linked-size"))
        if size is None and not response.is_redirect:
            size = _int(headers.get("content-length"))
        return HfPin(
            repo=ref.repo,
            repo_type=ref.repo_type,
            revision=ref.revision,
            commit=commit,
            path=ref.path,
            sha256=sha256,
            size=size,
            etag=linked or plain,
        )

    def _error(self, url: str, response: httpx.Response, method: str = "HEAD") -> RemoteError:
        code = response.headers.get("x-error-code", "")
        detail = redact(response.headers.get("x-error-message", ""))[:200]
        described = ": ".join(p for p in (code, detail) if p)
        if code in NOT_FOUND_CODES or response.status_code == 404:
            hint = "check the repo, revision and path"
            if code == "RepoNotFound":
                hint += "; a private repo also answers this way without HF_TOKEN"
            suffix = f" ({described})" if described else ""
            return NotFoundError(
                redact(f"{method} {url}: {response.status_code} {code or 'Not Found'}{suffix}"),
                hint=hint,
            )
        if code == "GatedRepo" or response.status_code in (401, 403):
            err = auth_error(method, url, response.status_code, self.endpoints, described)
            return AuthError(
                err.message,
                hint=(err.hint or "")
                + "; gated repos: accept the terms on the repo page with this account",
            )
        return RemoteError(
            redact(f"{method} {url}: {response.status_code} {response.reason_phrase}")
        )


def _decode_page(body: bytes) -> tuple[list, str | None]:
    page = msgspec.json.decode(body)
    return list(page.get("items") or []), page.get("next")


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
