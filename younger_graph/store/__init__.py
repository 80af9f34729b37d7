"""Graph stores: `open(db)` picks the embedded database (a path) or Neo4j (bolt:// or neo4j://)."""

from __future__ import annotations

import os
from pathlib import Path

from younger_graph.store.base import LoadSummary, QueryError, Store, StoreError

DEFAULT_DB = "younger-graph.db"
NEO4J_SCHEMES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")

__all__ = ["DEFAULT_DB", "LoadSummary", "QueryError", "Store", "StoreError", "open_store", "resolve_db"]


def resolve_db(db: str | Path | None) -> str:
    """--db, else $YOUNGER_GRAPH_DB, else ./younger-graph.db."""
    return str(db or os.environ.get("YOUNGER_GRAPH_DB") or DEFAULT_DB)


def is_neo4j(db: str) -> bool:
    return db.startswith(NEO4J_SCHEMES)


def open_store(db: str | Path | None = None, *, write: bool = False, username: str | None = None,
               password: str | None = None) -> Store:
    """Open a store read-only (default) or for writing (`write=True`: loads, --write queries)."""
    target = resolve_db(db)
    if is_neo4j(target):
        from younger_graph.store.neo4j import Neo4jStore

        return Neo4jStore(target, username=username, password=password, write=write)
    from younger_graph.store.embedded import EmbeddedStore

    return EmbeddedStore(target, write=write)
