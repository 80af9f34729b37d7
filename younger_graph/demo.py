"""The README demo: shipped sample → tables → embedded store → a few library queries → stats report
→ dense generation export. `run_demo` returns what it made; `on_step` hears about each step as it
happens (the CLI prints them)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from younger_graph import atomic
from younger_graph.errors import UsageError
from younger_graph.export.dense import export_dense
from younger_graph.extract import extract
from younger_graph.resources import shipped_dir
from younger_graph.stats import compute_stats, render_html
from younger_graph.store import open_store

DEMO_QUERIES = [
    ("overview", {}),
    ("op_histogram", {"top": 15}),
    ("top_paths_2", {"top": 10}),
    ("shared_architectures", {}),
    ("graphs_by_task", {}),
]

# on_step(kind, text, frame): kind "line" (text: a summary line) or "query" (text: the query name, frame its rows)
Step = Callable[[str, str, Any], None]


@dataclass
class DemoResult:
    out: Path
    tables: Path
    db: Path
    report: Path
    dense: Path
    queries: dict[str, Any] = field(default_factory=dict)  # query name → DataFrame (also <out>/<name>.csv)
    stats: dict[str, Any] = field(default_factory=dict)


def sample_dir() -> Path:
    """sample/ inside the installed package (wheel) or at the repository root (checkout)."""
    found = shipped_dir("sample")
    if found is None:
        raise UsageError("the shipped sample is missing; pass --sample DIR")
    return found


def run_demo(out: str | Path = "demo-output", sample: str | Path | None = None, workers: int | None = None,
             on_step: Step | None = None) -> DemoResult:
    out = Path(out)
    sample = Path(sample) if sample else sample_dir()
    result = DemoResult(out, out / "tables", out / "younger-graph.db", out / "report.html", out / "dense")
    step = on_step or (lambda kind, text, frame: None)
    out.mkdir(parents=True, exist_ok=True)
    meta = sample / "meta.csv"
    summary = extract([sample], result.tables, workers=workers, meta=meta if meta.exists() else None)
    step("line", f"[bold]extract[/bold] {summary.line()} → {result.tables}", None)
    if result.db.exists():  # the demo always rebuilds its own store
        shutil.rmtree(result.db) if result.db.is_dir() else result.db.unlink()
    with open_store(result.db, write=True) as store:
        step("line", f"[bold]load[/bold] {store.load(result.tables).line()} → {result.db}", None)
    with open_store(result.db) as store:
        for name, params in DEMO_QUERIES:
            df = store.query(name, **params)
            result.queries[name] = df
            step("query", name, df)
            atomic.write_text(out / f"{name}.csv", df.to_csv(index=False))
        doc = compute_stats(store)
        dense = export_dense(store, result.dense)
    result.stats = doc
    atomic.write_text(result.report, render_html(doc))
    ov = doc["overview"]
    step("line", f"[bold]stats[/bold] {ov['models']} models, {ov['graphs']} architectures, {ov['op_types']} operator "
                 f"types, median {doc['sizes']['operators']['median']:g} operators per graph → {result.report}", None)
    limit = dense["options"]["max_nodes"]
    step("line", f"[bold]export dense[/bold] {dense['counts']['graphs']} graphs of ≤ {limit} nodes "
                 f"→ {result.dense} ({', '.join(dense['files'])})", None)
    step("line", f"[green]done[/green]: tables in {result.tables}, store in {result.db}, query results in "
                 f"{out}/*.csv, stats report in {result.report}, generation dataset in {result.dense}", None)
    return result
