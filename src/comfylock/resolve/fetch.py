"""`resolve --fetch`: learn a URL-only model's hash by downloading it once into the store.

The bytes land in the store's ``tmp/``, are hashed, and are placed as a blob through the
same verified ``Store.ingest`` sync uses, so the later ``sync`` only has to link them.
Every redirect hop obeys the https-only rule; the body is capped (``COMFYLOCK_FETCH_MAX_BYTES``,
default 64 GiB) and must keep the lowest speed (``net.limits``), so a hostile URL can neither
fill the disk nor hang ``resolve``.
"""

from __future__ import annotations

import contextlib
import hashlib

from ..errors import RemoteError
from ..settings import Settings
from ..store.blobs import Store
from ..store.hashing import Digest, Expected, hash_file

__all__ = ["fetch_into_store"]


def fetch_into_store(settings: Settings, url: str, *, allow_http=()) -> Digest:
    """Download ``url`` (token scoping and redirect rules of ``http.send``), hash it, and
    place it in the store. Raises RemoteError for an HTML page or an empty body."""
    from ..basics.redact import redact
    from ..net.endpoints import Endpoints
    from ..net.limits import Limits, save_body
    from ..net.send import make_client, send
    from .sources.url import check_url

    check_url(url, allow_http)
    limits = Limits.from_env()
    store = Store(settings.store_dir).ensure()
    tmp = store.tmp_dir / f"fetch-{hashlib.sha256(url.encode()).hexdigest()[:32]}.part"
    try:
        with make_client(timeout=60.0) as client:
            response = send(
                client,
                "GET",
                url,
                endpoints=Endpoints.from_env(),
                stream=True,
                allow_http=tuple(allow_http),
            )
            try:
                if response.status_code >= 400:
                    raise RemoteError(
                        redact(f"GET {url}: {response.status_code} {response.reason_phrase}")
                    )
                if (response.headers.get("content-type") or "").startswith("text/html"):
                    raise RemoteError(
                        redact(f"GET {url}: the server sent an HTML page, not a model file")
                    )
                save_body(response, tmp, limits, redact(f"GET {url}"))
            finally:
                response.close()
        digest = hash_file(tmp)
        if digest.size == 0:
            raise RemoteError(redact(f"GET {url}: empty body"))
        with store.digest_lock(digest.sha256):
            if not store.has(digest.sha256):
                store.ingest(
                    tmp, Expected(size=digest.size, sha256=digest.sha256, blake3=digest.blake3)
                )
        return digest
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        store.close()
