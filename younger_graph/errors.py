"""Every error younger-graph raises on purpose, under one base class.

`YoungerGraphError` carries a message that is one sentence for the user; the CLI prints it as one
line (no traceback unless `--debug`) and exits with the error's `exit_code`. Library callers catch
`YoungerGraphError` (or one of the kinds below) instead of parsing messages. The classes keep the
builtin bases they always had (ValueError, RuntimeError) so older `except ValueError` code still works.
A leaf module: it imports nothing from the package.
"""

from __future__ import annotations

from enum import Enum


class YoungerGraphError(Exception):
    """Base of every expected failure: bad input, a store problem, an impossible request."""

    exit_code = 2


class UsageError(YoungerGraphError, ValueError):
    """An option or argument has a value the function cannot take (a bad --length, an unknown method...)."""


class ExtractionError(YoungerGraphError, ValueError):
    """A model that cannot be turned into a graph; the message is one sentence for the user."""


class ModelError(YoungerGraphError, ValueError):
    """`inspect`/`hash`: the model could not be extracted."""


class StrictError(YoungerGraphError, RuntimeError):
    """`extract --strict`: the first failed model stopped the run (what was extracted before it is kept)."""

    exit_code = 1


class ExecutorError(YoungerGraphError, RuntimeError):
    """`extract --executor ray`: Ray is not installed, or no cluster answers at the address given."""


class QueryLibraryError(YoungerGraphError, ValueError):
    """A query file or a parameter value is malformed."""


class StoreErrorKind(str, Enum):
    """What went wrong with a store, so callers branch on a kind, never on message text."""

    MISSING = "missing"  # no database at that path
    READ_ONLY = "read-only"  # a write on a store opened read-only (or refused by a read-only session)
    AUTH = "auth"  # the server refused the credentials
    UNREACHABLE = "unreachable"  # no server answers at that address, or the connection was lost
    INVALID = "invalid"  # not a database we can use (bad URI, not a regular file, old layout)
    QUERY = "query"  # the database rejected a statement
    REJECTED = "rejected"  # the database refused data it was asked to store
    OTHER = "other"


class StoreError(YoungerGraphError, RuntimeError):
    """A store problem the user can act on (unreachable, refused, not found); `kind` says which."""

    def __init__(self, message: str, kind: StoreErrorKind = StoreErrorKind.OTHER) -> None:
        super().__init__(message)
        self.kind = kind


class QueryError(StoreError):
    """The database rejected a query; the message is the database's own."""

    def __init__(self, message: str, kind: StoreErrorKind = StoreErrorKind.QUERY) -> None:
        super().__init__(message, kind)


class ExportError(YoungerGraphError, ValueError):
    """An export cannot be made as asked (bad option, nothing selected...)."""


class SimilarityError(YoungerGraphError, ValueError):
    """A `similar` / `diff` / `embed` query cannot be answered: not a model, not in the store, no
    embeddings yet."""


class StatsError(YoungerGraphError, ValueError):
    """The statistics selection cannot be made (bad --where query, unknown columns)."""


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The exception's first non-empty line (its type name when it has no text), cut to `limit`.

    A first line ending in a colon announces its reason on the next line (the Neo4j driver's
    "Couldn't connect to ...:"), so the two are joined rather than the reason cut off."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    text = lines[0]
    for more in lines[1:]:
        if not text.endswith(":"):
            break
        text = f"{text} {more}"
    return text if limit is None else text[:limit]
