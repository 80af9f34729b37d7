"""Operator attributes → typed properties (`attr_<name>`) users can filter on in Cypher.

The canonical attrs JSON stays on every operator (`attrs`); in addition each attribute becomes a
property whose type is decided from every value seen: INT64 ⊂ DOUBLE, INT64[] ⊂ DOUBLE[],
STRING[], and STRING (canonical JSON) for anything else (tensor summaries, subgraph references,
mixed types). Both backends store the same values, so queries return the same results.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

from younger_graph.canonical import dumps

PREFIX = "attr_"
INT, FLOAT, STRING, INTS, FLOATS, STRINGS, JSON = "INT64", "DOUBLE", "STRING", "INT64[]", "DOUBLE[]", "STRING[]", "JSON"
_NONFINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}
# At most this many attribute names become attr_* properties in one store (per load on Neo4j, which
# does not declare them); the most common names first, the rest stay in the attrs JSON. One node with
# thousands of attributes must not give every operator thousands of (null) columns.
MAX_ATTR_PROPERTIES = 256
# Indexed strings (Operator.op_type) longer than this are stored cut, by the rule attribute strings
# follow: the first MAX_CUT_CHARS characters, "…", the length in bytes and a digest.
MAX_INDEXED_CHARS = 1024
MAX_CUT_CHARS = 256
_SAFE_NAME = re.compile(r"[0-9A-Za-z_]+\Z")


def property_name(attr: str) -> str:
    """`attr_<name>` for an attribute named with ASCII letters, digits and `_` (every ONNX operator's
    attributes are); any other name is written with `_` for each run of other characters plus the
    first 8 hex digits of its SHA-256, so `k-x` and `k.x` stay two properties."""
    if _SAFE_NAME.match(attr):
        return PREFIX + attr
    digest = hashlib.sha256(attr.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    readable = re.sub(r"[^0-9A-Za-z]+", "_", attr).strip("_")[:48]
    return PREFIX + "_".join(part for part in (readable, digest) if part)


def bounded_text(text: str) -> str:
    if len(text) <= MAX_INDEXED_CHARS:
        return text
    raw = text.encode("utf-8", "surrogatepass")
    return f"{text[:MAX_CUT_CHARS]}…[{len(raw)} bytes sha256:{hashlib.sha256(raw).hexdigest()[:16]}]"


def select_attributes(kinds: dict[str, str], counts: dict[str, int],
                      existing: set[str]) -> tuple[dict[str, str], list[str]]:
    """The attribute names (of `kinds`) that get a property in this load, and notes on the others.

    Names whose properties differ only by case (LadybugDB's names are case-insensitive) keep one
    property, the first name in sorted order, on both backends; a name whose property matches an
    `existing` one only ignoring case stays in the JSON. New properties are added up to
    MAX_ATTR_PROPERTIES in all, the names carried by the most operators first (then by name)."""
    notes: list[str] = []
    existing_lower = {p.lower(): p for p in existing}
    groups: dict[str, list[str]] = {}
    for name in sorted(kinds):
        groups.setdefault(property_name(name).lower(), []).append(name)
    chosen: list[str] = []
    for key, group in groups.items():
        taken = existing_lower.get(key)
        if taken is not None and taken != property_name(group[0]):
            notes.append(f"attributes {', '.join(map(repr, group))} stay in attrs only: the store has {taken}")
            continue
        if len(group) > 1:
            notes.append(f"attributes {', '.join(map(repr, group))} differ only by case; "
                         f"{property_name(group[0])} holds {group[0]!r}, the others stay in attrs only")
        chosen.append(group[0])
    old = [n for n in chosen if property_name(n) in existing]
    new = sorted((n for n in chosen if property_name(n) not in existing), key=lambda n: (-counts.get(n, 0), n))
    room = max(0, MAX_ATTR_PROPERTIES - len(existing))
    if len(new) > room:
        left = new[room:]
        notes.append(f"{len(left)} attribute names beyond the first {MAX_ATTR_PROPERTIES} stay in attrs only "
                     f"(e.g. {', '.join(map(repr, left[:3]))})")
    return {n: kinds[n] for n in old + new[:room]}, notes


def _scalar_kind(v: Any) -> str:
    if isinstance(v, bool):
        return JSON
    if isinstance(v, int):
        return INT
    if isinstance(v, float):
        return FLOAT
    if isinstance(v, str):
        return STRING
    return JSON


def value_kind(v: Any) -> str | None:
    """Kind of one attribute value; None for an empty list (fits any list kind)."""
    if isinstance(v, list):
        kinds = {_scalar_kind(x) for x in v}
        if not kinds:
            return None
        if kinds <= {INT}:
            return INTS
        if kinds <= {INT, FLOAT}:
            return FLOATS
        return STRINGS if kinds == {STRING} else JSON
    return _scalar_kind(v)


def widen(a: str | None, b: str | None) -> str | None:
    if a is None or a == b:
        return b if a is None else a
    if b is None:
        return a
    pair = {a, b}
    if pair == {INT, FLOAT}:
        return FLOAT
    if pair == {INTS, FLOATS}:
        return FLOATS
    return JSON


def infer_types(attrs_strings: Iterable[str]) -> dict[str, str]:
    """Property kinds for every attribute name found in these canonical attrs JSON strings."""
    kinds: dict[str, str | None] = {}
    for text in set(attrs_strings):
        for name, value in json.loads(text).items():
            kinds[name] = widen(kinds.get(name), value_kind(value))
    return {name: (kind or INTS) for name, kind in kinds.items()}


def db_type(kind: str) -> str:
    return STRING if kind == JSON else kind


def convert(value: Any, kind: str) -> Any:
    """A value in the declared kind; None when it cannot be represented there."""
    if kind == JSON:
        return value if isinstance(value, str) and value_kind(value) == STRING else dumps(value)
    if kind == FLOAT and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == FLOAT and isinstance(value, str) and value in _NONFINITE:
        return _NONFINITE[value]
    if kind == FLOATS and isinstance(value, list) and all(isinstance(x, (int, float)) for x in value):
        return [float(x) for x in value]
    kind_of_value = value_kind(value)
    if kind_of_value == kind or (kind_of_value is None and kind in (INTS, FLOATS, STRINGS)):
        return value
    return None


class AttributeFlattener:
    """Caches the conversion per distinct attrs string: real corpora repeat them a lot."""

    def __init__(self, kinds: dict[str, str]) -> None:
        self.kinds = kinds
        self._cache: dict[str, dict[str, Any]] = {}

    def props(self, attrs_json: str) -> dict[str, Any]:
        cached = self._cache.get(attrs_json)
        if cached is None:
            cached = {}
            for name, value in json.loads(attrs_json).items():
                kind = self.kinds.get(name)
                if kind is not None:
                    converted = convert(value, kind)
                    if converted is not None:
                        cached[property_name(name)] = converted
            if len(self._cache) < 1_000_000:
                self._cache[attrs_json] = cached
        return cached
