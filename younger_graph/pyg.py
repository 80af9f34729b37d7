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
        if all(Path(path).exists() for path in self.processed_paths):  # shipped without raw/: fine to load
            return
        raise FileNotFoundError(f"{self.raw_dir} holds no export: write one with "
                                f"`younger-graph export pyg --db DB --task TASK --out {self.root}`")

    def process(self) -> None:
        process(self.root, self.processed_paths, pre_transform=self.pre_transform, pre_filter=self.pre_filter,
                on_progress=self._on_progress)

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


def process(root: str | Path, processed_paths: list[str] | None = None, *, pre_transform: Callable | None = None,
            pre_filter: Callable | None = None, on_progress: Progress | None = None) -> None:
    """Build processed/{train,val,test}.pt, vocab.json, targets.json and meta.json from raw/ (what
    `YoungerDataset.process()` does), without loading a split afterwards: the export calls this."""
    from torch_geometric.data import Data
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
