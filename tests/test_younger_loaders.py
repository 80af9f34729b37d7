"""Younger release readers (loaders/younger.py).

Fixtures are written in code by small ports of Younger's own writers (functions `paper_*` port
github.com/YangsCloud/Younger branch `paper`, `logicx_*` port PyPI younger-logics-ir 0.1.0), from
two ONNX models: a conv net, and a net with Mul(x, x), a Split whose two outputs feed one Sub, and
an If whose branches read outer names. tests/fixtures/younger/ holds the same instances written
by the real Younger code (see its README); a test checks the ports against them.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import pickle
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import onnx
import pyarrow.parquet as pq
import pytest
from onnx import AttributeProto, TensorProto, helper, numpy_helper
from younger_graph.loaders.younger import extract_instance, is_younger_instance, safe_loads

from younger_graph.extract import extract
from younger_graph.walk.onnx_walker import model_to_builder

STATIC = Path(__file__).resolve().parent / "fixtures" / "younger"


# -- models ---------------------------------------------------------------------------------------

def _zeros(name: str, shape: list[int]) -> TensorProto:
    return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)


def conv_net() -> onnx.ModelProto:
    conv = {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", **conv),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2", **conv),
        helper.make_node("Add", ["c2", "r1"], ["a1"], name="add1"),
        helper.make_node("GlobalAveragePool", ["a1"], ["p1"], name="gap"),
        helper.make_node("Flatten", ["p1"], ["f1"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f1", "w3", "b3"], ["y"], name="fc", transB=1, alpha=1.0),
    ]
    graph = helper.make_graph(
        nodes, "convnet",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [_zeros("w1", [4, 3, 3, 3]), _zeros("b1", [4]), _zeros("w2", [4, 4, 3, 3]), _zeros("b2", [4]),
         _zeros("w3", [10, 4]), _zeros("b3", [10])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="gen")


def branchy() -> onnx.ModelProto:
    def branch(name: str, node: onnx.NodeProto, out: str) -> onnx.GraphProto:
        return helper.make_graph([node], name, [], [helper.make_tensor_value_info(out, TensorProto.FLOAT, [2, 2])])

    then_mul = helper.make_node("Mul", ["s0", "k"], ["t"], name="then_mul")  # s0 and k come from outside
    else_neg = helper.make_node("Neg", ["s1"], ["e"], name="else_neg")
    nodes = [
        helper.make_node("Mul", ["x", "x"], ["sq"], name="square"),
        helper.make_node("Split", ["sq"], ["s0", "s1"], name="split", axis=0, num_outputs=2),
        helper.make_node("Sub", ["s0", "s1"], ["d"], name="sub"),
        helper.make_node("ReduceSum", ["d"], ["rs"], name="rsum", keepdims=0),
        helper.make_node("Greater", ["rs", "zero"], ["cond"], name="gt"),
        helper.make_node("If", ["cond"], ["out"], name="if", then_branch=branch("then_branch", then_mul, "t"),
                         else_branch=branch("else_branch", else_neg, "e")),
    ]
    graph = helper.make_graph(
        nodes, "branchy",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 2])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 2])],
        [numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"), _zeros("k", [2, 2])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="gen")


def nested() -> onnx.ModelProto:
    """If inside If, branches reading names from one and two levels up; no initializers, no repeats."""
    def branch(name: str, nodes: list[onnx.NodeProto], out: str) -> onnx.GraphProto:
        return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info(out, TensorProto.FLOAT, [2])])

    inner = helper.make_node("If", ["c"], ["i"], name="inner",
                             then_branch=branch("inner_then", [helper.make_node("Neg", ["r"], ["n"])], "n"),
                             else_branch=branch("inner_else", [helper.make_node("Abs", ["x"], ["a"])], "a"))
    outer = helper.make_node("If", ["c"], ["y"], name="outer",
                             then_branch=branch("outer_then", [inner, helper.make_node("Sigmoid", ["i"], ["t"])], "t"),
                             else_branch=branch("outer_else", [helper.make_node("Sub", ["x", "r"], ["e"])], "e"))
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"], name="relu"), outer], "nested",
        [helper.make_tensor_value_info("c", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="gen")


MODELS = {"convnet": conv_net, "branchy": branchy, "nested": nested}


# -- Younger's safety pickle (younger/commons/io.py save_pickle, identical in both eras) ----------

def save_pickle(obj: Any, path: Path) -> None:
    main = pickle.dumps(obj)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({"main": main, "checksum": hashlib.sha256(main).hexdigest()}))


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


# -- paper era: younger/datasets/utils/translation.py, modules/{instance,network}.py --------------

def _value_info(vi: onnx.ValueInfoProto) -> dict[str, Any]:
    tt = vi.type.tensor_type
    shape = [d.dim_param if d.HasField("dim_param") else d.dim_value for d in tt.shape.dim]
    return {"type_proto": {"elem_type": tt.elem_type, "shape": shape, "shape_denotation": ""}, "doc_string": ""}


def _tensor(t: TensorProto) -> dict[str, Any]:
    return {"data_type": t.data_type, "dims": list(t.dims), "vals": None, "raw": False}


def _attribute(a: AttributeProto, subgraph: Any) -> dict[str, Any]:
    value = subgraph(a.g) if a.type == AttributeProto.GRAPH else helper.get_attribute_value(a)
    return {"value": value, "doc_string": a.doc_string, "attr_type": a.type}


def paper_graph(graph: onnx.GraphProto, outer: dict[str, tuple[str, int]] | None = None) -> nx.DiGraph:
    """Port of trans_graph_proto: aggregated input/output/constant/outer nodes, one edge per node pair."""
    outer = outer or {}
    g = nx.DiGraph()
    blank = dict.fromkeys(("outer_names", "graph_inputs", "graph_outputs", "graph_constants", "name", "doc_string",
                           "operator", "operands", "results", "attributes"))
    dataflows = {vi.name: _value_info(vi) for vi in (*graph.input, *graph.output, *graph.value_info)}
    inputs = {vi.name: i for i, vi in enumerate(graph.input)}
    outputs = {vi.name: i for i, vi in enumerate(graph.output)}
    defaults = {t.name: _tensor(t) for t in graph.initializer}
    defined = set(inputs) | {o for n in graph.node for o in n.output}
    constants = {t.name: i for i, t in enumerate(t for t in graph.initializer if t.name not in defined)}
    i_key, o_key, c_key, x_key = (str(len(graph.node) + k) for k in range(4))
    source = {out: (str(i), s) for i, n in enumerate(graph.node) for s, out in enumerate(n.output)}
    source.update({n: (i_key, p) for n, p in inputs.items()})
    source.update({n: (c_key, p) for n, p in constants.items()})
    for node in graph.node:
        visible = {**source, **outer}
        g.add_node(str(len(g)), **{**blank, "type": "operator", "name": node.name, "doc_string": node.doc_string,
                                   "operator": {"op_type": node.op_type, "domain": node.domain},
                                   "operands": {x: s for s, x in enumerate(node.input) if x},
                                   "results": {x: s for s, x in enumerate(node.output)},
                                   "attributes": {a.name: _attribute(a, lambda sub, v=visible: paper_graph(sub, v))
                                                  for a in node.attribute}})
    g.add_node(i_key, **{**blank, "type": "input", "graph_inputs": inputs})
    g.add_node(o_key, **{**blank, "type": "output", "graph_outputs": outputs})
    g.add_node(c_key, **{**blank, "type": "constant", "graph_constants": constants})
    g.add_node(x_key, **{**blank, "type": "outer"})
    for key, d in list(g.nodes.items()):
        names = d["operands"] if d["operands"] is not None else d["graph_outputs"]
        for name, trap in (names or {}).items():
            if name in source:
                tail, emit = source[name]
                attrs = {"connection": {"emit_index": emit, "trap_index": trap},
                         "default_value": defaults.get(name), "dataflow": dataflows.get(name)}
            else:
                tail, attrs = x_key, {"connection": {"emit_index": None, "trap_index": trap},
                                      "default_value": None, "dataflow": None}
            g.add_edge(tail, key, **attrs)  # a second flow between the pair overwrites the first
    return g


def paper_model_graph(model: onnx.ModelProto) -> nx.DiGraph:
    model = onnx.shape_inference.infer_shapes(model)
    g = paper_graph(model.graph)
    g.graph.update(ir_version=model.ir_version, opset_import={o.domain: o.version for o in model.opset_import},
                   producer_name=model.producer_name, producer_version=model.producer_version,
                   domain=model.domain, model_version=model.model_version, doc_string=model.doc_string,
                   metadata_props=[])
    return g


def _flatten(g: nx.DiGraph) -> nx.DiGraph:
    """Port of Network.flatten: subgraphs appended as id ranges behind an attribute-less father edge."""
    fathers, subs = [], []
    for key, d in g.nodes.items():
        for attr in (d.get("attributes") or {}).values():
            if attr["attr_type"] == AttributeProto.GRAPH:
                fathers.append(key)
                subs.append(attr["value"])
                attr["value"] = len(subs) - 1
    flat = nx.DiGraph()
    flat.update(g)
    for father, sub in zip(fathers, subs):
        start = str(flat.number_of_nodes())
        sub_flat = _flatten(sub)
        flat.add_edge(father, start)
        flat.update(nx.relabel_nodes(sub_flat, {k: str(int(start) + int(k)) for k in sub_flat.nodes}))
    return flat


def paper_standardize(g: nx.DiGraph) -> nx.DiGraph:
    """Port of Network.standardize (flatten, drop non-operators and Constant, keep `connection`)."""
    flat = _flatten(copy.deepcopy(g))
    keep = [k for k, d in flat.nodes.items() if d["type"] == "operator" and d["operator"]["op_type"] != "Constant"]
    out = nx.DiGraph()
    out.add_nodes_from(keep)
    out.add_edges_from((u, v) for u, v in flat.edges if u in out and v in out)
    for key in keep:
        d = flat.nodes[key]
        features = {n: (a["attr_type"], str(a["value"])) for n, a in d["attributes"].items()}  # no schema defaults
        out.nodes[key].update(operator=d["operator"], attributes=d["attributes"],
                              features={"operator": d["operator"], "attributes": features})
    for u, v in out.edges:
        if "connection" in flat.edges[u, v]:
            out.edges[u, v]["connection"] = flat.edges[u, v]["connection"]
    return out


def paper_labels(model_name: str) -> dict[str, Any]:
    return {"model_source": "HuggingFace", "model_name": model_name, "onnx_model_filename": "model.onnx",
            "download": 12, "like": 3, "tag": ["onnx", "image-classification"], "readme": None,
            "annotations": {"datasets": None, "metrics": None, "language": None, "base_model": None,
                            "eval_results": [{"task": "image-classification", "dataset": ["imagenet", "val"],
                                              "metric": ["accuracy", 0.5]}]}}


def write_paper_instance(folder: Path, graph: nx.DiGraph, labels: dict[str, Any]) -> Path:
    """Instance.save: meta.json, unique.id, label.json, network/info.json, network/graph.pkl."""
    _write_json(folder / "meta.json", {})
    _write_json(folder / "unique.id", None)
    _write_json(folder / "label.json", labels)
    info_keys = ("ir_version", "opset_import", "producer_name", "producer_version", "domain", "model_version",
                 "doc_string", "metadata_props")
    _write_json(folder / "network" / "info.json", {k: graph.graph.get(k) for k in info_keys})
    save_pickle(graph, folder / "network" / "graph.pkl")
    return folder


def paper_instance(root: Path, name: str, model_name: str | None = None) -> Path:
    model_name = model_name or f"someone/{name}"
    folder = root / f"{model_name.replace('/', '--HF--')}--MN_YD_MS--HuggingFace--MS_YD_ON--model-1"
    return write_paper_instance(folder, paper_model_graph(MODELS[name]()), paper_labels(model_name))


def paper_filtered_instance(root: Path, name: str) -> Path:
    labels = {"model_sources": ["HuggingFace"], "model_name": [f"someone/{name}", f"other/{name}"],
              "downloads": [12, 40], "likes": [3], "tags": ["image-classification", "onnx"],
              "evaluations": [["image-classification", "imagenet", "val", "accuracy", 0.5]], "hash": "h"}
    return write_paper_instance(root / f"filtered-{name}", paper_standardize(paper_model_graph(MODELS[name]())),
                                labels)


# -- LogicX: younger_logics_ir/converters/onnx2ir/translation.py, modules/{instance,logicx,label}.py

def logicx_graph(graph: onnx.GraphProto, opset: dict[str, int], depth: int = 0,
                 constants: frozenset[str] = frozenset()) -> nx.DiGraph:
    """Port of trans_graph_proto: typed nodes '{graph}-{depth}-{type}-{n}', `connections` per pair."""
    g = nx.DiGraph(name=graph.name, depth=depth)

    def add(kind: str, name: str, attr: dict[str, Any] | None = None) -> str:
        n = g.graph.get(f"number_of_{kind}s", 0)
        g.graph[f"number_of_{kind}s"] = n + 1
        key = f"{graph.name}-{depth}-{kind}-{n}"
        if attr is None:
            tuid = kind
        else:
            tuid = f"operator-{(attr['op_type'], attr['domain'], attr['since_version'], opset[attr['domain']])}"
        g.add_node(key, node_tuid=tuid, node_type=kind, node_name=name, node_attr=attr or {})
        return key

    g.graph.update(graph_inputs={vi.name: _value_info(vi) for vi in graph.input},
                   graph_outputs={vi.name: _value_info(vi) for vi in graph.output},
                   graph_dataflows={vi.name: _value_info(vi) for vi in graph.value_info},
                   graph_initializers={t.name: _tensor(t) for t in graph.initializer})
    constants = constants | ({t.name for t in graph.initializer} - {vi.name for vi in graph.input})
    ops = []
    for node in graph.node:
        schema = onnx.defs.get_schema(node.op_type, max_inclusive_version=opset[node.domain], domain=node.domain)
        attr = {"operands": {x: s for s, x in enumerate(node.input) if x},
                "results": {x: s for s, x in enumerate(node.output)}, "name": node.name, "op_type": node.op_type,
                "domain": node.domain, "doc_string": node.doc_string, "since_version": schema.since_version,
                "attributes": {a.name: _attribute(a, lambda sub: logicx_graph(sub, opset, depth + 1, constants))
                               for a in node.attribute}}
        ops.append((add("operator", node.name, attr), attr))
    flows: dict[str, dict[str, Any]] = {}
    for vi in graph.input:
        flows[vi.name] = {"tail": (add("input", vi.name), 0), "heads": []}
    for key, attr in ops:
        flows.update({name: {"tail": (key, slot), "heads": []} for name, slot in attr["results"].items()})
    name = ""
    for vi in graph.output:
        name, key = vi.name, add("output", vi.name)
        if name in flows:
            flows[name]["heads"].append((key, 0))
    for key, attr in ops:
        for operand, slot in attr["operands"].items():
            if operand in flows:
                flows[operand]["heads"].append((key, slot))
            elif operand not in constants:  # sic: keyed by the last output name, as in Younger
                flows[name] = {"tail": (add("outer", operand), 0), "heads": [(key, slot)]}
    for flow in flows.values():
        (tail, emit) = flow["tail"]
        for head, trap in flow["heads"]:
            if g.has_edge(tail, head):
                g.edges[tail, head]["connections"].add((emit, trap))
            else:
                g.add_edge(tail, head, connections={(emit, trap)})
    for u, v in g.edges:
        g.edges[u, v]["connections"] = sorted(g.edges[u, v]["connections"])
    return g


def logicx_model_graph(model: onnx.ModelProto) -> nx.DiGraph:
    model = onnx.shape_inference.infer_shapes(model)
    opset = {o.domain: o.version for o in model.opset_import}
    g = logicx_graph(model.graph, opset)
    g.graph.update(ir_version=model.ir_version, opset_import=opset, producer_name=model.producer_name,
                   producer_version=model.producer_version, domain=model.domain, model_version=model.model_version,
                   doc_string=model.doc_string, metadata_props=[], training_info=[])
    return g


def _ylir_json(value: Any) -> Any:
    """YLIRJSONEncoder + LogicX.saved_dag's dag2str: bytes and nested DAGs become tagged strings."""
    if isinstance(value, dict):
        return {k: _ylir_json(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_ylir_json(v) for v in value]
    if isinstance(value, bytes):
        return "YLIR-BYTES-" + base64.b64encode(value).decode()
    if isinstance(value, nx.DiGraph):
        return "YLIR-DAG-" + saves_dag(value)
    return value


def saves_dag(dag: nx.DiGraph) -> str:
    return json.dumps(_ylir_json({
        "graph": dag.graph,
        "nodes": [{"node_features": f, "node_index": k} for k, f in sorted(dag.nodes(data=True), key=lambda x: x[0])],
        "edges": [{"edge_features": f, "tail_index": u, "head_index": v}
                  for u, v, f in sorted(dag.edges(data=True), key=lambda x: (x[0], x[1]))],
    }), sort_keys=True)


def logicx_label(owner: str, name: str) -> str:
    performances = {json.dumps({"dataset": "imagenet", "task": "image-classification"}, sort_keys=True):
                    {json.dumps({"dataset": "val", "metric": "accuracy"}, sort_keys=True): 0.5}}
    return json.dumps({"origin": {"hub": "HuggingFace", "owner": owner, "name": name, "artifact": "model.onnx"},
                       "like": 3, "download": 12, "performances": performances}, sort_keys=True)


def write_logicx_instance(folder: Path, dag: nx.DiGraph, labels: list[str]) -> Path:
    """Instance.save: meta, logicx.bin = safety pickle of (dag JSON, pickle(src), pickle(relationship))."""
    _write_json(folder / "meta", {})
    _write_json(folder / "labels.lbl", labels)
    save_pickle((saves_dag(dag), pickle.dumps("onnx"), pickle.dumps(None)), folder / "logicx.bin")
    return folder


def logicx_instance(root: Path, name: str, owner: str = "someone") -> Path:
    return write_logicx_instance(root / f"{owner}-{name}", logicx_model_graph(MODELS[name]()),
                                 [logicx_label(owner, name)])


# -- helpers --------------------------------------------------------------------------------------

def ops(result: Any) -> list[dict[str, Any]]:
    return result.graph.operators.to_pylist()


def flows(result: Any) -> set[tuple[str, int, str, int, str]]:
    """Edges as (producer op or kind, src_slot, consumer op or kind, dst_slot, scope)."""
    nodes = ops(result)
    label = {o["idx"]: o["op_type"] if o["kind"] == "operator" else o["kind"] for o in nodes}
    return {(label[e["src"]], e["src_slot"], label[e["dst"]], e["dst_slot"], e["scope"])
            for e in result.graph.edges.to_pylist()}


def onnx_graph(name: str) -> Any:
    return model_to_builder(MODELS[name]()).finish()


def assert_error(result: Any, *words: str) -> None:
    assert not result.ok and result.graph is None
    assert result.row["status"] == "error"
    message = result.row["error"]
    assert message and "\n" not in message
    for word in words:
        assert word in message, message


# -- detection ------------------------------------------------------------------------------------

def test_is_younger_instance(tmp_path: Path) -> None:
    paper = paper_instance(tmp_path, "convnet")
    logicx = logicx_instance(tmp_path, "convnet")
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "meta.json").write_text("{}")
    assert is_younger_instance(str(paper)) and is_younger_instance(str(logicx))
    assert not is_younger_instance(str(tmp_path / "plain"))
    assert not is_younger_instance(str(paper / "network"))
    assert not is_younger_instance(str(paper / "label.json"))
    assert not is_younger_instance(str(tmp_path / "missing"))


