"""One model, no tables: its DAG summary (`inspect`) and its architecture hash (`hash`)."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

from younger_graph.errors import ModelError
from younger_graph.extract.sources import is_zoo_ref
from younger_graph.loaders import younger
from younger_graph.loaders.onnx_files import extract_file
from younger_graph.loaders.results import ModelResult, display_path
from younger_graph.loaders.zoo import extract_zoo

__all__ = ["ModelError", "ModelSummary", "extract_one", "hash_model", "inspect_model"]


def extract_one(source: str, infer_shapes: bool = False) -> ModelResult:
    """One model (an .onnx file, a zoo ref or a Younger instance folder) → its row and graph."""
    if is_zoo_ref(source):
        return extract_zoo(source, infer_shapes)
    if os.path.isdir(source) and younger.is_younger_instance(source):
        return younger.extract_instance(source)
    return extract_file(source, infer_shapes=infer_shapes)


@dataclass
class ModelSummary:
    source: str
    graph_id: str
    graph_id_noattr: str
    counts: dict[str, Any]
    op_types: list[tuple[str, int]]
    scopes: list[tuple[str, int]]
    header: dict[str, Any]
    graph_id_arch: str | None = None  # the architecture view's hash (docs/arch.md)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "graph_id": self.graph_id,
            "graph_id_noattr": self.graph_id_noattr,
            "graph_id_arch": self.graph_id_arch,
            **self.counts,
            "op_types": dict(self.op_types),
            "scopes": dict(self.scopes),
            **self.header,
        }


def _extracted(source: str, infer_shapes: bool = False) -> ModelResult:
    result = extract_one(source, infer_shapes)
    if not result.ok or result.graph is None:
        raise ModelError(f"{display_path(source)}: {result.row['error']}")
    return result


def inspect_model(source: str, infer_shapes: bool = False) -> ModelSummary:
    """The DAG summary of one model: counts, operators by type, subgraph scopes, hashes, ONNX header."""
    result = _extracted(source, infer_shapes)
    g = result.graph
    assert g is not None
    ops = g.operators.to_pydict()
    op_types = Counter(t for t, k in zip(ops["op_type"], ops["kind"]) if k == "operator")
    scopes = Counter(s for s in ops["scope"] if s)
    counts = {k: v for k, v in g.graph_row.items() if k.startswith("num_") and k != "num_models"}
    header = {k: result.row[k] for k in ("ir_version", "opsets", "producer", "content_sha256")}
    return ModelSummary(display_path(source), g.graph_id, g.graph_id_noattr, counts, op_types.most_common(),
                        sorted(scopes.items()), header, g.graph_row.get("graph_id_arch"))


def hash_model(source: str, noattr: bool = False, arch: bool = False) -> str:
    """The architecture hash of one model: `graph_id`, `graph_id_noattr` with noattr, or the
    architecture view's `graph_id_arch` with arch (docs/arch.md)."""
    graph = _extracted(source).graph
    assert graph is not None
    if arch:
        found = graph.graph_row.get("graph_id_arch")
        if not found:
            raise ModelError(f"{source}: its architecture view could not be computed")
        return str(found)
    return graph.graph_id_noattr if noattr else graph.graph_id
