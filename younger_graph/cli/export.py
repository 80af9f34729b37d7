"""`export pyg`, `export dense`, `annotate`: the store as machine-learning datasets, and measurements in.

torch, torch_geometric and the export code are imported inside the commands, so the CLI works
without the `pyg` extra.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from younger_graph.cli.app import app, mirrors
from younger_graph.cli.options import (
    SUMMARY_FORMATS,
    AttrPropsOption,
    DbOption,
    PasswordOption,
    SummaryFormat,
    UserOption,
    ViewOption,
    WhereGraphsOption,
    check_choice,
    open_store,
    parse_params,
)
from younger_graph.cli.render import console, stage_progress, write_stdout
from younger_graph.errors import UsageError

export_app = typer.Typer(name="export", help="Export the store as machine-learning datasets (PyG, dense tensors), "
                                             "or tables as neo4j-admin import files.",
                         no_args_is_help=True, add_completion=False)

QueryOption = Annotated[str | None, typer.Option(
    "--query", help="Library query name, .cypher file or Cypher text returning a graph_id column: the graphs "
                    "to export (default: every graph).")]
ParamOption = Annotated[list[str] | None, typer.Option("--param", "-p", help="Parameter of --query, key=value "
                                                       "(repeatable).")]
VocabOption = Annotated[str, typer.Option("--vocab", help="Token view: attrs (op_type|domain|attributes) or "
                                                          "noattrs (op_type|domain).")]
MinCountOption = Annotated[int, typer.Option("--min-count", help="Tokens seen fewer times (in the training "
                                                                 "split) become <unk>.")]
SplitOption = Annotated[str, typer.Option("--split", help="train:val:test ratios.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Seed of the split (and of negative sampling).")]
SplitByOption = Annotated[str, typer.Option(
    "--split-by", help="graph (random over graphs) | arch (graphs linked by graph_id_noattr or graph_id_arch on one "
                       "side) | family | "
                       "task | origin | any Model metadata property (group k-fold: no group on two sides) | size "
                       "(train on the smallest graphs, test on the largest).")]
SplitsFileOption = Annotated[Path | None, typer.Option(
    "--splits", help="Reuse a frozen splits.json (written by every export) instead of splitting.")]
AttrFeaturesOption = Annotated[bool, typer.Option(
    "--attr-features", help="Add numeric attribute features per node (kernel_shape, strides, pads, group, "
                            "axis...; column names in meta.json attr_features).")]



def selection(query: str | None, param: list[str] | None, where: str | None) -> Any:
    from younger_graph.reading import Selection

    if param and not query:
        raise UsageError("--param needs --query")
    return Selection(query, parse_params(param), where)


def run_export(work: Any) -> Any:
    """`work(on_progress)` behind progress bars; a missing torch is one line naming the extra."""
    try:
        with stage_progress() as on_progress:
            return work(on_progress)
    except ImportError as exc:
        raise UsageError(f"{exc}; install the pyg extra: pip install 'younger-graph[pyg]'") from None


@export_app.command("pyg")
def pyg(
    out: Annotated[Path, typer.Option("--out", "-o", help="Dataset folder (raw/, processed/, vocab.json, "
                                                           "meta.json); replaced if present.")],
    task: Annotated[str, typer.Option("--task", help="link | operator | graph")] = "link",
    db: DbOption = None,
    query: QueryOption = None,
    param: ParamOption = None,
    where: WhereGraphsOption = None,
    vocab: VocabOption = "attrs",
    min_count: MinCountOption = 1,
    split: SplitOption = "8:1:1",
    seed: SeedOption = 1234,
    split_by: SplitByOption = "graph",
    splits: SplitsFileOption = None,
    target: Annotated[str | None, typer.Option("--target", help="Graph task: a Graph or Model property "
                                               "(task, num_operators, metric_accuracy...).")] = None,
    target_kind: Annotated[str, typer.Option("--target-kind", help="Graph task: auto (numbers → float, else "
                                             "classes) | class | float.")] = "auto",
    method: Annotated[str, typer.Option("--method", help="Operator task: the stored communities to use "
                                        "(`younger-graph communities --method ...`).")] = "cnm",
    keep_unseen: Annotated[bool, typer.Option("--keep-unseen", help="Keep val/test items with op types unseen "
                                              "in training (as <unk>) instead of removing them.")] = False,
    storage: Annotated[str, typer.Option("--storage", help="memory: processed/{split}.pt for YoungerDataset "
                                         "(InMemoryDataset) | disk: processed/ondisk/{split}.db for "
                                         "YoungerOnDiskDataset (OnDiskDataset, exports larger than "
                                         "memory).")] = "memory",
    attr_features: AttrFeaturesOption = False,
    view: ViewOption = "exact",
    fmt: SummaryFormat = "table",
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """A PyTorch Geometric dataset folder: link prediction, operator (community boundary) prediction or
    graph-level targets, split 8:1:1 (load with younger_graph.datasets.YoungerDataset, or YoungerOnDiskDataset
    with --storage disk)."""
    from younger_graph.export.raw import PygOptions, write_raw
    from younger_graph.export.vocab import parse_split

    check_choice("--format", fmt, SUMMARY_FORMATS)
    options = PygOptions(task=task, view=vocab, min_count=min_count, split=parse_split(split), seed=seed,
                         target=target, target_kind=target_kind, method=method, keep_unseen=keep_unseen,
                         storage=storage, attr_features=attr_features, split_by=split_by,
                         splits=str(splits) if splits else None, graph_view=view).check()
    sel = selection(query, param, where)
    with open_store(db, False, username, password) as store:
        run_export(lambda cb: write_raw(store, out, options, sel, on_progress=cb))

    def build(cb: Any) -> Any:
        from younger_graph.datasets import build_processed

        return build_processed(out, on_progress=cb)

    meta = run_export(build)  # the store is closed: less memory
    if fmt == "json":
        write_stdout(json.dumps(meta, indent=2, default=str) + "\n")
        return
    c = meta["counts"]
    removed = c.get("removed_unseen", {})
    typer.echo(f"{task}: train {c['items']['train']}, val {c['items']['val']}, test {c['items']['test']} "
               f"(removed for unseen op types: val {removed.get('val', 0)}, test {removed.get('test', 0)}); "
               f"vocabulary {c['vocab_size']} tokens; {c['graphs']} graphs read → {out}"
               + (" (on disk: processed/ondisk/)" if storage == "disk" else ""))

@export_app.command("dense")
def dense(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for dense.pt, dense.npz, vocab.json, "
                                                           "meta.json.")],
    db: DbOption = None,
    max_nodes: Annotated[int, typer.Option("--max-nodes", help="Graphs with at most this many nodes; N of "
                                           "the tensors.")] = 300,
    vocab: VocabOption = "noattrs",
    min_count: Annotated[int, typer.Option("--min-count", help="Tokens seen fewer times (over the exported "
                                                               "graphs) become <unk>.")] = 1,
    query: QueryOption = None,
    param: ParamOption = None,
    where: WhereGraphsOption = None,
    attr_features: AttrFeaturesOption = False,
    split: SplitOption = "8:1:1",
    seed: SeedOption = 1234,
    split_by: SplitByOption = "graph",
    splits: SplitsFileOption = None,
    view: ViewOption = "exact",
    fmt: SummaryFormat = "table",
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Small graphs as padded dense tensors: one-hot operators X [G,N,V], upper-triangular adjacency
    A [G,N,N] in topological order, node mask [G,N]."""
    import younger_graph as yg
    from younger_graph.export.dense import DenseOptions
    from younger_graph.export.vocab import parse_split

    check_choice("--format", fmt, SUMMARY_FORMATS)
    options = DenseOptions(max_nodes=max_nodes, view=vocab, min_count=min_count, attr_features=attr_features,
                           split=parse_split(split), seed=seed, split_by=split_by,
                           splits=str(splits) if splits else None, graph_view=view).check()
    sel = selection(query, param, where)
    with open_store(db, False, username, password) as store:
        meta = run_export(lambda cb: yg.export_dense(store, out, options, sel, on_progress=cb))
    if fmt == "json":
        write_stdout(json.dumps(meta, indent=2, default=str) + "\n")
        return
    c = meta["counts"]
    s = meta["splits"]["counts"]
    typer.echo(f"{c['graphs']} graphs as X {meta['shapes']['X']}, A {meta['shapes']['A']} "
               f"({c['skipped_too_large']} larger than {max_nodes} nodes skipped, "
               f"{c['dropped_backward_edges']} backward edges dropped); splits.json by {split_by}: "
               f"train {s['train']}, val {s['val']}, test {s['test']} → {out}")