# -- paper era ------------------------------------------------------------------------------------

def test_paper_conv_net(tmp_path: Path) -> None:
    result = extract_instance(str(paper_instance(tmp_path, "convnet")))
    assert result.ok, result.row["error"]
    row = result.row
    assert row["name"] == "someone/convnet" and row["younger_format"] == "younger-paper/complete"
    assert (row["origin"], row["tags"], row["task"]) == ("huggingface", "image-classification, onnx",
                                                         "image-classification")
    assert row["younger_models"] == "someone/convnet"
    assert (row["downloads"], row["likes"], row["opsets"]) == ("12", "3", '{"ai.onnx":17}')
    assert (row["ir_version"], row["producer"]) == (conv_net().ir_version, "gen")
    graph_pkl = Path(row["source"]) / "network" / "graph.pkl"
    assert row["content_sha256"] == hashlib.sha256(graph_pkl.read_bytes()).hexdigest()
    assert row["num_bytes"] == graph_pkl.stat().st_size and row["graph_id"] == result.graph.graph_id
    nodes = ops(result)
    assert [o["op_type"] for o in nodes] == ["Input", "Conv", "Relu", "Conv", "Add", "GlobalAveragePool", "Flatten",
                                             "Gemm", "Output"]
    # Flows come from operand names, so both inputs of Add survive though they share nothing.
    reference = onnx_graph("convnet")
    assert result.graph.graph_row["num_edges"] == reference.graph_row["num_edges"] == 9
    # Only initializer shapes differ from the ONNX file, and the no-attribute hash ignores those.
    assert result.graph.graph_id != reference.graph_id and result.graph.graph_id_noattr == reference.graph_id_noattr
    assert ("Relu", 0, "Add", 1, "") in flows(result)
    # The constant node's edges into a Conv collapsed to the last initializer: W's summary is lost.
    conv = nodes[1]
    assert json.loads(conv["attrs"]) == {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}
    assert json.loads(conv["initializers"]) == {"1": {"dtype": None, "shape": None},
                                                "2": {"dtype": "float", "shape": [4]}}
    assert result.graph.graph_row["num_initializers"] == 6


