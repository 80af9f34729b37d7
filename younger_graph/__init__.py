"""younger-graph: neural-network architectures as a queryable graph database.

The library mirrors the CLI: every command is one call here (docs/api.md).

    import younger_graph as yg

    yg.extract(["models/", "torchvision:resnet18"], "corpus/")        # younger-graph extract
    with yg.open("corpus.db", write=True) as store:                    # younger-graph load
        store.load("corpus/")
    with yg.open("corpus.db") as store:
        df = store.query("op_histogram", top=20)                       # younger-graph query
        doc = yg.compute_stats(store)                                  # younger-graph stats

Names are imported on first use, so `import younger_graph` stays light (the CLI's start-up).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name → (module, attribute); attribute None: the module itself (`extract` is a callable module)
_EXPORTS: dict[str, tuple[str, str | None]] = {
    "extract": ("younger_graph.extract", None),
    "ExtractSummary": ("younger_graph.extract", "ExtractSummary"),
    "ingest": ("younger_graph.pipeline", "ingest"),
    "inspect_model": ("younger_graph.inspection", "inspect_model"),
    "hash_model": ("younger_graph.inspection", "hash_model"),
    "Store": ("younger_graph.store.base", "Store"),
    "queries": ("younger_graph.query", "queries"),
    "compute_stats": ("younger_graph.stats.compute", "compute_stats"),
    "stats_report": ("younger_graph.stats.render", "render_html"),
    "report_views": ("younger_graph.viewer.report", "report_views"),
    "compute_communities": ("younger_graph.communities", "compute_communities"),
    "frequent_paths": ("younger_graph.patterns", "frequent_paths"),
    "Pattern": ("younger_graph.match", "Pattern"),
    "parse_pattern": ("younger_graph.match", "parse_pattern"),
    "view_graph": ("younger_graph.viewer.page", "view_graph"),
    "GraphView": ("younger_graph.viewer.page", "GraphView"),
    "Selection": ("younger_graph.reading", "Selection"),
    "PygOptions": ("younger_graph.export.raw", "PygOptions"),
    "export_pyg": ("younger_graph.datasets", "export_pyg"),
    "YoungerDataset": ("younger_graph.datasets", "YoungerDataset"),
    "YoungerOnDiskDataset": ("younger_graph.datasets", "YoungerOnDiskDataset"),
    "DenseOptions": ("younger_graph.export.dense", "DenseOptions"),
    "export_dense": ("younger_graph.export.dense", "export_dense"),
    "annotate": ("younger_graph.export.annotate", "annotate"),
    "export_neo4j_import": ("younger_graph.store.neo4j_import", "export_neo4j_import"),
    "similar": ("younger_graph.arch.similar", "similar"),
    "diff": ("younger_graph.arch.diff", "diff"),
    "embed": ("younger_graph.arch.backfill", "embed_store"),
    "arch_view": ("younger_graph.views", "arch_of"),
    "run_demo": ("younger_graph.demo", "run_demo"),
    "to_onnx": ("younger_graph.generation.to_onnx", "to_onnx"),
    "export_onnx": ("younger_graph.generation.to_onnx", "export_onnx"),
    "check_generated": ("younger_graph.generation.check", "check_generated"),
    "LinkEvaluator": ("younger_graph.evaluate", "LinkEvaluator"),
    "OperatorEvaluator": ("younger_graph.evaluate", "OperatorEvaluator"),
    "GraphEvaluator": ("younger_graph.evaluate", "GraphEvaluator"),
    **{name: ("younger_graph.errors", name) for name in (
        "YoungerGraphError", "UsageError", "ExtractionError", "ExecutorError", "ModelError", "StrictError",
        "QueryLibraryError", "StoreError", "StoreErrorKind", "QueryError", "ExportError", "StatsError",
        "SimilarityError")},
}

__all__ = ["__version__", "open", *sorted(_EXPORTS)]

if TYPE_CHECKING:
    from younger_graph.store.base import Store


def open(db: str | None = None, *, write: bool = False, username: str | None = None,
         password: str | None = None) -> Store:
    """Open a store: a path → embedded LadybugDB, bolt:// or neo4j:// → Neo4j (read-only by default)."""
    from younger_graph.store import open_store

    return open_store(db, write=write, username=username, password=password)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'younger_graph' has no attribute {name!r}")
    module, attribute = _EXPORTS[name]
    found = importlib.import_module(module)
    return found if attribute is None else getattr(found, attribute)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
