"""Numeric node features from operator attributes (`export pyg|dense --attr-features`; docs/export.md).

A fixed list of common ONNX attributes (`ATTRIBUTES`), each turned into a `<name>.present` flag
(1 when the attribute is in the node's canonical attribute JSON) followed by its value columns:

- `ints` (width w): the first w list items (a single number counts as a one-item list; a
  `{"truncated": [...]}` long list uses its stored items), zero-padded: `<name>.0` ... `<name>.{w-1}`;
- `number`: the value: `<name>`;
- `len`: the list's length (a truncated list's `len`): `<name>.len`;
- `enum`: the position of the string in the attribute's fixed list of values, -1 when not in it: `<name>`.

Anything not a finite number where a number is expected (strings, tensors, NaN/inf) is 0. Absent
attributes give 0 in every column, present flag included (ONNX defaults are not filled in). Values
are raw (not normalised). The layout is versioned by `FORMAT`: columns are only ever appended.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from younger_graph.export.vocab import filled_strings

FORMAT = "younger-graph-attr-features/1"


@dataclass(frozen=True)
class AttrFeature:
    name: str
    kind: str  # ints | number | len | enum
    width: int = 1
    values: tuple[str, ...] = ()  # enum: the known strings, in code order

    def columns(self) -> list[str]:
        if self.kind == "ints":
            return [f"{self.name}.{i}" for i in range(self.width)]
        return [f"{self.name}.len" if self.kind == "len" else self.name]

    def encode(self, value: Any) -> list[float]:
        if self.kind == "ints":
            items = _items(value)[:self.width]
            return [_number(v) for v in items] + [0.0] * (self.width - len(items))
        if self.kind == "len":
            if isinstance(value, dict) and "len" in value:
                return [_number(value["len"])]
            return [float(len(value))] if isinstance(value, list) else [0.0]
        if self.kind == "enum":
            return [float(self.values.index(value))] if value in self.values else [-1.0]
        return [_number(value)]


ATTRIBUTES: tuple[AttrFeature, ...] = (
    AttrFeature("kernel_shape", "ints", 3),
    AttrFeature("strides", "ints", 3),
    AttrFeature("pads", "ints", 6),
    AttrFeature("dilations", "ints", 3),
    AttrFeature("output_padding", "ints", 3),
    AttrFeature("group", "number"),
    AttrFeature("axis", "number"),
    AttrFeature("axes", "len"),
    AttrFeature("perm", "len"),
    AttrFeature("epsilon", "number"),
    AttrFeature("alpha", "number"),
    AttrFeature("beta", "number"),
    AttrFeature("momentum", "number"),
    AttrFeature("transA", "number"),
    AttrFeature("transB", "number"),
    AttrFeature("keepdims", "number"),
    AttrFeature("ceil_mode", "number"),
    AttrFeature("count_include_pad", "number"),
    AttrFeature("to", "number"),
    AttrFeature("auto_pad", "enum", values=("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")),
)

FEATURE_NAMES: list[str] = [c for a in ATTRIBUTES for c in (f"{a.name}.present", *a.columns())]
NUM_FEATURES = len(FEATURE_NAMES)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    value = float(value)
    return value if math.isfinite(value) else 0.0


def _items(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and isinstance(value.get("truncated"), list):
        return value["truncated"]
    return [value] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


def featurise(attrs: str | None) -> np.ndarray:
    """float32 [NUM_FEATURES] of one node's canonical attribute JSON."""
    row = np.zeros(NUM_FEATURES, dtype=np.float32)
    try:
        value = json.loads(attrs) if attrs else {}
    except ValueError:
        return row
    if not isinstance(value, dict):
        return row
    col = 0
    for a in ATTRIBUTES:
        width = 1 + len(a.columns())
        if a.name in value:
            row[col] = 1.0
            row[col + 1:col + width] = a.encode(value[a.name])
        col += width
    return row


def describe() -> dict[str, Any]:
    """The layout, for meta.json: format, column names, and the attributes with their encodings."""
    return {"format": FORMAT, "size": NUM_FEATURES, "names": FEATURE_NAMES,
            "attributes": [{"name": a.name, "kind": a.kind, "width": len(a.columns()),
                            **({"values": list(a.values)} if a.values else {})} for a in ATTRIBUTES]}


class AttrTable:
    """Distinct attribute strings → rows of a feature matrix; `encode` gives each node its row (int32)."""

    def __init__(self) -> None:
        self._row: dict[str, int] = {}
        self._rows: list[np.ndarray] = []

    def encode(self, attrs: Any) -> np.ndarray:
        """Row per node of a column of attribute JSON strings (a pyarrow array or a sequence)."""
        column = filled_strings(attrs, "{}")
        if len(column) == 0:
            return np.zeros(0, dtype=np.int32)
        encoded = pc.dictionary_encode(column)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        lookup = np.empty(len(encoded.dictionary), dtype=np.int32)
        for i, text in enumerate(encoded.dictionary.to_pylist()):
            row = self._row.get(text)
            if row is None:
                row = self._row[text] = len(self._rows)
                self._rows.append(featurise(text))
            lookup[i] = row
        return lookup[encoded.indices.to_numpy(zero_copy_only=False)]

    def matrix(self) -> np.ndarray:
        """float32 [distinct strings, NUM_FEATURES]: row r = the features of code r."""
        if not self._rows:
            return np.zeros((0, NUM_FEATURES), dtype=np.float32)
        return np.stack(self._rows)