def test_paper_collapsed_flows_and_subgraphs(tmp_path: Path) -> None:
    instance = paper_instance(tmp_path, "branchy")
    stored = safe_loads(pickle.loads((instance / "network" / "graph.pkl").read_bytes())["main"])
    assert stored.edges["1", "2"]["connection"] == {"emit_index": 1, "trap_index": 1}  # one of Split→Sub's two flows
    result = extract_instance(str(instance))
    assert result.ok, result.row["error"]
    got = flows(result)
    assert {("Split", 0, "Sub", 0, ""), ("Split", 1, "Sub", 1, "")} <= got  # both rebuilt from names
    assert ("input", 0, "Mul", 1, "") in got and ("input", 0, "Mul", 0, "") not in got  # Mul(x, x): slot 0 lost
    assert ("Split", 0, "Mul", 0, "6/then_branch") in got and ("Split", 1, "Neg", 0, "6/else_branch") in got
    reference = onnx_graph("branchy")
    assert result.graph.graph_row["num_edges"] == reference.graph_row["num_edges"] - 1
    assert result.graph.graph_row["num_operators"] == reference.graph_row["num_operators"] == 8
    assert result.graph.graph_row["num_subgraphs"] == 2
    nodes = ops(result)
    if_node = next(o for o in nodes if o["op_type"] == "If")
    assert json.loads(if_node["attrs"]) == {"else_branch": {"graph": "6/else_branch"},
                                            "then_branch": {"graph": "6/then_branch"}}
    assert {o["scope"] for o in nodes} == {"", "6/else_branch", "6/then_branch"}


