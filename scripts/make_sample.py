"""Regenerate the sample corpus shipped in ``sample/``: ~35 small, real ONNX models, weights stripped.

    python scripts/make_sample.py [--out sample]

Families: torchvision, timm and transformers (small random configs) zoo exports; scikit-learn models
converted with skl2onnx; onnxruntime-quantized models (dynamic, static QOperator, static QDQ); and models
with ONNX control flow (If / Loop / Scan, nested). Two architectures appear twice on purpose (exported
with different seeds), so deduplication has something to find.

Every file keeps its full graph -- node names, initializer names, dtypes and dims -- but its weights
point at an external ``weights.bin`` that is not shipped (see ``younger_graph.loaders.zoo.strip_weights``); read
them with ``onnx.load(path, load_external_data=False)``. ``sample/meta.csv`` lists
``file,name,task,source,tags,ref``: ``ref`` is the zoo reference the file was exported from (for an
onnxruntime-quantized file, the model that was quantized), empty otherwise. The output is deterministic.
"""

from __future__ import annotations

import argparse
import csv
import io
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from younger_graph.loaders.zoo import export_zoo_model, strip_weights

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "sample"
META_COLUMNS = ("file", "name", "task", "source", "tags", "ref")
WEIGHTS_LOCATION = "weights.bin"  # referenced by every stripped file, never written
MAX_FILE_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 5 * 1024 * 1024
CONTROL_FLOW_OPSET = 17

Builder = Callable[[], onnx.ModelProto]


@dataclass(frozen=True)
class Entry:
    """One sample file: how to build it and what meta.csv says about it."""

    file: str
    name: str
    task: str
    source: str
    tags: tuple[str, ...]
    build: Builder
    ref: str = ""

    def meta_row(self) -> dict[str, str]:
        return {
            "file": self.file,
            "name": self.name,
            "task": self.task,
            "source": self.source,
            "tags": ";".join(self.tags),
            "ref": self.ref,
        }


@contextmanager
def quiet() -> Iterator[None]:
    """Hide converter/quantizer warnings and progress output."""
    with warnings.catch_warnings(), redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


# ---------------------------------------------------------------------------------------------- zoo models


def zoo(ref: str, seed: int = 0) -> Builder:
    return lambda: export_zoo_model(ref, seed=seed)


def zoo_entry(ref: str, task: str, tags: tuple[str, ...], *, seed: int = 0, suffix: str = "") -> Entry:
    source, name = ref.split(":", 1)
    return Entry(f"{source}_{name}{suffix}.onnx", name, task, source, tags, zoo(ref, seed), ref)


# ---------------------------------------------------------------------------------------------- quantized


class _RandomImages:
    """A tiny, seeded calibration reader (onnxruntime's CalibrationDataReader protocol)."""

    def __init__(self, input_name: str, shape: tuple[int, ...], count: int = 4):
        rng = np.random.default_rng(0)
        self._batches = [{input_name: rng.standard_normal(shape, dtype=np.float32)} for _ in range(count)]
        self._next = iter(self._batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._next, None)

    def rewind(self) -> None:
        self._next = iter(self._batches)


