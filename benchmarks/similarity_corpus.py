"""The similarity benchmark's corpus: real zoo models exported several ways, cached under .bench/.

Usage:
    python benchmarks/similarity_corpus.py [--out .bench/similarity/models] [--only REF,...]

Every model of `MODELS` is exported (random weights, fixed seed) by the TorchScript exporter and by
the dynamo exporter (`younger_graph.loaders.zoo.export_zoo_model(ref, exporter=...)`), some also with
TorchScript at opset 13 (older exporters' decompositions: LayerNormalization, Gelu and HardSwish as
elementary ops), dynamically quantised (onnxruntime `quantize_dynamic`, int8 MatMul/Gemm) and
optimised by onnxruntime (ORT_ENABLE_EXTENDED: com.microsoft fused operators). Weights are stripped
after (`strip_weights`): the files hold structure only. `meta.csv` lists every file with its model,
family, exporter, variant and task, the labels the benchmark scores against (families are set here
by hand, from the model's published lineage, never from the graphs).

Exports cost minutes on two cores; a file already present is kept (delete it to redo it).
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR

OUT = BENCH_DIR / "similarity" / "models"

# (zoo ref, family, task, variants beyond the two exporters)
MODELS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("torchvision:resnet18", "resnet", "image-classification", ("opset13", "quant", "ortopt")),
    ("torchvision:resnet34", "resnet", "image-classification", ()),
    ("torchvision:resnet50", "resnet", "image-classification", ()),
    ("timm:resnet10t", "resnet", "image-classification", ()),
    ("timm:resnet14t", "resnet", "image-classification", ()),
    ("torchvision:mobilenet_v2", "mobilenet", "image-classification", ()),
    ("torchvision:mobilenet_v3_small", "mobilenet", "image-classification", ("opset13",)),
    ("torchvision:mobilenet_v3_large", "mobilenet", "image-classification", ()),
    ("torchvision:efficientnet_b0", "efficientnet", "image-classification", ("opset13",)),
    ("torchvision:efficientnet_b1", "efficientnet", "image-classification", ()),
    ("timm:efficientnet_lite0", "efficientnet", "image-classification", ()),
    ("torchvision:regnet_y_400mf", "regnet", "image-classification", ()),
    ("torchvision:regnet_x_400mf", "regnet", "image-classification", ()),
    ("torchvision:shufflenet_v2_x0_5", "shufflenet", "image-classification", ()),
    ("torchvision:shufflenet_v2_x1_0", "shufflenet", "image-classification", ()),
    ("torchvision:squeezenet1_0", "squeezenet", "image-classification", ()),
    ("torchvision:squeezenet1_1", "squeezenet", "image-classification", ()),
    ("torchvision:mnasnet0_5", "mnasnet", "image-classification", ()),
    ("torchvision:mnasnet1_0", "mnasnet", "image-classification", ()),
    ("torchvision:densenet121", "densenet", "image-classification", ()),
    ("torchvision:densenet169", "densenet", "image-classification", ()),
    ("timm:convnext_atto", "convnext", "image-classification", ()),
    ("timm:convnext_femto", "convnext", "image-classification", ()),
    ("timm:vit_tiny_patch16_224", "vit", "image-classification", ()),
    ("timm:deit_tiny_patch16_224", "vit", "image-classification", ()),
    ("transformers:vit", "vit", "feature-extraction", ()),
    ("transformers:bert", "bert", "feature-extraction", ("opset13", "quant", "ortopt")),
    ("transformers:roberta", "bert", "feature-extraction", ()),
    ("transformers:electra", "bert", "feature-extraction", ()),
    ("transformers:distilbert", "bert", "feature-extraction", ("quant",)),
    ("transformers:albert", "bert", "feature-extraction", ()),
    ("transformers:gpt2", "gpt", "feature-extraction", ("opset13", "quant")),
    ("transformers:llama", "llama", "feature-extraction", ()),
    ("transformers:mistral", "llama", "feature-extraction", ()),
    ("transformers:t5", "encoder-decoder", "feature-extraction", ()),
    ("transformers:bart", "encoder-decoder", "feature-extraction", ()),
]
EXPORTERS = ("torchscript", "dynamo")
META_COLUMNS = ["file", "name", "model", "family", "exporter", "variant", "task", "source"]


def file_name(ref: str, exporter: str, variant: str) -> str:
    stem = ref.replace(":", "_")
    return f"{stem}.{exporter}{'' if variant == 'plain' else '.' + variant}.onnx"


def _export(ref: str, exporter: str, opset: int | None):
    from younger_graph.loaders.zoo import export_zoo_model

    return export_zoo_model(ref, opset, exporter=exporter)


def _quantize(model):
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.onnx", Path(tmp) / "out.onnx"
        onnx.save(model, src)
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
        return onnx.load(dst)


def _ort_optimize(model):
    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.onnx", Path(tmp) / "out.onnx"
        onnx.save(model, src)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        options.optimized_model_filepath = str(dst)
        ort.InferenceSession(str(src), options, providers=["CPUExecutionProvider"])
        return onnx.load(dst)


def build(out: Path, only: set[str] | None = None) -> list[dict[str, str]]:
    import onnx
    from younger_graph.loaders.zoo import strip_weights

    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, str]] = []
    for ref, family, task, extra in MODELS:
        if only and ref not in only:
            continue
        name = ref.split(":", 1)[1]
        jobs = [(e, "plain") for e in EXPORTERS] + [("torchscript", v) for v in extra]
        for exporter, variant in jobs:
            fname = file_name(ref, exporter, variant)
            row = {"file": fname, "name": f"{name} ({exporter}{'' if variant == 'plain' else ', ' + variant})",
                   "model": name, "family": family, "exporter": exporter, "variant": variant, "task": task,
                   "source": ref.split(":", 1)[0]}
            path = out / fname
            if not path.exists():
                start = time.perf_counter()
                try:
                    model = _export(ref, exporter, 13 if variant == "opset13" else None)
                    if variant == "quant":
                        model = _quantize(model)
                    elif variant == "ortopt":
                        model = _ort_optimize(model)
                    onnx.save(strip_weights(model), path)
                except Exception as exc:  # a model one exporter cannot handle is reported, not fatal
                    print(f"FAILED {fname}: {type(exc).__name__}: {str(exc)[:300]}", flush=True)
                    traceback.print_exc(limit=1)
                    continue
                print(f"{fname}: {time.perf_counter() - start:.1f} s", flush=True)
            rows.append(row)
    if only:  # a partial run leaves the full list alone
        return rows
    with open(out / "meta.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=META_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--only", default="", help="comma-separated zoo refs")
    args = parser.parse_args()
    only = {r.strip() for r in args.only.split(",") if r.strip()} or None
    rows = build(args.out, only)
    print(f"{len(rows)} files in {args.out}")


if __name__ == "__main__":
    main()