def test_paper_standardized(tmp_path: Path) -> None:
    result = extract_instance(str(paper_filtered_instance(tmp_path, "branchy")))
    assert result.ok, result.row["error"]
    row = result.row
    assert row["younger_format"] == "younger-paper/standardized"
    assert row["name"] == "other/branchy" and row["younger_models"] == "other/branchy, someone/branchy"
    assert (row["downloads"], row["likes"], row["task"]) == ("40", "3", "image-classification")
    nodes = ops(result)
    assert [(o["op_type"], o["scope"]) for o in nodes] == [
        ("Mul", ""), ("Split", ""), ("Sub", ""), ("ReduceSum", ""), ("Greater", ""), ("If", ""),
        ("Neg", "5/else_branch"), ("Mul", "5/then_branch")]
    assert all(o["kind"] == "operator" for o in nodes)  # standardization dropped inputs and outputs
    assert flows(result) == {("Mul", 0, "Split", 0, ""), ("Split", 1, "Sub", 1, ""), ("Sub", 0, "ReduceSum", 0, ""),
                             ("ReduceSum", 0, "Greater", 0, ""), ("Greater", 0, "If", 0, "")}
    assert result.graph.graph_row["num_subgraphs"] == 2


def test_nothing_lost_means_same_graph_id_everywhere(tmp_path: Path) -> None:
    """Without initializers or repeated operands the complete paper graph, LogicX and ONNX agree exactly."""
    paper = extract_instance(str(paper_instance(tmp_path, "nested")))
    logicx = extract_instance(str(logicx_instance(tmp_path, "nested")))
    assert paper.ok and logicx.ok, (paper.row["error"], logicx.row["error"])
    assert paper.graph.graph_id == logicx.graph.graph_id == onnx_graph("nested").graph_id
    assert paper.graph.graph_row["num_subgraphs"] == 4