def quantized_bert() -> onnx.ModelProto:
    """transformers:bert, fused by onnxruntime's transformer optimizer (Attention, SkipLayerNormalization,
    BiasGelu), then dynamically quantized (QAttention, DynamicQuantizeLinear, MatMulInteger)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    with tempfile.TemporaryDirectory() as tmp, quiet():
        src, fused, out = (Path(tmp) / n for n in ("bert.onnx", "fused.onnx", "quant.onnx"))
        onnx.save(export_zoo_model("transformers:bert"), src)
        optimizer = optimize_model(str(src), model_type="bert", num_heads=2, hidden_size=64, opt_level=0)
        optimizer.save_model_to_file(str(fused))
        quantize_dynamic(
            fused, out, weight_type=QuantType.QInt8, extra_options={"DefaultTensorType": TensorProto.FLOAT}
        )
        return onnx.load(out)


def quantized_static(ref: str, qdq: bool) -> Builder:
    """Static quantization of a zoo CNN, in QOperator (QLinearConv, com.microsoft QLinear*) or QDQ format."""

    def build() -> onnx.ModelProto:
        from onnxruntime.quantization import QuantFormat, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process

        with tempfile.TemporaryDirectory() as tmp, quiet():
            src, pre, out = (Path(tmp) / n for n in ("model.onnx", "pre.onnx", "quant.onnx"))
            model = export_zoo_model(ref)
            onnx.save(model, src)
            quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
            first = model.graph.input[0]
            shape = tuple(d.dim_value for d in first.type.tensor_type.shape.dim)
            fmt = QuantFormat.QDQ if qdq else QuantFormat.QOperator
            quantize_static(pre, out, _RandomImages(first.name, shape), quant_format=fmt)
            return onnx.load(out)

    return build


# ---------------------------------------------------------------------------------------------- scikit-learn


def _tabular(n_classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=200, n_features=8, n_informative=5, n_classes=n_classes, random_state=0)
    return x.astype(np.float32), y


def _fit(estimator: Any, x: np.ndarray, y: np.ndarray) -> Any:
    with quiet():  # convergence warnings on the toy data are expected
        return estimator.fit(x, y)


def _to_onnx(estimator: object, x: np.ndarray) -> onnx.ModelProto:
    from skl2onnx import to_onnx

    with quiet():
        return to_onnx(estimator, x[:1], target_opset={"": 17, "ai.onnx.ml": 3})


def sklearn_logreg() -> onnx.ModelProto:
    from sklearn.linear_model import LogisticRegression

    x, y = _tabular()
    return _to_onnx(_fit(LogisticRegression(max_iter=500), x, y), x)


def sklearn_forest() -> onnx.ModelProto:
    from sklearn.ensemble import RandomForestClassifier

    x, y = _tabular()
    return _to_onnx(_fit(RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0), x, y), x)


def sklearn_scaler_svc() -> onnx.ModelProto:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    x, y = _tabular()
    return _to_onnx(_fit(make_pipeline(StandardScaler(), SVC(random_state=0)), x, y), x)


def sklearn_mlp() -> onnx.ModelProto:
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _tabular()
    mlp = MLPClassifier(hidden_layer_sizes=(32, 16), max_iter=300, random_state=0)
    return _to_onnx(_fit(make_pipeline(StandardScaler(), mlp), x, y), x)


# ---------------------------------------------------------------------------------------------- control flow


def _control_flow_modules() -> dict[str, tuple[object, tuple[object, ...], list[str]]]:
    """name -> (scripted module, example args, input names); torch.jit.script keeps Python control flow."""
    import torch
    from torch import nn

    width = 32

    class RepeatLinear(nn.Module):
        """A Loop with a runtime trip count; the body reads the outer-scope weights."""

        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(width, width)

        def forward(self, x: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
            for _ in range(int(n)):
                x = torch.relu(self.lin(x))
            return x

    class SignBranch(nn.Module):
        """An If on a data-dependent condition with different subgraphs in each branch."""

        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(width, width)
            self.b = nn.Linear(width, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.tanh(self.a(x)) if bool(x.sum() > 0) else torch.sigmoid(self.a(x)) * 2.0
            return self.b(y)

    class ShrinkUntilSmall(nn.Module):
        """A while loop (Loop with a data-dependent condition) whose condition needs an If in the body."""

        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(width, width)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            steps = 0
            while bool(x.abs().sum() > 1.0) and steps < 10:
                x = self.lin(x) * 0.5
                steps += 1
            return x

    class LoopWithBranch(nn.Module):
        """An If nested inside a Loop body."""

        def __init__(self) -> None:
            super().__init__()
            self.lin = nn.Linear(width, width)

        def forward(self, x: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
            for _ in range(int(n)):
                x = self.lin(x) if bool(x.mean() > 0) else -x
            return x

    torch.manual_seed(0)
    x = torch.randn(2, width)
    n = torch.tensor(3)
    return {
        "repeat_linear": (torch.jit.script(RepeatLinear().eval()), (x, n), ["x", "n"]),
        "sign_branch": (torch.jit.script(SignBranch().eval()), (x,), ["x"]),
        "shrink_until_small": (torch.jit.script(ShrinkUntilSmall().eval()), (x,), ["x"]),
        "loop_with_branch": (torch.jit.script(LoopWithBranch().eval()), (x, n), ["x", "n"]),
    }


def scripted(name: str) -> Builder:
    """Export a torch.jit.script'ed module with the TorchScript-based exporter (keeps If/Loop)."""

    def build() -> onnx.ModelProto:
        import torch

        with tempfile.TemporaryDirectory() as tmp, quiet():
            module, args, input_names = _control_flow_modules()[name]
            path = Path(tmp) / "model.onnx"
            torch.onnx.export(
                module,
                args,
                str(path),
                dynamo=False,
                opset_version=CONTROL_FLOW_OPSET,
                input_names=input_names,
                output_names=["y"],
            )
            return onnx.load(path)

    return build


