"""A Younger-shaped corpus of real architectures for the baselines, built through the whole package.

Usage:
    python benchmarks/corpus.py [--out .bench/baselines-corpus] [--workers 1] [--quick] [--json out.json]

Younger is Hugging Face (and other hub) models converted to ONNX: 7.6k distinct graphs, 12.6M
operators, about 1.7k operators per graph on average, mostly transformers, with a long tail of
large graphs. This corpus is built the same way from code, offline and without weights:

* **transformers**: about 100 text and 30 vision model types (TEXT_TYPES, VISION_TYPES: the ones that
  build from a small random config and export with the TorchScript ONNX exporter), small widths
  (hidden size 64, 2 heads, feed-forward 128, vocabulary 1024, 4 experts; images 64x64), each at 5
  (text) or 3 (vision) depths (num_hidden_layers, or the stage depths of hierarchical vision models)
  drawn log-uniformly from 2..48 with a generator seeded by the type name, so a run is deterministic.
  Width does not change the graph; depth does (a deeper BERT is another architecture hash, as in
  Younger, where many fine-tunes of one family differ in depth).
* **timm** and **torchvision**: 75 real vision models at their real sizes (CNNs, ViTs, hybrids,
  detection, segmentation, video and optical-flow models), exported by
  `younger_graph.loaders.zoo.export_zoo_model`.

Each model is exported in a worker process (a model that fails, or takes longer than `--timeout`
seconds, is skipped and listed; the alarm fires when Python regains control, so one long C++ call
can overrun it), weights stripped (`strip_weights`: structure only, a few MiB in
all), written to OUT/onnx/<family>/<name>.onnx, then the folder goes through `yg.extract` (OUT/tables/),
`Store.load` (OUT/corpus.db) and `compute_communities(store, "cnm")` (for the operator task).
Every stage is cached: re-running exports only what is missing, and extraction, load and
communities resume. OUT/exports.jsonl holds one record per export; OUT/manifest.json the failures,
the counts, the size percentiles and the timings.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import multiprocessing as mp
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, fmt, peak_rss_mb, print_table, write_json

DEFAULT_OUT = BENCH_DIR / "baselines-corpus"
CORPUS_VERSION = "1"
DEPTHS = {"text": 5, "vision": 3}  # transformers: depth variants per model type
MIN_DEPTH, MAX_DEPTH = 2, 48
TEXT_WIDTH = {"vocab_size": 1024, "hidden_size": 64, "num_attention_heads": 2, "num_key_value_heads": 2,
              "intermediate_size": 128, "head_dim": 32, "max_position_embeddings": 128}
IMAGE_SIZE = 64
DEPTH_KEYS = ("num_hidden_layers", "num_layers", "n_layer", "n_layers", "encoder_layers", "decoder_layers",
              "num_decoder_layers")
SEQ_LEN = 16

# Model types of transformers that build from a small config and export with the TorchScript exporter
# (screened on transformers 5.25: types that need extra inputs, custom kernels or unsupported ATen ops
# are left out; one that fails anyway is skipped and listed).
TEXT_TYPES = """albert arcee bart beam bert bert-generation big_bird bigbird_pegasus biogpt bitnet blenderbot
blenderbot-small bloom camembert cohere cohere2 convbert ctrl cwm data2vec-text deberta deberta-v2 distilbert doge
dory electra ernie ernie4_5 esmc exaone exaone4 falcon falcon_h1 falcon_mamba flaubert flint fsmt gemma gemma2 glm
glm4 gpt2 gpt_bigcode gpt_neo gpt_neox gptj granite granitemoe helium ibert jetmoe layoutlm led llama longformer luke
m2m_100 marian mbart megatron-bert mistral mixtral mobilebert modernbert mpnet mpt mra mt5 mvp nemotron nystromformer
olmo olmo2 olmoe opt pegasus persimmon phi phi3 plbart prophetnet qwen2 qwen2_moe qwen3 rembert roberta
roberta-prelayernorm roc_bert roformer smollm3 squeezebert stablelm starcoder2 t5 umt5 xglm xlm xlm-roberta
xlm-roberta-xl xmod yoso""".split()  # noqa: SIM905 (a list this long reads better as words)
VISION_TYPES = """beit bit convnext convnextv2 cvt data2vec-vision deit dinov2 dinov2_with_registers efficientnet
focalnet hgnet_v2 hiera ijepa levit mobilenet_v1 mobilenet_v2 mobilevit mobilevitv2 poolformer pvt pvt_v2 regnet
resnet segformer swiftformer swin swinv2 textnet vit vit_msn""".split()  # noqa: SIM905
TIMM = """resnet18 resnet50 resnet152 resnext26ts seresnext26d_32x4d skresnet18 res2net50_14w_8s resnest14d regnetx_002
regnety_016 efficientnet_b0 efficientnet_b3 efficientnetv2_rw_t mixnet_s mnasnet_100 mobilenetv2_100
mobilenetv3_large_100 mobilenetv4_conv_small ghostnet_100 hardcorenas_a lcnet_050 rexnet_100 dla34 dpn48b densenet121
inception_v3 inception_v4 xception41 repvgg_a0 cspdarknet53 hrnet_w18_small selecsls42b hgnet_tiny nf_resnet26
convnext_atto convnextv2_atto efficientformer_l1 edgenext_xx_small mobilevit_xxs levit_128s vit_tiny_patch16_224
deit_tiny_distilled_patch16_224 cait_xxs24_224 xcit_nano_12_p16_224 crossvit_tiny_240 coat_lite_tiny pvt_v2_b0
swin_tiny_patch4_window7_224 tnt_s_patch16_224 poolformer_s12 convit_tiny gcvit_xxtiny maxvit_nano_rw_256
mvitv2_tiny mixer_s16_224 resmlp_12_224 fastvit_t8 repvit_m1 efficientvit_m0 tiny_vit_5m_224 starnet_s1 davit_tiny
nasnetalarge""".split()  # noqa: SIM905
TORCHVISION = """googlenet mnasnet0_5 shufflenet_v2_x1_0 squeezenet1_1 regnet_y_400mf maxvit_t swin_v2_t
fasterrcnn_mobilenet_v3_large_320_fpn ssdlite320_mobilenet_v3_large lraspp_mobilenet_v3_large r2plus1d_18
raft_small""".split()  # noqa: SIM905


# -- the plan -------------------------------------------------------------------------------------------
def transformers_types() -> dict[str, str]:
    """model_type → 'text' | 'vision', for the listed types the installed transformers knows."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES

    listed = {**{t: "text" for t in TEXT_TYPES}, **{t: "vision" for t in VISION_TYPES}}
    return {t: kind for t, kind in sorted(listed.items()) if t in CONFIG_MAPPING_NAMES}


