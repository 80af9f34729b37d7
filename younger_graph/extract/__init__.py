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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from younger_graph import arrays
from younger_graph.errors import StrictError, UsageError
from younger_graph.extract.pool import ordered_results
from younger_graph.extract.prefetch import Prefetcher
from younger_graph.extract.sources import LOOKUP_ONLY, Source, expand_sources, load_metadata, metadata_for
from younger_graph.extract.worker import WORKER, init_worker, run_one
from younger_graph.loaders.onnx_files import default_name, extract_file, native_file_result, read_and_hash
from younger_graph.loaders.results import ModelResult, display_path, failed, model_id_for, new_row
from younger_graph.names import metadata_columns
from younger_graph.schema import SCHEMAS
from younger_graph.tables import TableDir, concat_or_empty, models_from_rows
from younger_graph.walk import native

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


# Tasks are handed to workers largest first within windows of this many: a big file started last
# would leave the other workers idle, and results wait in memory for at most a window before they
# are absorbed in source order.
POOL_WINDOW = 64


EXECUTORS = ("local", "ray")


class _LocalPool:
    """`--executor local`: this process (one worker) or a process pool on this machine."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def __enter__(self) -> _LocalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def results(self, tasks: list[Source], known_content: frozenset[str], infer_shapes: bool,
                costs: list[float]) -> Iterator[ModelResult]:
        core = None if infer_shapes else native.module()
        if core is not None:  # threads over the native core: it releases the GIL, no process start-up
            init_worker(known_content, infer_shapes)
            yield from _run_native(core, tasks, self.workers, known_content)
            return
        if self.workers <= 1 or len(tasks) <= 1:
            init_worker(known_content, infer_shapes)
            yield from _run_in_process(tasks)
            return
        # Source order, so tables are identical whatever the worker count; a killed worker fails its model.
        yield from ordered_results(tasks, _submission_order(costs), self.workers, run_one, init_worker,
                                   (known_content, infer_shapes), _killed)


KILLED = "the worker extracting it was killed (out of memory?)"


def _killed(source: Source) -> ModelResult:
    """The row of a model whose worker process was killed (twice: see extract/pool.py)."""
    if source.kind != "file":
        shown = display_path(source.ref)
        return failed(new_row(shown, shown), f"{shown} {KILLED}")
    shown = display_path(source.ref)
    row = new_row(shown, default_name(shown))
    read = read_and_hash(source.ref)  # the content hash, as every other failed file's row has it
    if read.error is None:
        row.update(content_sha256=read.sha256, num_bytes=len(read.data),
                   model_id=model_id_for(shown, read.sha256))
    return failed(row, f"{os.path.basename(shown) or shown} {KILLED}")


def _executor(name: str, address: str | None, workers: int | None) -> Any:
    if name not in EXECUTORS:
        raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}, not {name!r}")
    if name == "local":
        if address:
            raise UsageError("--address needs --executor ray")
        return _LocalPool(workers or os.cpu_count() or 1)
    from younger_graph.extract.ray_pool import RayPool

    return RayPool(address, workers)


def _submission_order(sizes: list[float]) -> list[int]:
    order: list[int] = []
    for start in range(0, len(sizes), POOL_WINDOW):
        window = range(start, min(start + POOL_WINDOW, len(sizes)))
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
    """run_one over the tasks, with files read and hashed one ahead in a thread."""
    files = [s.ref for s in tasks if s.kind == "file"]
    with Prefetcher(files) as prefetcher:
        reads = iter(prefetcher)
        for source in tasks:
            if source.kind == "file":
                yield extract_file(source.ref, WORKER["known_content"], WORKER["infer_shapes"], read=next(reads))
            else:
                yield run_one(source)


def _native_path(source: Source) -> bool:
    """A file the native core can open itself (a path that is valid UTF-8; others take the Python way)."""
    if source.kind != "file":
        return False
    try:
        source.ref.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _run_native(core: Any, tasks: list[Source], threads: int, known_content: frozenset[str]) -> Iterator[ModelResult]:
    """Files through the native core on `threads` Rust threads (read, sha256 and extraction a few
    files ahead, in source order); zoo refs, Younger instances and odd paths in this process."""
    files = [s.ref for s in tasks if _native_path(s)]
    found = native.extract_paths(core, files, threads) if files else iter(())
    for source in tasks:
        if _native_path(source):
            sha, size, result = next(found)
            yield native_file_result(source.ref, sha, size, result, known_content)
        else:
            yield run_one(source)


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
    executor: str = "local",
    address: str | None = None,
) -> ExtractSummary:
    """Extract models (files, directories, zoo refs) into the tables under `out`.

    Re-running into the same folder skips models already extracted (same source and content) and
    first recovers the parts of an interrupted run. Returns counts; bad models never raise (unless
    `strict`), they are rows with status=error. `executor="ray"` runs the sources as tasks on the Ray
    cluster at `address` ("auto", "host:port", "ray://host:port"; None: a local runtime for the run),
    connected before anything is written; the tables are the same as the local executor's.
    """
    with _executor(executor, address, workers) as pool:
        return _extract(pool, sources, Path(out), meta, strict, infer_shapes, on_progress)


def _extract(pool: Any, sources: Iterable[str], out: Path, meta: str | Path | None, strict: bool,
             infer_shapes: bool, on_progress: Callable[[int, int, ModelResult | None], None] | None) -> ExtractSummary:
    tables = TableDir(out)
    tables.finalize(create=False)  # recover an interrupted run before reading what is known
    known = _Known.from_dir(tables)
    metadata = load_metadata(meta) if meta else None
    if metadata is not None:
        tables.metadata_columns = metadata_columns(_sidecar_columns(metadata), SCHEMAS["models"].names,
                                                   tables.metadata_columns)
    expanded = expand_sources(sources)
    tasks = [s for s in expanded if not _already_done(s, known)]
    summary = ExtractSummary(out, skipped=len(expanded) - len(tasks))
    batch = _Batch()
    completed = False
    try:
        if on_progress:
            on_progress(0, len(tasks), None)
        results = pool.results(tasks, frozenset(known.by_content), infer_shapes, [_expected_cost(s) for s in tasks])
        for done, result in enumerate(results, 1):
            _absorb(result, tasks[done - 1], known, metadata, tables.metadata_columns, batch, summary)
            if on_progress:
                on_progress(done, len(tasks), result)
            if strict and not result.ok:
                raise StrictError(f"{result.row['source']}: {result.row['error']}")
            if len(batch.models) >= FLUSH_MODELS or batch.rows >= FLUSH_ROWS:
                batch.flush(tables)
        completed = True
    finally:
        # The last batch straight from memory; a run that failed before its first model writes nothing.
        summary.counts = tables.finalize(batch.tables(), create=completed)
    return summary


def _already_done(source: Source, known: _Known) -> bool:
    # Files are re-checked by content in the worker (cheap: a hash, no parse); zoo exports are
    # costly and Younger release instances immutable, so those are skipped by source.
    return source.kind in ("zoo", "younger") and source.ref in known.ok_sources


FILLABLE = frozenset({"name", "task", "tags", "origin"})


def _sidecar_columns(metadata: dict[str, dict[str, Any]]) -> set[str]:
    """The sidecar's columns that become model columns (the core ones it fills excepted)."""
    return {k for row in metadata.values() for k in row if k is not None} - FILLABLE - set(LOOKUP_ONLY)


