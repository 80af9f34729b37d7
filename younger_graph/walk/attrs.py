"""Canonical JSON for ONNX attributes: sorted keys, every attribute type, bounded size.

Tensors are summarised by dtype and shape (never their values: random initialisation must not
change an architecture), subgraphs become references to the scope they are extracted under, and
very long strings or lists are cut to a prefix plus a digest so one huge attribute cannot blow up
memory or the tables.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from enum import IntEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # onnx (0.5 s to import) is needed by the Python walker only, not by the native path
    from onnx import AttributeProto, SparseTensorProto, TensorProto, TypeProto

from younger_graph.walk.text import decode, text

MAX_STRING_CHARS = 256
MAX_LIST_ITEMS = 1024



class AttrType(IntEnum):
    """onnx.proto's AttrType.AttributeType numbers (part of the file format; a test pins them)."""

    UNDEFINED = 0
    FLOAT = 1
    INT = 2
    STRING = 3
    TENSOR = 4
    GRAPH = 5
    FLOATS = 6
    INTS = 7
    STRINGS = 8
    TENSORS = 9
    GRAPHS = 10
    SPARSE_TENSOR = 11
    SPARSE_TENSORS = 12
    TYPE_PROTO = 13
    TYPE_PROTOS = 14


@lru_cache(maxsize=1)
def _dtype_names() -> dict[int, str]:
    from onnx import TensorProto

    return {v: k.lower() for k, v in TensorProto.DataType.items()}


def dtype_name(elem_type: int) -> str:
    """ONNX element type number → lower-case name (`float`, `int64`, ...); unknown → `type<N>`."""
    return _dtype_names().get(elem_type, f"type{elem_type}")


def canonical_float(value: float) -> float | str:
    """ONNX floats are float32: print the shortest float32 repr so 0.1 stays 0.1; JSON has no NaN."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    # str(np.float32) is the shortest text that round-trips to the same float32 (".9g" gave 0.100000001).
    return float(str(np.float32(value))) if value != 0 else 0.0


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def canonical_string(raw: bytes) -> str:
    value = decode(raw)
    if len(value) <= MAX_STRING_CHARS:
        return value
    return f"{value[:MAX_STRING_CHARS]}…[{len(raw)} bytes sha256:{_digest(raw)}]"


def tensor_summary(tensor: TensorProto) -> dict[str, Any]:
    return {"dtype": dtype_name(tensor.data_type), "shape": list(tensor.dims)}


def sparse_summary(sparse: SparseTensorProto) -> dict[str, Any]:
    return {"dtype": dtype_name(sparse.values.data_type), "shape": list(sparse.dims), "sparse": True}


def type_summary(tp: TypeProto) -> str:
    kind = tp.WhichOneof("value")
    if kind == "tensor_type":
        return f"tensor({dtype_name(tp.tensor_type.elem_type)})"
    if kind in ("sequence_type", "optional_type"):
        return f"{kind.split('_')[0]}({type_summary(getattr(tp, kind).elem_type)})"
    return kind or "unknown"


def bounded_list(items: list[Any]) -> list[Any] | dict[str, Any]:
    if len(items) <= MAX_LIST_ITEMS:
        return items
    blob = json.dumps(items, sort_keys=True).encode()
    return {"truncated": items[:16], "len": len(items), "sha256": _digest(blob)}


GraphRef = Callable[[str, int | None], Any]


def attribute_value(attr: AttributeProto, graph_ref: GraphRef) -> Any:
    """One attribute → JSON-ready value. `graph_ref(attr_name, k)` names a subgraph's scope."""
    if attr.ref_attr_name:  # inside a FunctionProto: value comes from the call site
        return {"ref": text(attr.ref_attr_name)}
    t = attr.type
    if t == AttrType.INT:
        return attr.i
    if t == AttrType.FLOAT:
        return canonical_float(attr.f)
    if t == AttrType.STRING:
        return canonical_string(attr.s)
    if t == AttrType.INTS:
        return bounded_list(list(attr.ints))
    if t == AttrType.FLOATS:
        floats = list(attr.floats)
        if len(floats) <= MAX_LIST_ITEMS:
            return [canonical_float(f) for f in floats]
        bounded = bounded_list(floats)  # digest over the raw values (fast); the shown prefix canonical
        bounded["truncated"] = [canonical_float(f) for f in bounded["truncated"]]  # and valid JSON (no NaN)
        return bounded
    if t == AttrType.STRINGS:
        return bounded_list([canonical_string(s) for s in attr.strings])
    if t == AttrType.TENSOR:
        return {"tensor": tensor_summary(attr.t)}
    if t == AttrType.TENSORS:
        return bounded_list([{"tensor": tensor_summary(x)} for x in attr.tensors])
    if t == AttrType.SPARSE_TENSOR:
        return {"tensor": sparse_summary(attr.sparse_tensor)}
    if t == AttrType.SPARSE_TENSORS:
        return bounded_list([{"tensor": sparse_summary(x)} for x in attr.sparse_tensors])
    if t == AttrType.GRAPH:
        return {"graph": graph_ref(text(attr.name), None)}
    if t == AttrType.GRAPHS:
        return [{"graph": graph_ref(text(attr.name), k)} for k in range(len(attr.graphs))]
    if t == AttrType.TYPE_PROTO:
        return {"type": type_summary(attr.tp)}
    if t == AttrType.TYPE_PROTOS:
        return [{"type": type_summary(x)} for x in attr.type_protos]
    return {"unknown_attribute_type": int(t)}


