"""The whole pipeline at Younger scale and past it: time, peak RSS and disk per step (docs/scale.md).

Usage:
    python benchmarks/scale.py [--scales 1,4] [--steps load,stats,export] [--json out.json] [--keep]
    python benchmarks/scale.py --quick --json /tmp/scale.json          # scales 0.001 and 0.002, no export

For each scale (1 = Younger: ~7.6k graphs, 12.6M operators, 16M edges), in order:

* tables: `benchmarks/synth.py` builds (or reuses) the synthetic Younger-shaped tables; this stands in
  for extraction, which has its own benchmark (`extract.py`) and native core (issue #12);
* load: `younger-graph load TABLES --db DB` into a new embedded store (the bulk path);
* stats: `younger-graph stats --db DB --format json --out FILE`;
* export: `younger-graph export pyg --task link --storage disk --out DIR --db DB`;
* neo4j-import: `younger-graph export neo4j-import TABLES --out DIR` (the files of a Neo4j bulk load).

Every step is the CLI in a child process, timed by wall clock; its peak RSS is the child's own
(`os.wait4` rusage), its disk the size of what it wrote. From two scales or more, each step's time,
peak RSS and disk are extrapolated linearly to 100x Younger, and the first step that would not fit
this machine (its RAM, or its free disk) is named. A step that fails or runs past --step-timeout is
reported with where it stopped, and the larger scales are skipped.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synth
from common import BENCH_DIR, SAMPLE_DIR, cli_executable, fmt, machine, print_table, quiet_env, write_json

STEPS = ("load", "stats", "export", "neo4j-import")
TARGET_SCALE = 100


def step_command(step: str, tables: Path, work: Path) -> list[str]:
    db = str(work / "store.db")
    return {
        "load": ["load", str(tables), "--db", db],
        "stats": ["stats", "--db", db, "--format", "json", "--out", str(work / "stats.json")],
        "export": ["export", "pyg", "--task", "link", "--storage", "disk", "--out", str(work / "pyg"), "--db", db],
        "neo4j-import": ["export", "neo4j-import", str(tables), "--out", str(work / "neo4j-import")],
    }[step]


def step_output(step: str, work: Path) -> Path:
    return work / {"load": "store.db", "stats": "stats.json", "export": "pyg", "neo4j-import": "neo4j-import"}[step]


def run_step(cmd: list[str], timeout: float) -> dict[str, Any]:
    """The command in a child process: wall seconds, its own peak RSS (MiB), exit code, stderr tail."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(cmd, stdout=devnull, stderr=subprocess.PIPE, env=quiet_env())
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            return {"status": "timeout", "seconds": time.perf_counter() - start,
                    "peak_rss_mb": usage.ru_maxrss / 1024}
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    return {"status": "ok" if code == 0 else "failed", "code": code, "seconds": seconds,
            "peak_rss_mb": usage.ru_maxrss / 1024, "stderr_tail": stderr.strip().splitlines()[-3:]}


def size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    total = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0
    return total / 2**20


def run_scale(scale: float, steps: list[str], args: argparse.Namespace, done: list[dict[str, Any]]) -> dict[str, Any]:
    t0 = time.perf_counter()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    synth_out = args.synth_out / f"synth-scale{scale:g}-seed{args.seed}" if args.synth_out else None
    folder, manifest, reused = synth.ensure(args.source, synth_out, scale, args.seed, base_out=args.base_out)
    result: dict[str, Any] = {
        "scale": scale, "counts": manifest["counts"],
        "tables": {"seconds": time.perf_counter() - t0, "reused": reused, "disk_mb": size_mb(folder),
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                   "cpu_s": resource.getrusage(resource.RUSAGE_SELF).ru_utime - usage0.ru_utime},
        "steps": {},
    }
    print(f"scale {scale:g}: {manifest['counts']['operators']:,} operators, {manifest['counts']['edges']:,} edges "
          f"({'reused' if reused else 'built'} in {result['tables']['seconds']:.0f} s)", flush=True)
    work = (args.work or BENCH_DIR) / f"scale-{scale:g}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        for step in steps:
            r = run_step([*cli_executable(), *step_command(step, folder, work)], args.step_timeout)
            r["disk_mb"] = size_mb(step_output(step, work))
            r["free_disk_mb"] = shutil.disk_usage(work).free / 2**20
            result["steps"][step] = r
            print(f"  {step}: {r['status']} in {r['seconds']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MiB, "
                  f"{r['disk_mb']:.0f} MiB written", flush=True)
            if args.json:  # what is measured so far survives a run stopped later
                write_json(args.json, {"benchmark": "scale", "partial": True, "results": [*done, result]})
            if r["status"] != "ok":
                result["stopped_at"] = step
                break
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return result