def test_paper_standardized_nested_scopes(tmp_path: Path) -> None:
    """Flattened id ranges give back every subgraph's father and attribute, at any depth."""
    complete = extract_instance(str(paper_instance(tmp_path, "nested")))
    flattened = extract_instance(str(paper_filtered_instance(tmp_path, "nested")))
    assert flattened.ok, flattened.row["error"]

    def shape(result: Any) -> list[tuple[str, str]]:
        by_idx = {o["idx"]: o for o in ops(result)}
        path = {i: "/".join(by_idx[int(p)]["op_type"] if p.isdigit() else p for p in o["scope"].split("/"))
                for i, o in by_idx.items() if o["scope"]}
        return sorted((o["op_type"], path.get(i, "")) for i, o in by_idx.items() if o["kind"] == "operator")

    assert shape(flattened) == shape(complete)
    assert ("Neg", "If/then_branch/If/then_branch") in shape(flattened)
    assert flattened.graph.graph_row["num_subgraphs"] == 4


def test_split_sample_file(tmp_path: Path) -> None:
    """A split's graph/sample-N.pkl: a standardized graph with the labels in graph.graph."""
    graph = paper_standardize(paper_model_graph(branchy()))
    graph.graph.update(downloads=[7], likes=[1], tasks=["image-classification"], metrics=[], hash="h")
    save_pickle(graph, tmp_path / "graph" / "sample-0.pkl")
    result = extract_instance(str(tmp_path / "graph" / "sample-0.pkl"))
    assert result.ok, result.row["error"]
    row = result.row
    assert (row["name"], row["task"], row["downloads"]) == ("sample-0.pkl", "image-classification", "7")
    assert row["younger_format"] == "younger-paper/standardized"


