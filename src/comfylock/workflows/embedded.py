"""Workflows embedded in output files: PNG/APNG text chunks, WebP EXIF, FLAC comments and
safetensors ``__metadata__``.

ComfyUI writes PNG ``tEXt`` chunks ``prompt`` and ``workflow`` (``iTXt``/``zTXt`` are read
too), animated PNGs a private ``comf`` chunk (``key\\0json``), and WebP files an EXIF IFD0
whose Make/Model strings start with ``workflow:`` / ``prompt:`` (with or without the
``Exif\\0\\0`` prefix). Pure: bytes in, ``{"workflow": text, "prompt": text}`` out.

Compressed text is inflated piece by piece up to ``MAX_TEXT`` bytes: a 3 MB PNG whose
``zTXt`` inflates to gigabytes is refused (``EmbeddedError``), never held in memory.
"""

from __future__ import annotations

import struct
import zlib

__all__ = ["MAX_TEXT", "EmbeddedError", "extract", "sniff"]

MAX_TEXT = 64 * 1024 * 1024  # one embedded text; ComfyUI's largest real ones are a few MB

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WANTED_KEYS = ("workflow", "prompt")


class EmbeddedError(ValueError):
    """The container itself is broken (truncated, bad chunk); the message says how."""


def sniff(data: bytes) -> str | None:
    """'png', 'webp', 'flac', 'safetensors' or None, from the magic bytes."""
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"fLaC"):
        return "flac"
    if len(data) >= 10 and data[8:10] == b'{"' and struct.unpack("<Q", data[:8])[0] < len(data):
        return "safetensors"
    return None


def extract(data: bytes) -> dict[str, str] | None:
    """The embedded ``workflow``/``prompt`` texts, {} if none, None if not an image we read."""
    kind = sniff(data)
    if kind == "png":
        return _png(data)
    if kind == "webp":
        return _webp(data)
    if kind == "flac":
        return _flac(data)
    if kind == "safetensors":
        return _safetensors(data)
    return None


def _flac(data: bytes) -> dict[str, str]:
    """Vorbis comments (``prompt=…``, ``workflow=…``) of a FLAC file, as SaveAudio writes."""
    found: dict[str, str] = {}
    pos = 4
    while pos + 4 <= len(data):
        header = data[pos]
        size = int.from_bytes(data[pos + 1 : pos + 4], "big")
        body = data[pos + 4 : pos + 4 + size]
        if len(body) < size:
            raise EmbeddedError("truncated FLAC (metadata block cut short)")
        if header & 0x7F == 4:  # VORBIS_COMMENT, little-endian lengths inside
            found.update(_vorbis_comments(body))
        if header & 0x80:  # last metadata block
            break
        pos += 4 + size
    return found


def _vorbis_comments(body: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    try:
        vendor = struct.unpack_from("<I", body, 0)[0]
        pos = 4 + vendor
        (count,) = struct.unpack_from("<I", body, pos)
        pos += 4
        for _ in range(count):
            (length,) = struct.unpack_from("<I", body, pos)
            entry = body[pos + 4 : pos + 4 + length].decode("utf-8", "replace")
            pos += 4 + length
            key, sep, value = entry.partition("=")
            if sep and key.lower() in WANTED_KEYS and key.lower() not in found:
                found[key.lower()] = value
    except struct.error:
        raise EmbeddedError("corrupt FLAC comment block") from None
    return found


def _safetensors(data: bytes) -> dict[str, str]:
    """``__metadata__`` of a safetensors file (SaveLatent, CheckpointSave write prompt/workflow)."""
    import json

    (length,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8 : 8 + length])
    except (ValueError, UnicodeDecodeError):
        raise EmbeddedError("corrupt safetensors header") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict):
        return {}
    return {k: v for k, v in meta.items() if k in WANTED_KEYS and isinstance(v, str)}


