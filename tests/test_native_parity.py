"""The native core (younger_graph.walk._native) is a byte-exact twin of the Python walker: the same
operators, edges, graph row and models-row fields, table for table (pyarrow `Table.equals`), on
every sample and onnx backend model and on the edge cases the Python suite builds."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import BACKEND_DATA, make_model, tensor_vi
from native_compare import assert_same, native, native_bytes, native_file, python_bytes, python_file
from onnx import TensorProto
from onnx import helper as oh

FLOAT = TensorProto.FLOAT
REPO = Path(__file__).resolve().parent.parent
SAMPLE = sorted((REPO / "sample").glob("*.onnx"))
BACKEND = sorted(BACKEND_DATA.rglob("*.onnx")) if BACKEND_DATA.is_dir() else []


def _id(path: Path) -> str:
    return "/".join(path.parts[-3:])


@pytest.mark.parametrize("path", SAMPLE, ids=_id)
def test_sample_models(path):
    assert_same(python_file(path), native_file(path), path.name)


@pytest.mark.parametrize("path", BACKEND, ids=_id)
def test_onnx_backend_models(path):
    assert_same(python_file(path), native_file(path), str(path))


# -- fresh zoo exports, both exporters -----------------------------------------------------------
ZOO = [("torchvision:resnet18", "torchscript"), ("torchvision:mobilenet_v3_small", "dynamo"),
       ("timm:resnet10t", "torchscript"), ("transformers:bert", "torchscript"), ("transformers:bert", "dynamo")]


@pytest.mark.zoo
@pytest.mark.slow
@pytest.mark.parametrize(("ref", "exporter"), ZOO, ids=[f"{r}-{e}" for r, e in ZOO])
def test_zoo_exports(ref, exporter, tmp_path):
    """Models nobody wrote by hand: TorchScript and dynamo exports (functions, opset 18 attributes,
    dynamo's naming) of CNNs and a transformer, and their dynamically quantised twin."""
    pytest.importorskip("torch")
    from younger_graph.loaders.zoo import export_zoo_model

    model = export_zoo_model(ref, exporter=exporter)
    path = tmp_path / "zoo.onnx"
    path.write_bytes(model.SerializeToString())
    assert_same(python_file(path), native_file(path), f"{ref} ({exporter})")
    if ref == "transformers:bert" and exporter == "torchscript":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantized = tmp_path / "zoo_int8.onnx"
        quantize_dynamic(str(path), str(quantized), weight_type=QuantType.QInt8)
        assert_same(python_file(quantized), native_file(quantized), f"{ref} ({exporter}, int8)")


def test_the_corpora_are_there():
    assert len(SAMPLE) >= 30 and len(BACKEND) >= 100


# -- edge cases built with onnx.helper ----------------------------------------------------------
def _edge_cases() -> dict[str, onnx.ModelProto]:
    from test_extract_fidelity import _every_attribute_type_model, _function, _loop_with_if_model
    from test_extract_robustness import _dense, cyclic_model, good_models, huge_attribute_model
    from test_hash import _dag, _dag_nodes, _pinned_models

    cases: dict[str, onnx.ModelProto] = {}
    cases.update({f"pinned_{k}": m for k, m in _pinned_models().items()})
    cases.update({f"good_{k}": m for k, m in good_models().items()})
    cases["dense"] = _dense(3, 32)
    cases["loop_if_capture"] = _loop_with_if_model()
    cases["every_attribute_type"] = _every_attribute_type_model()
    cases["huge_attribute"] = huge_attribute_model()
    cases["cyclic"] = cyclic_model()
    cases["dag"] = _dag(_dag_nodes())
    cases["dag_reversed"] = _dag(list(reversed(_dag_nodes())))  # consumers before producers
    cases["mul_xx"] = make_model([oh.make_node("Mul", ["x", "x"], ["y"], name="mul")], ["x"], ["y"])
    cases["split_sub"] = make_model(
        [
            oh.make_node("Split", ["x"], ["a", "b"], name="split", axis=0, num_outputs=2),
            oh.make_node("Sub", ["b", "a"], ["d"], name="sub"),
        ],
        ["x"],
        ["d"],
        opset=18,
    )
    cases["optional_inputs"] = make_model(
        [
            oh.make_node("Resize", ["x", "", "scales"], ["r"], name="resize", mode="nearest"),
            oh.make_node("Clip", ["r", "", "hi"], ["c"], name="clip"),
            oh.make_node("Split", ["c"], ["", "s1"], name="split", axis=0, num_outputs=2),
        ],
        ["x", "scales", "hi"],
        ["s1"],
        opset=18,
    )
    values = oh.make_tensor("W", FLOAT, [3], [1.0, 2.0, 3.0])
    sparse = oh.make_sparse_tensor(values, oh.make_tensor("W_idx", TensorProto.INT64, [3], [0, 5, 9]), [10])
    cases["sparse_initializer"] = oh.make_model(
        oh.make_graph(
            [oh.make_node("Add", ["x", "W"], ["y"], name="add")],
            "g",
            [tensor_vi("x", FLOAT, [10])],
            [tensor_vi("y")],
            sparse_initializer=[sparse],
        ),
        opset_imports=[oh.make_opsetid("", 17)],
    )
    weight = onnx.TensorProto(name="W", data_type=FLOAT, dims=[4, 5])
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "missing.bin"), ("offset", "0"), ("length", "80")):
        weight.external_data.add(key=key, value=value)
    cases["missing_external_data"] = make_model([oh.make_node("MatMul", ["x", "W"], ["y"])], ["x"], ["y"], [weight])
    w2 = oh.make_tensor("W", FLOAT, [2], [1.0, 2.0])
    cases["ir3_initializer_inputs"] = make_model(
        [oh.make_node("Add", ["x", "W"], ["y"], name="add")],
        [tensor_vi("x", FLOAT, [2]), tensor_vi("W", FLOAT, [2])],
        ["y"],
        [w2],
        ir_version=3,
        opset=8,
    )
    fn = _function("MyFn", ["Add", "Relu"])
    cases["function_per_call"] = make_model(
        [
            oh.make_node("Relu", ["x"], ["p"], name="pre"),
            oh.make_node("MyFn", ["p", "x"], ["q"], name="call1", domain="com.example"),
            oh.make_node("MyFn", ["q", "W"], ["r"], name="call2", domain="com.example"),
        ],
        [tensor_vi("x", FLOAT, [2])],
        ["r"],
        [oh.make_tensor("W", FLOAT, [2], [1.0, 1.0])],
        domains=["com.example"],
        functions=[fn],
    )
    inner = _function("Inner", ["Sub"])
    outer = oh.make_function(
        "com.example",
        "Outer",
        ["a", "b"],
        ["c"],
        [oh.make_node("Inner", ["b", "a"], ["c"], name="inner_call", domain="com.example")],
        [oh.make_opsetid("", 17), oh.make_opsetid("com.example", 1)],
    )
    over_a, over_b = (
        _function("Act", ["Relu"], overload="relu"),
        _function("Act", ["Sigmoid", "Tanh"], overload="smooth"),
    )
    call_a = oh.make_node("Act", ["o", "x"], ["ya"], name="act_a", domain="com.example")
    call_a.overload = "relu"
    call_b = oh.make_node("Act", ["o", "x"], ["yb"], name="act_b", domain="com.example")
    call_b.overload = "smooth"
    cases["functions_nested_and_overloads"] = make_model(
        [oh.make_node("Outer", ["x", "y"], ["o"], name="outer_call", domain="com.example"), call_a, call_b],
        ["x", "y"],
        ["ya", "yb"],
        domains=["com.example"],
        functions=[inner, outer, over_a, over_b],
    )
    # a function body with attribute references, value_info, a subgraph and an unbound formal
    ref_attr = onnx.AttributeProto(name="alpha", ref_attr_name="alpha_in", type=onnx.AttributeProto.FLOAT)
    leaky = oh.make_node("LeakyRelu", ["a"], ["t"], name="leaky")
    leaky.attribute.append(ref_attr)
    then = oh.make_graph([oh.make_node("Neg", ["t"], ["n"], name="neg")], "then", [], [tensor_vi("n")])
    body_if = oh.make_node("If", ["cond"], ["c"], name="fn_if", then_branch=then, else_branch=then)
    fn2 = oh.make_function(
        "com.example",
        "Fancy",
        ["a", "cond", "unused"],
        ["c"],
        [leaky, body_if],
        [oh.make_opsetid("", 17)],
        attributes=["alpha_in"],
    )
    fn2.value_info.append(tensor_vi("t", FLOAT, [3, "n"]))
    call = oh.make_node("Fancy", ["x", "k"], ["y"], name="fancy", domain="com.example", alpha_in=0.2)
    cases["function_refs_value_info_subgraph"] = make_model(
        [call],
        [tensor_vi("x", FLOAT, [3]), tensor_vi("k", TensorProto.BOOL, [])],
        ["y"],
        domains=["com.example"],
        functions=[fn2],
        ir_version=10,
    )
    cases["custom_domain"] = make_model(
        [
            oh.make_node("Frobnicate", ["x"], ["y"], name="frob", domain="com.example"),
            oh.make_node("Relu", ["y"], ["z"], name="relu"),
        ],
        ["x"],
        ["z"],
        domains=["com.example"],
    )
    cases["non_ascii"] = make_model(
        [
            oh.make_node("Relu", ["输入"], ["中间😀"], name="卷积层🚀", note='ünïcödé "q" \\ \n\t\x01\x7f'),
            oh.make_node("Neg", ["中间😀"], ["输出"], name="ノード"),
        ],
        ["输入"],
        [tensor_vi("输出", FLOAT, ["批次", 3])],
        name="模型",
    )
    floats = [
        float("nan"),
        float("inf"),
        float("-inf"),
        0.1,
        1e-5,
        1e16,
        1e15,
        -0.0,
        3.4028235e38,
        1.17549435e-38,
        1e-45,
        0.3,
        2.5,
        123456.789,
    ]
    cases["floats"] = make_model(
        [
            oh.make_node(
                "Custom",
                ["x"],
                ["y"],
                name="c",
                domain="com.example",
                values=floats,
                one=float("nan"),
                two=float("-inf"),
                three=1e-5,
                four=-0.0,
                five=16777217.0,
            )
        ],
        ["x"],
        ["y"],
        domains=["com.example"],
    )
    rng = np.random.default_rng(0)
    long_floats = [*rng.normal(size=3000).astype(np.float32), float("nan"), 1e30, 2.0**-24, 0.5230178833007813]
    cases["long_lists"] = make_model(
        [
            oh.make_node(
                "Custom",
                ["x"],
                ["y"],
                name="c",
                domain="com.example",
                fl=[float(v) for v in long_floats],
                ints=list(range(-2000, 2000)),
                strs=[f"s{i}é😀\x01" for i in range(1500)],
                tens=[oh.make_tensor(f"t{i}", FLOAT, [i % 3, 2], [0.0] * (2 * (i % 3))) for i in range(1100)],
                long="x" * 300 + "é" * 300,
                exact="y" * 256,
                one_more="é" * 257,
            )
        ],
        ["x"],
        ["y"],
        domains=["com.example"],
    )
    sp = oh.make_sparse_tensor(
        oh.make_tensor("v", FLOAT, [1], [1.0]), oh.make_tensor("i", TensorProto.INT64, [1], [0]), [5]
    )
    node = oh.make_node("Custom", ["x"], ["y"], name="types", domain="com.example")
    node.attribute.extend(
        [
            oh.make_attribute("sparse_list", [sp, sp]),
            oh.make_attribute("seq", oh.make_sequence_type_proto(oh.make_tensor_type_proto(TensorProto.INT64, [2]))),
            oh.make_attribute(
                "types",
                [
                    oh.make_optional_type_proto(oh.make_tensor_type_proto(FLOAT, None)),
                    oh.make_map_type_proto(TensorProto.STRING, oh.make_tensor_type_proto(FLOAT, [1])),
                    oh.make_sparse_tensor_type_proto(FLOAT, [3]),
                    onnx.TypeProto(),
                ],
            ),
            onnx.AttributeProto(name="undefined"),
            onnx.AttributeProto(name="dup", type=onnx.AttributeProto.INT, i=1),
            onnx.AttributeProto(name="dup", type=onnx.AttributeProto.GRAPH, g=oh.make_graph([], "e", [], [])),
            onnx.AttributeProto(name="dup2", type=onnx.AttributeProto.GRAPH, g=oh.make_graph([], "e", [], [])),
            onnx.AttributeProto(name="dup2", type=onnx.AttributeProto.FLOAT, f=0.5),
        ]
    )
    cases["attribute_oddities"] = make_model([node], ["x"], ["y"], domains=["com.example"])
    # names that resolve to nothing, duplicate inputs, empty names, an output that is an input,
    # shadowing of an outer name inside a subgraph, types redeclared in a body
    body = oh.make_graph(
        [
            oh.make_node("Relu", ["h"], ["h2"], name="inner_relu"),
            oh.make_node("Neg", ["nowhere"], ["z"], name="dangling"),
        ],
        "body",
        [tensor_vi("h", TensorProto.INT64, [7])],
        [tensor_vi("h2", TensorProto.INT64, [7]), tensor_vi("z")],
        value_info=[tensor_vi("z", TensorProto.DOUBLE, [1])],
    )
    cases["scopes_and_names"] = make_model(
        [
            oh.make_node("Relu", ["x"], ["h"], name=""),
            oh.make_node("Scan", ["h"], ["s", "t"], name="scan", body=body, num_scan_inputs=1),
            oh.make_node("Add", ["missing", "h"], ["u"], name="add"),
            oh.make_node("Identity", ["x"], [""], name="empty_out"),
        ],
        [tensor_vi("x", FLOAT, [2]), tensor_vi("x", FLOAT, [2]), tensor_vi("", FLOAT, [1])],
        ["u", "x", "", "t", "nothing"],
        value_info=[tensor_vi("h", FLOAT, ["b", None, 3])],
    )
    cases["opsets_and_producer"] = make_model(
        [oh.make_node("Relu", ["x"], ["y"])], ["x"], ["y"], domains=["b.x", "a.y", ""]
    )
    cases["opsets_and_producer"].producer_name = "prod"
    cases["opsets_and_producer"].producer_version = ""
    cases["only_inputs"] = make_model([], ["x"], [])
    cases["many_slots"] = make_model(
        [oh.make_node("Concat", [f"w{i}" for i in range(12)] + ["x"], ["y"], axis=0)],
        ["x"],
        ["y"],
        [oh.make_tensor(f"w{i}", FLOAT, [1], [0.0]) for i in range(12)],
    )
    leaf = oh.make_graph([oh.make_node("Identity", ["x"], ["d0"])], "d", [], [tensor_vi("d0")])
    deep = leaf
    for k in range(1, 30):
        deep = oh.make_graph(
            [oh.make_node("If", ["c"], [f"d{k}"], then_branch=deep, else_branch=leaf)],
            f"d{k}",
            [],
            [tensor_vi(f"d{k}")],
        )
    cases["deep_if_29"] = make_model(deep.node, [tensor_vi("c", TensorProto.BOOL, []), "x"], ["d29"])
    return cases


