"""The architecture view (younger_graph.arch): each normalisation pass alone on small real ONNX
models built here, the view's invariants, the yg-arch-1 hash (pinned vectors, equal for models
that differ only in exporter spelling), and the generated ONNX defaults table.

Every model goes through the real extractor (`extract_model`), so the passes see exactly the
columns the tables hold.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import pytest
from conftest import REPO_ROOT, make_model, tensor_vi
from younger_graph.loaders.onnx_files import extract_model
from younger_graph.loaders.results import new_row

from younger_graph.arch.view import arch_hash, arch_view

h = onnx.helper
F = onnx.TensorProto.FLOAT
I64 = onnx.TensorProto.INT64


def init(name: str, shape: list[int], dtype: int = F) -> onnx.TensorProto:
    count = int(np.prod(shape)) if shape else 1
    return h.make_tensor(name, dtype, shape, [0] * count if dtype != F else [0.0] * count)


def extracted(model: onnx.ModelProto):  # type: ignore[no-untyped-def]
    result = extract_model(model, new_row("m.onnx", "m.onnx"), False)
    assert result.ok, result.row["error"]
    return result.graph


def columns(model: onnx.ModelProto) -> list[list]:  # type: ignore[type-arg]
    g = extracted(model)
    o, e = g.operators.to_pydict(), g.edges.to_pydict()
    return [o[c] for c in ("kind", "op_type", "domain", "scope", "name", "attrs", "initializers")] + \
        [e[c] for c in ("src", "src_slot", "dst", "dst_slot", "dtype", "shape")]


def view(model: onnx.ModelProto, *passes: str):  # type: ignore[no-untyped-def]
    return arch_view(*columns(model), passes=list(passes) if passes else None)


def ops(v) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(t for t, k in zip(v.op_type, v.kind) if k == "operator")


def arch_id(model: onnx.ModelProto) -> str:
    return arch_hash(view(model))


# -- each pass alone ------------------------------------------------------------------------------
def test_canonical_attributes_drop_spelled_out_defaults() -> None:
    w = init("w", [8, 3, 3, 3])
    spelled = make_model([h.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], strides=[1, 1], pads=[0, 0, 0, 0],
                                      dilations=[1, 1], group=1, auto_pad="NOTSET")], ["x"], ["y"], [w])
    terse = make_model([h.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3])], ["x"], ["y"], [w])
    a, b = view(spelled, "canonical_attributes"), view(terse, "canonical_attributes")
    assert a.attrs == b.attrs and a.attrs[1] == '{"kernel_shape":[3,3]}'
    strided = make_model([h.make_node("Conv", ["x", "w"], ["y"], kernel_shape=[3, 3], strides=[2, 2])], ["x"],
                         ["y"], [w])
    assert '"strides":[2,2]' in view(strided, "canonical_attributes").attrs[1]  # not a default: kept
    assert extracted(spelled).graph_id != extracted(terse).graph_id  # the exact hash still tells them apart
    assert arch_id(spelled) == arch_id(terse)


def test_dequantize_turns_qlinearconv_into_conv_with_its_weight() -> None:
    inits = [init("xs", []), init("xz", [], onnx.TensorProto.UINT8), init("w", [4, 3, 1, 1], onnx.TensorProto.INT8),
             init("ws", []), init("wz", [], onnx.TensorProto.INT8), init("ys", []),
             init("yz", [], onnx.TensorProto.UINT8)]
    node = h.make_node("QLinearConv", ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"], ["y"])
    v = view(make_model([node], [tensor_vi("x", onnx.TensorProto.UINT8)], [tensor_vi("y", onnx.TensorProto.UINT8)],
                        inits), "dequantize")
    conv = v.op_type.index("Conv")
    assert '"1":{"dtype":"int8","shape":[4,3,1,1]}' in v.initializers[conv]
    assert "QLinearConv" not in v.op_type and '"3"' not in v.initializers[conv]


def test_shape_computations_feeding_a_reshape_go_away() -> None:
    nodes = [h.make_node("Relu", ["x"], ["r"]), h.make_node("Shape", ["r"], ["s"]),
             h.make_node("Gather", ["s", "i0"], ["d0"], axis=0), h.make_node("Unsqueeze", ["d0", "ax"], ["u"]),
             h.make_node("Concat", ["u", "m1"], ["shape"], axis=0), h.make_node("Reshape", ["r", "shape"], ["y"])]
    model = make_model(nodes, ["x"], ["y"], [init("i0", [], I64), init("ax", [1], I64), init("m1", [1], I64)])
    v = view(model, "drop_parameter_inputs", "drop_dead")
    assert ops(v) == Counter({"Relu": 1, "Reshape": 1})
    reshape = v.op_type.index("Reshape")
    assert [int(d) for d in v.dst] .count(reshape) == 1  # only the data input is left
    assert list(v.node_of).count(-1) == 4  # Shape, Gather, Unsqueeze, Concat are gone


def test_constants_and_identities_of_initializers_fold_into_their_consumer() -> None:
    value = h.make_tensor("c", F, [4], [1.0] * 4)
    nodes = [h.make_node("Constant", [], ["c"], value=value), h.make_node("Mul", ["x", "c"], ["m"]),
             h.make_node("Identity", ["b"], ["bi"]), h.make_node("Add", ["m", "bi"], ["y"])]
    v = view(make_model(nodes, ["x"], ["y"], [init("b", [4])]), "fold_constants")
    assert ops(v) == Counter({"Mul": 1, "Add": 1})
    assert v.initializers[v.op_type.index("Mul")] == '{"1":{"dtype":"float","shape":[4]}}'
    assert v.initializers[v.op_type.index("Add")] == '{"1":{"dtype":"float","shape":[4]}}'


def test_identities_dropout_single_input_concat_and_noop_casts_are_bypassed() -> None:
    nodes = [h.make_node("Identity", ["x"], ["a"]), h.make_node("Dropout", ["a"], ["b"]),
             h.make_node("Concat", ["b"], ["c"], axis=1), h.make_node("Cast", ["c"], ["d"], to=F),
             h.make_node("Relu", ["d"], ["y"])]
    model = make_model(nodes, [tensor_vi("x", F, [1, 4])], [tensor_vi("y", F, [1, 4])])
    v = view(model, "drop_identities")
    assert ops(v) == Counter({"Relu": 1})
    assert v.op_type[v.src[0]] == "Input" and v.op_type[v.dst[0]] == "Relu"  # rewired to the input
    casting = make_model([h.make_node("Cast", ["x"], ["y"], to=onnx.TensorProto.INT64)], [tensor_vi("x", F)],
                         [tensor_vi("y", I64)])
    assert ops(view(casting, "drop_identities")) == Counter({"Cast": 1})  # a real conversion stays


def test_fusions_gelu_layer_norm_softmax_swish() -> None:
    c = [init(n, []) for n in ("sqrt2", "one", "half", "eps", "two")] + [init("g", [8]), init("beta", [8])]
    gelu = [h.make_node("Div", ["x", "sqrt2"], ["d"]), h.make_node("Erf", ["d"], ["e"]),
            h.make_node("Add", ["e", "one"], ["a"]), h.make_node("Mul", ["x", "a"], ["m"]),
            h.make_node("Mul", ["m", "half"], ["y1"])]
    ln = [h.make_node("ReduceMean", ["y1"], ["mu"], axes=[-1]), h.make_node("Sub", ["y1", "mu"], ["dc"]),
          h.make_node("Pow", ["dc", "two"], ["sq"]), h.make_node("ReduceMean", ["sq"], ["var"], axes=[-1]),
          h.make_node("Add", ["var", "eps"], ["ve"]), h.make_node("Sqrt", ["ve"], ["sd"]),
          h.make_node("Div", ["dc", "sd"], ["n"]), h.make_node("Mul", ["n", "g"], ["ng"]),
          h.make_node("Add", ["ng", "beta"], ["y2"])]
    softmax = [h.make_node("Exp", ["y2"], ["ex"]), h.make_node("ReduceSum", ["ex"], ["sm"], keepdims=1),
               h.make_node("Div", ["ex", "sm"], ["y3"])]
    swish = [h.make_node("Sigmoid", ["y3"], ["sg"]), h.make_node("Mul", ["y3", "sg"], ["y"])]
    model = make_model(gelu + ln + softmax + swish, ["x"], ["y"], c, opset=13)
    v = view(model, "fold_constants", "fuse_gates", "fuse_decompositions")
    assert [t for t, k in zip(v.op_type, v.kind) if k == "operator"] == \
        ["Gelu", "LayerNormalization", "Softmax", "Swish"]
    norm = v.op_type.index("LayerNormalization")
    assert v.initializers[norm] == '{"1":{"dtype":"float","shape":[8]},"2":{"dtype":"float","shape":[8]}}'
    assert int(v.fused[norm]) == 9 and int(v.fused[v.op_type.index("Gelu")]) == 5
    native = make_model([h.make_node("Gelu", ["x"], ["y1"]),
                         h.make_node("LayerNormalization", ["y1", "g", "beta"], ["y2"], epsilon=1e-5),
                         h.make_node("Softmax", ["y2"], ["y3"]), h.make_node("Sigmoid", ["y3"], ["sg"]),
                         h.make_node("Mul", ["y3", "sg"], ["y"])], ["x"], ["y"], c, opset=20)
    assert arch_id(model) == arch_id(native)


def test_a_lone_tanh_or_sigmoid_is_not_fused() -> None:
    model = make_model([h.make_node("Tanh", ["x"], ["t"]), h.make_node("Sigmoid", ["t"], ["s"]),
                        h.make_node("Mul", ["s", "x"], ["y"])], ["x"], ["y"])
    assert ops(view(model)) == Counter({"Tanh": 1, "Sigmoid": 1, "Mul": 1})  # the Mul reads x, not t


def test_batch_norm_after_a_conv_folds_into_it_and_the_bias_goes() -> None:
    bn = [init(n, [8]) for n in ("s", "b", "m", "v")]
    unfolded = make_model([h.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[1, 1]),
                           h.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"])], ["x"], ["y"],
                          [init("w", [8, 3, 1, 1]), *bn])
    folded = make_model([h.make_node("Conv", ["x", "w", "cb"], ["y"], kernel_shape=[1, 1])], ["x"], ["y"],
                        [init("w", [8, 3, 1, 1]), init("cb", [8])])
    v = view(unfolded, "fold_batch_norm")
    assert ops(v) == Counter({"Conv": 1}) and int(v.fused[v.op_type.index("Conv")]) == 2
    assert arch_id(unfolded) == arch_id(folded)


def test_gemm_and_matmul_plus_bias_are_one_linear_layer() -> None:
    gemm = make_model([h.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)], [tensor_vi("x", F, [1, 16])],
                      [tensor_vi("y", F, [1, 32])], [init("w", [32, 16]), init("b", [32])])
    matmul = make_model([h.make_node("MatMul", ["x", "wt"], ["m"]), h.make_node("Add", ["b", "m"], ["y"])],
                        [tensor_vi("x", F, [1, 16])], [tensor_vi("y", F, [1, 32])],
                        [init("wt", [16, 32]), init("b", [32])])
    a, b = view(gemm, "canonical_linear"), view(matmul, "canonical_operands", "canonical_linear")
    assert ops(a) == ops(b) == Counter({"MatMul": 1})
    assert a.initializers == b.initializers
    assert arch_id(gemm) == arch_id(matmul)
    wider = make_model([h.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)], [tensor_vi("x", F, [1, 16])],
                       [tensor_vi("y", F, [1, 64])], [init("w", [64, 16]), init("b", [64])])
    assert arch_id(wider) != arch_id(gemm)  # weight shapes are architecture


def test_global_pooling_and_flatten_forms_agree_when_shapes_prove_it() -> None:
    x = tensor_vi("x", F, [1, 8, 7, 7])
    onnx_form = make_model([h.make_node("GlobalAveragePool", ["x"], ["p"]), h.make_node("Flatten", ["p"], ["y"])],
                           [x], [tensor_vi("y", F, [1, 8])])
    reduce_form = make_model([h.make_node("ReduceMean", ["x", "ax"], ["p"], keepdims=1),
                              h.make_node("Reshape", ["p", "shape"], ["y"])], [x], [tensor_vi("y", F, [1, 8])],
                             [init("ax", [2], I64), init("shape", [2], I64)], opset=18,
                             value_info=[tensor_vi("p", F, [1, 8, 1, 1])])
    v = view(reduce_form, "drop_parameter_inputs", "canonical_pooling")
    assert ops(v) == Counter({"GlobalAveragePool": 1, "Flatten": 1})
    assert arch_id(onnx_form) == arch_id(reduce_form)
    unknown = make_model([h.make_node("ReduceMean", ["x", "ax"], ["p"], keepdims=1)], ["x"], ["p"],
                         [init("ax", [2], I64)], opset=18)
    assert ops(view(unknown)) == Counter({"ReduceMean": 1})  # nothing proves the axes are spatial


def test_reshape_chains_merge_and_commutative_constants_move_to_slot_1() -> None:
    chain = make_model([h.make_node("Flatten", ["x"], ["a"], axis=1), h.make_node("Unsqueeze", ["a", "ax"], ["y"])],
                       ["x"], ["y"], [init("ax", [1], I64)])
    assert ops(view(chain, "drop_parameter_inputs", "merge_reshapes")) == Counter({"Reshape": 1})
    left = make_model([h.make_node("Add", ["c", "x"], ["y"])], ["x"], ["y"], [init("c", [4])])
    right = make_model([h.make_node("Add", ["x", "c"], ["y"])], ["x"], ["y"], [init("c", [4])])
    assert view(left, "canonical_operands").initializers == view(right).initializers
    assert arch_id(left) == arch_id(right)
    sub_left = make_model([h.make_node("Sub", ["c", "x"], ["y"])], ["x"], ["y"], [init("c", [4])])
    sub_right = make_model([h.make_node("Sub", ["x", "c"], ["y"])], ["x"], ["y"], [init("c", [4])])
    assert arch_id(sub_left) != arch_id(sub_right)  # not commutative: slots stay


# -- the view as a whole ----------------------------------------------------------------------------
def test_the_view_maps_every_exact_node_and_keeps_inputs_and_outputs(sample_models: list[Path]) -> None:
    for path in sample_models:
        g = extracted(onnx.load(str(path), load_external_data=False))
        v = arch_view(*columns(onnx.load(str(path), load_external_data=False)))
        kinds = g.operators.column("kind").to_pylist()
        assert len(v.node_of) == len(kinds)
        assert Counter(k for k in v.kind if k != "operator") == Counter(k for k in kinds if k != "operator"), path
        kept = v.node_of[v.node_of >= 0]
        assert set(kept.tolist()) == set(range(v.num_nodes)), path  # every arch node stands for exact nodes
        assert int(v.fused.sum()) <= len(kinds)
        assert all(0 <= s < v.num_nodes and 0 <= d < v.num_nodes for s, d in zip(v.src, v.dst)), path
        assert v.num_nodes <= len(kinds)
        assert g.graph_row["graph_id_arch"] == arch_hash(v), path


def test_the_view_is_independent_of_node_order() -> None:
    nodes = [h.make_node("Relu", ["x"], ["a"]), h.make_node("Identity", ["a"], ["b"]),
             h.make_node("Sigmoid", ["b"], ["s"]), h.make_node("Mul", ["b", "s"], ["y"])]
    forward = make_model(nodes, ["x"], ["y"])
    backward = make_model(list(reversed(nodes)), ["x"], ["y"])
    assert arch_id(forward) == arch_id(backward)
    assert ops(view(forward)) == Counter({"Relu": 1, "Swish": 1})


def test_pinned_arch_hash_vectors() -> None:
    """yg-arch-1 test vectors: any change to the passes or the labels that moves them is a new
    ARCH_HASH_VERSION (docs/arch.md)."""
    relu = make_model([h.make_node("Relu", ["x"], ["y"])], ["x"], ["y"])
    linear = make_model([h.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)], ["x"], ["y"],
                        [init("w", [32, 16]), init("b", [32])])
    noisy = make_model([h.make_node("Identity", ["x"], ["i"]), h.make_node("Relu", ["i"], ["y"])], ["x"], ["y"])
    assert arch_id(relu) == PINNED["relu"]
    assert arch_id(linear) == PINNED["linear"]
    assert arch_id(noisy) == arch_id(relu)


PINNED = {
    "relu": "89a716868e100504f7d62f8ee902fd9f",
    "linear": "dd2c284198380e5fdc03f7beeba7358c",
}


def test_every_sample_and_younger_fixture_gets_an_arch_id(sample_models: list[Path]) -> None:
    from younger_graph.loaders import younger

    for path in sample_models:
        assert extracted(onnx.load(str(path), load_external_data=False)).graph_row["graph_id_arch"], path
    fixtures = REPO_ROOT / "tests" / "fixtures" / "younger"
    instances = [p for p in fixtures.rglob("*") if p.is_dir() and younger.is_younger_instance(str(p))]
    assert instances
    for folder in instances:
        result = younger.extract_instance(str(folder))
        if result.ok:
            assert result.graph is not None and result.graph.graph_row["graph_id_arch"], folder


def test_the_defaults_table_is_generated_from_the_installed_onnx() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("gen", REPO_ROOT / "scripts" / "gen_arch_defaults.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    current = (REPO_ROOT / "younger_graph" / "arch" / "defaults.py").read_text(encoding="utf-8")
    if f"from onnx {onnx.__version__};" not in current:
        pytest.skip(f"defaults.py was generated from another onnx release than {onnx.__version__}")
    assert gen.render() == current


@pytest.mark.zoo
@pytest.mark.slow
def test_torchscript_and_dynamo_exports_of_resnet18_have_one_architecture() -> None:
    pytest.importorskip("torchvision")
    pytest.importorskip("onnxscript")
    from younger_graph.loaders.zoo import export_zoo_model

    ts = extracted(export_zoo_model("torchvision:resnet18", exporter="torchscript"))
    dy = extracted(export_zoo_model("torchvision:resnet18", exporter="dynamo"))
    assert ts.graph_id != dy.graph_id
    assert ts.graph_row["graph_id_arch"] == dy.graph_row["graph_id_arch"]


def test_hash_arch_and_inspect_show_the_view_hash(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    from conftest import cli_env, write_model

    gemm = write_model(make_model([h.make_node("Gemm", ["x", "w", "b"], ["y"], transB=1)], ["x"], ["y"],
                                  [init("w", [32, 16]), init("b", [32])]), tmp_path / "gemm.onnx")
    matmul = write_model(make_model([h.make_node("MatMul", ["x", "wt"], ["m"]), h.make_node("Add", ["m", "b"], ["y"])],
                                    ["x"], ["y"], [init("wt", [16, 32]), init("b", [32])]), tmp_path / "matmul.onnx")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "younger_graph.cli", *args], capture_output=True, text=True,
                              env=cli_env(), timeout=300)

    exact = cli("hash", str(gemm), str(matmul)).stdout.split()
    arch = cli("hash", "--arch", str(gemm), str(matmul)).stdout.split()
    assert exact[0] != exact[2] and arch[0] == arch[2]
    assert json.loads(cli("inspect", str(gemm), "-f", "json").stdout)["graph_id_arch"] == arch[0]
    r = cli("hash", "--arch", "--noattr", str(gemm))
    assert r.returncode == 2 and "give one" in r.stderr
