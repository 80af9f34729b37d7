"""The architecture hash: invariant to what must not matter, sensitive to what must, and pinned."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import make_model, tensor_vi, write_model
from onnx import TensorProto
from onnx import helper as oh

from younger_graph.hashing import HASH_VERSION
from younger_graph.walk.onnx_walker import model_to_builder

FLOAT = TensorProto.FLOAT


def ids(model: onnx.ModelProto) -> tuple[str, str]:
    """(graph_id, graph_id_noattr) of a model, through the extractor's builder."""
    graph_id, noattr = model_to_builder(model).hash_ids()
    assert len(graph_id) == 32 and len(noattr) == 32
    return graph_id, noattr


# -- a DAG with fan-out, fan-in, multi-output nodes and repeated op types ---------------------------
def _dag_nodes(prefix: str = "") -> list[onnx.NodeProto]:
    p = prefix
    return [
        oh.make_node("Relu", [f"{p}x"], [f"{p}a"], name=f"{p}n0"),
        oh.make_node("Neg", [f"{p}y"], [f"{p}b"], name=f"{p}n1"),
        oh.make_node("Add", [f"{p}a", f"{p}b"], [f"{p}c"], name=f"{p}n2"),
        oh.make_node("Mul", [f"{p}c", f"{p}a"], [f"{p}d"], name=f"{p}n3"),
        oh.make_node("Sub", [f"{p}d", f"{p}b"], [f"{p}e"], name=f"{p}n4"),
        oh.make_node("Split", [f"{p}e"], [f"{p}f", f"{p}g"], name=f"{p}n5", axis=0, num_outputs=2),
        oh.make_node("Concat", [f"{p}g", f"{p}f", f"{p}c"], [f"{p}h"], name=f"{p}n6", axis=0),
        oh.make_node("Relu", [f"{p}h"], [f"{p}o1"], name=f"{p}n7"),
        oh.make_node("Relu", [f"{p}f"], [f"{p}o2"], name=f"{p}n8"),
        oh.make_node("Add", [f"{p}W", f"{p}o2"], [f"{p}o3"], name=f"{p}n9"),
    ]


def _dag(nodes: list[onnx.NodeProto], prefix: str = "", graph_name: str = "g",
         weight: float = 1.0) -> onnx.ModelProto:
    p = prefix
    w = oh.make_tensor(f"{p}W", FLOAT, [4], [weight] * 4)
    return make_model(nodes, [tensor_vi(f"{p}x", FLOAT, [4]), tensor_vi(f"{p}y", FLOAT, [4])],
                      [f"{p}o1", f"{p}o3"], [w], opset=18, name=graph_name)


def _random_topological(nodes: list[onnx.NodeProto], rng: random.Random) -> list[onnx.NodeProto]:
    produced_by = {o: i for i, n in enumerate(nodes) for o in n.output}
    deps = [{produced_by[i] for i in n.input if i in produced_by} for n in nodes]
    order: list[int] = []
    while len(order) < len(nodes):
        ready = [i for i in range(len(nodes)) if i not in order and deps[i] <= set(order)]
        order.append(rng.choice(ready))
    return [nodes[i] for i in order]


def test_node_order_does_not_matter():
    nodes = _dag_nodes()
    base = ids(_dag(nodes))
    rng = random.Random(7)
    orders = {tuple(n.name for n in _random_topological(nodes, rng)) for _ in range(12)}
    assert len(orders) > 3  # really different orders
    by_name = {n.name: n for n in nodes}
    for order in orders:
        assert ids(_dag([by_name[k] for k in order])) == base
    # not topological at all (consumers before producers): same graph, same hash
    assert ids(_dag(list(reversed(nodes)))) == base
    assert ids(_dag(nodes[1::2] + nodes[0::2])) == base


def test_names_do_not_matter():
    base = ids(_dag(_dag_nodes()))
    renamed = _dag(_dag_nodes(prefix="renamed_"), prefix="renamed_", graph_name="another graph")
    assert ids(renamed) == base
    no_names = _dag_nodes()
    for node in no_names:
        node.name = ""
    assert ids(_dag(no_names)) == base


