"""One-line texts of exceptions, for the one-line errors the user sees and the run file records."""

from __future__ import annotations


def one_line(e: BaseException) -> str:
    """An exception's first line (its type name when it has no text)."""
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def error_line(e: BaseException) -> str:
    """``Type: first line`` of an exception (``Type:`` when it has no text)."""
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0] if lines else ''}"


def path_text(path) -> str:
    """A path for a one-line message: as it is, or quoted when it holds a newline or another
    unprintable character."""
    s = str(path)
    return s if s.isprintable() else repr(s)
