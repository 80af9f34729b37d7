"""What every loader returns for one model source: its models row, and its graph when it extracts.

Shared by the ONNX-file, zoo and Younger-release loaders. Nothing here raises for a bad model: a
failure is a row with `status="error"` and one sentence in `error`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from younger_graph.graph import ExtractedGraph


@dataclass
class ModelResult:
    row: dict[str, Any]
    graph: ExtractedGraph | None = None
    known: bool = False  # content already extracted earlier: the parent fills in graph_id

    @property
    def ok(self) -> bool:
        return self.row["status"] == "ok"


def display_path(path: str) -> str:
    """A path as text for tables and messages. A file name that is not valid UTF-8 reaches Python
    surrogate-escaped (PEP 383), which no table, JSON or terminal accepts: its undecodable bytes are
    written `\\xNN` (lowercase hex), the rule strings inside models follow (walk/text.py). The file is
    still opened by its real name; valid paths come back unchanged."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        try:
            raw = path.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that no file name decoded to
            raw = path.encode("utf-8", "backslashreplace")
        return raw.decode("utf-8", "backslashreplace")


def model_id_for(source: str, content_sha256: str | None) -> str:
    return hashlib.sha256(f"{source}\0{content_sha256 or ''}".encode("utf-8", "surrogateescape")).hexdigest()[:16]


def new_row(source: str, name: str, sha: str | None = None, size: int | None = None) -> dict[str, Any]:
    """A models row for `source` with the core columns (docs/formats.md), status ok until failed()."""
    return {
        "model_id": model_id_for(source, sha),
        "source": source,
        "name": name,
        "status": "ok",
        "error": "",
        "graph_id": None,
        "content_sha256": sha,
        "ir_version": None,
        "opsets": None,
        "producer": None,
        "num_bytes": size,
        "task": None,
        "origin": None,
        "tags": None,
    }


def failed(row: dict[str, Any], message: str) -> ModelResult:
    """The row marked as failed with a one-sentence `message`."""
    row.update(status="error", error=message)
    return ModelResult(row)
