"""Extraction speed: our CLI (-j 1, -j 2) against the touch floor and Younger's own converter.

Usage:
    python benchmarks/extract.py [--json out.json] [--repeat 3] [--quick] [--profile]

The corpus (built once, cached under .bench/corpus/) is real models WITH weights: ~35 zoo models
exported from torchvision/timm/transformers (small configs) by `younger_graph.loaders.zoo.export_zoo_model`,
plus every `model.onnx` shipped in the onnx package's backend test data. Each contender runs as a
whole process (interpreter start and imports included), timed by wall clock, `--repeat` times
(median kept), over exactly the same files:

* ours-j1 / ours-j2: `younger-graph extract CORPUS --out FRESH -j N` (writes the four tables);
* touch floor: a minimal script that `onnx.load(path, load_external_data=False)`s every file and
  reads every node's op_type/domain/inputs/outputs, recursing into subgraph attributes;
* younger: Younger's converter, `younger-logics-ir` 0.1.0 in its own venv (.bench/younger-venv),
  `younger_logics_ir.converters.onnx2ir.io.load_model` then `younger_logics_ir.converters.convert`.

Each contender is also run on no files (`--repeat` times): that start-up cost (interpreter,
imports, empty tables) is reported, and the marginal cost per model (median minus start-up). CPU
seconds (user + system of the process and its workers) are reported too: on a busy machine they
move far less than wall time.

Targets (wall-clock ratios within this run): ours-j1 / touch floor <= 1.5; younger / ours-j1 >= 10;
ours-j1 / ours-j2 >= 1.7. When one is missed (or with --profile) the extraction is profiled with
cProfile (`younger_graph.extract.extract(corpus, out, workers=1)` in a child process) and the
hot spots are printed and stored in the JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    BENCH_DIR,
    cli_executable,
    fmt,
    machine,
    median,
    print_table,
    quiet_env,
    ratio,
    run_timed,
    target_row,
    write_json,
)

# Exported with their (random) weights; big enough to exercise protobuf parsing, small enough to
# build the corpus in a few minutes on two cores. A ref that fails to export is skipped (noted).
ZOO_REFS = [
    "torchvision:resnet18", "torchvision:resnet50", "torchvision:mobilenet_v2",
    "torchvision:mobilenet_v3_small", "torchvision:mobilenet_v3_large", "torchvision:squeezenet1_0",
    "torchvision:shufflenet_v2_x1_0", "torchvision:efficientnet_b0", "torchvision:densenet121",
    "torchvision:googlenet", "torchvision:regnet_y_400mf", "torchvision:mnasnet0_5",
    "torchvision:convnext_tiny", "torchvision:swin_t", "torchvision:lraspp_mobilenet_v3_large",
    "torchvision:ssdlite320_mobilenet_v3_large",
    "timm:resnet10t", "timm:convnext_atto", "timm:efficientnet_lite0", "timm:mobilevitv2_050",
    "timm:vit_tiny_patch16_224", "timm:deit_tiny_patch16_224", "timm:levit_128s", "timm:ghostnet_100",
    "timm:regnetx_002", "timm:edgenext_xx_small", "timm:tinynet_a",
    "transformers:bert", "transformers:gpt2", "transformers:t5", "transformers:distilbert",
    "transformers:vit", "transformers:albert", "transformers:bart", "transformers:electra",
    "transformers:llama", "transformers:mistral", "transformers:roberta",
]
QUICK_BACKEND_MODELS = 5

YOUNGER_VENV = BENCH_DIR / "younger-venv"

TOUCH_SCRIPT = textwrap.dedent('''
    """Touch floor: the least any Python extractor must do with each file."""
    import sys

    import onnx

    GRAPH, GRAPHS = onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS


    def walk(graph):
        n = 0
        for node in graph.node:
            _ = (node.op_type, node.domain, tuple(node.input), tuple(node.output))
            n += 1
            for attr in node.attribute:
                if attr.type == GRAPH:
                    n += walk(attr.g)
                elif attr.type == GRAPHS:
                    for sub in attr.graphs:
                        n += walk(sub)
        return n


    nodes = failed = 0
    with open(sys.argv[1], encoding="utf-8") as fh:
        paths = [p for p in fh.read().splitlines() if p]
    for path in paths:
        try:
            model = onnx.load(path, load_external_data=False)
        except Exception:
            failed += 1
            continue
        nodes += walk(model.graph)
        for function in model.functions:
            nodes += walk(function)
    print(f"{len(paths)} files, {nodes} nodes, {failed} failed")
''')

YOUNGER_SCRIPT = textwrap.dedent('''
    """Younger's converter (younger-logics-ir 0.1.0) over a list of files."""
    import json
    import logging
    import pathlib
    import sys
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)

    from younger_logics_ir.converters import convert
    from younger_logics_ir.converters.onnx2ir.io import load_model

    ok = failed = nodes = 0
    errors = {}
    with open(sys.argv[1], encoding="utf-8") as fh:
        paths = [p for p in fh.read().splitlines() if p]
    for path in paths:
        try:
            logicx = convert(load_model(pathlib.Path(path)))
            nodes += logicx.dag.number_of_nodes()
            ok += 1
        except Exception as exc:
            failed += 1
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
    print(json.dumps({"files": len(paths), "ok": ok, "failed": failed, "nodes": nodes, "errors": errors}))
