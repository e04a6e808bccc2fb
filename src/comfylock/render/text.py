"""Terminal text shared by the renderers: safe lines and aligned tables.

Every text renderer builds a list of lines and joins them with ``lines_text``: a name that
carries an ESC sequence or a ``\\r`` (from a workflow, a lock, a file name) is shown escaped,
never sent raw to the terminal.
"""

from __future__ import annotations

import re

from ..pathsafe import printable

__all__ = [
    "FittingStream",
    "HintStream",
    "fit_line",
    "lines_text",
    "table",
    "with_globals",
]


def lines_text(lines: list[str]) -> str:
    """Join rendered lines, each made terminal-safe (a value's newline cannot forge a line)."""
    return "\n".join(printable(line) for line in lines)


def table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Left-aligned columns, no borders: stable and pipe-friendly."""
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


# --- fitting lines to the width they are given ----------------------------------------------

_MIN_HANG = 8  # a continuation is indented at least this much less than the width


def _hang(line: str, cut: int) -> int:
    """Where continuation lines start: the column (a field after two spaces) that the cut
    falls in, when it starts early enough; else the line's own indent plus four."""
    lead = len(line) - len(line.lstrip(" "))
    best = None
    i = line.find("  ", lead)
    while 0 <= i < cut:
        j = i
        while j < len(line) and line[j] == " ":
            j += 1
        if j <= cut:
            best = j
        i = line.find("  ", j)
    return best if best is not None else lead + 4


def _pieces(text: str, longest: int) -> list[str]:
    """Words, each keeping the space after it; a path also breaks after each ``/``. A
    `command` in backticks stays whole when it fits on a line; a longer one breaks only
    between its arguments (``fit_line`` ends such a line with a shell continuation)."""
    out: list[str] = []
    word = ""
    quoted = False
    for ch in text:
        if ch == "`" and not quoted and word:
            out.append(word)  # a span starts a piece of its own
            word = ""
        word += ch
        if ch == "`":
            quoted = not quoted
        if not quoted and (ch == " " or ch == "/"):
            out.append(word)
            word = ""
    if word:
        out.append(word)
    fitted: list[str] = []
    for piece in out:
        if piece.startswith("`") and len(piece.rstrip(" ")) > longest - len(_CONTINUED):
            words = piece.split(" ")
            for n, w in enumerate(words):
                last = n == len(words) - 1
                if len(w) > longest - len(_CONTINUED):  # one argument wider than a line:
                    fitted += _split_word(w, longest - len(_CONTINUED), last)  # mid-word
                elif w:
                    fitted.append(w if last else _IN_SPAN + w + " ")
        else:
            fitted.append(piece)
    return [p for p in fitted if p]


def _split_word(word: str, room: int, last: bool) -> list[str]:
    """An argument wider than a line, in chunks that end after a ``/`` where possible; a
    shell joins them again (a backslash-newline inside a word is removed)."""
    chunks, rest = [], word
    while len(rest) > room:
        cut = rest.rfind("/", 0, room) + 1 or room
        chunks.append(_IN_WORD + rest[:cut])
        rest = rest[cut:]
    return [*chunks, rest if last else _IN_SPAN + rest + " "]


_IN_WORD = "\x01"  # marks a chunk of an argument that goes on, unindented, on the next line
_IN_SPAN = "\x00"  # marks an argument of a command broken over lines (not the last one)
_CONTINUED = " \\"  # how a shell reads a command that goes on on the next line