EDGE_CASES = _edge_cases()


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_edge_cases(name):
    data = EDGE_CASES[name].SerializeToString()
    assert_same(python_bytes(data, f"{name}.onnx"), native_bytes(data, f"{name}.onnx"), name)


def test_nested_if_bytes_beyond_what_protobuf_builds():
    from test_extract_robustness import nested_if_bytes

    for depth in (30, 32, 33, 80):
        data = nested_if_bytes(depth)
        assert_same(python_bytes(data, "deep.onnx"), native_bytes(data, "deep.onnx"), str(depth))


def test_every_edge_case_written_as_a_file(tmp_path):
    for name, model in EDGE_CASES.items():
        path = tmp_path / f"{name}.onnx"
        path.write_bytes(model.SerializeToString())
        assert_same(python_file(path), native_file(path), name)


def test_threads_give_the_same_results_in_order(tmp_path):
    paths = [str(p) for p in SAMPLE[:12]] + [str(tmp_path / "missing.onnx")]
    for threads in (1, 2, 3):
        results = list(native.extract_paths(paths, threads))
        assert len(results) == len(paths)
        for path, (sha, size, result) in zip(paths, results):
            one = native.extract_path(path)
            assert (sha, size) == one[:2]
            assert result[1] == one[2][1]
            if result[1] is None:
                assert result[2] == one[2][2]
                assert result[3].equals(one[2][3]) and result[4].equals(one[2][4])


