"""One spelling of "an exception as one line" for every user-facing error message."""

from __future__ import annotations


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The exception's first non-empty line (its type name when it has no text), cut to `limit`."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if limit is None else text[:limit]
