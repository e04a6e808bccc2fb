"""Which file a URL names, so that two workflows' URLs for one (folder, name) can be compared.

Why: SPEC §1 makes two workflows whose URLs for one reference name *different files* a
conflict, never a silent pick; the same file written two ways is not one. A Hugging Face URL
names ``(repo type, repo, path)`` whatever its host (the hub, ``hf.co``, ``$HF_ENDPOINT``), verb
(``resolve``/``blob``) or query (``?download=true``); its revision is left out on purpose: the
same path at two revisions is one file whose bytes resolution compares. A Civitai download
names a model version (and a ``fileId`` when given). Any other URL names itself, without its
fragment and the ``download``/``token`` query noise. Pure (reads ``$HF_ENDPOINT``'s host).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from ..lock.model import CivitaiSource, HuggingFaceSource, Source
from ..net.endpoints import Endpoints
from .sources.huggingface import parse_hf_url

__all__ = ["FileId", "file_of_source", "file_of_url"]

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
    return {file_of_url(source.url)}
