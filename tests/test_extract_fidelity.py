"""Extraction fidelity: the tables say exactly what the ONNX model says, under the documented rules.

Every model is built here with onnx.helper (or exported live), written to a real file and extracted
through the real code path; the family checks compare against tests/onnx_recount.py, an independent
recount that does not import younger_graph.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pyarrow.parquet as pq
import pytest
from conftest import make_model, tensor_vi, write_model
from onnx import AttributeProto, TensorProto
from onnx import helper as oh
from onnx_recount import recount
from younger_graph.loaders.onnx_files import extract_file

from younger_graph.extract import extract
from younger_graph.graph import ExtractedGraph

FLOAT = TensorProto.FLOAT


# -- helpers ------------------------------------------------------------------------------------
@dataclass
class Extracted:
    graph: ExtractedGraph
    ops: list[dict[str, Any]]
    edges: list[dict[str, Any]]

    @property
    def row(self) -> dict[str, Any]:
        return self.graph.graph_row

    def idx(self, name: str, kind: str | None = None) -> int:
        hits = [o["idx"] for o in self.ops if o["name"] == name and (kind is None or o["kind"] == kind)]
        assert len(hits) == 1, f"{name!r}: {hits}"
        return hits[0]

    def idxs(self, name: str) -> list[int]:
        return [o["idx"] for o in self.ops if o["name"] == name]

    def op(self, name: str, kind: str | None = None) -> dict[str, Any]:
        return self.ops[self.idx(name, kind)]

    def into(self, dst: int) -> list[tuple[int, int, int]]:
        """(src, src_slot, dst_slot) of the edges into `dst`, sorted by dst_slot."""
        return sorted(((e["src"], e["src_slot"], e["dst_slot"]) for e in self.edges if e["dst"] == dst),
                      key=lambda t: (t[2], t[0], t[1]))


def extracted(model: onnx.ModelProto, tmp_path: Path, infer_shapes: bool = False,
              name: str = "m.onnx") -> Extracted:
    path = write_model(model, tmp_path / name)
    result = extract_file(str(path), infer_shapes=infer_shapes)
    assert result.ok, result.row["error"]
    assert result.graph is not None
    return Extracted(result.graph, result.graph.operators.to_pylist(), result.graph.edges.to_pylist())


def assert_matches_recount(model: onnx.ModelProto, graph: ExtractedGraph) -> None:
    """The tables agree with the independent recount, and are internally consistent."""
    rc = recount(model)
    row = graph.graph_row
    ops = graph.operators.to_pylist()
    edges = graph.edges.to_pylist()
    kinds = Counter(o["kind"] for o in ops)
    assert row["num_operators"] == rc.operators == kinds["operator"]
    assert row["num_inputs"] == rc.main_inputs
    assert row["num_outputs"] == rc.main_outputs
    assert kinds["input"] == rc.inputs
    assert kinds["output"] == rc.outputs
    assert row["num_edges"] == rc.edges == len(edges)
    assert row["num_nodes"] == len(ops)
    assert row["num_functions"] == rc.function_calls
    assert row["num_subgraphs"] == rc.subgraphs
    got = Counter((o["domain"], o["op_type"]) for o in ops if o["kind"] == "operator")
    assert got == rc.op_types
    assert_consistent(model, ops, edges)


def _all_nodes(model: onnx.ModelProto):
    def walk(graph):
        for node in graph.node:
            yield node
            for attr in node.attribute:
                if attr.type == AttributeProto.GRAPH:
                    yield from walk(attr.g)
                elif attr.type == AttributeProto.GRAPHS:
                    for g in attr.graphs:
                        yield from walk(g)

    yield from walk(model.graph)
    for fn in model.functions:
        yield from fn.node
        for node in fn.node:
            for attr in node.attribute:
                if attr.type == AttributeProto.GRAPH:
                    yield from walk(attr.g)


def assert_consistent(model: onnx.ModelProto, ops: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
    n = len(ops)
    assert [o["idx"] for o in ops] == list(range(n))
    max_out: dict[tuple[str, str], int] = {}
    max_in: dict[tuple[str, str], int] = {}
    for node in _all_nodes(model):
        key = (node.domain, node.op_type)
        max_out[key] = max(max_out.get(key, 0), len(node.output))
        max_in[key] = max(max_in.get(key, 0), len(node.input))
    for e in edges:
        assert 0 <= e["src"] < n and 0 <= e["dst"] < n, e
        src, dst = ops[e["src"]], ops[e["dst"]]
        assert src["kind"] != "output" and dst["kind"] != "input", e
        if src["kind"] == "input":
            assert e["src_slot"] == 0
        else:
            assert 0 <= e["src_slot"] < max_out[(src["domain"], src["op_type"])], e
        if dst["kind"] == "output":
            assert e["dst_slot"] == 0
        else:
            assert 0 <= e["dst_slot"] < max_in[(dst["domain"], dst["op_type"])], e
    for o in ops:
        assert json.loads(o["attrs"]) is not None and json.loads(o["initializers"]) is not None


# -- slots and multiplicity ---------------------------------------------------------------------
def test_same_tensor_twice_gives_two_edges_with_distinct_slots(tmp_path):
    model = make_model([oh.make_node("Mul", ["x", "x"], ["y"], name="mul")], ["x"], ["y"])
    g = extracted(model, tmp_path)
    x, mul, y = g.idx("x", "input"), g.idx("mul"), g.idx("y", "output")
    assert g.into(mul) == [(x, 0, 0), (x, 0, 1)]
    assert g.into(y) == [(mul, 0, 0)]
    assert g.row["num_edges"] == 3
    assert_matches_recount(model, g.graph)


def test_two_flows_between_one_pair_are_two_edges(tmp_path):
    nodes = [
        oh.make_node("Split", ["x"], ["a", "b"], name="split", axis=0, num_outputs=2),
        oh.make_node("Sub", ["b", "a"], ["d"], name="sub"),
    ]
    g = extracted(make_model(nodes, ["x"], ["d"], opset=18), tmp_path)
    split, sub = g.idx("split"), g.idx("sub")
    assert g.into(sub) == [(split, 1, 0), (split, 0, 1)]
    tensors = {(e["src_slot"], e["dst_slot"]): e["tensor"] for e in g.edges if e["dst"] == sub}
    assert tensors == {(1, 0): "b", (0, 1): "a"}


def test_empty_optional_inputs_are_skipped_and_later_slots_keep_their_position(tmp_path):
    nodes = [
        oh.make_node("Resize", ["x", "", "scales"], ["r"], name="resize", mode="nearest"),
        oh.make_node("Clip", ["r", "", "hi"], ["c"], name="clip"),
        # an omitted (empty) *output* in front: the used output keeps slot 1
        oh.make_node("Split", ["c"], ["", "s1"], name="split", axis=0, num_outputs=2),
    ]
    model = make_model(nodes, ["x", "scales", "hi"], ["s1"], opset=18)
    g = extracted(model, tmp_path)
    x, scales, hi = (g.idx(n, "input") for n in ("x", "scales", "hi"))
    resize, clip, split = g.idx("resize"), g.idx("clip"), g.idx("split")
    assert g.into(resize) == [(x, 0, 0), (scales, 0, 2)]
    assert g.into(clip) == [(resize, 0, 0), (hi, 0, 2)]
    assert g.into(g.idx("s1", "output")) == [(split, 1, 0)]
    assert g.row["num_dangling"] == 0
    assert_matches_recount(model, g.graph)


# -- initializers -------------------------------------------------------------------------------
def test_sparse_initializer_is_recorded_on_the_consumer(tmp_path):
    values = oh.make_tensor("W", FLOAT, [3], [1.0, 2.0, 3.0])
    indices = oh.make_tensor("W_idx", TensorProto.INT64, [3], [0, 5, 9])
    sparse = oh.make_sparse_tensor(values, indices, [10])
    graph = oh.make_graph(
        [oh.make_node("Add", ["x", "W"], ["y"], name="add")], "g", [tensor_vi("x", FLOAT, [10])],
        [tensor_vi("y")], sparse_initializer=[sparse],
    )
    model = oh.make_model(graph, opset_imports=[oh.make_opsetid("", 17)])
    g = extracted(model, tmp_path)
    add = g.op("add")
    assert json.loads(add["initializers"]) == {"1": {"dtype": "float", "shape": [10], "sparse": True}}
    assert g.into(add["idx"]) == [(g.idx("x", "input"), 0, 0)]
    assert g.row["num_initializers"] == 1
    assert g.row["num_dangling"] == 0
    assert_matches_recount(model, g.graph)


def test_missing_external_weights_still_extract_with_dtype_and_shape(tmp_path):
    weight = onnx.TensorProto(name="W", data_type=FLOAT, dims=[4, 5])
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "weights-that-do-not-exist.bin"), ("offset", "0"), ("length", "80")):
        weight.external_data.add(key=key, value=value)
    model = make_model([oh.make_node("MatMul", ["x", "W"], ["y"], name="mm")], ["x"], ["y"], [weight])
    g = extracted(model, tmp_path)
    assert json.loads(g.op("mm")["initializers"]) == {"1": {"dtype": "float", "shape": [4, 5]}}
    assert g.row["num_initializers"] == 1
    assert_matches_recount(model, g.graph)


def test_input_that_is_also_an_initializer_is_not_an_input_node(tmp_path):
    w = oh.make_tensor("W", FLOAT, [2], [1.0, 2.0])
    model = make_model([oh.make_node("Add", ["x", "W"], ["y"], name="add")],
                       [tensor_vi("x", FLOAT, [2]), tensor_vi("W", FLOAT, [2])], ["y"], [w], ir_version=3,
                       opset=8)
    g = extracted(model, tmp_path)
    assert [o["name"] for o in g.ops if o["kind"] == "input"] == ["x"]
    assert g.row["num_inputs"] == 1
    add = g.op("add")
    assert g.into(add["idx"]) == [(g.idx("x", "input"), 0, 0)]
    assert json.loads(add["initializers"]) == {"1": {"dtype": "float", "shape": [2]}}
    assert_matches_recount(model, g.graph)


# -- nesting ------------------------------------------------------------------------------------
def _loop_with_if_model() -> onnx.ModelProto:
    then_branch = oh.make_graph(
        [oh.make_node("Mul", ["s", "w"], ["t"], name="then_mul")], "then", [], [tensor_vi("t")]
    )
    else_branch = oh.make_graph(
        [oh.make_node("Identity", ["s"], ["e"], name="else_id")], "else", [], [tensor_vi("e")]
    )
    body = oh.make_graph(
        [
            oh.make_node("Add", ["v", "w"], ["s"], name="body_add"),
            oh.make_node("If", ["c_in"], ["r"], name="body_if", then_branch=then_branch,
                         else_branch=else_branch),
            oh.make_node("Identity", ["c_in"], ["c_out"], name="body_cond"),
        ],
        "body",
        [tensor_vi("i", TensorProto.INT64, []), tensor_vi("c_in", TensorProto.BOOL, []), tensor_vi("v")],
        [tensor_vi("c_out", TensorProto.BOOL, []), tensor_vi("r")],
    )
    nodes = [
        oh.make_node("Relu", ["x"], ["w"], name="outer_relu"),
        oh.make_node("Loop", ["trip", "cond", "x"], ["xout"], name="loop", body=body),
    ]
    return make_model(
        nodes,
        [tensor_vi("x", FLOAT, [2]), tensor_vi("trip", TensorProto.INT64, []),
         tensor_vi("cond", TensorProto.BOOL, [])],
        ["xout"],
    )


def test_if_inside_loop_scopes_and_captured_outer_names(tmp_path):
    model = _loop_with_if_model()
    g = extracted(model, tmp_path)
    relu, loop = g.idx("outer_relu"), g.idx("loop")
    body_if = g.op("body_if")
    body_scope = f"{loop}/body"
    then_scope = f"{body_scope}/{body_if['idx']}/then_branch"
    assert body_if["scope"] == body_scope
    assert g.op("body_add")["scope"] == body_scope
    assert g.op("then_mul")["scope"] == then_scope
    assert g.op("else_id")["scope"] == f"{body_scope}/{body_if['idx']}/else_branch"
    assert json.loads(body_if["attrs"]) == {
        "else_branch": {"graph": f"{body_scope}/{body_if['idx']}/else_branch"},
        "then_branch": {"graph": then_scope},
    }
    # w is produced in the main graph and read two scopes down, by then_mul (slot 1) and body_add (slot 1)
    then_mul, body_add = g.idx("then_mul"), g.idx("body_add")
    assert g.into(then_mul) == [(body_add, 0, 0), (relu, 0, 1)]
    assert [e["scope"] for e in g.edges if e["dst"] == then_mul] == [then_scope, then_scope]
    assert g.into(body_add) == [(g.idx("v", "input"), 0, 0), (relu, 0, 1)]
    # the Loop's own inputs, and the body's input/output nodes under the body scope
    assert g.into(loop) == [(g.idx(n, "input"), 0, k) for k, n in enumerate(("trip", "cond", "x"))]
    assert {o["name"] for o in g.ops if o["scope"] == body_scope and o["kind"] == "input"} == {"i", "c_in", "v"}
    assert g.row["num_inputs"] == 3 and g.row["num_outputs"] == 1
    assert g.row["num_subgraphs"] == 3
    assert g.row["num_dangling"] == 0
    assert_matches_recount(model, g.graph)


def test_scan_body_and_graphs_attribute_scopes(tmp_path):
    scan_body = oh.make_graph(
        [oh.make_node("Add", ["acc", "xi"], ["acc2"], name="scan_add"),
         oh.make_node("Identity", ["acc2"], ["yi"], name="scan_id")],
        "scan_body", [tensor_vi("acc", FLOAT, [2]), tensor_vi("xi", FLOAT, [2])],
        [tensor_vi("acc2", FLOAT, [2]), tensor_vi("yi", FLOAT, [2])],
    )
    branch = [
        oh.make_graph([oh.make_node("Neg", ["init"], [f"o{k}"], name=f"branch{k}")], f"b{k}", [],
                      [tensor_vi(f"o{k}")])
        for k in range(2)
    ]
    nodes = [
        oh.make_node("Scan", ["init", "seq"], ["final", "ys"], name="scan", body=scan_body,
                     num_scan_inputs=1),
        oh.make_node("Switch", ["final"], ["z"], name="switch", domain="com.example", branches=branch),
    ]
    model = make_model(nodes, [tensor_vi("init", FLOAT, [2]), tensor_vi("seq", FLOAT, [3, 2])],
                       ["ys", "z"], domains=["com.example"])
    g = extracted(model, tmp_path)
    scan, switch = g.idx("scan"), g.idx("switch")
    assert g.op("scan_add")["scope"] == f"{scan}/body"
    assert g.op("branch0")["scope"] == f"{switch}/branches/0"
    assert g.op("branch1")["scope"] == f"{switch}/branches/1"
    assert json.loads(g.op("switch")["attrs"]) == {
        "branches": [{"graph": f"{switch}/branches/0"}, {"graph": f"{switch}/branches/1"}]
    }
    init = g.idx("init", "input")
    assert g.into(g.idx("branch0")) == [(init, 0, 0)]  # captured from the main graph
    assert g.op("switch")["domain"] == "com.example"
    assert_matches_recount(model, g.graph)


# -- functions ----------------------------------------------------------------------------------
def _function(name: str, body_ops: list[str], domain: str = "com.example", overload: str = "",
              inputs=("a", "b")) -> onnx.FunctionProto:
    nodes, prev = [], inputs[0]
    for k, op in enumerate(body_ops):
        ins = [prev, inputs[1]] if op in ("Add", "Mul", "Sub") else [prev]
        out = "c" if k == len(body_ops) - 1 else f"t{k}"
        nodes.append(oh.make_node(op, ins, [out], name=f"{name}_{op}_{k}"))
        prev = out
    fn = oh.make_function(domain, name, list(inputs), ["c"], nodes,
                          [oh.make_opsetid("", 17), oh.make_opsetid(domain, 1)])
    if overload:
        fn.overload = overload
    return fn


def test_function_calls_keep_the_call_and_inline_the_body_per_call(tmp_path):
    fn = _function("MyFn", ["Add", "Relu"])
    nodes = [
        oh.make_node("Relu", ["x"], ["p"], name="pre"),
        oh.make_node("MyFn", ["p", "x"], ["q"], name="call1", domain="com.example"),
        oh.make_node("MyFn", ["q", "W"], ["r"], name="call2", domain="com.example"),
    ]
    w = oh.make_tensor("W", FLOAT, [2], [1.0, 1.0])
    model = make_model(nodes, [tensor_vi("x", FLOAT, [2])], ["r"], [w], domains=["com.example"],
                       functions=[fn])
    g = extracted(model, tmp_path)
    call1, call2 = g.op("call1"), g.op("call2")
    assert (call1["op_type"], call1["domain"], call1["kind"]) == ("MyFn", "com.example", "operator")
    body_add = {g.ops[i]["scope"]: i for i in g.idxs("MyFn_Add_0")}
    scope1, scope2 = f"{call1['idx']}/com.example:MyFn", f"{call2['idx']}/com.example:MyFn"
    assert set(body_add) == {scope1, scope2}
    pre, x = g.idx("pre"), g.idx("x", "input")
    # call 1: formals a, b bound to the actual producers pre and x
    assert g.into(body_add[scope1]) == [(pre, 0, 0), (x, 0, 1)]
    assert g.into(call1["idx"]) == [(pre, 0, 0), (x, 0, 1)]
    # call 2: a bound to call1's output, b bound to an initializer → no edge, recorded on the body node
    assert g.into(body_add[scope2]) == [(call1["idx"], 0, 0)]
    assert json.loads(g.ops[body_add[scope2]]["initializers"]) == {"1": {"dtype": "float", "shape": [2]}}
    assert g.row["num_functions"] == 2
    assert g.row["num_dangling"] == 0
    assert_matches_recount(model, g.graph)


def test_function_calling_a_function_and_overloads(tmp_path):
    inner = _function("Inner", ["Sub"])
    outer = oh.make_function("com.example", "Outer", ["a", "b"], ["c"],
                             [oh.make_node("Inner", ["b", "a"], ["c"], name="inner_call", domain="com.example")],
                             [oh.make_opsetid("", 17), oh.make_opsetid("com.example", 1)])
    over_a = _function("Act", ["Relu"], overload="relu")
    over_b = _function("Act", ["Sigmoid", "Tanh"], overload="smooth")
    call_a = oh.make_node("Act", ["o", "x"], ["ya"], name="act_a", domain="com.example")
    call_a.overload = "relu"
    call_b = oh.make_node("Act", ["o", "x"], ["yb"], name="act_b", domain="com.example")
    call_b.overload = "smooth"
    nodes = [oh.make_node("Outer", ["x", "y"], ["o"], name="outer_call", domain="com.example"), call_a, call_b]
    model = make_model(nodes, ["x", "y"], ["ya", "yb"], domains=["com.example"],
                       functions=[inner, outer, over_a, over_b])
    g = extracted(model, tmp_path)
    outer_idx, inner_call = g.idx("outer_call"), g.idx("inner_call")
    sub = g.op("Inner_Sub_0")
    assert sub["scope"] == f"{outer_idx}/com.example:Outer/{inner_call}/com.example:Inner"
    # Outer(x, y) calls Inner(b=y, a=x): Inner's Sub(a, b) reads y at slot 0 and x at slot 1
    assert g.into(sub["idx"]) == [(g.idx("y", "input"), 0, 0), (g.idx("x", "input"), 0, 1)]
    # each call gets the body of the overload it names
    scope_of = {o["name"]: o["scope"] for o in g.ops}
    assert scope_of["Act_Relu_0"] == f"{g.idx('act_a')}/com.example:Act"
    assert scope_of["Act_Sigmoid_0"] == f"{g.idx('act_b')}/com.example:Act"
    assert scope_of["Act_Tanh_1"] == f"{g.idx('act_b')}/com.example:Act"
    assert_matches_recount(model, g.graph)


def test_recursive_function_is_a_clear_error(tmp_path):
    fn = oh.make_function("com.example", "Forever", ["a"], ["c"],
                          [oh.make_node("Forever", ["a"], ["c"], domain="com.example")],
                          [oh.make_opsetid("com.example", 1)])
    model = make_model([oh.make_node("Forever", ["x"], ["y"], domain="com.example")], ["x"], ["y"],
                       domains=["com.example"], functions=[fn])
    result = extract_file(str(write_model(model, tmp_path / "rec.onnx")))
    assert result.row["status"] == "error"
    assert "nested deeper" in result.row["error"]
    assert "Traceback" not in result.row["error"] and "\n" not in result.row["error"]


# -- domains, names, attributes -----------------------------------------------------------------
def test_custom_domain_is_kept(tmp_path):
    nodes = [oh.make_node("Frobnicate", ["x"], ["y"], name="frob", domain="com.example"),
             oh.make_node("Relu", ["y"], ["z"], name="relu")]
    g = extracted(make_model(nodes, ["x"], ["z"], domains=["com.example"]), tmp_path)
    assert (g.op("frob")["domain"], g.op("frob")["op_type"]) == ("com.example", "Frobnicate")
    assert g.op("relu")["domain"] == ""


def test_non_ascii_names_survive_in_the_tables(tmp_path, tmp_out):
    nodes = [oh.make_node("Relu", ["输入"], ["中间😀"], name="卷积层🚀"),
             oh.make_node("Neg", ["中间😀"], ["输出"], name="ノード")]
    model = make_model(nodes, ["输入"], ["输出"], name="模型")
    write_model(model, tmp_path / "models" / "模型🚀.onnx")
    summary = extract([tmp_path / "models"], tmp_out, workers=1)
    assert (summary.ok, summary.failed) == (1, 0)
    ops = pq.read_table(tmp_out / "operators.parquet").to_pylist()
    edges = pq.read_table(tmp_out / "edges.parquet").to_pylist()
    models = pq.read_table(tmp_out / "models.parquet").to_pylist()
    assert {o["name"] for o in ops} == {"输入", "卷积层🚀", "ノード", "输出"}
    assert {e["tensor"] for e in edges} == {"输入", "中间😀", "输出"}
    assert models[0]["name"] == "模型🚀"
    assert models[0]["source"].endswith("模型🚀.onnx")


def _every_attribute_type_model() -> onnx.ModelProto:
    big = oh.make_tensor("t", FLOAT, [2, 3], [12345.678] * 6)
    sparse = oh.make_sparse_tensor(oh.make_tensor("sv", FLOAT, [2], [98765.4, 1.0]),
                                   oh.make_tensor("si", TensorProto.INT64, [2], [1, 7]), [10])
    sub = oh.make_graph([oh.make_node("Identity", ["x"], ["gx"], name="in_g")], "sub", [], [tensor_vi("gx")])
    subs = [oh.make_graph([oh.make_node("Identity", ["x"], [f"gs{k}"], name=f"in_gs{k}")], f"s{k}", [],
                          [tensor_vi(f"gs{k}")]) for k in range(2)]
    node = oh.make_node("Everything", ["x"], ["y"], name="every", domain="com.example")
    node.attribute.extend([
        oh.make_attribute("z_int", 3),
        oh.make_attribute("a_float", 0.1),
        oh.make_attribute("string", "héllo"),
        oh.make_attribute("ints", [1, -2, 3]),
        oh.make_attribute("floats", [0.5, 0.25]),
        oh.make_attribute("strings", ["a", "b"]),
        oh.make_attribute("tensor", big),
        oh.make_attribute("tensors", [big, oh.make_tensor("u", TensorProto.INT64, [4], [1, 2, 3, 4])]),
        oh.make_attribute("g", sub),
        oh.make_attribute("gs", subs),
        oh.make_attribute("sparse", sparse),
        oh.make_attribute("tp", oh.make_tensor_type_proto(FLOAT, [1])),
    ])
    assert {a.type for a in node.attribute} >= {
        AttributeProto.INT, AttributeProto.FLOAT, AttributeProto.STRING, AttributeProto.INTS,
        AttributeProto.FLOATS, AttributeProto.STRINGS, AttributeProto.TENSOR, AttributeProto.TENSORS,
        AttributeProto.GRAPH, AttributeProto.GRAPHS, AttributeProto.SPARSE_TENSOR, AttributeProto.TYPE_PROTO,
    }
    return make_model([node], ["x"], ["y"], domains=["com.example"])


def test_attributes_of_every_type_render_as_canonical_json(tmp_path):
    model = _every_attribute_type_model()
    g = extracted(model, tmp_path)
    every = g.op("every")
    k = every["idx"]
    expected = {
        "z_int": 3,
        "a_float": 0.1,
        "string": "héllo",
        "ints": [1, -2, 3],
        "floats": [0.5, 0.25],
        "strings": ["a", "b"],
        "tensor": {"tensor": {"dtype": "float", "shape": [2, 3]}},
        "tensors": [{"tensor": {"dtype": "float", "shape": [2, 3]}},
                    {"tensor": {"dtype": "int64", "shape": [4]}}],
        "g": {"graph": f"{k}/g"},
        "gs": [{"graph": f"{k}/gs/0"}, {"graph": f"{k}/gs/1"}],
        "sparse": {"tensor": {"dtype": "float", "shape": [10], "sparse": True}},
        "tp": {"type": "tensor(float)"},
    }
    assert json.loads(every["attrs"]) == expected
    # canonical spelling: sorted keys, no spaces, UTF-8 kept; tensor values never appear
    assert every["attrs"] == json.dumps(expected, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "12345" not in every["attrs"] and "98765" not in every["attrs"]
    assert g.op("in_gs1")["scope"] == f"{k}/gs/1"
    assert_matches_recount(model, g.graph)


def test_tensor_attribute_values_do_not_change_the_architecture(tmp_path):
    a = _every_attribute_type_model()
    b = _every_attribute_type_model()
    b.graph.node[0].attribute[6].t.float_data[:] = [-1.0] * 6
    assert a.SerializeToString() != b.SerializeToString()
    assert extracted(a, tmp_path, name="a.onnx").graph.graph_id == extracted(b, tmp_path, name="b.onnx").graph.graph_id


def test_long_float_string_lists_are_bounded_but_distinguishable(tmp_path):
    def model(last: float) -> onnx.ModelProto:
        node = oh.make_node("Custom", ["x"], ["y"], name="c", domain="com.example",
                            values=[float(i) for i in range(5000)] + [last])
        return make_model([node], ["x"], ["y"], domains=["com.example"])

    g1, g2 = extracted(model(1.0), tmp_path, name="a.onnx"), extracted(model(2.0), tmp_path, name="b.onnx")
    attrs = json.loads(g1.op("c")["attrs"])["values"]
    assert attrs["len"] == 5001 and len(attrs["truncated"]) < 5001
    assert len(g1.op("c")["attrs"]) < 2000
    assert g1.graph.graph_id != g2.graph.graph_id
    assert g1.graph.graph_id_noattr == g2.graph.graph_id_noattr


def test_long_float_lists_with_nan_stay_strict_json(tmp_path):
    values = [float("nan"), float("inf"), 0.1] + [1.0] * 2000
    node = oh.make_node("Custom", ["x"], ["y"], name="c", domain="com.example", values=values, one=float("nan"))
    g = extracted(make_model([node], ["x"], ["y"], domains=["com.example"]), tmp_path)

    def reject(token: str) -> None:
        raise ValueError(f"not JSON: {token}")

    attrs = json.loads(g.op("c")["attrs"], parse_constant=reject)
    assert attrs["values"]["truncated"][:3] == ["nan", "inf", 0.1]
    assert attrs["values"]["len"] == 2003
    assert attrs["one"] == "nan"


# -- shapes -------------------------------------------------------------------------------------
def test_infer_shapes_fills_undeclared_edge_types(tmp_path, tmp_out):
    nodes = [oh.make_node("Relu", ["x"], ["h"], name="relu"),
             oh.make_node("Transpose", ["h"], ["y"], name="tr", perm=[1, 0])]
    model = make_model(nodes, [tensor_vi("x", FLOAT, [2, 3])], ["y"])
    plain = extracted(model, tmp_path)
    inner = [e for e in plain.edges if e["tensor"] == "h"]
    assert [(e["dtype"], e["shape"]) for e in inner] == [(None, None)]
    inferred = extracted(model, tmp_path, infer_shapes=True)
    by_tensor = {e["tensor"]: (e["dtype"], json.loads(e["shape"])) for e in inferred.edges}
    assert by_tensor["x"] == ("float", [2, 3])
    assert by_tensor["h"] == ("float", [2, 3])
    assert by_tensor["y"] == ("float", [3, 2])
    assert inferred.graph.graph_id == plain.graph.graph_id  # shapes are data, not architecture
    # and through the batch driver
    write_model(model, tmp_path / "batch" / "m.onnx")
    extract([tmp_path / "batch"], tmp_out, workers=1, infer_shapes=True)
    edges = pq.read_table(tmp_out / "edges.parquet").to_pylist()
    assert {e["tensor"]: e["dtype"] for e in edges} == {"x": "float", "h": "float", "y": "float"}


def test_declared_types_stay_in_their_scope(tmp_path):
    # a Loop body declares its own "x" (int64 [7]); the main graph's "x" stays float [2, 3]
    body = oh.make_graph(
        [oh.make_node("Identity", ["c_in"], ["c_out"]), oh.make_node("Cast", ["i"], ["x"], to=FLOAT)],
        "body", [tensor_vi("i", TensorProto.INT64, []), tensor_vi("c_in", TensorProto.BOOL, [])],
        [tensor_vi("c_out", TensorProto.BOOL, []), tensor_vi("x", TensorProto.INT64, [7])],
    )
    # a function body computes an undeclared value that is also called "x"
    fn = oh.make_function("com.example", "Fn", ["a"], ["c"],
                          [oh.make_node("Relu", ["a"], ["x"], name="fn_relu"),
                           oh.make_node("Neg", ["x"], ["c"], name="fn_neg")],
                          [oh.make_opsetid("", 17)])
    nodes = [
        oh.make_node("Loop", ["trip", "cond"], ["ys"], name="loop", body=body),
        oh.make_node("Relu", ["x"], ["y"], name="after_loop"),
        oh.make_node("Fn", ["y"], ["z"], name="call", domain="com.example"),
    ]
    model = make_model(nodes, [tensor_vi("x", FLOAT, [2, 3]), tensor_vi("trip", TensorProto.INT64, []),
                               tensor_vi("cond", TensorProto.BOOL, [])], ["z", "ys"],
                       domains=["com.example"], functions=[fn])
    g = extracted(model, tmp_path)
    typed = {(e["dst"], e["tensor"]): (e["dtype"], e["shape"] and json.loads(e["shape"])) for e in g.edges}
    loop = g.idx("loop")
    body_out_x = next(o["idx"] for o in g.ops if o["kind"] == "output" and o["name"] == "x")
    assert g.ops[body_out_x]["scope"] == f"{loop}/body"
    assert typed[(body_out_x, "x")] == ("int64", [7])
    assert typed[(g.idx("after_loop"), "x")] == ("float", [2, 3])
    assert typed[(g.idx("fn_neg"), "x")] == (None, None)
    assert_matches_recount(model, g.graph)


# -- family checks against the independent recount ----------------------------------------------
def _check_file(path: Path) -> None:
    result = extract_file(str(path))
    assert result.ok, result.row["error"]
    assert result.graph is not None
    assert_matches_recount(onnx.load(str(path), load_external_data=False), result.graph)


def test_family_onnx_backend_models(onnx_backend_models):
    for path in onnx_backend_models:
        _check_file(path)


def test_family_sample_models(sample_models):
    for path in sample_models:
        _check_file(path)


def test_family_built_models(tmp_path):
    for k, model in enumerate([_loop_with_if_model(), _every_attribute_type_model()]):
        _check_file(write_model(model, tmp_path / f"{k}.onnx"))


@pytest.mark.zoo
@pytest.mark.parametrize("ref", ["torchvision:resnet18", "torchvision:squeezenet1_0"])
def test_family_zoo_exports(ref, zoo_export, tmp_path):
    model = zoo_export(ref)
    _check_file(write_model(model, tmp_path / "zoo.onnx"))
    assert recount(model).op_types[("", "Conv")] > 10


def test_family_skl2onnx_pipeline(tmp_path):
    skl2onnx = pytest.importorskip("skl2onnx")
    pytest.importorskip("sklearn")
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 4)).astype(np.float32), np.arange(40) % 3
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)).fit(x, y)
    model = skl2onnx.convert_sklearn(pipe, initial_types=[("input", FloatTensorType([None, 4]))],
                                     target_opset={"": 17, "ai.onnx.ml": 3})
    assert {n.domain for n in model.graph.node} >= {"ai.onnx.ml"}
    path = write_model(model, tmp_path / "skl.onnx")
    _check_file(path)
    g = extracted(model, tmp_path, name="skl2.onnx")
    assert "ai.onnx.ml" in {o["domain"] for o in g.ops}


def test_family_onnxruntime_dynamic_quantization(tmp_path):
    pytest.importorskip("onnxruntime")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    rng = np.random.default_rng(0)
    inits = [onnx.numpy_helper.from_array(rng.normal(size=(16, 16)).astype(np.float32), f"W{k}") for k in range(3)]
    nodes = [oh.make_node("MatMul", ["x", "W0"], ["h0"]), oh.make_node("Relu", ["h0"], ["a0"]),
             oh.make_node("MatMul", ["a0", "W1"], ["h1"]), oh.make_node("Relu", ["h1"], ["a1"]),
             oh.make_node("MatMul", ["a1", "W2"], ["y"])]
    src = write_model(make_model(nodes, [tensor_vi("x", FLOAT, [1, 16])], [tensor_vi("y", FLOAT, [1, 16])],
                                 inits, opset=17), tmp_path / "fp32.onnx")
    dst = tmp_path / "int8.onnx"
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
    quantized = onnx.load(str(dst))
    assert any(n.op_type in ("MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul")
               for n in quantized.graph.node)
    _check_file(dst)


def test_attribute_type_numbers_are_onnx_s() -> None:
    """walk.attrs.AttrType spells onnx.proto's AttributeType without importing onnx (start-up)."""
    from younger_graph.walk.attrs import AttrType

    assert {t.name: t.value for t in AttrType} == dict(onnx.AttributeProto.AttributeType.items())


def test_native_extraction_never_imports_onnx(tmp_path, sample_dir) -> None:
    """On the native path, extraction needs no onnx import (half a second of every CLI run)."""
    import subprocess
    import sys

    from conftest import cli_env, native_core

    native_core()
    code = ("import sys; import younger_graph as yg; "
            f"s = yg.extract([{str(sample_dir / 'torchvision_resnet18.onnx')!r}], {str(tmp_path / 'o')!r}, workers=1); "
            "assert s.ok == 1, s.errors; print(sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'torch')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=cli_env(YOUNGER_GRAPH_NATIVE="1"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
