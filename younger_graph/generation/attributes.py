"""Canonical attribute JSON (docs/formats.md, walk/attrs.py) back to `onnx.AttributeProto`.

The JSON spelling keeps each attribute's type recoverable: integers are INT, floats (always written
with a decimal point or exponent) FLOAT, text STRING, lists by their items; dicts mark the special
kinds (`{"tensor": …}`, `{"graph": scope}`, `{"type": …}`, `{"ref": name}`). Where the JSON alone is
ambiguous (an empty list; the strings `nan`/`inf` that a FLOAT becomes), the operator's schema
decides, if ONNX has one.

Some stored values are lossy and cannot give the original attribute back: text cut at 256
characters (a `…[N bytes sha256:…]` tail), lists of more than 1024 items (`{"truncated": …}`) and
attribute types unknown to the walker. They are rebuilt as well as possible and reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from onnx import AttributeProto, GraphProto, TypeProto

from younger_graph.generation.tensors import Placeholders, dtype_value

_CUT_STRING = re.compile(r"…\[\d+ bytes sha256:[0-9a-f]{16}\]$")
_FLOAT_WORDS = ("nan", "inf", "-inf")
_LIST_TYPES = {AttributeProto.INTS, AttributeProto.FLOATS, AttributeProto.STRINGS}

BodyMaker = Callable[[str, str], GraphProto]  # (attribute name, scope) → the body graph


class Lossy(ValueError):
    """An attribute whose stored value cannot give the original back; the message says why."""


def _is(value: Any, key: str) -> bool:
    return isinstance(value, dict) and key in value


def parse_type(text: str) -> TypeProto:
    """`tensor(float)`, `sequence(tensor(int64))`, `optional(…)`, `map_type`… → TypeProto
    (what walk/attrs.type_summary wrote)."""
    tp = TypeProto()
    m = re.fullmatch(r"(\w+)\((.*)\)", text)
    if m and m.group(1) == "tensor":
        tp.tensor_type.elem_type = dtype_value(m.group(2))
    elif m and m.group(1) in ("sequence", "optional"):
        getattr(tp, f"{m.group(1)}_type").elem_type.CopyFrom(parse_type(m.group(2)))
    elif text in ("map_type", "sparse_tensor_type", "opaque_type"):
        getattr(tp, text).SetInParent()
    return tp


def make_attribute(name: str, value: Any, schema_type: int | None, tensors: Placeholders,
                   body: BodyMaker, tensor_name: str) -> AttributeProto:
    """One attribute from its canonical JSON value. Raises Lossy when the value is cut or unknown
    (the caller reports it and keeps a best-effort attribute from `best_effort`)."""
    a = AttributeProto()
    a.name = name
    if _is(value, "ref"):
        a.ref_attr_name = str(value["ref"])
        a.type = schema_type or AttributeProto.INT
        return a
    if isinstance(value, dict):
        return _dict_attribute(a, value, tensors, body, tensor_name)
    if isinstance(value, bool):
        a.type, a.i = AttributeProto.INT, int(value)
    elif isinstance(value, int):
        a.type, a.i = AttributeProto.INT, value
    elif isinstance(value, float):
        a.type, a.f = AttributeProto.FLOAT, value
    elif isinstance(value, str):
        if value in _FLOAT_WORDS and schema_type == AttributeProto.FLOAT:
            a.type, a.f = AttributeProto.FLOAT, float(value)
        else:
            if _CUT_STRING.search(value):
                raise Lossy(f"attribute {name} was stored cut at 256 characters")
            a.type, a.s = AttributeProto.STRING, value.encode("utf-8")
    elif isinstance(value, list):
        return _list_attribute(a, value, schema_type, tensors, body, tensor_name)
    else:
        raise Lossy(f"attribute {name} has a value of no ONNX type ({type(value).__name__})")
    return a


def _dict_attribute(a: AttributeProto, value: dict[str, Any], tensors: Placeholders, body: BodyMaker,
                    tensor_name: str) -> AttributeProto:
    if "tensor" in value:
        summary = value["tensor"]
        if summary.get("sparse"):
            a.type = AttributeProto.SPARSE_TENSOR
            a.sparse_tensor.CopyFrom(tensors.sparse(tensor_name, summary))
        else:
            a.type = AttributeProto.TENSOR
            a.t.CopyFrom(tensors.tensor(tensor_name, summary))
        return a
    if "graph" in value:
        a.type = AttributeProto.GRAPH
        a.g.CopyFrom(body(a.name, str(value["graph"])))
        return a
    if "type" in value:
        a.type = AttributeProto.TYPE_PROTO
        a.tp.CopyFrom(parse_type(str(value["type"])))
        return a
    if "truncated" in value:
        raise Lossy(f"attribute {a.name} was stored truncated ({value.get('len')} items, first 16 kept)")
    raise Lossy(f"attribute {a.name} has a type the walker did not know ({value})")


def _list_attribute(a: AttributeProto, items: list[Any], schema_type: int | None, tensors: Placeholders,
                    body: BodyMaker, tensor_name: str) -> AttributeProto:
    if not items:
        a.type = schema_type if schema_type in _LIST_TYPES or schema_type in (
            AttributeProto.TENSORS, AttributeProto.GRAPHS, AttributeProto.TYPE_PROTOS,
            AttributeProto.SPARSE_TENSORS) else AttributeProto.INTS
        return a
    if all(_is(v, "tensor") for v in items):
        if any(v["tensor"].get("sparse") for v in items):
            a.type = AttributeProto.SPARSE_TENSORS
            a.sparse_tensors.extend(tensors.sparse(f"{tensor_name}.{k}", v["tensor"]) for k, v in enumerate(items))
        else:
            a.type = AttributeProto.TENSORS
            a.tensors.extend(tensors.tensor(f"{tensor_name}.{k}", v["tensor"]) for k, v in enumerate(items))
        return a
    if all(_is(v, "graph") for v in items):
        a.type = AttributeProto.GRAPHS
        a.graphs.extend(body(a.name, str(v["graph"])) for v in items)
        return a
    if all(_is(v, "type") for v in items):
        a.type = AttributeProto.TYPE_PROTOS
        a.type_protos.extend(parse_type(str(v["type"])) for v in items)
        return a
    if all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        a.type = AttributeProto.INTS
        a.ints.extend(items)
        return a
    numeric = all(isinstance(v, (int, float)) or v in _FLOAT_WORDS for v in items)
    if numeric and (schema_type == AttributeProto.FLOATS or any(isinstance(v, float) for v in items)):
        a.type = AttributeProto.FLOATS
        a.floats.extend(float(v) for v in items)
        return a
    if all(isinstance(v, str) for v in items):
        if any(_CUT_STRING.search(v) for v in items):
            raise Lossy(f"attribute {a.name} holds strings stored cut at 256 characters")
        a.type = AttributeProto.STRINGS
        a.strings.extend(v.encode("utf-8") for v in items)
        return a
    raise Lossy(f"attribute {a.name} is a list of mixed kinds")


def best_effort(name: str, value: Any) -> AttributeProto | None:
    """What a lossy attribute becomes anyway: the stored prefix (cut text, the first 16 items)."""
    a = AttributeProto()
    a.name = name
    if isinstance(value, str):
        a.type, a.s = AttributeProto.STRING, value.encode("utf-8")
        return a
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        a.type = AttributeProto.STRINGS
        a.strings.extend(v.encode("utf-8") for v in value)
        return a
    if isinstance(value, dict) and isinstance(value.get("truncated"), list):
        items = value["truncated"]
        if all(isinstance(v, int) for v in items):
            a.type = AttributeProto.INTS
            a.ints.extend(items)
        elif all(isinstance(v, (int, float)) or v in _FLOAT_WORDS for v in items):
            a.type = AttributeProto.FLOATS
            a.floats.extend(float(v) for v in items)
        elif all(isinstance(v, str) for v in items):
            a.type = AttributeProto.STRINGS
            a.strings.extend(v.encode("utf-8") for v in items)
        else:
            return None
        return a
    return None