def scan_rnn() -> onnx.ModelProto:
    """A hand-built Elman RNN: a Scan whose body reads the outer-scope weights W and U."""
    steps, batch, features, hidden = 5, 2, 16, 16
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((features, hidden)).astype(np.float32), "W")
    u = numpy_helper.from_array(rng.standard_normal((hidden, hidden)).astype(np.float32), "U")
    body = helper.make_graph(
        [
            helper.make_node("MatMul", ["x_t", "W"], ["xw"], name="body/input_proj"),
            helper.make_node("MatMul", ["h_prev", "U"], ["hu"], name="body/recurrent_proj"),
            helper.make_node("Add", ["xw", "hu"], ["pre"], name="body/add"),
            helper.make_node("Tanh", ["pre"], ["h_next"], name="body/tanh"),
            helper.make_node("Identity", ["h_next"], ["y_t"], name="body/emit"),
        ],
        "scan_body",
        [
            helper.make_tensor_value_info("h_prev", TensorProto.FLOAT, [batch, hidden]),
            helper.make_tensor_value_info("x_t", TensorProto.FLOAT, [batch, features]),
        ],
        [
            helper.make_tensor_value_info("h_next", TensorProto.FLOAT, [batch, hidden]),
            helper.make_tensor_value_info("y_t", TensorProto.FLOAT, [batch, hidden]),
        ],
    )
    graph = helper.make_graph(
        [helper.make_node("Scan", ["h0", "xs"], ["h_last", "ys"], name="rnn", body=body, num_scan_inputs=1)],
        "scan_rnn",
        [
            helper.make_tensor_value_info("h0", TensorProto.FLOAT, [batch, hidden]),
            helper.make_tensor_value_info("xs", TensorProto.FLOAT, [steps, batch, features]),
        ],
        [
            helper.make_tensor_value_info("h_last", TensorProto.FLOAT, [batch, hidden]),
            helper.make_tensor_value_info("ys", TensorProto.FLOAT, [steps, batch, hidden]),
        ],
        initializer=[w, u],
    )
    model = helper.make_model(
        graph,
        producer_name="younger-graph-sample",
        opset_imports=[helper.make_opsetid("", CONTROL_FLOW_OPSET)],
    )
    model.ir_version = 8
    return model


# ---------------------------------------------------------------------------------------------- catalogue

CLS = "image-classification"
FEAT = "feature-extraction"
TAB = "tabular-classification"
FLOW = "control-flow"


