"""Which file a URL names, and which of a reference's URLs disagree (SPEC §1).

Why: SPEC §1 makes two workflows whose URLs for one reference name *different files* a
conflict, never a silent pick; the same file written two ways is not one. A Hugging Face URL
names ``(repo type, repo, path)`` whatever its host (the hub, ``hf.co``, ``$HF_ENDPOINT``), verb
(``resolve``/``blob``) or query (``?download=true``); its revision is left out on purpose: the
same path at two revisions is one file whose bytes resolution compares. A Civitai download
names a model version (and a ``fileId`` when given). Any other URL names itself, without its
fragment and the ``download``/``token`` query noise. URLs of different files must be known
to give the same bytes (a declared sha256, or one found) or they are a conflict. Pure but for
the ``sha_of`` callback (reads ``$HF_ENDPOINT``'s host).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

from ..basics.redact import redact
from ..lock.structs import CivitaiSource, HuggingFaceSource, Source, UrlSource
from ..net.endpoints import Endpoints
from ..workflows.refs import ModelRef
from .sources.huggingface import parse_hf_url

__all__ = ["FileId", "disagreeing_urls", "file_of_source", "file_of_url"]

FileId = tuple
_CIVITAI_DOWNLOAD = re.compile(r"/api/download/models/(\d+)")
_NOISE = frozenset({"download", "token"})


def file_of_url(url: str, endpoints: Endpoints | None = None) -> FileId:
    """A comparable identity of the file ``url`` names."""
    endpoints = endpoints or Endpoints.from_env()
    hf = parse_hf_url(url, endpoint=endpoints.hf)
    if hf is not None:
        return ("huggingface", hf.repo_type, hf.repo, hf.path)
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    civitai = _CIVITAI_DOWNLOAD.search(parts.path)
    if civitai and (host.endswith("civitai.com") or url.startswith(endpoints.civitai)):
        file_id = dict(parse_qsl(parts.query)).get("fileId")
        return ("civitai", int(civitai.group(1)), int(file_id) if file_id else None)
    query = tuple(sorted((k, v) for k, v in parse_qsl(parts.query) if k.lower() not in _NOISE))
    return ("url", parts.scheme.lower(), host, parts.port, parts.path, query)


def file_of_source(source: Source) -> set[FileId]:
    """The identities a locked source answers to (a Civitai file also by its version alone)."""
    if isinstance(source, HuggingFaceSource):
        return {("huggingface", source.repo_type or "model", source.repo, source.path)}
    if isinstance(source, CivitaiSource):
        return {
            ("civitai", source.version_id, None),
            ("civitai", source.version_id, source.file_id),
        }
    if isinstance(source, UrlSource):
        return {file_of_url(source.url)}
    return set()  # a file source (an input file) is no URL a workflow names


Use = tuple[str, str]  # (workflow, URL as shown)


def disagreeing_urls(
    uses: list[tuple[str, ModelRef]],
    sha_of: Callable[[str, FileId], str | None],
    *,
    compare_all: bool = False,
) -> tuple[Use, Use] | None:
    """The first two of the references' URLs not known to give the same bytes.

    A URL's bytes are the sha256 its workflow declares, else ``sha_of(url, file)`` (None:
    unknown). URLs naming one file agree unless ``compare_all`` (they were all resolved) and
    their bytes differ; URLs naming different files must be known to give the same bytes.
    """
    first_use: dict[str, Use] = {}
    declared: dict[str, str] = {}
    for path, r in uses:
        if r.url:
            first_use.setdefault(r.url, (path, redact(r.url)))
            if r.sha256:
                declared.setdefault(r.url, r.sha256)
    files = {url: file_of_url(url) for url in first_use}
    if len(set(files.values())) < 2 and not compare_all:
        return None
    shas = {url: declared.get(url) or sha_of(url, file) for url, file in files.items()}
    order = sorted(first_use, key=lambda u: first_use[u])
    if len(set(files.values())) > 1 and None in shas.values():
        other = next(u for u in order if files[u] != files[order[0]])
        return first_use[order[0]], first_use[other]
    distinct = sorted({v for v in shas.values() if v})
    if len(distinct) > 1:
        one = next(u for u in order if shas[u] == distinct[0])
        two = next(u for u in order if shas[u] == distinct[1])
        pair = sorted([first_use[one], first_use[two]])
        return pair[0], pair[1]
    return None
