"""`YoungerDataset`: a folder written by `younger-graph export pyg`, as a PyTorch Geometric dataset.

    from younger_graph.pyg import YoungerDataset
    from torch_geometric.loader import DataLoader

    train = YoungerDataset("dataset/", split="train")
    for batch in DataLoader(train, batch_size=32, shuffle=True):
        ...

The folder is a standard `InMemoryDataset` root: `raw/` holds the rows read from the store (Parquet)
and `raw/export.json` the export options; `processed/{train,val,test}.pt` are the collated splits
(`InMemoryDataset.save` format, readable by any InMemoryDataset's `load`). `process()` rebuilds all
of processed/, `vocab.json`, `targets.json` and `meta.json` from raw/ in one call (pass
`force_reload=True` to redo it). See docs/export.md for the Data fields of each task.

This module needs torch_geometric (`pip install 'younger-graph[pyg]'`); the rest of the package does not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    from torch_geometric.data import InMemoryDataset
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("younger_graph.pyg needs torch_geometric: pip install 'younger-graph[pyg]'") from exc

from younger_graph.export.pyg import Builder
from younger_graph.export.source import Progress
from younger_graph.export.vocab import SPLITS, Vocab

__all__ = ["SPLITS", "YoungerDataset"]


class YoungerDataset(InMemoryDataset):
    """One split (`train`, `val` or `test`) of an exported dataset folder."""

    def __init__(self, root: str | Path, split: str = "train", transform: Callable | None = None,
                 pre_transform: Callable | None = None, pre_filter: Callable | None = None, *, log: bool = True,
                 force_reload: bool = False, on_progress: Progress | None = None) -> None:
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
        self.split = split
        self._on_progress = on_progress
        super().__init__(str(root), transform, pre_transform, pre_filter, log=log, force_reload=force_reload)
        self.load(self.processed_paths[SPLITS.index(split)])

    @property
    def raw_file_names(self) -> list[str]:
        return ["export.json", "graphs.parquet", "operators.parquet", "flows.parquet"]

    @property
    def processed_file_names(self) -> list[str]:
        return [f"{s}.pt" for s in SPLITS]

    def download(self) -> None:
        raise FileNotFoundError(f"{self.raw_dir} holds no export: write one with "
                                f"`younger-graph export pyg --db DB --task TASK --out {self.root}`")

    def process(self) -> None:
        builder = Builder(Path(self.root))
        builder.write_json()
        for i, split in enumerate(SPLITS):
            items = list(builder.data(split))
            if self.pre_filter is not None:
                items = [d for d in items if self.pre_filter(d)]
            if self.pre_transform is not None:
                items = [self.pre_transform(d) for d in items]
            if items:
                self.save(items, self.processed_paths[i])
            else:  # an empty split: what InMemoryDataset.load reads as zero items
                from torch_geometric.data import Data
                from torch_geometric.io import fs

                fs.torch_save((Data().to_dict(), {}, Data), self.processed_paths[i])
            del items
            if self._on_progress:
                self._on_progress("writing splits", i + 1, len(SPLITS))

    # -- the folder's JSON files ----------------------------------------------------------------
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
