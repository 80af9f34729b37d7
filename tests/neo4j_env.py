"""Where the Neo4j tests find their server, and what they do when there is none.

The server is named by NEO4J_URI (with NEO4J_USERNAME / NEO4J_PASSWORD, defaults `neo4j` /
`younger-graph`, the dev credentials of scripts/neo4j and docker-compose.yml). Without NEO4J_URI a
Neo4j test is skipped on a developer's machine and FAILS on CI (env CI set): there a skipped Neo4j
test would only hide that the server never ran. Start one with `scripts/neo4j start` and export
NEO4J_URI=bolt://127.0.0.1:7687 (docs/neo4j.md).
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

DEFAULT_URI = "bolt://127.0.0.1:7687"
DEFAULT_USERNAME = "neo4j"
DEFAULT_PASSWORD = "younger-graph"


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the test locally; fail it on CI, where a skipped Neo4j test counts as a failure."""
    if on_ci():
        pytest.fail(f"{reason} (on CI a skipped Neo4j test is a failure)", pytrace=False)
    pytest.skip(reason)


def require_neo4j() -> tuple[str, str, str]:
    """(uri, username, password) of the test server, or skip (locally) / fail (CI) without NEO4J_URI."""
    uri = os.environ.get("NEO4J_URI", "").strip()
    if not uri:
        skip_or_fail(f"NEO4J_URI is not set: run scripts/neo4j start and export NEO4J_URI={DEFAULT_URI}")
    return (uri, os.environ.get("NEO4J_USERNAME") or DEFAULT_USERNAME,
            os.environ.get("NEO4J_PASSWORD") or DEFAULT_PASSWORD)


def wipe(store) -> None:  # type: ignore[no-untyped-def]
    """Empty the test server (community edition has one database), in batches."""
    while int(store.run("MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS n", write=True).n[0]):
        pass


def loaded_store(tables):  # type: ignore[no-untyped-def]
    """Generator for a module fixture: the test server emptied, `tables` loaded; emptied again after."""
    from younger_graph.store import open_store

    uri, user, password = require_neo4j()
    store = open_store(uri, write=True, username=user, password=password)
    wipe(store)
    store.load(tables)
    yield store
    wipe(store)
    store.close()
