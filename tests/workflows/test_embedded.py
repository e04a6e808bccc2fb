"""workflows/embedded.py: workflows embedded in output files; decompression is capped."""

from __future__ import annotations

import zlib

import pytest

from tests.support.output import error_line as _error_line


def _png_with_ztxt(key: bytes, text_size: int) -> bytes:
    import struct

    def chunk(ctype: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + ctype
            + body
            + struct.pack(">I", zlib.crc32(ctype + body))
        )

    inflater = zlib.compressobj(9)
    block = b" " * (1024 * 1024)
    packed = inflater.compress(b'{"nodes": [], "pad": "')
    for _ in range(text_size // len(block)):
        packed += inflater.compress(block)
    packed += inflater.compress(b'"}') + inflater.flush()
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"zTXt", key + b"\0\0" + packed)
        + chunk(b"IEND", b"")
    )


def test_net_png_text_bomb_is_refused_without_inflating_it(run_cli, tmp_path):
    import tracemalloc

    from comfylock.workflows.embedded import MAX_TEXT, EmbeddedError, extract

    data = _png_with_ztxt(b"workflow", MAX_TEXT + 8 * 1024 * 1024)
    assert len(data) < 1024 * 1024  # a small file ...
    tracemalloc.start()
    try:
        with pytest.raises(EmbeddedError, match="inflates to more than"):
            extract(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MAX_TEXT + 16 * 1024 * 1024  # ... never inflated whole
    png = tmp_path / "bomb.png"
    png.write_bytes(data)
    result = run_cli("inspect", str(png))
    assert result.exit_code == 2, result
    assert "inflates to more than" in _error_line(result.stderr)