# -- LogicX ---------------------------------------------------------------------------------------

def test_logicx_instance_matches_onnx(tmp_path: Path) -> None:
    result = extract_instance(str(logicx_instance(tmp_path, "convnet")))
    assert result.ok, result.row["error"]
    row = result.row
    assert (row["name"], row["younger_format"], row["origin"], row["task"], row["tags"]) == (
        "someone/convnet", "logicx", "huggingface", "image-classification", None)
    # LogicX keeps initializer summaries and every flow of this model: the same architecture hash as the ONNX file.
    assert result.graph.graph_id == onnx_graph("convnet").graph_id


def test_logicx_subgraphs(tmp_path: Path) -> None:
    result = extract_instance(str(logicx_instance(tmp_path, "branchy")))
    assert result.ok, result.row["error"]
    got = flows(result)
    assert {("Split", 0, "Sub", 0, ""), ("Split", 1, "Sub", 1, "")} <= got
    assert ("input", 0, "Mul", 0, "") not in got  # operands are a name → slot dict in LogicX too
    # Younger's converter dropped Neg → branch output (outer-node bug); names bring it back.
    assert ("Neg", 0, "output", 0, "6/else_branch") in got
    then_mul = next(o for o in ops(result) if o["scope"] == "6/then_branch" and o["op_type"] == "Mul")
    assert json.loads(then_mul["initializers"]) == {"1": {"dtype": "float", "shape": [2, 2]}}


# -- identity, errors, safety ---------------------------------------------------------------------

def test_same_architecture_same_graph_id(tmp_path: Path) -> None:
    a = extract_instance(str(paper_instance(tmp_path / "a", "convnet", "alice/net")))
    b = extract_instance(str(paper_instance(tmp_path / "b", "convnet", "bob/other-net")))
    c = extract_instance(str(paper_instance(tmp_path / "c", "branchy")))
    assert a.ok and b.ok and c.ok
    assert a.row["content_sha256"] != b.row["content_sha256"] or a.row["source"] != b.row["source"]
    assert a.graph.graph_id == b.graph.graph_id != c.graph.graph_id
    x = extract_instance(str(logicx_instance(tmp_path / "x", "branchy", "alice")))
    y = extract_instance(str(logicx_instance(tmp_path / "y", "branchy", "bob")))
    assert x.graph.graph_id == y.graph.graph_id


def _corrupt(root: Path, name: str) -> Path:
    return paper_instance(root, "convnet", f"broken/{name}")


def test_corrupt_pickle(tmp_path: Path) -> None:
    folder = _corrupt(tmp_path, "corrupt")
    (folder / "network" / "graph.pkl").write_bytes(b"\x80\x04not a pickle at all")
    result = extract_instance(str(folder))
    assert_error(result, "network/graph.pkl", "not a readable pickle")
    assert result.row["name"] == "broken/corrupt" and result.row["content_sha256"]


