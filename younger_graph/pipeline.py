"""Stages chained for convenience: `ingest` = extract (models → tables) then load (tables → store).

Extraction never talks to a database and the store never parses ONNX; this module is the only
place that runs both, handing the extraction folder from one to the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from younger_graph.extract import ExtractSummary, extract
from younger_graph.store import is_neo4j, open_store, resolve_db
from younger_graph.store.base import LoadSummary


@dataclass
class IngestSummary:
    tables: Path
    extracted: ExtractSummary
    loaded: LoadSummary

    def as_dict(self) -> dict[str, Any]:
        return {"tables": str(self.tables), "extract": self.extracted.as_dict(), "load": self.loaded.as_dict()}


def default_tables(db: str) -> Path:
    """Where `ingest` keeps the Parquet tables: `<db>.tables` beside an embedded database."""
    return Path("younger-graph.tables" if is_neo4j(db) else f"{db}.tables")


def ingest(sources: Iterable[str], db: str | Path | None = None, *, tables: str | Path | None = None,
           workers: int | None = None, meta: str | Path | None = None, attr_properties: bool = True,
           username: str | None = None, password: str | None = None,
           executor: str = "local", address: str | None = None,
           on_extract: Callable[[int, int, Any], None] | None = None,
           on_load: Callable[[str, int, int], None] | None = None) -> IngestSummary:
    """Extract `sources` into `tables` (default: `<db>.tables`), then load them into the store `db`."""
    target = resolve_db(str(db) if db is not None else None)
    folder = Path(tables) if tables is not None else default_tables(target)
    extracted = extract(sources, folder, workers=workers, meta=meta, on_progress=on_extract, executor=executor,
                        address=address)
    with open_store(target, write=True, username=username, password=password) as store:
        loaded = store.load(folder, on_progress=on_load, attr_properties=attr_properties)
    return IngestSummary(folder, extracted, loaded)
