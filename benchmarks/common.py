"""Helpers the benchmark scripts share: paths, timing, tables, JSON results, machine notes.

Benchmarks measure speed; tests never assert it. Every figure a benchmark reports as a target is a
ratio against a baseline timed in the same run on the same machine, so noise on a shared machine
moves both sides together.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / ".bench"  # git-ignored cache: corpora, venvs, synthetic tables
SAMPLE_DIR = REPO / "sample"


def machine() -> dict[str, Any]:
    """A short description of where the figures were taken."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_timed(cmd: Sequence[str], *, env: dict[str, str] | None = None, ok_codes: Sequence[int] = (0,),
              cwd: str | Path | None = None) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run a whole process: (wall-clock s, CPU s of it and its children, the completed process).

    CPU seconds (user + system) are less sensitive than wall time to other load on the machine;
    they include every worker process. A bad exit status raises, with the output's tail.
    """
    cpu0 = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), capture_output=True, text=True, env=env, cwd=cwd)
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu0
    if proc.returncode not in ok_codes:
        tail = (proc.stdout[-2000:] + "\n" + proc.stderr[-4000:]).strip()
        raise RuntimeError(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{tail}")
    return elapsed, cpu, proc


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return numerator / denominator


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident set size of this process (or of its waited-for children) in MiB (Linux: KiB units)."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    kib = resource.getrusage(who).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None) -> None:
    """A plain fixed-width table (no colour, safe to paste into the README)."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in cells)) if cells else len(str(h))
              for i, h in enumerate(headers)]
    if title:
        print(f"\n{title}")
    line = "  ".join(str(h).ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))


def target_row(name: str, value: float | None, op: str, target: float) -> list[Any]:
    """[name, value, 'op target', met?] for the targets table."""
    met = None if value is None else (value <= target if op == "<=" else value >= target)
    return [name, value, f"{op} {target:g}", met]


def write_json(path: str | Path | None, result: dict[str, Any]) -> None:
    if not path:
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    print(f"\nresult written to {path}")


def cli_executable() -> list[str]:
    """The younger-graph CLI of the running interpreter's environment."""
    script = Path(sys.executable).with_name("younger-graph")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from younger_graph.cli import main; main()"]


def quiet_env(**extra: str) -> dict[str, str]:
    """Environment for timed subprocesses: no colours, no progress animation, single-threaded BLAS."""
    env = dict(os.environ)
    env.update(NO_COLOR="1", TERM="dumb", COLUMNS="120", PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1",
               **extra)
    env.pop("YOUNGER_GRAPH_DEBUG", None)
    return env