def entries() -> list[Entry]:
    return [
        # torchvision
        zoo_entry("torchvision:resnet18", CLS, ("cnn", "residual")),
        zoo_entry("torchvision:resnet18", CLS, ("cnn", "residual", "duplicate"), seed=1, suffix="_seed1"),
        zoo_entry("torchvision:mobilenet_v3_small", CLS, ("cnn", "mobile", "squeeze-excitation")),
        zoo_entry("torchvision:squeezenet1_0", CLS, ("cnn", "fire-module")),
        zoo_entry("torchvision:shufflenet_v2_x0_5", CLS, ("cnn", "mobile", "channel-shuffle")),
        zoo_entry("torchvision:efficientnet_b0", CLS, ("cnn", "mobile", "squeeze-excitation")),
        zoo_entry("torchvision:densenet121", CLS, ("cnn", "dense-connections")),
        zoo_entry("torchvision:googlenet", CLS, ("cnn", "inception")),
        zoo_entry("torchvision:regnet_y_400mf", CLS, ("cnn", "residual", "squeeze-excitation")),
        zoo_entry("torchvision:lraspp_mobilenet_v3_large", "image-segmentation", ("cnn", "segmentation")),
        zoo_entry(
            "torchvision:ssdlite320_mobilenet_v3_large",
            "object-detection",
            ("cnn", "detection", "nms", "control-flow"),
        ),
        # timm
        zoo_entry("timm:mobilevitv2_050", CLS, ("hybrid", "attention", "mobile")),
        zoo_entry("timm:resnet10t", CLS, ("cnn", "residual")),
        zoo_entry("timm:efficientnet_lite0", CLS, ("cnn", "mobile")),
        zoo_entry("timm:vit_tiny_patch16_224", CLS, ("transformer", "attention", "vision")),
        zoo_entry("timm:convnext_atto", CLS, ("cnn", "layernorm")),
        # transformers (small random configs)
        zoo_entry("transformers:bert", FEAT, ("transformer", "encoder", "text")),
        zoo_entry("transformers:bert", FEAT, ("transformer", "encoder", "text", "duplicate"),
                  seed=1, suffix="_seed1"),
        zoo_entry("transformers:distilbert", FEAT, ("transformer", "encoder", "text")),
        zoo_entry("transformers:gpt2", FEAT, ("transformer", "decoder", "text")),
        zoo_entry("transformers:t5", FEAT, ("transformer", "encoder-decoder", "text")),
        zoo_entry("transformers:vit", FEAT, ("transformer", "encoder", "vision")),
        # scikit-learn via skl2onnx
        Entry("skl2onnx_logistic_regression.onnx", "LogisticRegression", TAB, "skl2onnx",
              ("linear", "ai.onnx.ml"), sklearn_logreg),
        Entry("skl2onnx_random_forest.onnx", "RandomForestClassifier", TAB, "skl2onnx",
              ("tree-ensemble", "ai.onnx.ml"), sklearn_forest),
        Entry("skl2onnx_scaler_svc.onnx", "StandardScaler+SVC", TAB, "skl2onnx",
              ("pipeline", "svm", "ai.onnx.ml"), sklearn_scaler_svc),
        Entry("skl2onnx_scaler_mlp.onnx", "StandardScaler+MLPClassifier", TAB, "skl2onnx",
              ("pipeline", "mlp", "ai.onnx.ml"), sklearn_mlp),
        # onnxruntime quantization
        Entry("onnxruntime_bert_dynamic_int8.onnx", "bert", FEAT, "onnxruntime",
              ("quantized", "dynamic", "fused", "com.microsoft", "transformer"), quantized_bert,
              "transformers:bert"),
        Entry("onnxruntime_mobilenet_v3_small_qoperator.onnx", "mobilenet_v3_small", CLS, "onnxruntime",
              ("quantized", "static", "qoperator", "com.microsoft", "cnn"),
              quantized_static("torchvision:mobilenet_v3_small", qdq=False),
              "torchvision:mobilenet_v3_small"),
        Entry("onnxruntime_squeezenet1_0_qdq.onnx", "squeezenet1_0", CLS, "onnxruntime",
              ("quantized", "static", "qdq", "cnn"),
              quantized_static("torchvision:squeezenet1_0", qdq=True), "torchvision:squeezenet1_0"),
        # control flow
        Entry("scripted_repeat_linear.onnx", "repeat_linear", FLOW, "scripted",
              ("loop", "outer-scope", "torch-jit-script"), scripted("repeat_linear")),
        Entry("scripted_sign_branch.onnx", "sign_branch", FLOW, "scripted",
              ("if", "torch-jit-script"), scripted("sign_branch")),
        Entry("scripted_shrink_until_small.onnx", "shrink_until_small", FLOW, "scripted",
              ("loop", "while", "nested", "if", "torch-jit-script"), scripted("shrink_until_small")),
        Entry("scripted_loop_with_branch.onnx", "loop_with_branch", FLOW, "scripted",
              ("loop", "if", "nested", "outer-scope", "torch-jit-script"), scripted("loop_with_branch")),
        Entry("scripted_scan_rnn.onnx", "scan_rnn", FLOW, "scripted",
              ("scan", "rnn", "outer-scope", "onnx-helper"), scan_rnn),
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------- driver


def _count_nodes(graph: onnx.GraphProto) -> int:
    total = 0
    for node in graph.node:
        total += 1
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                total += _count_nodes(attr.g)
    return total


def _sort_opset_imports(model: onnx.ModelProto) -> onnx.ModelProto:
    """skl2onnx orders opset imports by set iteration (varies with PYTHONHASHSEED); fix the order."""
    imports = sorted(model.opset_import, key=lambda opset: opset.domain)
    del model.opset_import[:]
    model.opset_import.extend(imports)
    return model


def _clear(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for stale in [*out.glob("*.onnx"), out / "meta.csv"]:
        stale.unlink(missing_ok=True)


def _write_meta(out: Path, kept: list[Entry]) -> None:
    with (out / "meta.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=META_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(entry.meta_row() for entry in kept)


def build_sample(out: Path) -> tuple[list[Entry], list[tuple[str, str]]]:
    """Write every buildable entry to ``out``; return the kept entries and (file, reason) for dropped ones."""
    _clear(out)
    kept: list[Entry] = []
    dropped: list[tuple[str, str]] = []
    total = 0
    print(f"{'file':<50} {'KiB':>7} {'nodes':>6} {'secs':>6}")
    for entry in entries():
        start = time.perf_counter()
        try:
            model = entry.build()
            onnx.checker.check_model(model)
            data = _sort_opset_imports(strip_weights(model, WEIGHTS_LOCATION)).SerializeToString()
        except Exception as exc:
            dropped.append((entry.file, f"{type(exc).__name__}: {str(exc)[:200]}"))
            print(f"{entry.file:<50} dropped: {type(exc).__name__}")
            continue
        if len(data) > MAX_FILE_BYTES or total + len(data) > MAX_TOTAL_BYTES:
            dropped.append((entry.file, f"too big ({len(data) // 1024} KiB stripped)"))
            print(f"{entry.file:<50} dropped: too big")
            continue
        (out / entry.file).write_bytes(data)
        total += len(data)
        kept.append(entry)
        secs = time.perf_counter() - start
        print(f"{entry.file:<50} {len(data) / 1024:7.1f} {_count_nodes(model.graph):6d} {secs:6.1f}")
    _write_meta(out, kept)
    print(f"{len(kept)} files, {total / 1024:.1f} KiB in total, written to {out}")
    for file, reason in dropped:
        print(f"dropped {file}: {reason}")
    return kept, dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: sample/)")
    args = parser.parse_args()
    start = time.perf_counter()
    build_sample(args.out)
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
