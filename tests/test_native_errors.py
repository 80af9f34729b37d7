"""Bad input: whatever the Python side refuses, the native core refuses with the same one-line text
(and accepts what it accepts), file errors included.

The decisions for bad input (invalid UTF-8 in string fields, the 2,000,000-node budget, empty
op_type) are compared like everything else: both walkers implement them."""

from __future__ import annotations

import os
import random

import onnx
import pytest
from conftest import make_model, tensor_vi
from native_compare import assert_same, native, native_bytes, native_file, python_bytes, python_file
from onnx import TensorProto
from onnx import helper as oh

FLOAT = TensorProto.FLOAT


def _write_bad(folder):
    from test_extract_robustness import write_bad

    return write_bad(folder)


def test_bad_files_give_the_same_errors(tmp_path):
    bad = _write_bad(tmp_path / "bad")
    os.mkfifo(tmp_path / "bad" / "fifo.onnx")
    (tmp_path / "bad" / "plain_dir.onnx").mkdir()
    names = [*bad, "fifo.onnx", "plain_dir.onnx", "not-there.onnx"]
    for name in names:
        path = tmp_path / "bad" / name
        py, nat = python_file(path), native_file(path)
        assert_same(py, nat, name)
        if name in bad:
            assert bad[name] in nat.error, (name, nat.error)


def test_paths_ending_in_a_slash_or_not_a_directory(tmp_path):
    (tmp_path / "f.onnx").write_bytes(b"")
    for path in (f"{tmp_path}/", f"{tmp_path}/f.onnx/x.onnx", "relative-missing.onnx"):
        assert_same(python_file(path), native_file(path), path)


def _model_bytes() -> bytes:
    from test_extract_robustness import _dense

    return _dense(1, 24).SerializeToString()


