"""The README demo: shipped sample → tables → embedded store → a few library queries → stats report."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from younger_graph.export.dense import export_dense
from younger_graph.extract import extract
from younger_graph.output import write_frame
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


def sample_dir() -> Path:
    """sample/ inside the installed package (wheel) or at the repository root (checkout)."""
    found = shipped_dir("sample")
    if found is None:
        raise FileNotFoundError("the shipped sample is missing; pass --sample DIR")
    return found


def run_demo(out: Path, sample: Path | None, workers: int | None, console: Console) -> None:
    sample = sample or sample_dir()
    tables, db = out / "tables", out / "younger-graph.db"
    out.mkdir(parents=True, exist_ok=True)
    meta = sample / "meta.csv"
    summary = extract([sample], tables, workers=workers, meta=meta if meta.exists() else None)
    console.print(f"[bold]extract[/bold] {summary.line()} → {tables}")
    if db.exists():  # the demo always rebuilds its own store
        shutil.rmtree(db) if db.is_dir() else db.unlink()
    with open_store(db, write=True) as store:
        console.print(f"[bold]load[/bold] {store.load(tables).line()} → {db}")
    with open_store(db) as store:
        for name, params in DEMO_QUERIES:
            df = store.query(name, **params)
            write_frame(df, "table", console=console, title=f"query {name}")
            df.to_csv(out / f"{name}.csv", index=False)
        doc = compute_stats(store)
        dense = export_dense(store, out / "dense")
    report = out / "report.html"
    report.write_text(render_html(doc), encoding="utf-8")
    ov = doc["overview"]
    console.print(f"[bold]stats[/bold] {ov['models']} models, {ov['graphs']} architectures, {ov['op_types']} operator "
                  f"types, median {doc['sizes']['operators']['median']:g} operators per graph → {report}")
    limit = dense["options"]["max_nodes"]
    console.print(f"[bold]export dense[/bold] {dense['counts']['graphs']} graphs of ≤ {limit} nodes "
                  f"→ {out / 'dense'} ({', '.join(dense['files'])})")
    console.print(f"[green]done[/green]: tables in {tables}, store in {db}, query results in {out}/*.csv, "
                  f"stats report in {report}, generation dataset in {out / 'dense'}")
