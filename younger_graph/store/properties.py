"""Operator attributes → typed properties (`attr_<name>`) users can filter on in Cypher.

The canonical attrs JSON stays on every operator (`attrs`); in addition each attribute becomes a
property whose type is decided from every value seen: INT64 ⊂ DOUBLE, INT64[] ⊂ DOUBLE[],
STRING[], and STRING (canonical JSON) for anything else (tensor summaries, subgraph references,
mixed types). Both backends store the same values, so queries return the same results.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from younger_graph.canonical import dumps

PREFIX = "attr_"
INT, FLOAT, STRING, INTS, FLOATS, STRINGS, JSON = "INT64", "DOUBLE", "STRING", "INT64[]", "DOUBLE[]", "STRING[]", "JSON"
_NONFINITE = {"nan": float("nan"), "inf": float("inf"), "-inf": float("-inf")}


def property_name(attr: str) -> str:
    return PREFIX + re.sub(r"[^0-9A-Za-z_]", "_", attr)


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