def test_every_truncation_of_a_model():
    data = _model_bytes()
    step = max(1, len(data) // 400)
    for cut in range(0, len(data), step):
        assert_same(python_bytes(data[:cut]), native_bytes(data[:cut]), f"cut at {cut}")


def test_garbage_bytes():
    rng = random.Random(5)
    for k in range(300):
        data = rng.randbytes(rng.choice([1, 2, 3, 5, 8, 16, 64, 300, 4096]))
        assert_same(python_bytes(data), native_bytes(data), f"garbage {k}: {data[:16].hex()}")


def test_truncated_varints_and_wire_oddities():
    good = make_model([oh.make_node("Relu", ["x"], ["y"])], ["x"], ["y"]).SerializeToString()
    cases = [
        b"\x08",
        b"\x08\x80",
        b"\x08" + b"\xff" * 10,
        b"\x08" + b"\xff" * 9 + b"\x01",
        b"\x80" * 6 + b"\x01",
        b"\x00\x00",
        b"\x07",
        b"\x0e",
        b"\x0c",
        b"\x0b",
        b"\x0b\x0c",
        b"\x0b\x14",
        b"\xfb\xff\xff\xff\x0f\xfc\xff\xff\xff\x0f",
        b"\x3a\x05abc",
        b"\x3a\xff\xff\xff\xff\x07",
        b"\x3a\x80\x80\x80\x80\x08",
        b"\x39" + b"\x00" * 8,
        b"\x3d\x00\x00\x00\x00",
        b"\x38\x05",
        b"\x45\x01\x02\x03",
        b"\xa2\x06\x00",
        b"\xca\x01\x00",
        good + b"\x0b\x10\x01\x0c",
        good + b"\x93\x01\x0b\x0c\x94\x01",
        good + b"\x0c",
        good + b"\x0b",
        good + b"\x3a\x02\x0b\x0c",
        good + b"\x3a\x02\x0c\x0b",
        good + b"\x42\x02\x10\x01",
        good + b"\x40\x01",
    ]
    for data in cases:
        assert_same(python_bytes(data), native_bytes(data), data.hex())


# -- nesting ------------------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _ld(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def test_deep_nesting_of_every_kind():
    from test_extract_robustness import nested_if_bytes

    cases = {f"if{d}": nested_if_bytes(d) for d in (31, 32, 33, 34, 1000)}
    # TypeProto.sequence_type nested n deep in a graph input's type
    for depth in (90, 95, 96, 97, 1000):
        tp = b""
        for _ in range(depth):
            tp = _ld(4, _ld(1, tp))  # TypeProto{sequence_type: Sequence{elem_type: tp}}
        vi = _ld(1, b"x") + _ld(2, tp)
        cases[f"seq{depth}"] = _ld(7, _ld(11, vi) + _ld(12, _ld(1, b"x")))
    # unknown groups nested n deep
    for depth in (97, 98, 99, 100, 101, 1000):
        group = b""
        for _ in range(depth):
            group = b"\x9b\x01" + group + b"\x9c\x01"  # field 19, START_GROUP ... END_GROUP
        cases[f"group{depth}"] = _ld(7, _ld(11, _ld(1, b"x"))) + group
        cases[f"group_in_graph{depth}"] = _ld(7, _ld(11, _ld(1, b"x")) + group)
        tp = group
        for _ in range(40):
            tp = _ld(4, _ld(1, tp))
        cases[f"group_in_type{depth}"] = _ld(7, _ld(11, _ld(1, b"x") + _ld(2, tp)))
    for name, data in cases.items():
        assert_same(python_bytes(data), native_bytes(data), name)


# -- functions ----------------------------------------------------------------------------------
def _bomb(levels: int) -> onnx.ModelProto:
    """Local functions F0..F{levels}: each calls the previous one twice (2^levels expanded calls)."""
    functions = [
        oh.make_function(
            "com.bomb", "F0", ["a"], ["c"], [oh.make_node("Relu", ["a"], ["c"])], [oh.make_opsetid("", 17)]
        )
    ]
    for k in range(1, levels + 1):
        functions.append(
            oh.make_function(
                "com.bomb",
                f"F{k}",
                ["a"],
                ["c"],
                [
                    oh.make_node(f"F{k - 1}", ["a"], ["t"], domain="com.bomb"),
                    oh.make_node(f"F{k - 1}", ["t"], ["c"], domain="com.bomb"),
                ],
                [oh.make_opsetid("", 17), oh.make_opsetid("com.bomb", 1)],
            )
        )
    return make_model(
        [oh.make_node(f"F{levels}", ["x"], ["y"], domain="com.bomb")],
        ["x"],
        ["y"],
        domains=["com.bomb"],
        functions=functions,
    )


def test_function_bomb_of_16_levels_extracts_like_python():
    data = _bomb(16).SerializeToString()
    nat = native_bytes(data)
    assert nat.error is None and nat.graph_row["num_nodes"] == 2 + 1 + (2**17 - 2) + 2**16
    assert_same(python_bytes(data), nat, "bomb16")


def test_function_bomb_of_40_levels_is_refused_before_walking():
    data = _bomb(40).SerializeToString()
    nat = native_bytes(data)
    assert nat.error == (
        "m.onnx has more than 2,000,000 nodes once function bodies and subgraphs are expanded (the limit per model)"
    )
    assert nat.header is not None
    assert_same(python_bytes(data), nat, "bomb40")


def test_recursion_and_deep_function_chains():
    forever = oh.make_function(
        "com.example",
        "Forever",
        ["a"],
        ["c"],
        [oh.make_node("Forever", ["a"], ["c"], domain="com.example")],
        [oh.make_opsetid("com.example", 1)],
    )
    ping = oh.make_function("d", "Ping", ["a"], ["c"], [oh.make_node("Pong", ["a"], ["c"], domain="d")], [])
    pong = oh.make_function(
        "d",
        "Pong",
        ["a"],
        ["c"],
        [
            oh.make_node("Relu", ["a"], ["b"]),
            oh.make_node(
                "If",
                ["a"],
                ["c"],
                then_branch=oh.make_graph([oh.make_node("Ping", ["b"], ["z"], domain="d")], "t", [], [tensor_vi("z")]),
                else_branch=oh.make_graph([], "e", [], []),
            ),
        ],
        [],
    )
    chain = [
        oh.make_function("c", f"C{k}", ["a"], ["c"], [oh.make_node(f"C{k + 1}", ["a"], ["c"], domain="c")], [])
        for k in range(70)
    ]
    chain.append(oh.make_function("c", "C70", ["a"], ["c"], [oh.make_node("Relu", ["a"], ["c"])], []))
    models = {
        "self": make_model(
            [oh.make_node("Forever", ["x"], ["y"], domain="com.example")],
            ["x"],
            ["y"],
            domains=["com.example"],
            functions=[forever],
        ),
        "mutual_through_if": make_model(
            [oh.make_node("Ping", ["x"], ["y"], domain="d")], ["x"], ["y"], domains=["d"], functions=[ping, pong]
        ),
        "uncalled_recursion": make_model(
            [oh.make_node("Relu", ["x"], ["y"])], ["x"], ["y"], domains=["com.example"], functions=[forever]
        ),
        "chain70": make_model(
            [oh.make_node("C0", ["x"], ["y"], domain="c")], ["x"], ["y"], domains=["c"], functions=chain
        ),
        "chain60": make_model(
            [oh.make_node("C10", ["x"], ["y"], domain="c")], ["x"], ["y"], domains=["c"], functions=chain
        ),
    }
    for name, model in models.items():
        data = model.SerializeToString()
        nat = native_bytes(data)
        assert_same(python_bytes(data), nat, name)
        if name != "mutual_through_if":
            # the walker in this branch finds recursion by its depth; through an If body it names the
            # subgraph depth first, where the decided count (before walking) names the recursion
            assert_same(python_bytes(data), nat, name)
    refused = native_bytes(models["self"].SerializeToString()).error
    assert refused == "m.onnx function calls are nested deeper than 64 levels"


# -- empty op_type -------------------------------------------------------------------------------
def test_empty_op_type_anywhere_is_refused():
    body = oh.make_graph([oh.make_node("", ["x"], ["z"])], "b", [], [tensor_vi("z")])
    fn = oh.make_function("f", "Fn", ["a"], ["c"], [oh.make_node("", ["a"], ["c"])], [])
    models = {
        "main": make_model([oh.make_node("", ["x"], ["y"])], ["x"], ["y"]),
        "subgraph": make_model(
            [oh.make_node("If", ["c"], ["y"], then_branch=body, else_branch=body)], ["c", "x"], ["y"]
        ),
        "function": make_model(
            [oh.make_node("Fn", ["x"], ["y"], domain="f")], ["x"], ["y"], domains=["f"], functions=[fn]
        ),
    }
    for name, model in models.items():
        data = model.SerializeToString()
        nat = native_bytes(data)
        assert nat.error == "m.onnx has a node without an op_type, which ONNX does not allow", name
        assert_same(python_bytes(data), nat, name)


# -- invalid UTF-8 in string fields ----------------------------------------------------------------
MARKERS = {
    "node_name": "NNAME1",
    "op_type": "OPTYP1",
    "node_domain": "NDOMA1",
    "tensor": "TENS01",
    "attr_name": "ANAME1",
    "ref_attr": "REFAT1",
    "strings": "STRS01",
    "producer_name": "PNAME1",
    "producer_version": "PVERS1",
    "opset_domain": "ODOMA1",
    "dim_param": "DIMPA1",
    "fn_name": "FNAME1",
    "fn_domain": "FDOMA1",
    "overload": "OVERL1",
    "fn_formal": "FINPU1",
    "initializer": "INITN1",
    "sparse": "SPARS1",
    "graph_input": "GINPU1",
    "sub_output": "SUBOU1",
    "doc": "DOCST1",
    "meta": "METAK1",
    "value_info": "VINFO1",
    "graph_output": "GOUTP1",
}
INVALID = [
    b"\xff\xfeAB\xc3(",
    b"ABCD\xe2\x82",
    b"\xed\xa0\x80ABC",
    b"\xc0\xafABCD",
    b"A\x80\x80\xf4\x90Z",
    b"\xf0\x9f\x98Z\\x",
]


def _utf8_model() -> onnx.ModelProto:
    m = MARKERS
    inner = oh.make_node("Relu", [m["fn_formal"]], ["c"], name="in_fn")
    ref = onnx.AttributeProto(name="alpha", ref_attr_name=m["ref_attr"], type=onnx.AttributeProto.FLOAT)
    inner.attribute.append(ref)
    fn = oh.make_function(
        m["fn_domain"],
        m["fn_name"],
        [m["fn_formal"]],
        ["c"],
        [inner],
        [oh.make_opsetid("", 17)],
        attributes=[m["ref_attr"]],
    )
    fn.overload = m["overload"]
    call = oh.make_node(m["fn_name"], [m["tensor"]], ["called"], name="call", domain=m["fn_domain"])
    call.overload = m["overload"]
    sub = oh.make_graph(
        [oh.make_node("Neg", [m["tensor"]], [m["sub_output"]])],
        "s",
        [],
        [tensor_vi(m["sub_output"], FLOAT, [m["dim_param"]])],
    )
    nodes = [
        oh.make_node(
            "Add",
            [m["graph_input"], m["initializer"]],
            [m["tensor"]],
            name=m["node_name"],
            doc_string=m["doc"],
            **{m["attr_name"]: 1, "texts": [m["strings"], "ok"]},
        ),
        oh.make_node(m["op_type"], [m["tensor"], m["sparse"]], ["custom"], domain=m["node_domain"]),
        oh.make_node("If", ["cond"], ["branch"], then_branch=sub, else_branch=sub),
        call,
        oh.make_node("Relu", ["custom"], [m["value_info"]]),
    ]
    sparse = oh.make_sparse_tensor(
        oh.make_tensor(m["sparse"], FLOAT, [1], [1.0]), oh.make_tensor("idx", TensorProto.INT64, [1], [0]), [4]
    )
    graph = oh.make_graph(
        nodes,
        "g",
        [tensor_vi(m["graph_input"], FLOAT, [m["dim_param"], 2]), tensor_vi("cond", TensorProto.BOOL, [])],
        [
            tensor_vi(m["graph_output"], FLOAT, None),
            tensor_vi("branch"),
            tensor_vi("called"),
            tensor_vi(m["value_info"]),
        ],
        [oh.make_tensor(m["initializer"], FLOAT, [2], [1.0, 2.0])],
        sparse_initializer=[sparse],
        value_info=[
            tensor_vi(m["value_info"], FLOAT, [m["dim_param"]]),
            tensor_vi(m["tensor"], FLOAT, [m["dim_param"]]),
        ],
    )
    graph.node[0].output[0] = m["tensor"]
    model = oh.make_model(
        graph,
        opset_imports=[
            oh.make_opsetid("", 17),
            oh.make_opsetid(m["opset_domain"], 1),
            oh.make_opsetid(m["fn_domain"], 1),
            oh.make_opsetid(m["node_domain"], 1),
        ],
        functions=[fn],
        producer_name=m["producer_name"],
        producer_version=m["producer_version"],
    )
    model.ir_version = 10
    model.metadata_props.add(key=m["meta"], value="v")
    return model


def test_invalid_utf8_in_each_string_field_is_decoded_with_backslashreplace():
    base = _utf8_model().SerializeToString()
    for name in MARKERS:
        assert base.count(MARKERS[name].encode()) >= 1, name
    variants = {}
    for k, (name, marker) in enumerate(MARKERS.items()):
        variants[name] = base.replace(marker.encode(), INVALID[k % len(INVALID)])
    every = base
    for k, marker in enumerate(MARKERS.values()):  # each marker its own bytes: names stay distinct
        every = every.replace(marker.encode(), INVALID[k % len(INVALID)][:5] + bytes([0x41 + k]))
    variants["all"] = every
    for name, data in variants.items():
        nat = native_bytes(data)
        assert nat.error is None, (name, nat.error)
        assert_same(python_bytes(data), nat, name)
    nat = native_bytes(variants["node_name"])
    assert "\\xff\\xfeAB\\xc3(" in nat.operators.column("name").to_pylist()


# -- panics ----------------------------------------------------------------------------------------
def test_a_panic_becomes_the_files_error():
    header, error, graph, ops, edges = native._debug_panic("boom")
    assert error == "debug.onnx native extractor failed: boom"
    assert header is None and graph is None and ops is None and edges is None
    # and the module still works afterwards
    data = make_model([oh.make_node("Relu", ["x"], ["y"])], ["x"], ["y"]).SerializeToString()
    assert native.extract_bytes(data)[1] is None


@pytest.mark.parametrize("name", [None, "x.onnx"])
def test_error_prefix_follows_the_name(name):
    result = native.extract_bytes(b"", name)
    assert result[1] == (f"{name} is empty (0 bytes)" if name else "is empty (0 bytes)")