def _elide(piece: str, room: int) -> str:
    """A piece longer than a whole line: its middle elided (never cut silently)."""
    if len(piece) <= room:
        return piece
    keep = max(room - 1, 2)
    return piece[: keep // 2] + "…" + piece[len(piece) - (keep - keep // 2) :]


def fit_line(line: str, width: int | None) -> list[str]:
    """``line`` as one or more lines of at most ``width`` columns: wrapped between words (or
    after a ``/`` of a path), continuations indented under the column that was cut; a
    single word wider than a line is elided in the middle. ``None``: as is."""
    if width is None or len(line) <= width or "\x1b" in line:
        return [line]
    hang = _hang(line, width)
    lead = len(line) - len(line.lstrip(" "))
    widest = max((len(p.rstrip(" ")) for p in _pieces(line[hang:], width)), default=0)
    if hang > width - max(_MIN_HANG, widest):  # the column is too narrow for its words
        hang = min(lead + 4, width // 2)
    out: list[str] = []
    current = ""
    limit = width
    in_span = False  # the last piece was an argument of a command broken over lines
    for raw in _pieces(line, width - hang):
        if raw.startswith(_IN_WORD):  # a chunk of a too-wide argument: it ends its line
            chunk = raw.removeprefix(_IN_WORD)
            if current.strip() and len(current) + len(chunk) + 1 > limit:
                out.append(current.rstrip(" ") + (_CONTINUED if in_span else ""))
                current = " " * hang
            out.append(current + chunk + "\\")
            current, in_span = "", False  # NOTE: no indent: it is the same word
            continue
        spanned = raw.startswith(_IN_SPAN)
        piece = raw.removeprefix(_IN_SPAN)
        room = limit - (len(_CONTINUED) if spanned else 0)
        if len((current + piece).rstrip(" ")) <= room or not current.strip():
            current += piece
            if len(current.rstrip(" ")) > limit and not spanned:
                current = _elide(  # one piece alone is too wide
                    current.rstrip(" "), limit - (len(current) - len(current.lstrip(" ")))
                )
            in_span = spanned
            continue
        out.append(current.rstrip(" ") + (_CONTINUED if in_span else ""))
        current = " " * hang + piece
        in_span = spanned
        limit = width
    if current.strip():
        text = current.rstrip(" ")
        if len(text) > width:
            text = text[:hang] + _elide(text[hang:], width - hang)
        out.append(text)
    return out or [line]


class FittingStream:
    """A text stream that fits every line written to it to ``width`` (``fit_line``); text
    with control sequences (a live progress display) passes through untouched."""

    def __init__(self, stream, width: int) -> None:
        self._stream = stream
        self._width = width
        self._pending = ""

    def write(self, text: str) -> int:
        if "\x1b" in text or "\r" in text:
            self._stream.write(text)
            return len(text)
        data = self._pending + text
        *done, self._pending = data.split("\n")
        for line in done:
            self._stream.write("\n".join(fit_line(line, self._width)) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._stream.write("\n".join(fit_line(self._pending, self._width)))
            self._pending = ""
        self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


# --- hints that work when copied ------------------------------------------------------------

_HINT = re.compile(r"`comfylock ([a-z][a-z-]*)((?: [^`]*)?)`")


def with_globals(text: str, given: list[tuple[str, str]]) -> str:
    """Each `comfylock CMD …` hint in ``text`` with the global options this run was given
    (``--lock``, ``--comfyui-root``, …) that it does not name itself, so that copied into
    the same shell it acts on the same project and ComfyUI."""
    if not given or "`comfylock " not in text:
        return text
    import shlex

    def add(match: re.Match) -> str:
        command, rest = match.group(1), match.group(2)
        if command == "help" or "--help" in rest:
            return match.group(0)
        extra = "".join(
            f" {opt} {printable(shlex.quote(value))}"
            for opt, value in given
            if opt not in rest and not (opt == "--comfyui-root" and "--models-dir" in rest)
        )
        return f"`comfylock {command}{rest}{extra}`"

    return _HINT.sub(add, text)


class HintStream:
    """A text stream whose hints carry this run's global options (``with_globals``)."""

    def __init__(self, stream, given: list[tuple[str, str]]) -> None:
        self._stream = stream
        self._given = given

    def write(self, text: str) -> int:
        self._stream.write(with_globals(text, self._given))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)