@export_app.command("neo4j-import")
def neo4j_import(
    tables: Annotated[Path, typer.Argument(help="An extraction folder (the four Parquet tables).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the CSV files, import.args and "
                                                           "schema.cypher; replaced if present.")],
    attr_properties: AttrPropsOption = True,
    fmt: SummaryFormat = "table",
) -> None:
    """Files for `neo4j-admin database import full` (the bulk initial load of a Neo4j server): the same nodes,
    relationships and properties as `load --db bolt://...`; import them with `scripts/neo4j import DIR`
    (docs/neo4j.md)."""
    import younger_graph as yg

    check_choice("--format", fmt, SUMMARY_FORMATS)
    with stage_progress() as on_progress:
        manifest = yg.export_neo4j_import(tables, out, attr_properties=attr_properties, on_progress=on_progress)
    if fmt == "json":
        write_stdout(json.dumps(manifest, indent=2) + "\n")
        return
    counts = ", ".join(f"{n:,} {name}" for name, n in manifest["counts"].items())
    typer.echo(f"{counts} → {out} (import: scripts/neo4j import {out})")


app.add_typer(export_app, name="export")
mirrors("export pyg", "yg.export_pyg")
mirrors("export dense", "yg.export_dense")
mirrors("export neo4j-import", "yg.export_neo4j_import")

