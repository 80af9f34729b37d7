"""`younger-graph to-onnx`: stored graphs back to weightless ONNX files (docs/generation.md).

Graphs are read in batches of whole graphs (younger_graph.reading: operators, flows with their
declared types, the models' opsets), rebuilt (rebuild.py) and written as `DIR/<graph_id>.onnx`,
with `DIR/<graph_id>.weights` (a sparse file of zeros at the declared length) when placeholders are
external. Each file is then checked twice: extracting the rebuilt model must give the stored
`graph_id` (`exact`), and `onnx.checker.check_model` must pass where only standard domains are used.
A graph that cannot be rebuilt exactly says why in `DIR/to-onnx.json`; it never stops the batch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import onnx

from younger_graph import atomic
from younger_graph.errors import UsageError, first_line
from younger_graph.generation import schemas
from younger_graph.generation.rebuild import Rebuilt, StoredGraph, rebuild
from younger_graph.generation.tensors import write_weights
from younger_graph.reading import (
    Selection,
    batches,
    read_batch,
    read_flow_types,
    read_graph_models,
    select_graphs,
)
from younger_graph.store.base import Store
from younger_graph.walk.onnx_walker import model_to_builder

Progress = Callable[[str, int, int], None]

VIEWS = ("exact", "arch")
MANIFEST = "to-onnx.json"
BATCH_NODES = 50_000


def check_view(view: str) -> str:
    """The view a graph is rebuilt in: only the exact one. The architecture view folds constants and
    initializers into attributes and fuses decompositions into function names, so what it keeps is not
    a model ONNX can run (docs/generation.md)."""
    if view == "exact":
        return view
    if view == "arch":
        raise UsageError("--view arch: the architecture view folds constants into attributes and fuses "
                         "decompositions, so it does not rebuild a runnable model; use --view exact")
    raise UsageError(f"--view must be one of {', '.join(VIEWS)}, not {view!r}")


@dataclass
class GraphResult:
    """What became of one graph: its file, whether it re-hashes to its graph_id, the checker's verdict."""

    graph_id: str
    file: str | None = None
    exact: bool = False
    rebuilt_id: str | None = None
    checker: str = "not run"  # "ok" or the checker's complaint (custom-domain operators pass unchecked)
    problems: list[str] = field(default_factory=list)
    weights_bytes: int = 0


@dataclass
class ToOnnxSummary:
    out: str
    view: str
    graphs: list[GraphResult] = field(default_factory=list)

    @property
    def exact(self) -> int:
        return sum(r.exact for r in self.graphs)

    @property
    def checked(self) -> int:
        return sum(r.checker == "ok" for r in self.graphs)

    def line(self) -> str:
        inexact = len(self.graphs) - self.exact
        failed = sum(r.checker not in ("ok", "not run") for r in self.graphs)
        return (f"{len(self.graphs)} graphs → {self.out}: {self.exact} re-hash to their graph_id"
                + (f", {inexact} do not (see {MANIFEST})" if inexact else "")
                + f"; onnx.checker: {self.checked} pass" + (f", {failed} fail" if failed else ""))

    def as_dict(self) -> dict[str, Any]:
        return {"out": self.out, "view": self.view, "graphs": len(self.graphs), "exact": self.exact,
                "checker_ok": self.checked, "results": [asdict(r) for r in self.graphs]}


def to_onnx(store: Store, graph_id: str, *, view: str = "exact") -> onnx.ModelProto:
    """One stored graph as a weightless ModelProto (external placeholders refer to `<graph_id>.weights`,
    which `export_onnx` writes beside the file)."""
    check_view(view)
    for _gid, built in _rebuilt(store, [graph_id]):
        if isinstance(built, Exception):
            raise UsageError(f"graph {graph_id} cannot be rebuilt: {first_line(built)}")
        return built.model
    raise UsageError(f"no graph {graph_id} in the store")


def export_onnx(store: Store, out: str | Path, graph_ids: list[str] | None = None, *, view: str = "exact",
                check: bool = True, on_progress: Progress | None = None) -> ToOnnxSummary:
    """Every selected graph (all when `graph_ids` is empty) as `out/<graph_id>.onnx`, checked; the
    per-graph results also go to `out/to-onnx.json`."""
    check_view(view)
    out = Path(out)
    graphs = select_graphs(store, Selection())
    if graph_ids:
        wanted = list(dict.fromkeys(graph_ids))
        known = set(graphs["graph_id"])
        missing = [g for g in wanted if g not in known]
        if missing:
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            raise UsageError(f"no graph {', '.join(missing[:3])}{more} in the store {store.location}")
        graphs = graphs[graphs["graph_id"].isin(set(wanted))].reset_index(drop=True)
    out.mkdir(parents=True, exist_ok=True)
    summary = ToOnnxSummary(str(out), view)
    if on_progress:
        on_progress("rebuilding graphs", 0, len(graphs))
    for ids in batches(graphs, BATCH_NODES):
        for gid, built in _rebuilt(store, ids):
            summary.graphs.append(_write(out, gid, built, check))
            if on_progress:
                on_progress("rebuilding graphs", len(summary.graphs), len(graphs))
    manifest = {**summary.as_dict(), "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    atomic.write_text(out / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return summary


def _rebuilt(store: Store, ids: list[str]) -> Any:
    """(graph_id, Rebuilt or the exception that stopped it) per id, in order."""
    ops, _ = read_batch(store, ids)
    flows = read_flow_types(store, ids)
    models = read_graph_models(store, ids)
    op_groups = {g: f for g, f in ops.groupby("graph_id", sort=False)}
    flow_groups = {g: f for g, f in flows.groupby("graph_id", sort=False)}
    empty = flows.iloc[0:0]
    for gid in ids:
        if gid not in op_groups:
            continue
        try:
            stored = StoredGraph.from_frames(gid, op_groups[gid], flow_groups.get(gid, empty),
                                             (models.get(gid) or [None])[0])
            yield gid, rebuild(stored, weights_location(gid))
        except Exception as exc:  # one graph's failure is its own result, never the batch's
            yield gid, exc


def weights_location(graph_id: str) -> str:
    return f"{graph_id}.weights"


def _write(out: Path, gid: str, built: Rebuilt | Exception, check: bool) -> GraphResult:
    result = GraphResult(gid)
    if isinstance(built, Exception):
        result.problems.append(f"cannot be rebuilt: {first_line(built)}")
        return result
    result.problems = list(built.problems)
    result.weights_bytes = built.weights_bytes
    try:
        result.rebuilt_id = model_to_builder(built.model).hash_ids()[0]
    except Exception as exc:  # reported per graph
        result.problems.append(f"the rebuilt model does not extract: {first_line(exc)}")
    result.exact = result.rebuilt_id == gid
    path = out / f"{gid}.onnx"
    if built.weights_bytes:
        with atomic.atomic_path(out / weights_location(gid)) as tmp:
            write_weights(tmp, built.weights_bytes)
    atomic.write_bytes(path, built.model.SerializeToString())
    result.file = path.name
    if check:  # operators of custom domains pass unchecked (the checker has no schema for them)
        error = schemas.checker_error(str(path))
        result.checker = "ok" if error is None else error
    return result
