"""Zoo export (torchvision / timm / transformers, random weights) and weight stripping."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

pytest.importorskip("torch")
pytest.importorskip("torchvision")
pytest.importorskip("timm")
pytest.importorskip("transformers")

from younger_graph.loaders.zoo import (
    TRANSFORMERS_MODEL_TYPES,
    ZOO_PREFIXES,
    export_zoo_model,
    is_zoo_ref,
    strip_weights,
)

pytestmark = pytest.mark.zoo

SAMPLE = Path(__file__).resolve().parent.parent / "sample"

# The fastest model of each prefix, and op types its graph must contain.
EXPECTED_OPS = {
    "torchvision:squeezenet1_0": {"Conv", "Relu", "MaxPool", "Concat"},
    "timm:resnet10t": {"Conv", "Add", "Gemm"},
    "transformers:bert": {"MatMul", "Softmax", "LayerNormalization", "Gather"},
}


@pytest.fixture(scope="module")
def exported() -> Callable[[str], onnx.ModelProto]:
    """Export each reference once per module (seed 0, exporter defaults)."""
    cache: dict[str, onnx.ModelProto] = {}

    def get(ref: str) -> onnx.ModelProto:
        if ref not in cache:
            cache[ref] = export_zoo_model(ref)
        return cache[ref]

    return get


def _op_types(model: onnx.ModelProto) -> set[str]:
    return {node.op_type for node in model.graph.node}


def _initializer_signature(model: onnx.ModelProto) -> list[tuple[str, int, tuple[int, ...]]]:
    return [(t.name, t.data_type, tuple(t.dims)) for t in model.graph.initializer]


@pytest.mark.parametrize("ref", sorted(EXPECTED_OPS))
def test_export_is_valid_onnx_with_expected_ops(ref: str, exported: Callable[[str], onnx.ModelProto]) -> None:
    model = exported(ref)
    onnx.checker.check_model(model)
    assert EXPECTED_OPS[ref] <= _op_types(model)
    assert model.graph.initializer, "weights are embedded in the returned ModelProto"
    assert all(t.data_location != TensorProto.EXTERNAL for t in model.graph.initializer)


def test_transformers_inputs_and_outputs_are_named(exported: Callable[[str], onnx.ModelProto]) -> None:
    model = exported("transformers:bert")
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask"]
    assert model.graph.output[0].name == "last_hidden_state"


def test_export_runs_in_onnxruntime(exported: Callable[[str], onnx.ModelProto]) -> None:
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(exported("torchvision:squeezenet1_0").SerializeToString())
    (logits,) = session.run(None, {"pixel_values": np.zeros((1, 3, 224, 224), np.float32)})
    assert logits.shape == (1, 1000)


@pytest.mark.parametrize("ref", ["transformers:bert", "torchvision:squeezenet1_0"])
def test_export_is_deterministic(ref: str, exported: Callable[[str], onnx.ModelProto]) -> None:
    assert export_zoo_model(ref).SerializeToString() == exported(ref).SerializeToString()


def test_seed_changes_weights_but_not_structure(exported: Callable[[str], onnx.ModelProto]) -> None:
    base = exported("transformers:bert")
    other = export_zoo_model("transformers:bert", seed=1)
    assert other.SerializeToString() != base.SerializeToString()
    assert [n.op_type for n in other.graph.node] == [n.op_type for n in base.graph.node]
    assert _initializer_signature(other) == _initializer_signature(base)


@pytest.mark.parametrize(
    "ref",
    ["torchvision:no_such", "timm:no_such", "transformers:no_such", "keras:resnet", "resnet18", "timm:"],
)
def test_unknown_refs_raise_value_error(ref: str) -> None:
    with pytest.raises(ValueError):
        export_zoo_model(ref)


def test_unknown_transformers_type_lists_supported() -> None:
    with pytest.raises(ValueError, match="bert") as info:
        export_zoo_model("transformers:no_such_type")
    assert all(t in str(info.value) for t in ("bert", "gpt2", "t5", "vit", "distilbert", "roberta"))
    assert {"bert", "gpt2", "t5", "vit", "distilbert", "roberta"} <= set(TRANSFORMERS_MODEL_TYPES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("torchvision:resnet18", True),
        ("timm:mobilevitv2_050", True),
        ("transformers:bert", True),
        ("torchvision:", False),
        ("keras:resnet", False),
        ("models/resnet18.onnx", False),
        ("C:\\models\\resnet18.onnx", False),
    ],
)
def test_is_zoo_ref(text: str, expected: bool) -> None:
    assert ZOO_PREFIXES == ("torchvision", "timm", "transformers")
    assert is_zoo_ref(text) is expected


# -------------------------------------------------------------------------------------------- strip_weights


def test_strip_weights_keeps_structure_and_drops_payload(
    exported: Callable[[str], onnx.ModelProto], tmp_path: Path
) -> None:
    model = exported("timm:resnet10t")
    before = model.SerializeToString()
    stripped = strip_weights(model)
    assert model.SerializeToString() == before, "the input model is not modified"

    full, light = tmp_path / "full.onnx", tmp_path / "light.onnx"
    onnx.save(model, full)
    onnx.save(stripped, light)
    assert light.stat().st_size * 20 < full.stat().st_size
    assert not (tmp_path / "weights.bin").exists(), "the external data file is never written"

    loaded = onnx.load(str(light), load_external_data=False)
    assert _initializer_signature(loaded) == _initializer_signature(model)
    assert [n.op_type for n in loaded.graph.node] == [n.op_type for n in model.graph.node]
    for tensor in loaded.graph.initializer:
        if np.prod(tensor.dims) >= 64:
            assert tensor.data_location == TensorProto.EXTERNAL
            assert not tensor.HasField("raw_data")
            info = {entry.key: entry.value for entry in tensor.external_data}
            assert info["location"] == "weights.bin"
            assert int(info["length"]) > 0


def test_strip_weights_handles_typed_data_subgraphs_and_small_tensors(tmp_path: Path) -> None:
    big = helper.make_tensor("big", TensorProto.FLOAT, [8, 16], np.arange(128, dtype=np.float32).tolist())
    small = numpy_helper.from_array(np.ones(4, np.float32), "small")
    inner = numpy_helper.from_array(np.zeros((10, 10), np.int64), "inner")
    ones = numpy_helper.from_array(np.ones((10, 10), np.int64))
    then_branch = helper.make_graph(
        [helper.make_node("Identity", ["inner"], ["then_out"])],
        "then",
        [],
        [helper.make_tensor_value_info("then_out", TensorProto.INT64, [10, 10])],
        initializer=[inner],
    )
    else_branch = helper.make_graph(
        [helper.make_node("Constant", [], ["else_out"], value=ones)],
        "else",
        [],
        [helper.make_tensor_value_info("else_out", TensorProto.INT64, [10, 10])],
    )
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "big"], ["y"]),
            helper.make_node("If", ["cond"], ["z"], then_branch=then_branch, else_branch=else_branch),
        ],
        "g",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8]),
            helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16]),
            helper.make_tensor_value_info("z", TensorProto.INT64, [10, 10]),
        ],
        initializer=[big, small],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)

    stripped = strip_weights(model, location="w.bin")
    path = tmp_path / "m.onnx"
    onnx.save(stripped, path)
    loaded = onnx.load(str(path), load_external_data=False)
    tensors = {t.name: t for t in loaded.graph.initializer}
    branches = {attr.name: attr.g for attr in loaded.graph.node[1].attribute}
    sub = branches["then_branch"].initializer[0]
    for tensor in (tensors["big"], sub):
        assert tensor.data_location == TensorProto.EXTERNAL
        assert not tensor.float_data and not tensor.int64_data and not tensor.raw_data
    assert (tensors["big"].data_type, list(tensors["big"].dims)) == (TensorProto.FLOAT, [8, 16])
    assert (sub.name, sub.data_type, list(sub.dims)) == ("inner", TensorProto.INT64, [10, 10])
    lengths = {t.name: {e.key: e.value for e in t.external_data}["length"] for t in (tensors["big"], sub)}
    assert lengths == {"big": str(128 * 4), "inner": str(100 * 8)}
    np.testing.assert_array_equal(numpy_helper.to_array(tensors["small"]), np.ones(4, np.float32))


# ------------------------------------------------------------------------------------------- shipped sample


def test_sample_meta_matches_files() -> None:
    if not (SAMPLE / "meta.csv").is_file():
        pytest.skip("sample/ not generated (python scripts/make_sample.py)")
    with (SAMPLE / "meta.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["file", "name", "task", "source", "tags", "ref"]
    files = {row["file"] for row in rows}
    assert files == {p.name for p in SAMPLE.glob("*.onnx")}
    assert sum((SAMPLE / f).stat().st_size for f in files) < 5 * 1024 * 1024
    for row in rows:
        assert not row["ref"] or is_zoo_ref(row["ref"])
        model = onnx.load(str(SAMPLE / row["file"]), load_external_data=False)
        assert model.graph.node