@app.command("annotate")
def annotate(
    metrics: Annotated[Path, typer.Option("--metrics", help="CSV with a key column and measurement columns "
                                          "(accuracy, latency, flops, params...).")],
    on: Annotated[str, typer.Option("--on", help="model_name | model_id | graph_id: which nodes the key "
                                    "matches.")] = "model_name",
    key: Annotated[str | None, typer.Option("--key", help="The key column (default: model_name, name or "
                                            "model; model_id; graph_id).")] = None,
    prefix: Annotated[str, typer.Option("--prefix", help="Property name prefix.")] = "metric_",
    db: DbOption = None,
    fmt: SummaryFormat = "table",
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Join external measurements onto Model or Graph nodes as `metric_<column>` properties (numbers when
    parseable), usable as export targets (`export pyg --task graph --target metric_accuracy`)."""
    import younger_graph as yg

    check_choice("--format", fmt, SUMMARY_FORMATS)
    with open_store(db, True, username, password) as store:
        summary = yg.annotate(store, metrics, on, key_column=key, prefix=prefix)
    if fmt == "json":
        write_stdout(json.dumps(summary.as_dict(), indent=2) + "\n")
        return
    for warning in summary.warnings:
        console.print(f"warning: {warning}", highlight=False, markup=False)
    if summary.unmatched_keys:
        shown = ", ".join(summary.unmatched_keys[:10])
        more = f" and {len(summary.unmatched_keys) - 10} more" if len(summary.unmatched_keys) > 10 else ""
        console.print(f"warning: no {summary.label} node for {len(summary.unmatched_keys)} keys: {shown}{more}",
                      highlight=False, markup=False)
    typer.echo(summary.line())


mirrors("annotate", "yg.annotate")
