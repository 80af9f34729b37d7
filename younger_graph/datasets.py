"""`YoungerDataset`: a folder written by `younger-graph export pyg`, as a PyTorch Geometric dataset.

    from younger_graph.datasets import YoungerDataset
    from torch_geometric.loader import DataLoader

    train = YoungerDataset("dataset/", split="train")
    for batch in DataLoader(train, batch_size=32, shuffle=True):
        ...

The folder is a standard `InMemoryDataset` root: `raw/` holds the rows read from the store (Parquet)
and `raw/export.json` the export options; `processed/{train,val,test}.pt` are the collated splits
(`InMemoryDataset.save` format, readable by any InMemoryDataset's `load`). `process()` rebuilds all
of processed/, `vocab.json`, `targets.json` and `meta.json` from raw/ in one call (pass
`force_reload=True` to redo it). See docs/export.md for the Data fields of each task.

`YoungerOnDiskDataset` is the same split as an `OnDiskDataset` (for exports larger than memory):
`processed/ondisk/{train,val,test}.db`, SQLite tables of typed columns (`processed/ondisk/schema.json`)
written from the same raw/ in batches of Data objects, with identical items.

`export_pyg` writes such a folder from a store (stage 1, younger_graph.export.raw, then
`build_processed`). This module needs torch_geometric (`pip install 'younger-graph[pyg]'`); the rest
of the package does not.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import torch
    from torch_geometric.data import Data, InMemoryDataset, OnDiskDataset, SQLiteDatabase
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("younger_graph.datasets needs torch_geometric: pip install 'younger-graph[pyg]'") from exc

from younger_graph import atomic
from younger_graph.errors import ExportError, UsageError
from younger_graph.export.builder import Builder
from younger_graph.export.raw import STORAGES, Progress, PygOptions, release_memory, write_raw
from younger_graph.export.vocab import SPLITS, Vocab
from younger_graph.reading import Selection
from younger_graph.store.base import Store

__all__ = ["SPLITS", "YoungerDataset", "YoungerOnDiskDataset", "build_processed", "export_pyg"]


class MissingExportError(ExportError, FileNotFoundError):
    """A dataset folder without raw/ or processed/ files to load."""


def export_pyg(store: Store, out: str | Path, options: PygOptions | None = None, selection: Selection | None = None,
               on_progress: Progress | None = None) -> dict[str, Any]:
    """Write the dataset folder `out` (raw/ from the store, then processed/); returns meta.json's content.

    The two stages are also available apart: `write_raw` (needs the store) then `build_processed`
    (needs torch_geometric); the CLI closes the store in between, so the database's page cache is
    gone before tensors are built."""
    options = (options or PygOptions()).check()
    write_raw(store, Path(out), options, selection, on_progress)
    return build_processed(out, on_progress)


def build_processed(out: str | Path, on_progress: Progress | None = None,
                    storage: str | None = None) -> dict[str, Any]:
    """processed/, vocab.json, targets.json and meta.json from out/raw/; returns meta.json's content.

    `storage` (default: the export's `--storage`): `memory` writes processed/{split}.pt, `disk`
    processed/ondisk/{split}.db."""
    release_memory()
    if storage is None:
        params = json.loads((Path(out) / "raw" / "export.json").read_text(encoding="utf-8"))
        storage = params.get("options", {}).get("storage", "memory")
    if storage not in STORAGES:
        raise ExportError(f"storage must be one of {', '.join(STORAGES)}, not {storage!r}")
    (process_ondisk if storage == "disk" else process)(out, on_progress=on_progress)
    return json.loads((Path(out) / "meta.json").read_text(encoding="utf-8"))

ONDISK_DIR = "ondisk"  # processed/ondisk/: the on-disk splits, apart from the InMemoryDataset files
TABLE = "data"  # the SQLite table of every split database
INSERT_BATCH = 1_000  # Data objects per multi_insert while writing a split database, at most...
INSERT_BYTES = 32 * 2**20  # ...and pending tensor bytes (all splits) flushed at about this (graphs: 3 to 100k+ nodes)


class ExportFolder:
    """The JSON files beside raw/ and processed/, shared by both dataset classes."""

    root: str

    @property
    def raw_file_names(self) -> list[str]:
        return ["export.json", "graphs.parquet", "operators.parquet", "flows.parquet"]

    def download(self) -> None:
        if all(Path(path).exists() for path in self.processed_paths):  # type: ignore[attr-defined]
            return  # shipped without raw/: fine to load
        raise MissingExportError(f"{Path(self.root) / 'raw'} holds no export: write one with "
                                f"`younger-graph export pyg --db DB --task TASK --out {self.root}`")

    @property
    def vocab(self) -> Vocab:
        return Vocab.load(Path(self.root) / "vocab.json")

    @property
    def meta(self) -> dict[str, Any]:
        return json.loads((Path(self.root) / "meta.json").read_text(encoding="utf-8"))

    @property
    def targets(self) -> dict[str, Any] | None:
        path = Path(self.root) / "targets.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    @property
    def num_tokens(self) -> int:
        return len(self.vocab)

    @property
    def attr_feature_names(self) -> list[str] | None:
        """The columns of `x_attr` (None when the export has no --attr-features)."""
        features = self.meta.get("attr_features")
        return features["names"] if features else None


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise UsageError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    return split


class YoungerDataset(ExportFolder, InMemoryDataset):
    """One split (`train`, `val` or `test`) of an exported dataset folder."""

    def __init__(self, root: str | Path, split: str = "train", transform: Callable | None = None,
                 pre_transform: Callable | None = None, pre_filter: Callable | None = None, *, log: bool = True,
                 force_reload: bool = False, on_progress: Progress | None = None) -> None:
        self.split = _check_split(split)
        self._on_progress = on_progress
        super().__init__(str(root), transform, pre_transform, pre_filter, log=log, force_reload=force_reload)
        self.load(self.processed_paths[SPLITS.index(split)])

    @property
    def processed_file_names(self) -> list[str]:
        return [f"{s}.pt" for s in SPLITS]

    def process(self) -> None:
        process(self.root, self.processed_paths, pre_transform=self.pre_transform, pre_filter=self.pre_filter,
                on_progress=self._on_progress)


class YoungerOnDiskDataset(ExportFolder, OnDiskDataset):
    """One split of an exported dataset folder as an `OnDiskDataset`: items are read from
    processed/ondisk/{split}.db (SQLite) when accessed, so the split never has to fit in memory.

    Built from raw/ on first use (all three splits, like `YoungerDataset`); the items equal
    `YoungerDataset`'s, index for index. `pre_filter` applies at processing; PyG's OnDiskDataset
    has no `pre_transform`."""

    def __init__(self, root: str | Path, split: str = "train", transform: Callable | None = None,
                 pre_filter: Callable | None = None, *, log: bool = True, force_reload: bool = False,
                 on_progress: Progress | None = None) -> None:
        self.split = _check_split(split)
        self._on_progress = on_progress
        if force_reload:
            shutil.rmtree(Path(root) / "processed" / ONDISK_DIR, ignore_errors=True)
        super().__init__(str(root), transform, pre_filter, backend="sqlite", log=log)
        self.schema = load_schema(Path(self.processed_dir) / "schema.json", split)

    @property
    def processed_dir(self) -> str:
        return str(Path(self.root) / "processed" / ONDISK_DIR)

    @property
    def processed_file_names(self) -> list[str]:
        return [f"{s}.db" for s in SPLITS]

    @property
    def db(self) -> SQLiteDatabase:
        """This split's database (opened on first use)."""
        if self._db is None:
            path = self.processed_paths[SPLITS.index(self.split)]
            self._db = SQLiteDatabase(path, name=TABLE, schema=self.schema)
            self._numel = len(self._db)
        return self._db  # type: ignore[return-value]

    def process(self) -> None:
        process_ondisk(self.root, self.processed_paths, pre_filter=self.pre_filter, on_progress=self._on_progress)

    def serialize(self, data: Data) -> dict[str, Any]:
        return {key: data[key] for key in self.schema}

    def deserialize(self, row: dict[str, Any]) -> Data:
        return Data(**row)


def process(root: str | Path, processed_paths: list[str] | None = None, *, pre_transform: Callable | None = None,
            pre_filter: Callable | None = None, on_progress: Progress | None = None) -> None:
    """Build processed/{train,val,test}.pt, vocab.json, targets.json and meta.json from raw/ (what
    `YoungerDataset.process()` does), without loading a split afterwards: the export calls this."""
    from torch_geometric.data.dataset import _repr
    from torch_geometric.io import fs

    root = Path(root)
    paths = processed_paths or [str(root / "processed" / f"{s}.pt") for s in SPLITS]
    Path(paths[0]).parent.mkdir(parents=True, exist_ok=True)
    builder = Builder(root)
    builder.write_json()
    # Small splits first; while the training split is written the flat arrays are dropped as soon as
    # its tensors are collated (Data objects are views into them), so the peak stays near 2x its size.
    for i in (2, 1, 0):
        split = SPLITS[i]
        items = list(builder.data(split))
        if pre_filter is not None:
            items = [d for d in items if pre_filter(d)]
        if pre_transform is not None:
            items = [pre_transform(d) for d in items]
        if len(items) == 1:  # collate hands the item back: its tensors are views, which save whole buffers
            data, slices = items[0].apply(lambda t: t.clone()), None
        elif items:
            data, slices = InMemoryDataset.collate(items)
        else:  # an empty split: what InMemoryDataset.load reads as zero items
            data, slices = Data(), {}
        del items
        if split == "train":
            builder.release()
        fs.torch_save((data.to_dict(), slices, data.__class__), paths[i])  # = InMemoryDataset.save
        del data, slices
        if on_progress:
            on_progress("writing splits", 3 - i, len(SPLITS))
    if processed_paths is None:  # as Dataset._process leaves them, so a later load does not reprocess or warn
        processed = Path(paths[0]).parent
        fs.torch_save(_repr(pre_transform), str(processed / "pre_transform.pt"))
        fs.torch_save(_repr(pre_filter), str(processed / "pre_filter.pt"))


# -- on disk ----------------------------------------------------------------------------------------
def data_schema(meta: dict[str, Any], split: str) -> dict[str, Any]:
    """Column → type of a split database, from meta.json: tensors as {"dtype", "size"} (stored as raw
    bytes), strings as "str". The fields of `Builder.data` for the task and split."""
    task, options = meta["task"], meta["options"]
    schema: dict[str, Any] = {"x": ("int64", [-1])}
    if options.get("attr_features"):
        schema["x_attr"] = ("float32", [-1, meta["attr_features"]["size"]])
    schema.update(edge_index=("int64", [2, -1]), edge_attr=("int64", [-1, 2]), graph_id="str")
    if task == "link" and split != "train":
        schema["neg_edge_index"] = ("int64", [2, -1])
    if task == "graph":
        schema["y"] = ("int64" if meta["target"]["kind"] == "class" else "float32", [-1])
    if task == "operator":
        schema.update(y=("int64", [-1]), boundary_mask=("bool", [-1]), node_idx=("int64", [-1]), community_id="str")
    return {k: v if v == "str" else {"dtype": v[0], "size": v[1]} for k, v in schema.items()}


def _torch_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """schema.json's types as SQLiteDatabase takes them (torch dtypes, size tuples, `str`)."""
    return {k: str if v == "str" else {"dtype": getattr(torch, v["dtype"]), "size": tuple(v["size"])}
            for k, v in schema.items()}


def load_schema(path: Path, split: str) -> dict[str, Any]:
    return _torch_schema(json.loads(path.read_text(encoding="utf-8"))["splits"][split])


def process_ondisk(root: str | Path, processed_paths: list[str] | None = None, *, pre_filter: Callable | None = None,
                   on_progress: Progress | None = None, batch_size: int = INSERT_BATCH) -> None:
    """Build processed/ondisk/{train,val,test}.db (+ schema.json), vocab.json, targets.json and meta.json
    from raw/ (what `YoungerOnDiskDataset.process()` does). Data objects go to the databases
    `batch_size` (or ~INSERT_BYTES) at a time; whole-graph tasks read their edges from raw/flows.parquet
    as they go."""
    from torch_geometric.data.dataset import _repr
    from torch_geometric.io import fs

    root = Path(root)
    folder = root / "processed" / ONDISK_DIR
    paths = [Path(p) for p in processed_paths or [str(folder / f"{s}.db") for s in SPLITS]]
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    builder = Builder(root, stream_edges=True)
    meta = builder.write_json()
    schemas = {s: data_schema(meta, s) for s in SPLITS}
    atomic.write_text(paths[0].parent / "schema.json", json.dumps({"table": TABLE, "splits": schemas}, indent=1) + "\n")
    partial = [p.with_name(p.name + ".partial") for p in paths]  # renamed once complete: never half a split
    for p in [*paths, *partial]:
        p.unlink(missing_ok=True)
    try:
        _write_databases(builder, partial, schemas, pre_filter, on_progress, batch_size)
    except BaseException:
        for p in partial:
            p.unlink(missing_ok=True)
        raise
    for tmp, path in zip(partial, paths):
        tmp.rename(path)
    if processed_paths is None:  # as Dataset._process leaves them, so a later load does not reprocess or warn
        fs.torch_save(_repr(None), str(folder / "pre_transform.pt"))
        fs.torch_save(_repr(pre_filter), str(folder / "pre_filter.pt"))


def _write_databases(builder: Builder, paths: list[Path], schemas: dict[str, dict[str, Any]],
                     pre_filter: Callable | None, on_progress: Progress | None, batch_size: int) -> None:
    dbs = [SQLiteDatabase(str(p), name=TABLE, schema=_torch_schema(schemas[s])) for p, s in zip(paths, SPLITS)]
    pending: list[list[dict[str, Any]]] = [[] for _ in SPLITS]
    pending_bytes = 0
    written = [0 for _ in SPLITS]
    total = sum(builder.stats["items"].values())

    def flush(*labels: int) -> None:
        nonlocal pending_bytes
        for label in labels:
            rows = pending[label]
            if rows:
                dbs[label].multi_insert(range(written[label], written[label] + len(rows)), rows)
            written[label] += len(rows)
            rows.clear()
        pending_bytes = sum(_nbytes(row) for rows in pending for row in rows)
        if on_progress:
            on_progress("writing splits", sum(written), total)

    try:
        for label, data in builder.stream():
            if pre_filter is not None and not pre_filter(data):
                continue
            row = {key: data[key] for key in schemas[SPLITS[label]]}
            pending[label].append(row)
            pending_bytes += _nbytes(row)
            if len(pending[label]) >= batch_size:
                flush(label)
            elif pending_bytes >= INSERT_BYTES:
                flush(*range(len(SPLITS)))
        flush(*range(len(SPLITS)))
    finally:
        for db in dbs:
            db.close()


def _nbytes(row: dict[str, Any]) -> int:
    return sum(v.nbytes for v in row.values() if isinstance(v, torch.Tensor))