def test_truncated_pickle(tmp_path: Path) -> None:
    folder = _corrupt(tmp_path, "truncated")
    graph = folder / "network" / "graph.pkl"
    graph.write_bytes(graph.read_bytes()[:200])
    assert_error(extract_instance(str(folder)), "not a readable pickle")


def test_checksum_mismatch(tmp_path: Path) -> None:
    folder = _corrupt(tmp_path, "mismatch")
    graph = folder / "network" / "graph.pkl"
    wrapper = pickle.loads(graph.read_bytes())
    wrapper["main"] = pickle.dumps(nx.DiGraph())
    graph.write_bytes(pickle.dumps(wrapper))
    assert_error(extract_instance(str(folder)), "checksum mismatch", "network/graph.pkl")


def test_missing_graph_file(tmp_path: Path) -> None:
    folder = _corrupt(tmp_path, "missing")
    (folder / "network" / "graph.pkl").unlink()
    assert is_younger_instance(str(folder))
    assert_error(extract_instance(str(folder)), "network/graph.pkl", "missing")


def test_graph_file_that_is_not_a_regular_file(tmp_path: Path) -> None:
    folder = _corrupt(tmp_path, "fifo")
    graph = folder / "network" / "graph.pkl"
    graph.unlink()
    graph.mkdir()
    assert_error(extract_instance(str(folder)), "network/graph.pkl is not a regular file")
    graph.rmdir()
    if hasattr(os, "mkfifo"):
        os.mkfifo(graph)  # reading it would block forever
        assert_error(extract_instance(str(folder)), "not a regular file")


def test_unwrapped_and_wrong_payloads(tmp_path: Path) -> None:
    folder = _corrupt(tmp_path, "unwrapped")
    graph = folder / "network" / "graph.pkl"
    graph.write_bytes(pickle.dumps(nx.DiGraph()))
    assert_error(extract_instance(str(folder)), "not the {'main': bytes, 'checksum': str} wrapper")
    save_pickle(["not", "a", "graph"], graph)
    assert_error(extract_instance(str(folder)), "not a networkx DiGraph")
    save_pickle(nx.DiGraph(), graph)
    assert_error(extract_instance(str(folder)), "empty")
    bad = nx.DiGraph()
    bad.add_node("0", type="operator", operator={"op_type": "Relu", "domain": ""}, operands=["x"])
    save_pickle(bad, graph)
    assert_error(extract_instance(str(folder)), "operands of node '0'")
    (folder / "label.json").write_text("{not json")
    assert_error(extract_instance(str(folder)), "label.json is not valid JSON")


def test_logicx_errors(tmp_path: Path) -> None:
    folder = logicx_instance(tmp_path, "convnet")
    blob = folder / "logicx.bin"
    wrapper = pickle.loads(blob.read_bytes())
    wrapper["checksum"] = "0" * 64
    blob.write_bytes(pickle.dumps(wrapper))
    assert_error(extract_instance(str(folder)), "checksum mismatch in logicx.bin")
    save_pickle(("{not json", pickle.dumps("onnx"), pickle.dumps(None)), blob)
    assert_error(extract_instance(str(folder)), "not valid JSON")
    blob.unlink()
    assert is_younger_instance(str(folder))
    assert_error(extract_instance(str(folder)), "logicx.bin is missing")


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickles_are_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    folder = _corrupt(tmp_path, "evil")
    graph = folder / "network" / "graph.pkl"
    graph.write_bytes(pickle.dumps(_Evil(marker)))  # the outer pickle itself
    assert_error(extract_instance(str(folder)), "refused", "system")
    save_pickle(_Evil(marker), graph)  # inside a wrapper whose checksum is right
    assert_error(extract_instance(str(folder)), "refused", "system")
    logicx = logicx_instance(tmp_path, "convnet")
    save_pickle(_Evil(marker), logicx / "logicx.bin")
    assert_error(extract_instance(str(logicx)), "refused")
    assert not marker.exists()


@pytest.mark.parametrize("payload", [
    b"cbuiltins\neval\n(S'1'\ntR.",  # a builtin function
    b"cnetworkx.classes.graph\nGraph.add_node\n.",  # a method reached through a dotted name
    b"cnetworkx.classes.graph\ncached_property\n.",  # a class networkx merely imports
    b"cnetworkx.convert\nto_networkx_graph\n.",  # networkx, but not a graph class
])
def test_safe_loads_allow_list(payload: bytes) -> None:
    with pytest.raises(pickle.UnpicklingError):
        safe_loads(payload)


def test_safe_loads_reads_graphs_of_every_protocol() -> None:
    g = nx.DiGraph(name="g")
    g.add_edge("0", "1", connection={"emit_index": 0, "trap_index": 1})
    _ = g.nodes, g.edges, g.adj, g.pred, g.succ, g.in_degree, g.out_degree  # cached views get pickled too
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = safe_loads(pickle.dumps(g, protocol=protocol))
        assert nx.utils.graphs_equal(back, g) and back.edges["0", "1"] == g.edges["0", "1"]


