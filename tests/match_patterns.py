"""Pattern blocks as .onnx files, written with onnx.helper (the files under tests/fixtures/patterns/).

Each block is a small model: its operators are the pattern, its graph inputs and outputs open ends.
`python tests/match_patterns.py` rewrites tests/fixtures/patterns/ (test_match checks they are current).
"""

from __future__ import annotations

import sys
from pathlib import Path

import onnx
from onnx import helper

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "patterns"


def _model(nodes: list[onnx.NodeProto], inputs: list[str], outputs: list[str], name: str,
           domains: tuple[str, ...] = ()) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info(i, onnx.TensorProto.FLOAT, None)
                                            for i in inputs],
                              [helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, None) for o in outputs])
    opsets = [helper.make_opsetid("", 17), *(helper.make_opsetid(d, 1) for d in domains)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="younger-graph tests")
    model.ir_version = 8
    return model


def residual(kernel_shape: list[int] | None = None) -> onnx.ModelProto:
    """A basic ResNet block, 5 operators: Relu → Conv → Relu → Conv → Add, the Relu also feeding the Add's
    second input (the skip connection); weights are open inputs. `kernel_shape` sets it on both Convs."""
    attrs = {"kernel_shape": kernel_shape} if kernel_shape else {}
    return _model([
        helper.make_node("Relu", ["x"], ["r0"]),
        helper.make_node("Conv", ["r0", "w1"], ["c1"], **attrs),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], **attrs),
        helper.make_node("Add", ["c2", "r0"], ["y"]),
    ], ["x", "w1", "w2"], ["y"], "residual")


def attention() -> onnx.ModelProto:
    """Scaled dot-product attention, 7 operators: MatMul(q, Transpose(k)) → Mul(scale) → Add(mask) →
    Softmax(axis=-1) → MatMul(·, Transpose(v)), with the permutations Hugging Face exports use."""
    return _model([
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 3, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["qk"]),
        helper.make_node("Mul", ["qk", "scale"], ["s"]),
        helper.make_node("Add", ["s", "mask"], ["m"]),
        helper.make_node("Softmax", ["m"], ["p"], axis=-1),
        helper.make_node("Transpose", ["v"], ["vt"], perm=[0, 2, 1, 3]),
        helper.make_node("MatMul", ["p", "vt"], ["y"]),
    ], ["q", "k", "v", "scale", "mask"], ["y"], "attention")


def squeeze_excite() -> onnx.ModelProto:
    """EfficientNet's squeeze-and-excitation, 7 operators: GlobalAveragePool → Conv → SiLU (Sigmoid and Mul)
    → Conv → Sigmoid → Mul with the block's input (an open end)."""
    return _model([
        helper.make_node("GlobalAveragePool", ["x"], ["g"]),
        helper.make_node("Conv", ["g", "w1"], ["c1"]),
        helper.make_node("Sigmoid", ["c1"], ["s1"]),
        helper.make_node("Mul", ["c1", "s1"], ["a1"]),
        helper.make_node("Conv", ["a1", "w2"], ["c2"]),
        helper.make_node("Sigmoid", ["c2"], ["s2"]),
        helper.make_node("Mul", ["s2", "x"], ["y"]),
    ], ["x", "w1", "w2"], ["y"], "squeeze_excite")


def quantized_matmul() -> onnx.ModelProto:
    """Two flows between one pair of operators: DynamicQuantizeLinear's outputs 0 and 2 into MatMulInteger's
    inputs 0 and 2 (a slot-exact multi-edge)."""
    return _model([
        helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "scale", "zero"]),
        helper.make_node("MatMulInteger", ["q", "w", "zero", "wz"], ["y"]),
    ], ["x", "w", "wz"], ["y", "scale"], "quantized_matmul")


BLOCKS = {"residual": residual, "attention": attention, "squeeze_excite": squeeze_excite,
          "quantized_matmul": quantized_matmul}


def write_all(folder: Path = FIXTURES) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, build in BLOCKS.items():
        path = folder / f"{name}.onnx"
        path.write_bytes(build().SerializeToString())
        out.append(path)
    return out


if __name__ == "__main__":
    for written in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURES):
        print(written)