''')

PROFILE_SCRIPT = textwrap.dedent('''
    import cProfile
    import sys

    from younger_graph.extract import extract

    corpus, out, stats = sys.argv[1:4]
    profiler = cProfile.Profile()
    profiler.enable()
    extract([corpus], out, workers=1)
    profiler.disable()
    profiler.dump_stats(stats)
''')


# -- corpus -------------------------------------------------------------------------------------
def backend_models() -> list[Path]:
    import onnx

    data = Path(onnx.__file__).resolve().parent / "backend" / "test" / "data"
    return sorted(data.rglob("model.onnx")) if data.is_dir() else []


def _backend_name(path: Path) -> str:
    parts = path.parent.parts
    return f"{parts[-2]}__{parts[-1]}.onnx"  # e.g. simple__test_sign_model.onnx


def build_corpus(corpus: Path, zoo_refs: list[str], backend_limit: int | None) -> dict[str, Any]:
    """Create (or top up) the corpus folder; returns what it holds and what could not be exported."""
    zoo_dir, backend_dir = corpus / "zoo", corpus / "backend"
    backend_dir.mkdir(parents=True, exist_ok=True)
    sources = backend_models()
    if backend_limit is not None:
        sources = sources[:backend_limit]
    for src in sources:
        dest = backend_dir / _backend_name(src)
        if not dest.exists():
            shutil.copyfile(src, dest)
    failed: dict[str, str] = {}
    failed_file = corpus / "zoo-failed.json"
    if failed_file.exists():
        failed = json.loads(failed_file.read_text(encoding="utf-8"))
    todo = [r for r in zoo_refs
            if r not in failed and not (zoo_dir / (r.replace(":", "_") + ".onnx")).exists()]
    if todo:
        zoo_dir.mkdir(parents=True, exist_ok=True)
        try:
            import onnx
            from younger_graph.loaders.zoo import export_zoo_model
        except ImportError as exc:
            print(f"zoo export unavailable ({exc}); the corpus has no zoo models")
            todo = []
        for i, ref in enumerate(todo, 1):
            print(f"  exporting {ref} ({i}/{len(todo)}) ...", flush=True)
            dest = zoo_dir / (ref.replace(":", "_") + ".onnx")
            try:
                model = export_zoo_model(ref)
                tmp = dest.with_suffix(".tmp")
                onnx.save(model, str(tmp))
                tmp.replace(dest)
            except Exception as exc:  # third-party exporters fail in every shape
                failed[ref] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
                print(f"    skipped: {failed[ref]}")
            finally:
                gc.collect()
        failed_file.write_text(json.dumps(failed, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    files = corpus_files(corpus)
    return {
        "path": str(corpus),
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
        "zoo_models": len(list(zoo_dir.glob("*.onnx"))) if zoo_dir.exists() else 0,
        "backend_models": len(list(backend_dir.glob("*.onnx"))),
        "zoo_export_failed": {r: e for r, e in failed.items() if r in zoo_refs},
    }


def corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*.onnx") if p.is_file())


# -- contenders ---------------------------------------------------------------------------------
def younger_python() -> Path | None:
    python = YOUNGER_VENV / "bin" / "python"
    if not python.exists():
        return None
    probe = subprocess.run([str(python), "-c", "import younger_logics_ir.converters"], capture_output=True)
    return python if probe.returncode == 0 else None


def time_contenders(corpus: Path, files: list[Path], work: Path, repeat: int, use_younger: bool,
                    workers: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    env = quiet_env()
    listing = work / "files.txt"
    listing.write_text("\n".join(str(f) for f in files) + "\n", encoding="utf-8")
    touch = work / "touch_floor.py"
    touch.write_text(TOUCH_SCRIPT, encoding="utf-8")
    younger = work / "younger_convert.py"
    younger.write_text(YOUNGER_SCRIPT, encoding="utf-8")
    ypython = younger_python() if use_younger else None

    contenders: dict[str, Any] = {}
    for n in workers:
        contenders[f"ours-j{n}"] = None  # command built per run (fresh out dir)
    contenders["touch-floor"] = [sys.executable, str(touch), str(listing)]
    if ypython is not None:
        contenders["younger"] = [str(ypython), str(younger), str(listing)]
    notes: dict[str, Any] = {}
    if use_younger and ypython is None:
        notes["younger"] = (f"skipped: no working venv at {YOUNGER_VENV} (see benchmarks/README.md "
                            "for how to create it)")
        print(f"younger: {notes['younger']}")

    runs: dict[str, list[float]] = {name: [] for name in contenders}
    cpus: dict[str, list[float]] = {name: [] for name in contenders}
    empty_runs: dict[str, list[float]] = {name: [] for name in contenders}
    empty_dir = work / "empty-corpus"
    empty_dir.mkdir(exist_ok=True)
    empty_listing = work / "no-files.txt"
    empty_listing.write_text("", encoding="utf-8")

    def command(name: str, template: list[str] | None, tag: str, empty: bool) -> tuple[list[str], tuple[int, ...]]:
        if template is None:
            out = work / f"out-{name}-{tag}"
            shutil.rmtree(out, ignore_errors=True)
            source = empty_dir if empty else corpus
            # exit 1: some models failed to extract (they are rows with status=error)
            return [*cli_executable(), "extract", str(source), "--out", str(out), "-j", name.split("-j")[1]], (0, 1)
        return ([*template[:-1], str(empty_listing)] if empty else template), (0,)

    for r in range(repeat):
        # Interleave the contenders in each round so drifting machine load hits all of them alike.
        for name, template in contenders.items():
            cmd, ok_codes = command(name, template, str(r), empty=False)
            elapsed, cpu, proc = run_timed(cmd, env=env, ok_codes=ok_codes)
            runs[name].append(elapsed)
            cpus[name].append(cpu)
            last = (proc.stdout.strip().splitlines() or [""])[-1]
            notes.setdefault(f"{name}-output", last)
            print(f"  round {r + 1}/{repeat}  {name:<12} {elapsed:7.2f} s wall {cpu:7.2f} s cpu   {last[:80]}",
                  flush=True)
    # Fixed cost of each contender (interpreter, imports, writing empty tables): the same command
    # on no files. Subtracting it gives the marginal cost per model.
    for r in range(repeat):
        for name, template in contenders.items():
            cmd, ok_codes = command(name, template, f"empty-{r}", empty=True)
            empty_runs[name].append(run_timed(cmd, env=env, ok_codes=ok_codes)[0])
    timings = {}
    for name, times in runs.items():
        startup = median(empty_runs[name])
        timings[name] = {
            "runs_s": times, "median_s": median(times), "ms_per_model": median(times) * 1000 / len(files),
            "cpu_runs_s": cpus[name], "cpu_median_s": median(cpus[name]),
            "startup_runs_s": empty_runs[name], "startup_median_s": startup,
            "marginal_ms_per_model": max(median(times) - startup, 0.0) * 1000 / len(files),
        }
    if "younger-output" in notes:
        with contextlib.suppress(json.JSONDecodeError, KeyError):
            notes["younger-result"] = json.loads(notes["younger-output"])
    return timings, notes


def profile_extraction(corpus: Path, work: Path, top: int = 25) -> dict[str, Any]:
    """cProfile of extract(..., workers=1) in a child process; hot spots by own time and cumulative."""
    script = work / "profile_extract.py"
    script.write_text(PROFILE_SCRIPT, encoding="utf-8")
    stats_file = work / "extract.prof"
    out = work / "out-profile"
    shutil.rmtree(out, ignore_errors=True)
    run_timed([sys.executable, str(script), str(corpus), str(out), str(stats_file)], env=quiet_env())
    stats = pstats.Stats(str(stats_file))
    total = stats.total_tt  # type: ignore[attr-defined]
    entries = []
    for (file, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        entries.append({
            "function": f"{_short(file)}:{line}({func})",
            "calls": ncalls,
            "own_s": tottime,
            "own_share": tottime / total if total else 0.0,
            "cum_s": cumtime,
            "cum_share": cumtime / total if total else 0.0,
        })
    by_own = sorted(entries, key=lambda e: e["own_s"], reverse=True)[:top]
    ours = [e for e in entries if "younger_graph" in e["function"]]
    by_cum = sorted(ours, key=lambda e: e["cum_s"], reverse=True)[:top]
    return {"total_s": total, "by_own_time": by_own, "younger_graph_by_cumulative": by_cum,
            "stats_file": str(stats_file)}


def _short(file: str) -> str:
    for marker in ("site-packages/", "younger_graph/", "lib/python"):
        if marker in file:
            head = "younger_graph/" if marker == "younger_graph/" else ""
            return head + file.split(marker, 1)[1]
    return file


# -- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="write the result here")
    parser.add_argument("--corpus", type=Path, help="corpus folder (default .bench/corpus, quick: .bench/corpus-quick)")
    parser.add_argument("--repeat", type=int, help="runs per contender, median kept (default 3, quick 1)")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke mode: {QUICK_BACKEND_MODELS} backend models, no zoo, one run each")
    parser.add_argument("--no-zoo", action="store_true", help="backend test models only")
    parser.add_argument("--no-younger", action="store_true", help="skip Younger's converter")
    parser.add_argument("--profile", action="store_true", help="profile our extraction even if targets are met")
    parser.add_argument("--no-profile", action="store_true", help="never profile")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (outputs, scripts, profile)")
    args = parser.parse_args(argv)

    quick = args.quick
    corpus = args.corpus or BENCH_DIR / ("corpus-quick" if quick else "corpus")
    repeat = args.repeat or (1 if quick else 3)
    zoo_refs = [] if (quick or args.no_zoo) else ZOO_REFS
    print(f"corpus: {corpus}")
    info = build_corpus(corpus, zoo_refs, QUICK_BACKEND_MODELS if quick else None)
    files = corpus_files(corpus)
    if not files:
        print("the corpus is empty: the onnx package ships no backend models and no zoo model exported")
        return 2
    print(f"corpus: {info['files']} files ({info['zoo_models']} zoo, {info['backend_models']} backend), "
          f"{info['bytes'] / 2**20:.1f} MiB")

    work = Path(tempfile.mkdtemp(prefix="bench-extract-", dir=BENCH_DIR if BENCH_DIR.exists() else None))
    try:
        timings, notes = time_contenders(corpus, files, work, repeat, not args.no_younger, [1, 2])
        ours1 = timings["ours-j1"]["median_s"]
        ratios = {
            "ours_j1_over_touch_floor": ratio(ours1, timings["touch-floor"]["median_s"]),
            "younger_over_ours_j1": ratio(timings.get("younger", {}).get("median_s"), ours1),
            "ours_j1_over_ours_j2": ratio(ours1, timings["ours-j2"]["median_s"]),
            # The same ratios in CPU seconds (informative: less sensitive to a busy machine).
            "cpu_ours_j1_over_touch_floor": ratio(timings["ours-j1"]["cpu_median_s"],
                                                  timings["touch-floor"]["cpu_median_s"]),
            "cpu_younger_over_ours_j1": ratio(timings.get("younger", {}).get("cpu_median_s"),
                                              timings["ours-j1"]["cpu_median_s"]),
            # Per-model cost once each process's fixed start-up cost is taken off (informative).
            "marginal_ours_j1_over_touch_floor": ratio(timings["ours-j1"]["marginal_ms_per_model"],
                                                       timings["touch-floor"]["marginal_ms_per_model"]),
            "marginal_younger_over_ours_j1": ratio(timings.get("younger", {}).get("marginal_ms_per_model"),
                                                   timings["ours-j1"]["marginal_ms_per_model"]),
        }
        targets = [
            target_row("ours-j1 / touch floor", ratios["ours_j1_over_touch_floor"], "<=", 1.5),
            target_row("younger / ours-j1", ratios["younger_over_ours_j1"], ">=", 10),
            target_row("ours-j1 / ours-j2", ratios["ours_j1_over_ours_j2"], ">=", 1.7),
        ]
        print_table(["contender", "median s", "ms/model", "cpu s", "start-up s", "marginal ms/model", "runs (s)"],
                    [[n, t["median_s"], t["ms_per_model"], t["cpu_median_s"], t["startup_median_s"],
                      t["marginal_ms_per_model"], " ".join(f"{x:.2f}" for x in t["runs_s"])]
                     for n, t in timings.items()],
                    title=f"extraction of {len(files)} files, whole process, median of {repeat}")
        print_table(["ratio", "value", "target", "met"], targets, title="targets (wall clock)")
        print(f"in CPU seconds: ours-j1 / touch floor {fmt(ratios['cpu_ours_j1_over_touch_floor'])}, "
              f"younger / ours-j1 {fmt(ratios['cpu_younger_over_ours_j1'])}; per model without start-up: "
              f"ours-j1 / touch floor {fmt(ratios['marginal_ours_j1_over_touch_floor'])}, "
              f"younger / ours-j1 {fmt(ratios['marginal_younger_over_ours_j1'])}; "
              f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
        missed = [row[0] for row in targets if row[3] is False]
        profile = None
        if not args.no_profile and (args.profile or (missed and not quick)):
            print(f"\nprofiling extract(..., workers=1){' (missed: ' + ', '.join(missed) + ')' if missed else ''}")
            profile = profile_extraction(corpus, work)
            print_table(["function (own time)", "calls", "own s", "share"],
                        [[e["function"][-70:], e["calls"], e["own_s"], f"{e['own_share']:.1%}"]
                         for e in profile["by_own_time"][:15]],
                        title=f"hot spots by own time (total {profile['total_s']:.2f} s)")
            print_table(["younger_graph function (cumulative)", "calls", "cum s", "share"],
                        [[e["function"][-70:], e["calls"], e["cum_s"], f"{e['cum_share']:.1%}"]
                         for e in profile["younger_graph_by_cumulative"][:15]],
                        title="younger_graph functions by cumulative time")
        result = {
            "benchmark": "extract",
            "quick": quick,
            "machine": machine(),
            "repeat": repeat,
            "corpus": info,
            "timings": timings,
            "ratios": ratios,
            "targets": {row[0]: {"value": row[1], "target": row[2], "met": row[3]} for row in targets},
            "missed": missed,
            "notes": notes,
            "profile": profile,
        }
        write_json(args.json, result)
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