# -- real Younger output (tests/fixtures/younger, written by Younger's own code) -------------------

def _static(pattern: str) -> Path:
    """The one fixture matching a glob; `glob/label.json:name` picks the instance whose labels name the model."""
    pattern, _, model = pattern.partition(":")
    found = sorted(STATIC.glob(pattern))
    if model:
        found = [p.parent for p in found if model in json.loads(p.read_text())["model_name"]]
    if len(found) != 1:
        pytest.skip(f"no single static fixture matches {STATIC / pattern}")
    return found[0]


@pytest.mark.parametrize(("name", "port", "real"), [
    ("convnet", "paper", "paper/complete/someone--HF--convnet--*"),
    ("branchy", "paper", "paper/complete/someone--HF--branchy--*"),
    ("nested", "paper", "paper/complete/someone--HF--nested--*"),
    ("branchy", "filtered", "paper/filter/*/label.json:someone/branchy"),
    ("nested", "filtered", "paper/filter/*/label.json:someone/nested"),
    ("convnet", "logicx", "logicx/instances/convnet"),
    ("branchy", "logicx", "logicx/instances/branchy"),
    ("nested", "logicx", "logicx/instances/nested"),
])
def test_ports_match_real_younger_output(tmp_path: Path, name: str, port: str, real: str) -> None:
    written = {"paper": paper_instance, "filtered": paper_filtered_instance, "logicx": logicx_instance}[port]
    ours, theirs = extract_instance(str(written(tmp_path, name))), extract_instance(str(_static(real)))
    assert theirs.ok, theirs.row["error"]
    assert ours.graph.graph_id == theirs.graph.graph_id
    assert ours.graph.operators.drop(["name"]).equals(theirs.graph.operators.drop(["name"]))
    assert ours.graph.edges.equals(theirs.graph.edges)


def test_real_logicx_standard_file() -> None:
    """LogicX's standardized files (bare, named by hash) hold typed nodes and edges without slots."""
    result = extract_instance(str(_static("logicx/standard/*")))
    assert result.ok, result.row["error"]
    assert result.row["younger_format"] == "logicx/standard"
    assert {e["src_slot"] for e in result.graph.edges.to_pylist()} == {-1}
    reference = onnx_graph("convnet")
    assert result.graph.graph_row["num_operators"] == reference.graph_row["num_operators"]
    assert result.graph.graph_row["num_edges"] == reference.graph_row["num_edges"]


# -- end to end -------------------------------------------------------------------------------------

def test_extract_end_to_end(tmp_path: Path) -> None:
    root = tmp_path / "release"
    paper_instance(root / "paper", "convnet", "alice/net")
    paper_instance(root / "paper", "convnet", "bob/net")
    paper_filtered_instance(root / "paper", "branchy")
    logicx_instance(root / "logicx", "branchy")
    evil = _corrupt(root / "broken", "evil")
    save_pickle(_Evil(tmp_path / "pwned"), evil / "network" / "graph.pkl")
    missing = _corrupt(root / "broken", "missing")
    (missing / "network" / "graph.pkl").unlink()
    mismatch = _corrupt(root / "broken", "mismatch") / "network" / "graph.pkl"
    mismatch.write_bytes(pickle.dumps({**pickle.loads(mismatch.read_bytes()), "checksum": "f" * 64}))
    onnx.save(conv_net(), root / "plain.onnx")

    out = tmp_path / "out"
    summary = extract([str(root)], out, workers=1)
    assert (summary.ok, summary.failed) == (5, 3)
    models = pq.read_table(out / "models.parquet").to_pylist()
    by_name = {m["name"]: m for m in models}
    assert {m["status"] for m in models if m["name"].startswith("broken/")} == {"error"}
    assert "refused" in by_name["broken/evil"]["error"]
    assert "missing" in by_name["broken/missing"]["error"]
    assert "checksum mismatch" in by_name["broken/mismatch"]["error"]
    alice, bob = by_name["alice/net"], by_name["bob/net"]
    assert alice["status"] == bob["status"] == "ok" and alice["graph_id"] == bob["graph_id"]
    assert (alice["younger_format"], alice["origin"], alice["tags"]) == (
        "younger-paper/complete", "huggingface", "image-classification, onnx")
    assert by_name["someone/branchy"]["younger_format"] == "logicx"
    assert by_name["plain"]["status"] == "ok" and by_name["plain"]["younger_format"] is None
    graphs = pq.read_table(out / "graphs.parquet").to_pylist()
    ok_ids = {m["graph_id"] for m in models if m["status"] == "ok"}
    assert {g["graph_id"] for g in graphs} == ok_ids and len(ok_ids) == 4
    assert next(g for g in graphs if g["graph_id"] == alice["graph_id"])["num_models"] == 2
    operators = pq.read_table(out / "operators.parquet").to_pylist()
    assert {o["graph_id"] for o in operators} == ok_ids
    assert not (tmp_path / "pwned").exists()
