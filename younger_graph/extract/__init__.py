"""`extract`: model sources → the four Parquet tables (see docs/formats.md).

The parent process expands sources, hands them to worker processes in order, deduplicates
architectures by graph_id, and streams results into crash-safe parts (younger_graph.tables).
Row order depends only on the order of the sources, never on the number of workers.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from younger_graph import arrays
from younger_graph.errors import StrictError
from younger_graph.extract.prefetch import Prefetcher
from younger_graph.extract.sources import Source, expand_sources, load_metadata, metadata_for
from younger_graph.loaders.onnx_files import extract_file, read_and_hash
from younger_graph.loaders.results import ModelResult, model_id_for
from younger_graph.loaders.younger import extract_instance
from younger_graph.loaders.zoo import extract_zoo
from younger_graph.schema import SCHEMAS
from younger_graph.tables import TableDir, concat_or_empty, models_from_rows

FLUSH_MODELS = 256
FLUSH_ROWS = 1_000_000

__all__ = ["ExtractSummary", "StrictError", "extract"]


@dataclass
class ExtractSummary:
    out: Path
    ok: int = 0
    failed: int = 0
    duplicates: int = 0
    skipped: int = 0
    new_graphs: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        return (f"{self.ok} ok, {self.failed} failed, {self.duplicates} duplicates"
                f" ({self.new_graphs} new architectures, {self.skipped} already extracted)")

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "failed": self.failed, "duplicates": self.duplicates, "skipped": self.skipped,
                "new_graphs": self.new_graphs, "errors": [{"source": s, "error": e} for s, e in self.errors],
                "tables": self.counts}


@dataclass
class _Known:
    """What the folder already holds, so re-runs skip work and duplicates keep provenance."""
    ok_sources: dict[str, set[str | None]]  # source → content sha256s extracted ok
    by_content: dict[str, dict[str, Any]]  # content sha256 → header fields of its first ok row
    graph_ids: set[str]

    @classmethod
    def from_dir(cls, tables: TableDir) -> _Known:
        models = tables.models().to_pylist()
        ok = [m for m in models if m["status"] == "ok"]
        ok_sources: dict[str, set[str | None]] = {}
        by_content: dict[str, dict[str, Any]] = {}
        for m in ok:
            ok_sources.setdefault(m["source"], set()).add(m["content_sha256"])
            by_content.setdefault(m["content_sha256"], m)
        return cls(ok_sources, by_content, tables.graph_ids())


# Per-process settings, sent once to each worker rather than with every task; `buffer` is the
# worker's reused read buffer (see loaders/onnx_files.read_source_bytes).
_WORKER: dict[str, Any] = {"known_content": frozenset(), "infer_shapes": False, "buffer": bytearray()}

# Tasks are handed to workers largest first within windows of this many: a big file started last
# would leave the other workers idle, and results wait in memory for at most a window before they
# are absorbed in source order.
POOL_WINDOW = 64


def _init_worker(known_content: frozenset[str], infer_shapes: bool) -> None:
    _WORKER.update(known_content=known_content, infer_shapes=infer_shapes)


def _run_one(source: Source) -> ModelResult:
    if source.kind == "zoo":
        return extract_zoo(source.ref, _WORKER["infer_shapes"])
    if source.kind == "younger":
        return extract_instance(source.ref)
    read = read_and_hash(source.ref, _WORKER["buffer"])
    if isinstance(read.data, memoryview):  # keep the buffer, which may have grown for this file
        _WORKER["buffer"] = read.data.obj
    return extract_file(source.ref, _WORKER["known_content"], _WORKER["infer_shapes"], read=read)


def _results(tasks: list[Source], workers: int, known_content: frozenset[str],
             infer_shapes: bool) -> Iterator[ModelResult]:
    if workers <= 1 or len(tasks) <= 1:
        _init_worker(known_content, infer_shapes)
        yield from _run_in_process(tasks)
        return
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(known_content, infer_shapes)) as pool:
        futures = {i: pool.submit(_run_one, tasks[i]) for i in _submission_order(tasks)}
        try:
            for i in range(len(tasks)):  # source order, so tables are identical whatever the worker count
                yield futures.pop(i).result()
        finally:  # stopped early (--strict, an error): do not wait for the models nobody will absorb
            for future in futures.values():
                future.cancel()


def _submission_order(tasks: list[Source]) -> list[int]:
    sizes = [_expected_cost(s) for s in tasks]
    order: list[int] = []
    for start in range(0, len(tasks), POOL_WINDOW):
        window = range(start, min(start + POOL_WINDOW, len(tasks)))
        order.extend(sorted(window, key=lambda i: sizes[i], reverse=True))
    return order


def _expected_cost(source: Source) -> float:
    """File size; zoo exports (seconds each) go first, Younger instances are small."""
    if source.kind == "zoo":
        return float("inf")
    if source.kind == "younger":
        return 0.0
    try:
        return float(os.stat(source.ref).st_size)
    except OSError:  # reported when the file is read
        return 0.0


def _run_in_process(tasks: list[Source]) -> Iterator[ModelResult]:
    """_run_one over the tasks, with files read and hashed one ahead in a thread."""
    files = [s.ref for s in tasks if s.kind == "file"]
    with Prefetcher(files) as prefetcher:
        reads = iter(prefetcher)
        for source in tasks:
            if source.kind == "file":
                yield extract_file(source.ref, _WORKER["known_content"], _WORKER["infer_shapes"], read=next(reads))
            else:
                yield _run_one(source)


class _Batch:
    def __init__(self) -> None:
        self.models: list[dict[str, Any]] = []
        self.graphs: list[dict[str, Any]] = []
        self.operators: list[pa.Table] = []
        self.edges: list[pa.Table] = []
        self.arch_operators: list[pa.Table] = []
        self.arch_edges: list[pa.Table] = []
        self.rows = 0

    def tables(self) -> tuple[pa.Table, ...] | None:
        """The batch as the tables of TABLE_NAMES, in that order (None when empty)."""
        if not self.models:
            return None
        return (
            models_from_rows(self.models),
            arrays.table_from_rows(self.graphs, SCHEMAS["graphs"]),
            concat_or_empty(self.operators, "operators"),
            concat_or_empty(self.edges, "edges"),
            concat_or_empty(self.arch_operators, "arch_operators"),
            concat_or_empty(self.arch_edges, "arch_edges"),
        )

    def flush(self, tables: TableDir) -> None:
        batch = self.tables()
        if batch is not None:
            tables.write_part(*batch)
            self.__init__()


def extract(
    sources: Iterable[str],
    out: str | Path,
    *,
    workers: int | None = None,
    meta: str | Path | None = None,
    strict: bool = False,
    infer_shapes: bool = False,
    on_progress: Callable[[int, int, ModelResult | None], None] | None = None,
) -> ExtractSummary:
    """Extract models (files, directories, zoo refs) into the tables under `out`.

    Re-running into the same folder skips models already extracted (same source and content) and
    first recovers the parts of an interrupted run. Returns counts; bad models never raise (unless
    `strict`), they are rows with status=error.
    """
    tables = TableDir(out)
    tables.finalize()  # recover an interrupted run before reading what is known
    known = _Known.from_dir(tables)
    metadata = load_metadata(meta) if meta else None
    expanded = expand_sources(sources)
    tasks = [s for s in expanded if not _already_done(s, known)]
    summary = ExtractSummary(Path(out), skipped=len(expanded) - len(tasks))
    workers = workers or os.cpu_count() or 1
    batch = _Batch()
    if on_progress:
        on_progress(0, len(tasks), None)
    try:
        results = _results(tasks, workers, frozenset(known.by_content), infer_shapes)
        for done, result in enumerate(results, 1):
            _absorb(result, tasks[done - 1], known, metadata, batch, summary)
            if on_progress:
                on_progress(done, len(tasks), result)
            if strict and not result.ok:
                raise StrictError(f"{result.row['source']}: {result.row['error']}")
            if len(batch.models) >= FLUSH_MODELS or batch.rows >= FLUSH_ROWS:
                batch.flush(tables)
    finally:
        summary.counts = tables.finalize(batch.tables())  # the last batch straight from memory
    return summary


def _already_done(source: Source, known: _Known) -> bool:
    # Files are re-checked by content in the worker (cheap: a hash, no parse); zoo exports are
    # costly and Younger release instances immutable, so those are skipped by source.
    return source.kind in ("zoo", "younger") and source.ref in known.ok_sources


def _metadata_columns(extra: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """Sidecar columns → model columns: name/task/tags/origin fill the core ones ("source" means
    where the model came from, e.g. huggingface, and becomes `origin` unless it is the path itself);
    any other column named like a core column is kept as meta_<name>."""
    if extra.get("source") in (row["source"], os.path.basename(row["source"])):
        extra.pop("source")
    if "source" in extra and "origin" not in extra:
        extra["origin"] = extra.pop("source")
    fillable = {"name", "task", "tags", "origin"}
    core = set(SCHEMAS["models"].names)
    return {(k if k in fillable or k not in core else f"meta_{k}"): str(v) for k, v in extra.items()}


def _absorb(result: ModelResult, source: Source, known: _Known, metadata: Any, batch: _Batch,
            summary: ExtractSummary) -> None:
    row = result.row
    if result.known:
        sha = row["content_sha256"]
        if sha in known.ok_sources.get(row["source"], set()):
            summary.skipped += 1
            return
        first = known.by_content[sha]
        row.update({k: first[k] for k in ("graph_id", "ir_version", "opsets", "producer")})
    if metadata is not None:
        row.update(_metadata_columns(metadata_for(metadata, source), row))
    row["model_id"] = model_id_for(row["source"], row["content_sha256"])
    batch.models.append(row)
    if not result.ok:
        summary.failed += 1
        summary.errors.append((row["source"], row["error"]))
        return
    summary.ok += 1
    known.ok_sources.setdefault(row["source"], set()).add(row["content_sha256"])
    known.by_content.setdefault(row["content_sha256"], row)
    gid = row["graph_id"]
    if gid in known.graph_ids:
        summary.duplicates += 1
        return
    known.graph_ids.add(gid)
    summary.new_graphs += 1
    graph = result.graph
    assert graph is not None
    batch.graphs.append(graph.graph_row)
    batch.operators.append(graph.operators)
    batch.edges.append(graph.edges)
    if graph.arch_operators is not None and graph.arch_edges is not None:
        batch.arch_operators.append(graph.arch_operators)
        batch.arch_edges.append(graph.arch_edges)
    batch.rows += graph.operators.num_rows + graph.edges.num_rows


class _CallableModule(types.ModuleType):
    """`younger_graph.extract` is both this package and the API function `younger_graph.extract(...)`:
    importing the package rebinds the parent's attribute to the module, so the module is callable."""

    def __call__(self, *args: Any, **kwargs: Any) -> ExtractSummary:
        return extract(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
