"""The ONNX walker alone: this checkout's against another revision's, in the same run.

Usage:
    python benchmarks/walk.py [--rev 8ed7b8c] [--repeat 9] [--quick] [--json out.json]

The corpus is the shipped sample/ and every ONNX backend test model of the installed onnx package,
parsed once (lean: without tensor payloads), so only `model_to_builder` is timed: what changes when
the walker changes. The baseline is `younger_graph/walk/onnx_walker.py` as it was at `--rev` (read
with `git show`), imported beside this checkout's helpers, and timed in interleaved rounds with the
current walker (drifting load on the machine hits both alike); min and median of the rounds are
reported. Also timed: the expanded-node count alone (walk/onnx_walker.expanded_node_count), which
the walker runs only for models with local functions or too big to skip it.

Target (ratio in this run): current / baseline walker <= 1.05 (min of the rounds): the issue #11
hardening (invalid UTF-8 handling, the node budget, empty op_type) must cost nothing noticeable on
valid models.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPO, fmt, machine, median, print_table, ratio, write_json

TARGET = 1.05


def corpus(quick: bool) -> list[Any]:
    import onnx
    from younger_graph.loaders.onnx_files import parse_model

    from younger_graph.walk.onnx_walker import model_to_builder

    backend = Path(onnx.__file__).resolve().parent / "backend" / "test" / "data"
    paths = sorted((REPO / "sample").glob("*.onnx")) + sorted(backend.rglob("*.onnx"))
    if quick:
        paths = paths[:8]
    models = []
    for path in paths:
        data = path.read_bytes()
        try:
            model = parse_model(data)
            model_to_builder(model, len(data))
        except Exception:
            continue
        models.append((model, len(data)))
    return models


def baseline_walker(rev: str) -> Any:
    text = subprocess.run(["git", "show", f"{rev}:younger_graph/walk/onnx_walker.py"], cwd=REPO, check=True,
                          capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="yg-walk-")) / "baseline_walker.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("baseline_walker", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", default="8ed7b8c", help="the revision whose walker is the baseline")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="8 models, 2 rounds (smoke test)")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args()
    repeat = 2 if args.quick else args.repeat

    from younger_graph.walk import onnx_walker as current

    models = corpus(args.quick)
    old = baseline_walker(args.rev)
    times: dict[str, list[float]] = {"current": [], "baseline": [], "count": []}
    for _ in range(repeat):
        for name in ("baseline", "current"):
            for module in (old, current):
                module._ATTRS_CACHE.clear()  # each round starts cold, as a new process would
            start = time.perf_counter()
            for model, size in models:
                if name == "current":
                    current.model_to_builder(model, size)
                else:
                    old.model_to_builder(model)
            times[name].append(time.perf_counter() - start)
        start = time.perf_counter()
        for model, _ in models:
            current.expanded_node_count(model)
        times["count"].append(time.perf_counter() - start)

    summary = {k: {"min": min(v), "median": median(v)} for k, v in times.items()}
    ratios = {
        "current_over_baseline_min": ratio(summary["current"]["min"], summary["baseline"]["min"]),
        "current_over_baseline_median": ratio(summary["current"]["median"], summary["baseline"]["median"]),
        "count_over_walk_min": ratio(summary["count"]["min"], summary["current"]["min"]),
    }
    print_table(["contender", "min s", "median s"],
                [[k, fmt(v["min"], 4), fmt(v["median"], 4)] for k, v in summary.items()],
                title=f"walk of {len(models)} models, {repeat} rounds (baseline: {args.rev})")
    print(f"current / baseline walker: {fmt(ratios['current_over_baseline_min'], 3)} (min), "
          f"{fmt(ratios['current_over_baseline_median'], 3)} (median); target <= {TARGET}")
    print(f"expanded-node count alone / walk: {fmt(ratios['count_over_walk_min'], 3)}")
    missed = [] if (ratios["current_over_baseline_min"] or 0) <= TARGET else ["current_over_baseline_min"]
    write_json(args.json, {"benchmark": "walk", "quick": args.quick, "machine": machine(), "rev": args.rev,
                           "models": len(models), "rounds": repeat, "timings": summary, "ratios": ratios,
                           "targets": {"current_over_baseline_min": TARGET}, "missed": missed})
    return 0


if __name__ == "__main__":
    sys.exit(main())