def test_initializer_values_and_names_do_not_matter_but_shapes_do():
    base = ids(_dag(_dag_nodes()))
    assert ids(_dag(_dag_nodes(), weight=-3.5)) == base
    model = _dag(_dag_nodes())
    model.graph.initializer[0].name = "weights_renamed"
    model.graph.node[9].input[0] = "weights_renamed"
    assert ids(model) == base
    reshaped = _dag(_dag_nodes())
    reshaped.graph.initializer[0].CopyFrom(oh.make_tensor("W", FLOAT, [1, 4], [1.0] * 4))
    assert ids(reshaped)[0] != base[0]  # with attributes: initializer shapes count
    assert ids(reshaped)[1] == base[1]  # without: only which slot reads an initializer


def _sub(order: tuple[str, str]) -> onnx.ModelProto:
    nodes = [oh.make_node("Relu", ["x"], ["a"]), oh.make_node("Neg", ["x"], ["b"]),
             oh.make_node("Sub", list(order), ["y"])]
    return make_model(nodes, ["x"], ["y"])


def test_input_slot_order_matters():
    ab, ba = ids(_sub(("a", "b"))), ids(_sub(("b", "a")))
    assert ab[0] != ba[0] and ab[1] != ba[1]
    # and for two graph inputs
    m1 = make_model([oh.make_node("Sub", ["p", "q"], ["y"])], ["p", "q"], ["y"])
    m2 = make_model([oh.make_node("Sub", ["q", "p"], ["y"])], ["p", "q"], ["y"])
    assert ids(m1) != ids(m2)


def test_attribute_change_changes_graph_id_only():
    def leaky(alpha: float) -> onnx.ModelProto:
        return make_model([oh.make_node("LeakyRelu", ["x"], ["y"], alpha=alpha)], ["x"], ["y"])

    a, b = ids(leaky(0.1)), ids(leaky(0.2))
    assert a[0] != b[0]
    assert a[1] == b[1]


def test_extra_node_changes_both_ids():
    base = _dag(_dag_nodes())
    bigger = _dag([*_dag_nodes()[:-1], oh.make_node("Relu", ["o2"], ["o2r"]),
                   oh.make_node("Add", ["W", "o2r"], ["o3"])])
    a, b = ids(base), ids(bigger)
    assert a[0] != b[0] and a[1] != b[1]


def test_same_tensor_twice_differs_from_two_tensors():
    twice = make_model([oh.make_node("Mul", ["x", "x"], ["m"]), oh.make_node("Relu", ["y"], ["r"])],
                       ["x", "y"], ["m", "r"])
    two = make_model([oh.make_node("Mul", ["x", "y"], ["m"]), oh.make_node("Relu", ["y"], ["r"])],
                     ["x", "y"], ["m", "r"])
    a, b = ids(twice), ids(two)
    assert a[0] != b[0] and a[1] != b[1]


def test_nesting_matters():
    def branchy(then_op: str, else_op: str, inner: bool = True) -> onnx.ModelProto:
        def body(op: str, out: str) -> onnx.GraphProto:
            return oh.make_graph([oh.make_node(op, ["x"], [out])], out, [], [tensor_vi(out)])

        nodes = [oh.make_node("If", ["c"], ["y"], then_branch=body(then_op, "t"),
                              else_branch=body(else_op, "e"))]
        return make_model(nodes, [tensor_vi("c", TensorProto.BOOL, []), "x"], ["y"])

    a, b = ids(branchy("Relu", "Neg")), ids(branchy("Neg", "Relu"))
    assert a[0] != b[0] and a[1] != b[1]
    assert ids(branchy("Relu", "Neg")) == a


@pytest.mark.zoo
def test_same_zoo_model_with_different_random_weights_has_the_same_id(zoo_export):
    m0, m1 = zoo_export("torchvision:resnet18", 0), zoo_export("torchvision:resnet18", 1)
    assert m0.SerializeToString() != m1.SerializeToString()
    assert ids(m0) == ids(m1)
    assert ids(m0) != ids(zoo_export("torchvision:squeezenet1_0", 0))


