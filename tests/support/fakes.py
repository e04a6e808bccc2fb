"""Loopback fakes of Civitai, the Hugging Face hub and the Comfy Registry for the tests.

Each fake configures a ``pytest_httpserver.HTTPServer`` (127.0.0.1) and answers in the real
services' shapes (see ../shared/api/README.md), quirks included: Civitai sizes in KiB floats,
``primary`` absent on non-primary files, counts as strings, downloads answering 302 to a signed
URL; the hub answering 302 to a CDN host with ``X-Linked-*`` headers and ``X-Error-Code``
errors; the registry redirecting ids case-insensitively. The JSON is built here from small
dicts, not copied from the samples.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterator
from types import SimpleNamespace

from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

__all__ = [
    "ALL",
    "CIVITAI_TOKEN",
    "FakeCivitai",
    "FakeHub",
    "FakeRegistry",
    "LoopbackServer",
    "Sleeps",
    "civitai_file",
    "civitai_model",
    "fake_services",
    "sha",
]

ALL = re.compile(r".*")


class LoopbackServer(HTTPServer):
    """pytest-httpserver on 127.0.0.1 that stops in milliseconds, not its default 0.5 s poll."""

    def __init__(self) -> None:
        super().__init__(host="127.0.0.1", threaded=True)

    def thread_target(self) -> None:
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.01)


def sha(text: str) -> str:
    """A deterministic fake sha256 (lower hex)."""
    return hashlib.sha256(text.encode()).hexdigest()


def _json(data: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data), status=status, headers=headers or {}, content_type="application/json"
    )


# --- Civitai --------------------------------------------------------------------------------


def civitai_file(
    file_id: int,
    name: str,
    *,
    size: int,
    sha256: str | None,
    blake3: str | None = None,
    primary: bool = False,
    type: str = "Model",
    fmt: str = "SafeTensor",
    fp: str = "fp16",
    pruned: bool = False,
) -> dict:
    entry = {
        "id": file_id,
        "sizeKB": size / 1024,  # KiB float, as Civitai sends it
        "name": name,
        "type": type,
        "pickleScanResult": "Success",
        "virusScanResult": "Success",
        "metadata": {"format": fmt, "size": "pruned" if pruned else "full", "fp": fp},
        "hashes": {},
    }
    if sha256:
        entry["hashes"] = {
            "AutoV2": sha256[:10].upper(),
            "SHA256": sha256.upper(),
            "CRC32": "DEADBEEF",
        }
    if blake3:
        entry["hashes"]["BLAKE3"] = blake3.upper()
    if primary:
        entry["primary"] = True  # non-primary files omit the key entirely
    return entry


def civitai_model(
    model_id: int, name: str, type: str, versions: list[tuple[int, str, list[dict]]]
) -> dict:
    """A /models/{id} body; versions are (version_id, version_name, files)."""
    return {
        "id": model_id,
        "name": name,
        "type": type,
        "nsfw": False,
        "stats": {"downloadCount": "1234", "ratingCount": "7"},  # strings, as some answers have
        "tags": ["style", {"name": "punk"}],  # strings or objects
        "creator": {"username": "someone"},
        "modelVersions": [
            {
                "id": vid,
                "modelId": model_id,
                "name": vname,
                "baseModel": "SDXL 1.0",
                "stats": {"downloadCount": "10"},
                "files": files,
                "downloadUrl": f"https://api.civitai.com/api/download/models/{vid}",
            }
            for vid, vname, files in versions
        ],
    }


class FakeCivitai:
    """Answers /api/v1/model-versions/by-hash, /model-versions/{id}, /models/{id}, /models
    search and /api/download/models/{id} (302 to a signed path)."""

    def __init__(self, srv: HTTPServer, *, require_token: str | None = None) -> None:
        self.srv = srv
        self.models: dict[int, dict] = {}
        self.downloads: dict[int, bytes] = {}  # version id -> bytes its download serves
        self.require_token = require_token
        self.base_url = srv.url_for("/").rstrip("/")
        srv.expect_request(ALL).respond_with_handler(self._handle)

    def add(self, model: dict) -> dict:
        self.models[model["id"]] = model
        return model

    def _versions(self) -> Iterator[tuple[dict, dict]]:
        for model in self.models.values():
            for version in model["modelVersions"]:
                yield model, version

    def _version_body(self, model: dict, version: dict) -> dict:
        return {**version, "model": {"name": model["name"], "type": model["type"], "nsfw": False}}

    def _handle(self, request: Request) -> Response:
        if (
            self.require_token
            and request.headers.get("Authorization") != f"Bearer {self.require_token}"
        ):
            return _json(
                {
                    "error": "Unauthorized",
                    "message": "The creator of this asset requires you to be logged in",
                },
                401,
            )
        path = request.path
        if m := re.fullmatch(r"/api/v1/model-versions/by-hash/([0-9A-Fa-f]+)", path):
            wanted = m.group(1).upper()
            for model, version in self._versions():
                for f in version["files"]:
                    if wanted in {h.upper() for h in f["hashes"].values()}:
                        return _json(self._version_body(model, version))
            return _json({"error": "Model not found"}, 404)
        if m := re.fullmatch(r"/api/v1/model-versions/(\d+)", path):
            for model, version in self._versions():
                if version["id"] == int(m.group(1)):
                    return _json(self._version_body(model, version))
            return _json({"error": "Model not found"}, 404)
        if m := re.fullmatch(r"/api/v1/models/(\d+)", path):
            model = self.models.get(int(m.group(1)))
            return _json(model) if model else _json({"error": "Model not found"}, 404)
        if path == "/api/v1/models":
            return self._search(request)
        if m := re.fullmatch(r"/api/download/models/(\d+)", path):
            return Response(
                "",
                status=302,
                headers={
                    "Location": f"/signed/{m.group(1)}/file.bin?X-Amz-Signature=abc&token=leaky"
                },
            )
        if path.startswith("/signed/"):
            data = self.downloads.get(int(path.split("/")[2]), b"model-bytes")
            return Response(data, status=200, content_type="application/octet-stream")
        return _json({"error": "Not found"}, 404)

    def _search(self, request: Request) -> Response:
        query = (request.args.get("query") or "").lower()
        types = set(request.args.getlist("types"))
        items = [
            m
            for m in self.models.values()
            if (not types or m["type"] in types)
            and (
                query in m["name"].lower()
                or any(query in f["name"].lower() for v in m["modelVersions"] for f in v["files"])
            )
        ]
        limit = int(request.args.get("limit", "100"))
        meta = {
            "totalItems": str(len(items)),
            "currentPage": "1",
            "pageSize": str(limit),
            "totalPages": "1",
        }
        return _json({"items": items[:limit], "metadata": meta})


# --- Hugging Face hub -----------------------------------------------------------------------


class FakeHub:
    """HEAD/GET ``/{repo}/resolve/{rev}/{path}`` like the hub: LFS files 302 to the CDN.

    Also ``GET /api/{models,datasets,spaces}/{repo}/commits/{rev}`` (newest first, paged by
    ``page_size`` with a ``Link: <…>; rel="next"`` header), ``…/tree/{rev}[/{dir}]`` (the
    directory's entries, or with ``?recursive=true`` every file and directory below it, paged
    the same way by a ``cursor``; LFS files carry ``lfs.oid`` = sha256, every file ``oid`` =
    its git blob id) and ``…/revision/{rev}`` (``sha``: the commit; ``siblings``; ``gated``
    and the card metadata of ``cards[repo]``). A non-LFS file's GET serves
    ``info["content"]`` (tests may change it). Each repo has a linear history:
    commits in the order ``add_file`` first saw them (oldest first); a commit's tree holds
    every file added at it or before it (the latest version of each path).

    ``lfs_redirect``: where an LFS file's 302 points: ``"cdn"`` (another origin, as the hub),
    ``"same-origin"`` (an absolute URL on the hub's own origin, as self-hosted mirrors do) or
    ``"relative"`` (a path); the target serves the bytes without any ``X-Repo-*`` header.
    """

    def __init__(
        self,
        srv: HTTPServer,
        cdn_srv: HTTPServer | None = None,
        *,
        token: str | None = None,
        lfs_redirect: str = "cdn",
        page_size: int = 50,
    ) -> None:
        self.srv = srv
        self.cdn = cdn_srv
        self.token = token
        self.lfs_redirect = lfs_redirect
        self.page_size = page_size
        self.files: dict[tuple[str, str, str], dict] = {}  # (repo, commit, path) -> info
        self.refs: dict[tuple[str, str], str] = {}  # (repo, branch or tag) -> commit
        self.history: dict[str, list[str]] = {}  # repo -> commits, oldest first
        self.gated: set[str] = set()
        self.renamed: dict[str, str] = {}
        # repo -> model-info keys its /revision answer adds: "cardData" ({license,
        # license_name, base_model, …}), "gated" (False, "auto", "manual"), "tags"
        self.cards: dict[str, dict] = {}
        self.base_url = srv.url_for("/").rstrip("/")
        srv.expect_request(ALL).respond_with_handler(self._handle)
        self.blobs: dict[str, bytes] = {}  # sha256 -> bytes the CDN serves
        if cdn_srv is not None:
            cdn_srv.expect_request(ALL).respond_with_handler(self._cdn)

    def add_file(
        self,
        repo: str,
        path: str,
        *,
        commit: str,
        content: str,
        lfs: bool = True,
        refs: tuple[str, ...] = ("main",),
        linked_size: bool = True,
        etag_is_sha256: bool = False,
        claimed_sha256: str | None = None,
    ) -> dict:
        """``lfs``: 302 to the CDN with X-Linked-*; else 200 with a git-sha1 ETag (or, with
        ``etag_is_sha256``, the sha256, as a mirror serving LFS files directly does).
        ``claimed_sha256``: the LFS sha256 the hub states, for a file whose real bytes the
        test does not have (a real template's declared hash)."""
        data = content.encode()
        self.blobs[hashlib.sha256(data).hexdigest()] = data
        info = {
            "content": data,
            "git_oid": hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest(),
            "sha256": claimed_sha256 or hashlib.sha256(data).hexdigest(),
            "sha1": hashlib.sha1(data).hexdigest(),
            "size": len(data),
            "lfs": lfs,
            "commit": commit,
            "linked_size": linked_size,
            "etag": hashlib.sha256(data).hexdigest()
            if etag_is_sha256
            else hashlib.sha1(data).hexdigest(),
        }
        self.files[(repo, commit, path)] = info
        history = self.history.setdefault(repo, [])
        if commit not in history:
            history.append(commit)
        for ref in refs:
            self.refs[(repo, ref)] = commit
        return info

    def delete_file(self, repo: str, path: str, *, commit: str) -> None:
        """A commit (on ``main``) that removes ``path``."""
        self.files[(repo, commit, path)] = None
        if commit not in self.history[repo]:
            self.history[repo].append(commit)
        self.refs[(repo, "main")] = commit

    def tree(self, repo: str, commit: str) -> dict[str, dict]:
        """Every file of ``repo`` at ``commit``: path -> info."""
        history = self.history.get(repo, [])
        upto = history[: history.index(commit) + 1] if commit in history else []
        out: dict[str, dict] = {}
        for c in upto:
            out.update({p: i for (r, k, p), i in self.files.items() if r == repo and k == c})
        return {p: i for p, i in out.items() if i is not None}

    def _cdn(self, request: Request) -> Response:
        data = self.blobs.get(request.path.rsplit("/", 1)[-1])
        if data is None:
            return Response(b"no such object", status=404)
        return Response(data, status=200, content_type="application/octet-stream")

    def _commit_of(self, repo: str, rev: str) -> str | None:
        if (repo, rev) in self.refs:
            return self.refs[(repo, rev)]
        return rev if rev in self.history.get(repo, []) else None

    def _handle(self, request: Request) -> Response:
        raw = (
            request.environ.get("RAW_URI")
            or request.environ.get("REQUEST_URI")
            or request.full_path
        )
        raw_path = raw.split("?", 1)[0]
        if raw_path.startswith("/lfs-objects/"):  # a mirror's own file store: bytes, no X-Repo-*
            return self._cdn(request)
        if raw_path.startswith("/api/"):
            return self._api(request, raw_path)
        m = re.fullmatch(r"/((?:datasets/|spaces/)?[^/]+/[^/]+)/resolve/([^/]+)/(.+)", raw_path)
        if not m:
            return Response("", status=404, headers={"X-Error-Code": "EntryNotFound"})
        from urllib.parse import unquote

        repo, rev, path = m.group(1), unquote(m.group(2)), unquote(m.group(3))
        if repo in self.renamed:
            return Response(
                "",
                status=307,
                headers={"Location": raw.replace(f"/{repo}/", f"/{self.renamed[repo]}/", 1)},
            )
        commit = self._locate(request, repo, rev)
        if isinstance(commit, Response):
            return commit
        info = self.tree(repo, commit).get(path)
        if info is None:
            return _entry_not_found(path)
        if info["lfs"]:
            return self._lfs_redirect(request, commit, info)
        headers = {"X-Repo-Commit": commit, "ETag": f'W/"{info["etag"]}"'}
        return Response(info["content"], status=200, headers=headers)

    def _locate(self, request: Request, repo: str, rev: str) -> str | Response:
        """The commit ``rev`` names in ``repo``, or the hub's error answer."""
        denied = self._denied(request, repo)
        if denied is not None:
            return denied
        commit = self._commit_of(repo, rev)
        return _revision_not_found(rev) if commit is None else commit

    def _denied(self, request: Request, repo: str) -> Response | None:
        if repo in self.gated and request.headers.get("Authorization") != f"Bearer {self.token}":
            return Response(
                "",
                status=401,
                headers={
                    "X-Error-Code": "GatedRepo",
                    "X-Error-Message": "Access to this repo is restricted",
                },
            )
        if repo not in self.history:
            return Response(
                "",
                status=401,
                headers={"X-Error-Code": "RepoNotFound", "X-Error-Message": "Repository not found"},
            )
        return None

    def _lfs_redirect(self, request: Request, commit: str, info: dict) -> Response:
        where = f"/lfs-objects/{info['sha256']}?X-Amz-Signature=sig"
        if self.lfs_redirect == "same-origin":
            location = f"{self.base_url}{where}"
        elif self.lfs_redirect == "relative":
            location = where
        elif self.cdn:
            location = self.cdn.url_for(f"/repos/aa/bb/{info['sha256']}") + "?X-Amz-Signature=sig"
        else:
            location = "https://cdn-lfs.example.invalid/x?X-Amz-Signature=sig"
        headers = {
            "Location": location,
            "X-Repo-Commit": commit,
            "X-Linked-Etag": f'"{info["sha256"]}"',
            **({"X-Linked-Size": str(info["size"])} if info["linked_size"] else {}),
            "ETag": 'W/"not-the-sha"',
            "Content-Length": "1093",  # the size of the redirect page: never the file's
        }
        return Response(
            b"" if request.method == "HEAD" else b"x" * 1093, status=302, headers=headers
        )

    def _api(self, request: Request, raw_path: str) -> Response:
        from urllib.parse import unquote

        m = re.fullmatch(
            r"/api/(?:models|datasets|spaces)/([^/]+/[^/]+)/(commits|tree|revision)/([^/]+)(/.*)?",
            raw_path,
        )
        if not m:
            return _json({"error": "Not Found"}, 404)
        repo, kind, rev = m.group(1), m.group(2), unquote(m.group(3))
        commit = self._locate(request, repo, rev)
        if isinstance(commit, Response):
            return commit
        if kind == "commits":
            return self._commits(request, repo, commit, raw_path)
        if kind == "revision":
            siblings = [{"rfilename": p} for p in sorted(self.tree(repo, commit))]
            info = {"_id": "0" * 24, "id": repo, "sha": commit, "siblings": siblings}
            return _json({"gated": False, **info, **self.cards.get(repo, {})})
        directory = unquote((m.group(4) or "").strip("/"))
        entries = self._tree_listing(repo, commit, directory, request.args.get("recursive"))
        if isinstance(entries, Response):
            return entries
        return self._paged(entries, request, raw_path)

    def _paged(self, entries: list, request: Request, raw_path: str) -> Response:
        """``page_size`` entries from ``cursor``; a ``Link`` header names the next page."""
        start = int(request.args.get("cursor", "0"))
        headers = {}
        if start + self.page_size < len(entries):
            query = "recursive=true&" if request.args.get("recursive") == "true" else ""
            cursor = start + self.page_size
            headers["Link"] = f'<{self.base_url}{raw_path}?{query}cursor={cursor}>; rel="next"'
        return _json(entries[start : start + self.page_size], headers=headers)

    def _commits(self, request: Request, repo: str, commit: str, raw_path: str) -> Response:
        history = self.history[repo]
        newest_first = list(reversed(history[: history.index(commit) + 1]))
        page = int(request.args.get("p", "0"))
        chunk = newest_first[page * self.page_size : (page + 1) * self.page_size]
        body = [
            {
                "id": c,
                "title": f"Upload {c[:7]}",
                "message": "",
                "authors": [{"user": "someone", "avatar": "https://example.invalid/a.png"}],
                "date": f"2025-01-{1 + history.index(c) % 28:02d}T00:00:00.000Z",
            }
            for c in chunk
        ]
        headers = {}
        if (page + 1) * self.page_size < len(newest_first):
            headers["Link"] = f'<{self.base_url}{raw_path}?p={page + 1}>; rel="next"'
        return _json(body, headers=headers)

    def _tree_listing(
        self, repo: str, commit: str, directory: str, recursive: str | None = None
    ) -> list | Response:
        files = self.tree(repo, commit)
        prefix = f"{directory}/" if directory else ""
        if directory and not any(p.startswith(prefix) for p in files):
            return _entry_not_found(directory)
        entries, dirs = [], set()
        for path, info in sorted(files.items()):
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix) :]
            if "/" in rest:
                parts = rest.split("/")[:-1]
                depth = len(parts) if recursive == "true" else 1
                dirs.update(prefix + "/".join(parts[: i + 1]) for i in range(depth))
                if recursive != "true":
                    continue
            entry = {"type": "file", "oid": info["git_oid"], "size": info["size"], "path": path}
            if info["lfs"]:
                entry["lfs"] = {"oid": info["sha256"], "size": info["size"], "pointerSize": 134}
            entries.append(entry)
        entries += [
            {"type": "directory", "oid": "0" * 40, "size": 0, "path": d} for d in sorted(dirs)
        ]
        return entries


