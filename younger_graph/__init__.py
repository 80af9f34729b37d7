"""younger-graph: neural-network architectures as a queryable graph database."""

from pathlib import Path

__version__ = "0.1.0"

# In a source checkout (editable install) loaders/ and cypher/ sit beside this package, not inside it;
# the wheel copies them in. Extending __path__ makes `younger_graph.loaders` import the same way in both.
_REPO_ROOT = Path(__file__).resolve().parent.parent
if (_REPO_ROOT / "loaders" / "__init__.py").is_file() and not (Path(__file__).parent / "loaders").exists():
    __path__.append(str(_REPO_ROOT))  # type: ignore[name-defined]


def extract(*args, **kwargs):  # type: ignore[no-untyped-def]
    """younger_graph.extract.extract (lazy import keeps `import younger_graph` light)."""
    from younger_graph.extract import extract as _extract

    return _extract(*args, **kwargs)


def open(db=None, *, write: bool = False, username=None, password=None):  # type: ignore[no-untyped-def]
    """Open a store: a path → embedded LadybugDB, bolt:// or neo4j:// → Neo4j (read-only by default)."""
    from younger_graph.store import open_store

    return open_store(db, write=write, username=username, password=password)