def depths_for(model_type: str, k: int) -> list[int]:
    """k distinct depths in MIN_DEPTH..MAX_DEPTH, log-uniform, from a generator seeded by the type name."""
    seed = int.from_bytes(hashlib.sha256(f"corpus:{model_type}".encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    while len(chosen) < k:
        d = round(math.exp(rng.uniform(math.log(MIN_DEPTH), math.log(MAX_DEPTH))))
        if d not in chosen:
            chosen.append(d)
    return sorted(chosen)


def plan(quick: bool = False) -> list[dict[str, Any]]:
    """Every model to export: {"name", "family", "ref" | "model_type" + "kind" + "depth"}."""
    jobs: list[dict[str, Any]] = []
    types = transformers_types()
    if quick:
        types = {t: types[t] for t in ("bert", "gpt2", "vit") if t in types}
    for model_type, kind in types.items():
        for depth in (2, 3) if quick else depths_for(model_type, DEPTHS[kind]):
            jobs.append({"name": f"{model_type}-d{depth}", "family": "transformers", "model_type": model_type,
                         "kind": kind, "depth": depth})
    if not quick:
        jobs += [{"name": n, "family": "timm", "ref": f"timm:{n}"} for n in TIMM]
        jobs += [{"name": n, "family": "torchvision", "ref": f"torchvision:{n}"} for n in TORCHVISION]
    return jobs


# -- one export (in a worker process) ---------------------------------------------------------------------
class Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Timeout()


@contextlib.contextmanager
def _silenced() -> Any:
    """Exporters print graphs and warnings at the file-descriptor level: send fds 1 and 2 to /dev/null."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (null, *saved):
            os.close(fd)


def _set_depth(config: Any, depth: int) -> bool:
    """Set every depth field the config has; hierarchical vision configs scale their stage depths."""
    changed = False
    for key in DEPTH_KEYS:
        if isinstance(getattr(config, key, None), int):
            setattr(config, key, depth)
            changed = True
    stages = getattr(config, "depths", None)
    if not changed and isinstance(stages, (list, tuple)) and stages:
        # depth d spread over the stages in their original proportions, at least one block each
        total = sum(stages)
        config.depths = [max(1, round(depth * s / total)) for s in stages]
        changed = True
    return changed


def _shrink(config: Any) -> None:
    """Small widths everywhere a config has them: feed-forward sizes and mixture-of-experts counts too
    (a default MoE config can hold hundreds of experts; the graph's structure does not depend on it)."""
    for key, value in list(vars(config).items()):
        if not isinstance(value, int) or isinstance(value, bool):
            continue
        if "intermediate_size" in key or key.endswith("ffn_dim"):
            setattr(config, key, 128)
        elif "experts" in key and not any(w in key for w in ("per_tok", "top", "shared")):
            setattr(config, key, 4)
        elif key in ("num_experts_per_tok", "moe_topk", "top_k"):
            setattr(config, key, min(value, 2))


def _transformers_module(job: dict[str, Any]) -> tuple[Any, tuple[Any, ...], list[str]]:
    import torch
    import transformers

    config = transformers.AutoConfig.for_model(job["model_type"])
    widths = TEXT_WIDTH if job["kind"] == "text" else {"image_size": IMAGE_SIZE, "num_channels": 3}
    for key, value in widths.items():
        if hasattr(config, key):
            with contextlib.suppress(Exception):
                setattr(config, key, value)
    if job["kind"] == "text":
        _shrink(config)
    if not _set_depth(config, job["depth"]):
        raise ValueError("the config has no depth field")
    config.use_cache = False
    model = transformers.AutoModel.from_config(config, attn_implementation="eager").eval()
    if job["kind"] == "text":
        ids = torch.randint(1, TEXT_WIDTH["vocab_size"], (1, SEQ_LEN))
        inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        if getattr(config, "is_encoder_decoder", False):
            inputs["decoder_input_ids"] = ids[:, : SEQ_LEN // 2]
    else:
        inputs = {"pixel_values": torch.randn(1, 3, IMAGE_SIZE, IMAGE_SIZE)}
    names = list(inputs)

    class FirstOutput(torch.nn.Module):
        """Keyword inputs in, the model's first tensor output out (a plain graph for the exporter)."""

        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            out = self.inner(**dict(zip(names, tensors)), return_dict=True)
            return next(v for v in out.values() if isinstance(v, torch.Tensor))

    return FirstOutput(model), tuple(inputs.values()), names


def _export_transformers(job: dict[str, Any], path: Path) -> None:
    import torch

    module, args, names = _transformers_module(job)
    with torch.no_grad():
        torch.onnx.export(module, args, str(path), dynamo=False, input_names=names, do_constant_folding=True)


def export_one(job: dict[str, Any], out: Path, timeout: int) -> dict[str, Any]:
    """Export `job` to out/onnx/<family>/<name>.onnx (weights stripped); returns its record."""
    import onnx
    import torch
    from younger_graph.loaders.zoo import export_zoo_model, strip_weights

    from younger_graph.atomic import write_bytes

    torch.set_num_threads(1)
    torch.manual_seed(0)
    dest = out / "onnx" / job["family"] / f"{job['name']}.onnx"
    start = time.perf_counter()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    try:
        with _silenced(), tempfile.TemporaryDirectory(prefix="corpus-") as tmp:
            if "ref" in job:
                model = export_zoo_model(job["ref"])
            else:
                path = Path(tmp) / "model.onnx"
                _export_transformers(job, path)
                model = onnx.load(str(path), load_external_data=True)
            write_bytes(dest, strip_weights(model).SerializeToString())
        return {**job, "status": "ok", "nodes": len(model.graph.node), "seconds": time.perf_counter() - start}
    except BaseException as exc:  # third-party exporters fail in every shape; one model never stops the run
        reason = "timeout" if isinstance(exc, Timeout) else f"{type(exc).__name__}: {str(exc).strip()[:200]}"
        return {**job, "status": "failed", "error": reason.splitlines()[0] if reason else "error",
                "seconds": time.perf_counter() - start}
    finally:
        signal.alarm(0)


def _export_star(args: tuple[dict[str, Any], Path, int]) -> dict[str, Any]:
    return export_one(*args)


def export_all(jobs: list[dict[str, Any]], out: Path, workers: int, timeout: int, retry: bool) -> list[dict[str, Any]]:
    """Export what is missing (and, with `retry`, what failed before); returns every job's record."""
    log_path = out / "exports.jsonl"
    records: dict[str, dict[str, Any]] = {}
    if log_path.exists():
        for line in log_path.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            records[f"{rec['family']}/{rec['name']}"] = rec
    todo = []
    for job in jobs:
        key = f"{job['family']}/{job['name']}"
        done = (out / "onnx" / job["family"] / f"{job['name']}.onnx").exists()
        if done or (key in records and records[key]["status"] == "failed" and not retry):
            continue
        todo.append(job)
    print(f"exporting {len(todo)} of {len(jobs)} models ({len(jobs) - len(todo)} cached)", flush=True)
    ctx = mp.get_context("spawn")
    with ctx.Pool(workers, maxtasksperchild=200) as pool, open(log_path, "a", encoding="utf-8") as log:
        for i, rec in enumerate(pool.imap_unordered(_export_star, [(j, out, timeout) for j in todo]), 1):
            records[f"{rec['family']}/{rec['name']}"] = rec
            log.write(json.dumps(rec) + "\n")
            log.flush()
            state = f"{rec.get('nodes')} nodes" if rec["status"] == "ok" else rec["error"][:80]
            print(f"  [{i}/{len(todo)}] {rec['family']}/{rec['name']}: {state} ({rec['seconds']:.1f} s)", flush=True)
    return [records.get(f"{j['family']}/{j['name']}", {**j, "status": "ok"}) for j in jobs]


# -- extract, load, communities ----------------------------------------------------------------------------
def build_store(out: Path, workers: int) -> dict[str, Any]:
    from younger_graph.communities import compute_communities
    from younger_graph.extract import extract
    from younger_graph.store import open_store

    timings: dict[str, float] = {}
    start = time.perf_counter()
    summary = extract([str(out / "onnx")], out / "tables", workers=workers)
    timings["extract"] = time.perf_counter() - start
    start = time.perf_counter()
    with open_store(out / "corpus.db", write=True) as store:
        store.load(out / "tables")
        timings["load"] = time.perf_counter() - start
        start = time.perf_counter()
        communities = compute_communities(store, "cnm")
        timings["communities"] = time.perf_counter() - start
        counts = store.run("MATCH (g:Graph) RETURN count(g) AS graphs, sum(g.num_operators) AS operators, "
                           "sum(g.num_nodes) AS nodes, sum(g.num_edges) AS edges").iloc[0].to_dict()
        sizes = store.run("MATCH (g:Graph) RETURN g.num_operators AS n")["n"].to_numpy()
        models = int(store.run("MATCH (m:Model) RETURN count(m) AS n")["n"].iloc[0])
    return {"extract": {"ok": summary.ok, "failed": summary.failed, "duplicates": summary.duplicates,
                        "errors": [list(e) for e in summary.errors][:50]},
            "communities": str(communities), "timings": timings,
            "counts": {k: int(v) for k, v in counts.items()} | {"models": models},
            "operators_per_graph": {f"p{q}": int(np.percentile(sizes, q)) for q in (10, 50, 90, 99)}
            | {"mean": float(sizes.mean()), "max": int(sizes.max()), "min": int(sizes.min())}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--workers", type=int, default=1, help="export and extraction processes")
    p.add_argument("--timeout", type=int, default=300, help="seconds one export may take")
    p.add_argument("--retry", action="store_true", help="export again the models that failed before")
    p.add_argument("--quick", action="store_true", help="smoke mode: bert, gpt2 and vit at depths 2 and 3")
    p.add_argument("--json", type=Path)
    a = p.parse_args(argv)
    out = a.out if not a.quick or a.out != DEFAULT_OUT else BENCH_DIR / "baselines-corpus-quick"
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    jobs = plan(a.quick)
    records = export_all(jobs, out, a.workers, a.timeout, a.retry)
    export_seconds = time.perf_counter() - start
    built = build_store(out, a.workers)
    failed = [r for r in records if r["status"] != "ok"]
    families = {f: sum(1 for r in records if r["family"] == f and r["status"] == "ok")
                for f in ("transformers", "timm", "torchvision")}
    manifest = {"corpus_version": CORPUS_VERSION, "out": str(out), "quick": a.quick, "planned": len(jobs),
                "exported": families, "failed": [{"name": f"{r['family']}/{r['name']}", "error": r["error"]}
                                                 for r in failed],
                "export_seconds": export_seconds, **built, "seconds": time.perf_counter() - start,
                "peak_rss_mb": peak_rss_mb()}
    from younger_graph.atomic import write_text

    write_text(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    c = built["counts"]
    print_table(["what", "count"], [["models exported", sum(families.values())], ["failed exports", len(failed)],
                                    ["graphs", c["graphs"]], ["operators", c["operators"]], ["edges", c["edges"]]],
                title=f"baselines corpus → {out}")
    print("operators per graph: " + ", ".join(f"{k} {fmt(v)}" for k, v in built["operators_per_graph"].items()))
    write_json(a.json, manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
