"""Python values → Arrow arrays and tables, built from buffers.

Why not `pa.array` / `Table.from_pylist`: pyarrow probes for pandas on its first Python → Arrow
conversion and imports it when installed (0.2-0.3 s, a third of `younger-graph extract`'s start-up).
Extraction only ever builds a handful of plain column types, so it assembles them from numpy
buffers instead (`Array.from_buffers` never looks for pandas). Equality with `pa.array` is tested
(tests/test_arrays.py); anything outside these types goes to `pa.array`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

_INTS = {pa.int32(): np.int32, pa.int64(): np.int64}
_MAX_STRING_BYTES = 2**31 - 1  # pa.string() offsets are int32


def _validity(values: Sequence[Any]) -> tuple[pa.Buffer | None, int, np.ndarray | None]:
    """(validity bitmap, null count, boolean null mask) of values where None is null."""
    if None not in values:
        return None, 0, None
    nulls = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    bitmap = np.packbits(~nulls, bitorder="little")
    return pa.py_buffer(bitmap), int(nulls.sum()), nulls


def string_array(values: Sequence[str | None]) -> pa.Array:
    """A pa.string() array (None → null)."""
    n = len(values)
    validity, null_count, nulls = _validity(values)
    texts = values if nulls is None else ["" if v is None else v for v in values]
    data = "".join(texts).encode("utf-8")
    if len(data) > _MAX_STRING_BYTES:
        return pa.array(values, pa.string())
    # One byte per character unless something is non-ASCII; then measure each string's UTF-8.
    if len(data) == sum(map(len, texts)):
        lengths = np.fromiter(map(len, texts), dtype=np.int32, count=n)
    else:
        lengths = np.fromiter((len(t.encode("utf-8")) for t in texts), dtype=np.int32, count=n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    buffers = [validity, pa.py_buffer(offsets), pa.py_buffer(data)]
    return pa.Array.from_buffers(pa.string(), n, buffers, null_count=null_count)


def repeated_string(value: str, n: int) -> pa.Array:
    """`value` n times (a graph_id column)."""
    data = value.encode("utf-8")
    offsets = np.arange(n + 1, dtype=np.int64) * len(data)
    if offsets[-1] > _MAX_STRING_BYTES:
        return pa.array([value] * n, pa.string())
    buffers = [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data * n)]
    return pa.Array.from_buffers(pa.string(), n, buffers)


def _numeric(values: Sequence[Any] | np.ndarray, type_: pa.DataType, np_type: Any) -> pa.Array:
    n = len(values)
    validity, null_count = None, 0
    if not isinstance(values, np.ndarray):
        validity, null_count, nulls = _validity(values)
        if nulls is not None:
            values = [0 if v is None else v for v in values]
    data = np.asarray(values, dtype=np_type)
    if np_type is bool:  # Arrow booleans are bits
        data = np.packbits(data, bitorder="little")
    return pa.Array.from_buffers(type_, n, [validity, pa.py_buffer(data)], null_count=null_count)


def array(values: Sequence[Any] | np.ndarray, type_: pa.DataType) -> pa.Array:
    """`pa.array(values, type_)` for string, int32/int64, float64 and bool columns."""
    if type_ == pa.string():
        return string_array(values)
    if type_ in _INTS:
        return _numeric(values, type_, _INTS[type_])
    if type_ == pa.float64():
        return _numeric(values, type_, np.float64)
    if type_ == pa.bool_():
        return _numeric(values, type_, bool)
    return pa.array(values, type_)


def table(columns: Sequence[Sequence[Any] | np.ndarray | pa.Array], schema: pa.Schema) -> pa.Table:
    """A table of `schema` from one sequence (or ready Arrow array) per field."""
    arrays = [c if isinstance(c, pa.Array) else array(c, f.type) for c, f in zip(columns, schema)]
    return pa.Table.from_arrays(arrays, schema=schema)


def table_from_rows(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """`pa.Table.from_pylist(rows, schema=schema)`: a missing key is null, extra keys are ignored."""
    return table([[r.get(f.name) for r in rows] for f in schema], schema)


def empty_table(schema: pa.Schema) -> pa.Table:
    """`schema.empty_table()`, without the pandas import."""
    return pa.Table.from_arrays([pa.nulls(0, f.type) for f in schema], schema=schema)