def _entry_not_found(path: str) -> Response:
    return Response(
        "",
        status=404,
        headers={"X-Error-Code": "EntryNotFound", "X-Error-Message": f"{path} does not exist"},
    )


def _revision_not_found(rev: str) -> Response:
    return Response(
        "",
        status=404,
        headers={"X-Error-Code": "RevisionNotFound", "X-Error-Message": f"Invalid rev id: {rev}"},
    )


# --- Comfy Registry -------------------------------------------------------------------------


class FakeRegistry:
    """``/nodes/{id}`` (302 to the canonical id), ``/nodes/search``, ``/comfy-nodes/{X}/node``."""

    def __init__(self, srv: HTTPServer, *, search: bool = True) -> None:
        self.srv = srv
        self.nodes: dict[str, dict] = {}
        self.classes: dict[str, list[str]] = {}
        self.search = search
        self.base_url = srv.url_for("/").rstrip("/")
        srv.expect_request(ALL).respond_with_handler(self._handle)

    def add_node(
        self, node_id: str, repository: str, version: str | None, classes: list[str]
    ) -> dict:
        node = {
            "id": node_id,
            "name": node_id.replace("-", " ").title(),
            "author": "someone",
            "repository": repository,
            "downloads": 1234,
            "status": "NodeStatusActive",
            "publisher": {"id": "pub", "name": "Pub"},
            "latest_version": {
                "id": "v-uuid",
                "node_id": node_id,
                "version": version,
                "status": "NodeVersionStatusActive",
            }
            if version
            else None,
        }
        self.nodes[node_id] = node
        self.classes[node_id] = classes
        return node

    def _handle(self, request: Request) -> Response:
        path = request.path
        if path == "/nodes/search" and self.search:
            cls = request.args.get("comfy_node_search", "")
            found = [self.nodes[n] for n, classes in self.classes.items() if cls in classes]
            return _json(
                {"nodes": found, "total": len(found), "page": 1, "limit": 50, "totalPages": 1}
            )
        if m := re.fullmatch(r"/comfy-nodes/([^/]+)/node", path):
            for n, classes in self.classes.items():
                if m.group(1) in classes:
                    return _json(self.nodes[n])
            return _json({"message": "not found"}, 404)
        if m := re.fullmatch(r"/nodes/([^/]+)", path):
            wanted = m.group(1)
            if wanted in self.nodes:
                return _json(self.nodes[wanted])
            for n in self.nodes:
                if n.lower() == wanted.lower():
                    return Response("", status=302, headers={"Location": f"/nodes/{n}"})
            return _json({"message": "Node not found"}, 404)
        return _json({"message": "not found"}, 404)


@contextlib.contextmanager
def fake_services() -> Iterator[SimpleNamespace]:
    """Civitai, the hub (with its CDN host) and the registry, each on its own loopback
    server, stopped on exit: ``.civitai``, ``.hub``, ``.registry``."""
    with (
        LoopbackServer() as civ,
        LoopbackServer() as hub_srv,
        LoopbackServer() as cdn,
        LoopbackServer() as reg,
    ):
        yield SimpleNamespace(
            civitai=FakeCivitai(civ), hub=FakeHub(hub_srv, cdn), registry=FakeRegistry(reg)
        )


class Sleeps(list):
    """An injected sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# A Civitai token the tests grep for: it must never appear in any output, cache or error.
CIVITAI_TOKEN = "civ_SECRET_token_0123456789"
