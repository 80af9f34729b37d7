"""Names that reach Cypher or DDL text: property names, metadata columns. A leaf module.

Values always travel as bound parameters, but a property name cannot be a parameter, so every name
that is written into a statement is either a constant of the package or passes `check_identifier`
(ASCII letters, digits and `_`, not starting with a digit). Names that come from users (the columns
of a `--meta` sidecar) are first turned into such identifiers by one rule, `metadata_columns`
(docs/formats.md), applied at extraction and again at load for tables written elsewhere, so both
backends store the same property names.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping

from younger_graph.errors import UsageError

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
KEPT = re.compile(r"[a-z][a-z0-9_]{0,62}\Z")  # metadata column names stored as they are
META_PREFIX = "meta_"
MAX_BASE = 48  # characters of a rewritten name before its hash suffix


def is_identifier(name: str) -> bool:
    return bool(IDENTIFIER.match(name))


def check_identifier(name: str, what: str = "property") -> str:
    """`name` itself when it may be written into Cypher text; UsageError otherwise."""
    if not is_identifier(name):
        raise UsageError(f"{name!r} is not a usable {what} name "
                         "(ASCII letters, digits and _, not starting with a digit)")
    return name


def _suffix(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def _rewritten(name: str) -> str:
    return META_PREFIX + re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:MAX_BASE]


def metadata_columns(names: Iterable[str], reserved: Iterable[str],
                     known: Mapping[str, str] | None = None) -> dict[str, str]:
    """Metadata column name → the name it is stored under, for every name given and every name
    `known` already maps.

    - A name already in `known` (an earlier run into the same folder) keeps its stored name.
    - A name of lowercase ASCII letters, digits and `_` (starting with a letter, at most 63
      characters) that is not `reserved` (the core columns) nor stored for another name is kept.
    - Any other name becomes `meta_` + its lowercase with every run of other characters turned into
      one `_` (at most 48 characters); when that is empty, reserved, taken, or the same for two names
      of this call, `_` + the first 8 hex digits of the name's SHA-256 are appended.
    Distinct names always get distinct stored names."""
    reserved = set(reserved)
    out = dict(known or {})
    taken = set(out.values()) | reserved
    fresh = sorted({n for n in names if n not in out})
    kept = [n for n in fresh if KEPT.match(n) and n not in taken]
    for n in kept:
        out[n] = n
        taken.add(n)
    rewritten = {n: _rewritten(n) for n in fresh if n not in out}
    counts: dict[str, int] = {}
    for base in rewritten.values():
        counts[base] = counts.get(base, 0) + 1
    for n, base in sorted(rewritten.items()):
        if base == META_PREFIX or base in taken or counts[base] > 1:
            base = f"{base}_{_suffix(n)}" if base != META_PREFIX else f"{META_PREFIX}{_suffix(n)}"
        while base in taken:  # a hash suffix that happens to be taken too: lengthen it
            base = f"{base}_{_suffix(base)}"
        out[n] = base
        taken.add(base)
    return out