# -- pinned test vectors ------------------------------------------------------------------------
def _pinned_models() -> dict[str, onnx.ModelProto]:
    rng = np.random.default_rng(0)
    conv_w = onnx.numpy_helper.from_array(rng.normal(size=(8, 3, 3, 3)).astype(np.float32), "conv_w")
    conv_b = onnx.numpy_helper.from_array(np.zeros(8, np.float32), "conv_b")
    conv = make_model(
        [oh.make_node("Conv", ["x", "conv_w", "conv_b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                      strides=[1, 1]),
         oh.make_node("Relu", ["c"], ["r"]),
         oh.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
         oh.make_node("Add", ["p", "p"], ["y"])],
        [tensor_vi("x", FLOAT, [1, 3, 8, 8])], ["y"], [conv_w, conv_b])
    then_branch = oh.make_graph([oh.make_node("Mul", ["h", "h"], ["t"])], "then", [], [tensor_vi("t")])
    else_branch = oh.make_graph([oh.make_node("Neg", ["h"], ["e"])], "else", [], [tensor_vi("e")])
    control = make_model(
        [oh.make_node("Relu", ["x"], ["h"]),
         oh.make_node("If", ["c"], ["y"], then_branch=then_branch, else_branch=else_branch)],
        [tensor_vi("c", TensorProto.BOOL, []), "x"], ["y"])
    fn = oh.make_function("com.example", "Swish", ["a"], ["b"],
                          [oh.make_node("Sigmoid", ["a"], ["s"]), oh.make_node("Mul", ["a", "s"], ["b"])],
                          [oh.make_opsetid("", 17)])
    function = make_model(
        [oh.make_node("Swish", ["x"], ["s1"], domain="com.example"),
         oh.make_node("Swish", ["s1"], ["y"], domain="com.example")],
        ["x"], ["y"], domains=["com.example"], functions=[fn])
    custom = make_model(
        [oh.make_node("Frob", ["x", "z"], ["f", "g"], domain="com.example", gain=0.1, mode="fast",
                      sizes=[1, 2, 3]),
         oh.make_node("Concat", ["g", "f"], ["y"], axis=1)],
        ["x", "z"], ["y"], domains=["com.example"])
    return {
        "mul_xx": make_model([oh.make_node("Mul", ["x", "x"], ["y"])], ["x"], ["y"]),
        "sub_ab": _sub(("a", "b")),
        "conv_block": conv,
        "if_capture": control,
        "function_calls": function,
        "custom_domain": custom,
    }


# Changing any of these requires bumping HASH_VERSION (younger_graph/hashing.py) and docs/formats.md:
# stored graph_ids of earlier extractions would otherwise silently stop matching new ones.
PINNED_VERSION = "yg-wl-1"
PINNED = {
    "mul_xx": ("408f045833d453fdb324f6f58a0b2f9e", "7aaf9577db5c9ddc2ac7ada73ed010f5"),
    "sub_ab": ("d9fc08face4c9b6051afe391ab15689a", "50778026d7b57c40955c2f6839b72e47"),
    "conv_block": ("2b0a688fa46caa72f4b6862e1ce28ed8", "6dbfdb7952fe43bc1e0d2ae5c97b7c38"),
    "if_capture": ("aab5f70c4a0a895a9c23e7fb78525087", "93a33c4a335878a63093c0814da0d34f"),
    "function_calls": ("7f377f51213927860b64b083eeef3798", "70bb3eceb41d723e518debd81bd803a0"),
    "custom_domain": ("80070e64a029ae15d8ccdf4cb735c5e2", "a95edcbc37a223d73d56496822b7fc9c"),
}


def test_hash_version_is_the_pinned_one():
    assert HASH_VERSION == PINNED_VERSION, "a new HASH_VERSION needs new pinned vectors below"


@pytest.mark.parametrize("name", sorted(PINNED))
def test_pinned_vectors(name):
    assert ids(_pinned_models()[name]) == PINNED[name]


def test_pinned_vectors_are_all_different():
    assert len({v for pair in PINNED.values() for v in pair}) == 2 * len(PINNED)


_CHILD = """
import json, sys
import onnx
from younger_graph.walk.onnx_walker import model_to_builder
out = {}
for path in sys.argv[1:]:
    out[path] = list(model_to_builder(onnx.load(path)).hash_ids())
print(json.dumps(out))
"""


def test_hash_is_stable_across_processes_and_hash_seeds(tmp_path: Path):
    paths = {name: write_model(m, tmp_path / f"{name}.onnx") for name, m in _pinned_models().items()}
    results = []
    for seed in ("0", "4242", "random"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", _CHILD, *map(str, paths.values())], env=env,
                              capture_output=True, text=True, check=True, timeout=120)
        results.append(json.loads(proc.stdout))
    assert results[0] == results[1] == results[2]
    for name, path in paths.items():
        assert tuple(results[0][str(path)]) == PINNED[name]
