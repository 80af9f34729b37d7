"""Declared-shape placeholders for tensors whose values the store never kept.

The store records of an initializer (or a TENSOR attribute) only its dtype and shape: values must
not change an architecture. A rebuilt model therefore carries placeholders with exactly the declared
dtype and dims, which is all the architecture hash reads:

- tensors of fewer than `INLINE_MAX_ELEMENTS` elements (and string tensors) are written inline,
  filled with zeros (empty strings);
- larger ones are external-data references into one weights file per model (`<stem>.weights`,
  a `location` beside the .onnx file, consecutive offsets). `write_weights` creates that file at the
  exact declared length as a sparse file of zeros (no disk blocks on file systems with holes), so
  `onnx.checker.check_model(path)` passes and onnxruntime can even load the model (weights zero).
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from onnx import SparseTensorProto, TensorProto

INLINE_MAX_ELEMENTS = 64

_DTYPE_VALUES = {name.lower(): value for name, value in TensorProto.DataType.items()}
_SUB_BYTE_BITS = {"int4": 4, "uint4": 4, "float4e2m1": 4, "int2": 2, "uint2": 2, "float6e2m3": 6, "float6e3m2": 6}


def dtype_value(name: str | None, default: int = TensorProto.FLOAT) -> int:
    """`float`, `int64`, `type<N>` (the spelling of walk/attrs.dtype_name) → the ONNX enum value."""
    if not name:
        return default
    if name in _DTYPE_VALUES:
        return _DTYPE_VALUES[name]
    if name.startswith("type") and name[4:].isdigit():
        return int(name[4:])
    return default


def element_bytes(dtype: int, count: int) -> int:
    """Bytes of `count` packed elements of an ONNX dtype (sub-byte types packed, as ONNX stores them)."""
    bits = _element_bits(dtype)
    return math.ceil(count * bits / 8)


@lru_cache(maxsize=64)
def _element_bits(dtype: int) -> int:
    name = TensorProto.DataType.Name(dtype).lower() if dtype in TensorProto.DataType.values() else ""
    if name in _SUB_BYTE_BITS:
        return _SUB_BYTE_BITS[name]
    try:
        from onnx.helper import tensor_dtype_to_np_dtype

        return 8 * int(np.dtype(tensor_dtype_to_np_dtype(dtype)).itemsize)
    except (KeyError, TypeError, ValueError):
        return 8


class Placeholders:
    """Makes placeholder tensors for one model and lays out its weights file. Without a `location`
    (a model only checked, never saved) every tensor is inline, and one of more than `MEMORY_ELEMENTS`
    elements is replaced by an empty one of its dtype."""

    MEMORY_ELEMENTS = 1 << 20

    def __init__(self, location: str | None) -> None:
        self.location = location
        self.offset = 0  # bytes of the weights file so far

    def tensor(self, name: str, summary: dict[str, Any]) -> TensorProto:
        """A TensorProto named `name` with the dtype and dims of a stored summary {"dtype", "shape"}."""
        t = TensorProto()
        t.name = name
        t.data_type = dtype_value(summary.get("dtype"))
        dims = [int(d) for d in summary.get("shape") or []]
        count = math.prod(dims) if dims else 1
        if self.location is None and count > self.MEMORY_ELEMENTS:
            dims, count = [0], 0
        t.dims.extend(dims)
        if t.data_type == TensorProto.STRING:
            t.string_data.extend([b""] * count)
        elif count < INLINE_MAX_ELEMENTS or self.location is None:
            t.raw_data = bytes(element_bytes(t.data_type, count))
        else:
            length = element_bytes(t.data_type, count)
            t.data_location = TensorProto.EXTERNAL
            for key, value in (("location", self.location), ("offset", str(self.offset)), ("length", str(length))):
                entry = t.external_data.add()
                entry.key, entry.value = key, value
            self.offset += length
        return t

    def sparse(self, name: str, summary: dict[str, Any]) -> SparseTensorProto:
        """An all-zero sparse tensor of the declared dims: no stored values (nnz = 0)."""
        s = SparseTensorProto()
        s.dims.extend(int(d) for d in summary.get("shape") or [])
        s.values.name = name
        s.values.data_type = dtype_value(summary.get("dtype"))
        s.values.dims.append(0)
        s.values.raw_data = b""
        s.indices.name = f"{name}.indices"
        s.indices.data_type = TensorProto.INT64
        s.indices.dims.append(0)
        s.indices.raw_data = b""
        return s


def write_weights(path: Path, length: int) -> None:
    """A file of `length` zero bytes, sparse where the file system allows (truncate makes a hole)."""
    with open(path, "wb") as fh:
        fh.truncate(length)