def project(results: list[dict[str, Any]], steps: list[str]) -> dict[str, Any]:
    """Each step's seconds, peak RSS and disk, fitted a + b * scale over the scales measured, at 100x."""
    import numpy as np

    memory_mb = (machine().get("memory_gb") or 24) * 1024
    free_disk_mb = min((r["steps"][s]["free_disk_mb"] for r in results for s in r["steps"]), default=None)
    out: dict[str, Any] = {"scale": TARGET_SCALE, "steps": {}, "first_that_does_not_fit": None}
    ok = [r for r in results if not r.get("stopped_at")]
    for step in steps:
        points = [(r["scale"], r["steps"][step]) for r in ok if step in r["steps"]]
        if len(points) < 2:
            continue
        scales = np.array([p[0] for p in points], dtype=float)
        est = {}
        for key in ("seconds", "peak_rss_mb", "disk_mb"):
            values = np.array([p[1][key] for p in points], dtype=float)
            slope, intercept = np.polyfit(scales, values, 1)
            est[key] = float(intercept + slope * TARGET_SCALE)
        reasons = []
        if est["peak_rss_mb"] > memory_mb:
            reasons.append(f"peak RSS {est['peak_rss_mb'] / 1024:.0f} GiB > {memory_mb / 1024:.0f} GiB of RAM")
        if free_disk_mb is not None and est["disk_mb"] > free_disk_mb:
            reasons.append(f"writes {est['disk_mb'] / 1024:.0f} GiB > {free_disk_mb / 1024:.0f} GiB free disk")
        est["fits"] = not reasons
        est["why_not"] = reasons
        out["steps"][step] = est
        if reasons and out["first_that_does_not_fit"] is None:
            out["first_that_does_not_fit"] = step
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default=None, help="comma-separated scales (default 1,4; --quick 0.002,0.004)")
    parser.add_argument("--steps", help=f"subset of {','.join(STEPS)} (default all; --quick: all but export, whose "
                                        "torch import alone takes longer than the rest)")
    parser.add_argument("--from", dest="source", type=Path, default=SAMPLE_DIR, help="what synth.py samples from")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--synth-out", type=Path, help="where the synthetic tables go (default .bench/)")
    parser.add_argument("--base-out", type=Path, help="where synth.py extracts --from when it is a model folder")
    parser.add_argument("--work", type=Path, help="where stores and exports go (default .bench/)")
    parser.add_argument("--step-timeout", type=float, default=3 * 3600, help="seconds per step before it is stopped")
    parser.add_argument("--keep", action="store_true", help="keep the stores and exports")
    parser.add_argument("--quick", action="store_true", help="smoke mode: two tiny scales")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args(argv)
    scales = [float(s) for s in (args.scales or ("0.001,0.002" if args.quick else "1,4")).split(",")]
    default_steps = [s for s in STEPS if s != "export"] if args.quick else list(STEPS)
    steps = [s for s in args.steps.split(",") if s] if args.steps else default_steps
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown steps {sorted(unknown)}")
    results = []
    for scale in scales:
        result = run_scale(scale, steps, args, results)
        results.append(result)
        if result.get("stopped_at"):
            print(f"scale {scale:g} stopped at {result['stopped_at']}; larger scales skipped")
            break
    rows = []
    for r in results:
        rows.append([f"{r['scale']:g}", "tables (synth.py)", r["tables"]["seconds"], r["tables"]["peak_rss_mb"],
                     r["tables"]["disk_mb"], "reused" if r["tables"]["reused"] else "ok"])
        for step, s in r["steps"].items():
            rows.append([f"{r['scale']:g}", step, s["seconds"], s["peak_rss_mb"], s["disk_mb"], s["status"]])
    print_table(["scale", "step", "seconds", "peak RSS MiB", "disk MiB", "status"], rows, title="pipeline per step")
    projection = project(results, steps)
    if projection["steps"]:
        print_table(["step", f"seconds at {TARGET_SCALE}x", "peak RSS GiB", "disk GiB", "fits"],
                    [[step, e["seconds"], e["peak_rss_mb"] / 1024, e["disk_mb"] / 1024,
                      "yes" if e["fits"] else "; ".join(e["why_not"])] for step, e in projection["steps"].items()],
                    title=f"linear projection to {TARGET_SCALE}x Younger on this machine")
        print(f"first step that would not fit at {TARGET_SCALE}x: {projection['first_that_does_not_fit'] or 'none'}")
    print(f"load average at the end: {fmt(os.getloadavg()[0])}")
    write_json(args.json, {"benchmark": "scale", "machine": machine(), "quick": args.quick, "results": results,
                           "projection": projection, "load_average_end": os.getloadavg()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