def test_an_iterator_dropped_early_does_not_hang():
    it = native.extract_paths([str(p) for p in SAMPLE] * 3, 2, window=2)
    next(it)
    del it


def test_bytes_like_inputs():
    data = SAMPLE[0].read_bytes()
    ref = native.extract_bytes(data)
    for view in (bytearray(data), memoryview(data)):
        other = native.extract_bytes(view)
        assert other[2] == ref[2] and other[3].equals(ref[3])


def test_version():
    assert native.version() and native.HASH_VERSION == "yg-wl-1"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


def test_big_files_hashed_while_read(tmp_path):
    """Files of 256 KiB and more are hashed chunk by chunk on a helper thread as they are read."""
    import hashlib

    from test_extract_robustness import _dense

    model = _dense(0, 1600)  # a 10 MB initializer: several read chunks
    path = tmp_path / "big.onnx"
    path.write_bytes(model.SerializeToString())
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(random_bytes(9 << 20))
    for p in (path, garbage):
        for overlap in (True, False):
            sha, size, _result = native.extract_path(str(p), overlap)
            assert sha == hashlib.sha256(p.read_bytes()).hexdigest() and size == p.stat().st_size
        assert_same(python_file(p), native_file(p), p.name)


def random_bytes(n: int) -> bytes:
    import random

    return random.Random(3).randbytes(n)