def _png(data: bytes) -> dict[str, str]:
    found: dict[str, str] = {}
    pos = len(PNG_SIGNATURE)
    end = len(data)
    while True:
        if pos + 8 > end:
            raise EmbeddedError("truncated PNG (ends before its IEND chunk)")
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        body_end = pos + 8 + length
        if body_end + 4 > end:
            raise EmbeddedError(
                f"truncated PNG ({ctype.decode('latin-1', 'replace')!r} chunk cut short)"
            )
        body = data[pos + 8 : body_end]
        (crc,) = struct.unpack(">I", data[body_end : body_end + 4])
        if zlib.crc32(ctype + body) != crc:
            raise EmbeddedError(
                f"corrupt PNG (bad checksum in {ctype.decode('latin-1', 'replace')!r} chunk)"
            )
        if ctype == b"IEND":
            return found
        item = _png_text(ctype, body)
        if item and item[0] in WANTED_KEYS and item[0] not in found:
            found[item[0]] = item[1]
        pos = body_end + 4


def _png_text(ctype: bytes, body: bytes) -> tuple[str, str] | None:
    try:
        if ctype in (b"tEXt", b"comf"):
            key, _, text = body.partition(b"\0")
            return key.decode("latin-1"), text.decode("utf-8" if ctype == b"comf" else "latin-1")
        if ctype == b"zTXt":
            key, _, rest = body.partition(b"\0")
            return key.decode("latin-1"), _inflate(rest[1:]).decode("latin-1")
        if ctype == b"iTXt":
            key, _, rest = body.partition(b"\0")
            compressed, _method = rest[0], rest[1]
            _lang, _, rest = rest[2:].partition(b"\0")
            _translated, _, text = rest.partition(b"\0")
            if compressed:
                text = _inflate(text)
            return key.decode("latin-1"), text.decode("utf-8")
    except (zlib.error, IndexError, UnicodeDecodeError) as exc:
        raise EmbeddedError(f"corrupt PNG text chunk: {exc}") from None
    return None


def _inflate(data: bytes, limit: int = MAX_TEXT) -> bytearray:
    """zlib data inflated 1 MiB at a time to at most ``limit`` bytes; more is refused."""
    inflater = zlib.decompressobj()
    out = bytearray()
    pending = data
    while pending and not inflater.eof:
        out += inflater.decompress(pending, 1024 * 1024)
        pending = inflater.unconsumed_tail
        if len(out) > limit:
            raise EmbeddedError(
                f"an embedded text inflates to more than {limit // (1024 * 1024)} MiB; refused"
            )
    if not inflater.eof:
        out += inflater.flush(64 * 1024)  # at most a window's worth is still held back
    if not inflater.eof or len(out) > limit:
        raise zlib.error("incomplete, truncated or oversized stream")
    return out


def _webp(data: bytes) -> dict[str, str]:
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 > len(data):
        raise EmbeddedError("truncated WebP (file shorter than its RIFF header says)")
    found: dict[str, str] = {}
    pos = 12
    end = riff_size + 8
    while pos + 8 <= end:
        ctype, size = struct.unpack("<4sI", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        if len(body) < size:
            raise EmbeddedError(
                f"truncated WebP ({ctype.decode('latin-1', 'replace')!r} chunk cut short)"
            )
        if ctype == b"EXIF":
            for text in _exif_strings(body):
                key, sep, value = text.partition(":")
                if sep and key in WANTED_KEYS and key not in found:
                    found[key] = value
        pos += 8 + size + (size & 1)
    return found


def _exif_strings(exif: bytes) -> list[str]:
    """ASCII values of IFD0 in a TIFF-structured EXIF block."""
    if exif.startswith(b"Exif\0\0"):
        exif = exif[6:]
    if len(exif) < 8 or exif[:2] not in (b"II", b"MM"):
        return []
    order = "<" if exif[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack(order + "I", exif[4:8])
        (count,) = struct.unpack(order + "H", exif[ifd : ifd + 2])
        out = []
        for i in range(count):
            entry = exif[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
            _tag, typ, n, value = struct.unpack(order + "HHII", entry)
            if typ != 2:  # ASCII
                continue
            raw = entry[8 : 8 + n] if n <= 4 else exif[value : value + n]
            out.append(raw.rstrip(b"\0").decode("utf-8", "replace"))
        return out
    except struct.error:
        return []