def _metadata_columns(extra: dict[str, Any], row: dict[str, Any], columns: dict[str, str]) -> dict[str, Any]:
    """Sidecar columns → model columns: name/task/tags/origin fill the core ones ("source" means
    where the model came from, e.g. huggingface, and becomes `origin` unless it is the path itself);
    every other column is stored under its name in `columns` (names.metadata_columns: a safe
    identifier, `meta_<name>` for one named like a core column)."""
    if extra.get("source") in (row["source"], os.path.basename(row["source"])):
        extra.pop("source")
    if "source" in extra and "origin" not in extra:
        extra["origin"] = extra.pop("source")
    return {(k if k in FILLABLE else columns[k]): str(v) for k, v in extra.items()}


def _absorb(result: ModelResult, source: Source, known: _Known, metadata: Any, metadata_names: dict[str, str],
            batch: _Batch, summary: ExtractSummary) -> None:
    row = result.row
    if result.known:
        sha = row["content_sha256"]
        if sha in known.ok_sources.get(row["source"], set()):
            summary.skipped += 1
            return
        first = known.by_content[sha]
        row.update({k: first[k] for k in ("graph_id", "ir_version", "opsets", "producer")})
    if metadata is not None:
        row.update(_metadata_columns(metadata_for(metadata, source), row, metadata_names))
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
