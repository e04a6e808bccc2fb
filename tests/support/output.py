"""What the CLI printed: its one ``error: …`` line."""

from __future__ import annotations


def one_error_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def error_line(stderr: str) -> str:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    errors = [ln for ln in stderr.splitlines() if ln.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def one_line_error(stderr: str, starts: str) -> str:
    """The CLI's whole complaint is one ``error: …`` line; no traceback."""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert "Traceback" not in stderr, stderr
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1, stderr
    assert errors[0].startswith(f"error: {starts}"), errors[0]
    return errors[0]
