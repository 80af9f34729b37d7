"""`export pyg`, stage 1: the selected graphs out of the store into `raw/` (docs/export.md).

The selected graphs (younger_graph.reading) are streamed batch by batch, their operators and flows,
the community memberships for the `operator` task and the target values for the `graph` task, into
`raw/*.parquet`, and the options into `raw/export.json`. Stage 2 (`younger_graph.export.builder`,
run by the datasets of `younger_graph.datasets`) rebuilds everything else from raw/ alone.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from younger_graph import atomic
from younger_graph.errors import ExportError, QueryError, StoreError
from younger_graph.export import splits as splitting
from younger_graph.export.vocab import check_view
from younger_graph.reading import (
    GRAPH_FIELDS,
    Selection,
    batches,
    graphs_with_communities,
    read_batch,
    read_communities,
    select_graphs,
)
from younger_graph.store.base import Store
from younger_graph.views import VIEWS

Progress = Callable[[str, int, int], None]

FORMAT = "younger-graph-pyg/1"
TASKS = ("link", "operator", "graph")
TARGET_KINDS = ("auto", "class", "float")
COMMUNITY_METHODS = ("cnm", "louvain", "wcc")
STORAGES = ("memory", "disk")  # processed/{split}.pt (InMemoryDataset) | processed/ondisk/{split}.db (OnDiskDataset)
RAW_FILES = {"link": ["graphs", "operators", "flows"], "graph": ["graphs", "operators", "flows", "targets"],
             "operator": ["graphs", "operators", "flows", "communities", "members"]}

# Operators per read batch. A batch's rows travel as Python objects (Store.run → DataFrame), ~1 KiB
# per operator row with its attributes, so this bounds the reading phase's memory to ~100 MiB.
BATCH_NODES = 50_000

RAW_SCHEMAS: dict[str, pa.Schema] = {
    "operators": pa.schema([("graph_id", pa.string()), ("idx", pa.int32()), ("kind", pa.string()),
                            ("op_type", pa.string()), ("domain", pa.string()), ("attrs", pa.string())]),
    "flows": pa.schema([("graph_id", pa.string()), ("src", pa.int32()), ("dst", pa.int32()),
                        ("src_slot", pa.int32()), ("dst_slot", pa.int32())]),
    "graphs": pa.schema([("graph_id", pa.string()), ("num_nodes", pa.int64()), ("num_edges", pa.int64())]),
    "communities": pa.schema([("graph_id", pa.string()), ("k", pa.int64()), ("community_id", pa.string()),
                              ("hash", pa.string()), ("hash_noattr", pa.string())]),
    "members": pa.schema([("graph_id", pa.string()), ("k", pa.int64()), ("idx", pa.int32())]),
    "targets": pa.schema([("graph_id", pa.string()), ("level", pa.string()), ("value", pa.string())]),
    "groups": pa.schema([("graph_id", pa.string()), ("graph_id_noattr", pa.string()), ("num_nodes", pa.int64()),
                         ("group", pa.string())]),
}

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class PygOptions:
    task: str = "link"
    view: str = "attrs"
    min_count: int = 1
    split: tuple[float, float, float] = (8.0, 1.0, 1.0)
    seed: int = 1234
    target: str | None = None  # graph task: a Graph or Model property
    target_kind: str = "auto"  # graph task: auto | class | float
    method: str = "cnm"  # operator task: which stored communities
    keep_unseen: bool = False  # keep val/test items with op types unseen in training (they map to <unk>)
    storage: str = "memory"  # which processed/ the export builds (both can be built later from raw/)
    attr_features: bool = False  # x_attr: numeric attribute features per node (export/features.py)
    split_by: str = "graph"  # graph | arch | family | task | origin | size | a Model property (export/splits.py)
    splits: str | None = None  # a splits.json to reuse instead of splitting
    graph_view: str = "exact"  # which graph of each model: exact | arch (younger_graph.views)

    def check(self) -> PygOptions:
        if self.task not in TASKS:
            raise ExportError(f"--task must be one of {', '.join(TASKS)}, not {self.task!r}")
        try:
            check_view(self.view)
        except ValueError as exc:
            raise ExportError(str(exc)) from None
        if self.task == "graph" and not self.target:
            raise ExportError("--task graph needs --target PROP (a Graph or Model property, e.g. task)")
        if self.target:
            check_property(self.target)
        if self.target_kind not in TARGET_KINDS:
            raise ExportError(f"--target-kind must be one of {', '.join(TARGET_KINDS)}")
        if self.method not in COMMUNITY_METHODS:
            raise ExportError(f"--method must be one of {', '.join(COMMUNITY_METHODS)}")
        if len(self.split) != 3 or min(self.split) < 0 or sum(self.split) <= 0:
            raise ExportError("--split expects three non-negative ratios such as 8:1:1")
        if self.min_count < 1:
            raise ExportError("--min-count must be at least 1")
        if self.storage not in STORAGES:
            raise ExportError(f"--storage must be one of {', '.join(STORAGES)}, not {self.storage!r}")
        splitting.check_rule(self.split_by)
        if self.graph_view not in VIEWS:
            raise ExportError(f"--view must be one of {', '.join(VIEWS)}, not {self.graph_view!r}")
        if self.task == "operator" and self.graph_view != "exact":
            raise ExportError("--task operator needs --view exact (communities are computed on the exact graphs)")
        return self


def write_raw(store: Store, out: Path, options: PygOptions, selection: Selection | None = None,
              on_progress: Progress | None = None) -> dict[str, Any]:
    """Stream the selected graphs (and communities / targets) into out/raw/; returns raw/export.json."""
    options.check()
    out = Path(out)
    selection = selection or Selection()
    graphs = select_graphs(store, selection, options.graph_view)
    if options.task == "operator":
        having = graphs_with_communities(store, options.method)
        if not having:
            raise ExportError(f"the store has no {options.method} communities: run `younger-graph communities "
                              f"--method {options.method} --db {store.location}` first")
        missing = int((~graphs["graph_id"].isin(having)).sum())
        graphs = graphs[graphs["graph_id"].isin(having)].reset_index(drop=True)
    else:
        missing = 0
    if (out / "raw").exists() and not (out / "raw" / "export.json").exists():
        raise ExportError(f"{out / 'raw'} exists and is not an export's raw/ folder: choose another --out")
    keys = splitting.read_keys(store, list(graphs["graph_id"]), options.split_by)
    frozen = splitting.Frozen.load(options.splits) if options.splits else None
    if frozen is not None:
        if frozen.unit == "community" and options.task != "operator":
            raise ExportError(f"--splits {options.splits} lists communities: it fits only --task operator")
        splitting.check_frozen_against_store(store, frozen)
    for folder in (out / "raw", out / "processed"):  # a previous export of this folder is replaced
        if folder.exists():
            shutil.rmtree(folder)
    for name in ("vocab.json", "targets.json", "meta.json", splitting.FILE):
        (out / name).unlink(missing_ok=True)
    raw = out / "raw"
    names = RAW_FILES[options.task]
    total = len(graphs)
    done = 0
    if on_progress:
        on_progress("reading graphs", 0, total)
    with RawWriter(raw, names) as writer:
        for ids in batches(graphs, BATCH_NODES):
            ops, flows = read_batch(store, ids, options.graph_view)
            writer.write("operators", ops)
            writer.write("flows", flows)
            n_nodes = ops.groupby("graph_id", sort=False).size()
            n_edges = flows.groupby("graph_id", sort=False).size()
            writer.write("graphs", pd.DataFrame({
                "graph_id": ids,
                "num_nodes": [int(n_nodes.get(g, 0)) for g in ids],
                "num_edges": [int(n_edges.get(g, 0)) for g in ids],
            }))
            if options.task == "operator":
                communities, members = read_communities(store, ids, options.method)
                writer.write("communities", communities)
                writer.write("members", members)
            if options.task == "graph":
                assert options.target is not None
                writer.write("targets", read_targets(store, ids, options.target))
            done += len(ids)
            if on_progress:
                on_progress("reading graphs", done, total)
        rows = dict(writer.rows)
    keys_table = pa.Table.from_pandas(keys[RAW_SCHEMAS["groups"].names], schema=RAW_SCHEMAS["groups"],
                                      preserve_index=False)
    pq.write_table(keys_table, raw / splitting.KEYS_FILE, compression="zstd")
    if frozen is not None:
        splitting.write_json(raw / splitting.FROZEN_FILE, frozen.as_document())
    params = {
        "format": FORMAT,
        "task": options.task,
        "options": {**asdict(options), "split": list(options.split)},
        "selection": selection.describe(store.backend),
        "store": {"backend": store.backend, "location": store.location, "fingerprint": store_fingerprint(store)},
        "read": {"graphs": rows["graphs"], "operators": rows["operators"], "flows": rows["flows"],
                 **({"communities": rows["communities"], "members": rows["members"],
                     "graphs_without_communities": missing} if options.task == "operator" else {}),
                 **({"target_values": rows["targets"]} if options.task == "graph" else {})},
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "export_versions": backend_versions(store),
    }
    atomic.write_text(raw / "export.json", json.dumps(params, indent=2, default=str) + "\n")
    return params


def check_property(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ExportError(f"{name!r} is not a property name (letters, digits and _)")
    return name


def read_targets(store: Store, ids: list[str], prop: str) -> pd.DataFrame:
    """graph_id, level (graph | model), value (text) of a property on the graphs or their models."""
    prop = check_property(prop)
    frames = []
    for level, text in (
        ("graph", f"MATCH (g:Graph) WHERE g.graph_id IN $ids RETURN g.graph_id AS graph_id, g.{prop} AS value"),
        ("model", f"MATCH (m:Model)-[:INSTANCE_OF]->(g:Graph) WHERE g.graph_id IN $ids "
                  f"RETURN g.graph_id AS graph_id, m.{prop} AS value"),
    ):
        try:
            df = store.run(text, {"ids": ids})
        except QueryError:  # the embedded store declares no such property on this label
            continue
        df = df[df["value"].notna()] if len(df) else df
        if len(df):
            frames.append(pd.DataFrame({"graph_id": df["graph_id"].astype(str), "level": level,
                                        "value": [_text(v) for v in df["value"]]}))
    if not frames:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in RAW_SCHEMAS["targets"].names})
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["graph_id", "level", "value"], kind="stable").reset_index(drop=True)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def store_fingerprint(store: Store) -> dict[str, Any]:
    """sha256 over every Graph's id, node and edge counts (sorted by id): changes when the content does."""
    df = store.run(f"MATCH (g:Graph) RETURN {GRAPH_FIELDS}")
    h = hashlib.sha256()
    rows = sorted(zip(df["graph_id"], df["num_nodes"], df["num_edges"])) if len(df) else []
    for gid, n, e in rows:
        h.update(f"{gid}\t{_int(n)}\t{_int(e)}\n".encode())
    return {"graphs": len(rows), "sha256": h.hexdigest()}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def release_memory() -> None:
    """Hand memory freed by the reading phase back to the OS before tensors are built (best effort):
    Python's garbage, pyarrow's allocator cache and glibc's free lists."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    pa.default_memory_pool().release_unused()
    name = ctypes.util.find_library("c")
    if name:
        try:
            libc = ctypes.CDLL(name)
            trim = getattr(libc, "malloc_trim", None)
            if trim is not None:
                trim(0)
        except OSError:
            pass


class RawWriter:
    """Append rows to <folder>/<name>.parquet, one row group per batch."""

    def __init__(self, folder: Path, names: list[str]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.writers = {n: pq.ParquetWriter(folder / f"{n}.parquet", RAW_SCHEMAS[n], compression="zstd")
                        for n in names}
        self.rows = dict.fromkeys(names, 0)

    def write(self, name: str, df: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(df[RAW_SCHEMAS[name].names], schema=RAW_SCHEMAS[name], preserve_index=False)
        self.writers[name].write_table(table)
        self.rows[name] += table.num_rows

    def close(self) -> None:
        for w in self.writers.values():
            w.close()

    def __enter__(self) -> RawWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def backend_versions(store: Store | None = None) -> dict[str, str]:
    """Versions of the packages an export depends on (torch ones only when already imported)."""
    import platform
    import sys
    from importlib import metadata

    import numpy

    import younger_graph

    out = {"younger_graph": younger_graph.__version__, "python": platform.python_version(),
           "numpy": numpy.__version__, "pyarrow": pa.__version__, "pandas": pd.__version__}
    for module, dist in (("torch", "torch"), ("torch_geometric", "torch_geometric"), ("ladybug", "ladybug"),
                         ("neo4j", "neo4j")):
        if module in sys.modules or (store is not None and store.backend == "embedded" and module == "ladybug"):
            try:
                out[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
    if store is not None and store.backend == "neo4j":
        try:
            df = store.run("CALL dbms.components() YIELD name, versions RETURN name, versions")
            out["neo4j_server"] = str(df["versions"].iloc[0][0]) if len(df) else "?"
        except (QueryError, StoreError):
            pass
    return out
