"""The lean parse (tensor payloads skipped, extract/lean.py) sees exactly the model a full parse sees,
minus the payloads, and malformed files fail exactly as a full parse makes them fail."""

from __future__ import annotations

import random

import numpy as np
import onnx
import pytest
from conftest import make_model, tensor_vi
from google.protobuf.descriptor import FieldDescriptor
from onnx import TensorProto, numpy_helper
from onnx import helper as oh
from younger_graph.loaders.onnx_files import parse_model

from younger_graph.errors import ExtractionError
from younger_graph.walk import lean

PAYLOADS = ("raw_data", "float_data", "double_data", "string_data")


def _without_payloads(message: onnx.ModelProto) -> onnx.ModelProto:
    """A copy with the payload fields of every TensorProto cleared, at any depth."""
    copy = type(message)()
    copy.CopyFrom(message)
    _clear(copy)
    return copy


def _clear(message) -> None:
    if message.DESCRIPTOR.name == "TensorProto":
        for name in PAYLOADS:
            message.ClearField(name)
    for fd, value in message.ListFields():
        if fd.type != FieldDescriptor.TYPE_MESSAGE:
            continue
        for item in (value if _repeated(fd) else [value]):
            _clear(item)


def _repeated(fd) -> bool:
    return fd.is_repeated if hasattr(fd, "is_repeated") else fd.label == FieldDescriptor.LABEL_REPEATED


def _full(data: bytes) -> onnx.ModelProto:
    model = onnx.ModelProto()
    model.ParseFromString(data)
    return model


def assert_lean_equivalent(data: bytes) -> None:
    """Equal once every payload is cleared (small tensors keep theirs in the lean bytes)."""
    lean_bytes = lean.lean_model_bytes(data)
    assert lean_bytes is not None
    want = _without_payloads(_full(data))
    assert _without_payloads(_full(lean_bytes)) == want
    assert _without_payloads(parse_model(data)) == want


def _big(name: str, dtype=np.float32, shape=(64, 64)) -> TensorProto:
    return numpy_helper.from_array(np.random.default_rng(0).normal(size=shape).astype(dtype), name)


def built_models() -> dict[str, onnx.ModelProto]:
    w = _big("W")
    as_float_data = oh.make_tensor("F", TensorProto.FLOAT, [32, 32], np.arange(1024, dtype=np.float32).tolist())
    as_double_data = oh.make_tensor("D", TensorProto.DOUBLE, [512], np.arange(512, dtype=np.float64).tolist())
    as_int64_data = oh.make_tensor("I", TensorProto.INT64, [512], list(range(512)))
    as_strings = oh.make_tensor("S", TensorProto.STRING, [300], [b"word%d" % i for i in range(300)])
    constant = oh.make_node("Constant", [], ["c"], name="const", value=_big("cval"))
    body = oh.make_graph([oh.make_node("Add", ["x", "B"], ["y"])], "body", [], [tensor_vi("y")],
                         [_big("B", shape=(32, 32))])
    if_node = oh.make_node("If", ["cond"], ["z"], name="if", then_branch=body, else_branch=body)
    sparse = oh.make_sparse_tensor(_big("sv", shape=(600,)), numpy_helper.from_array(
        np.arange(600, dtype=np.int64), "si"), [1000])
    fn = oh.make_function("com.example", "Fn", ["a"], ["b"],
                          [oh.make_node("Constant", [], ["k"], value=_big("kval", shape=(40, 40))),
                           oh.make_node("Add", ["a", "k"], ["b"])], [oh.make_opsetid("", 17)])
    nodes = [oh.make_node("MatMul", ["x", "W"], ["h"]), constant, if_node,
             oh.make_node("Fn", ["h"], ["f"], domain="com.example"),
             oh.make_node("Concat", ["F", "D", "I", "S", "sv"], ["cat"], axis=0)]
    return {
        "mixed": make_model(nodes, ["x", tensor_vi("cond", TensorProto.BOOL, [])], ["z", "f", "cat"],
                            [w, as_float_data, as_double_data, as_int64_data, as_strings],
                            domains=["com.example"], functions=[fn], sparse_initializer=[sparse]),
        "tiny": make_model([oh.make_node("Relu", ["x"], ["y"])], ["x"], ["y"]),
    }


@pytest.mark.parametrize("name", sorted(built_models()))
def test_built_models(name):
    assert_lean_equivalent(built_models()[name].SerializeToString())


def test_backend_and_sample_models(onnx_backend_models, sample_models):
    for path in [*onnx_backend_models, *sample_models]:
        assert_lean_equivalent(path.read_bytes())


def test_the_lean_bytes_are_small():
    data = built_models()["mixed"].SerializeToString()
    assert len(lean.lean_model_bytes(data)) < len(data) / 10


def _error(data: bytes, lean_first: bool) -> str:
    try:
        parse_model(data, keep_tensor_data=not lean_first)
    except ExtractionError as exc:
        return str(exc)
    return "parsed"


def test_malformed_files_fail_as_a_full_parse_makes_them_fail():
    whole = built_models()["mixed"].SerializeToString()
    # a packed float field whose length is not a whole number of floats, in a tensor big enough to be
    # scanned: it must be kept, so that protobuf rejects it as before
    bad_floats = onnx.TensorProto(name="T", data_type=TensorProto.FLOAT, dims=[1],
                                  raw_data=bytes(4000)).SerializeToString() + bytes([(4 << 3) | 2, 3, 0, 0, 0])
    graph = oh.make_graph([], "g", [], []).SerializeToString() + bytes([(5 << 3) | 2]) + lean._encode_varint(
        len(bad_floats)) + bad_floats
    bad_model = onnx.ModelProto(ir_version=8).SerializeToString() + bytes([(7 << 3) | 2]) + lean._encode_varint(
        len(graph)) + graph
    cases = [whole[: len(whole) // 2], whole[:-1], random.Random(0).randbytes(4096), b"\x00\x01", bad_model,
             whole + b"\x0b"]  # a group start tag
    for data in cases:
        assert _error(data, lean_first=True) == _error(data, lean_first=False)
    assert lean.lean_model_bytes(whole[: len(whole) // 2]) is None
    assert _error(bad_model, lean_first=True) != "parsed"
