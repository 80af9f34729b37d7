"""The query library: named, documented Cypher files in cypher/ (and cypher/stats/).

Each file starts with a header of `//` comment lines:

    // name: op_histogram
    // description: Operator types by occurrences and by number of graphs containing them.
    // param: top int = 30          (one line per parameter: name, type, optional default)
    // mode: read                    (read | write)

Parameters are always bound by the driver, never pasted into the text; only the parameters a
query declares are sent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from younger_graph import dialect
from younger_graph.errors import QueryLibraryError
from younger_graph.resources import shipped_dir

PARAM_TYPES = ("int", "float", "str", "bool", "list[str]", "list[int]", "list[float]", "list[map]")
_HEADER = re.compile(r"^//\s*(name|description|param|mode)\s*:\s*(.*?)\s*$")
_PARAM = re.compile(r"^(\w+)\s+([\w\[\]]+)(?:\s*=\s*(.*))?$")


INTERNAL_DIR = "internal"  # cypher/internal/: queries the package runs itself (reading, communities)

__all__ = ["Library", "Param", "Query", "QueryLibraryError", "library", "looks_like_write", "parse_query", "queries",
           "resolve"]


def cypher_dir() -> Path:
    """cypher/ inside the installed package (wheel) or beside it (source checkout)."""
    found = shipped_dir("cypher")
    if found is None:
        raise QueryLibraryError("the cypher/ query library is missing from this installation")
    return found


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any = None
    required: bool = True

    def convert(self, value: Any) -> Any:
        """Convert a CLI string (or a Python value) to the declared type."""
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and self.type in ("int", "float"):
            return _int64(value, self.name) if self.type == "int" else value
        if not isinstance(value, str):
            return value
        try:
            if self.type == "int":
                return _int64(int(value), self.name)
            if self.type == "float":
                return float(value)
            if self.type == "bool":
                return value.lower() in ("1", "true", "yes", "on")
            if self.type.startswith("list["):
                items = json.loads(value) if value.strip().startswith("[") else [v.strip() for v in value.split(",")]
                inner = Param(self.name, self.type[5:-1])
                return [inner.convert(v) for v in items if v != ""]
        except QueryLibraryError:
            raise
        except (ValueError, json.JSONDecodeError):
            raise QueryLibraryError(f"parameter {self.name} expects {self.type}, got {value!r}") from None
        return value


@dataclass(frozen=True)
class Query:
    name: str
    text: str
    description: str = ""
    params: tuple[Param, ...] = ()
    writes: bool = False
    path: Path | None = None
    internal: bool = False  # cypher/internal/: run by the package itself, not listed by `queries`

    def text_for(self, backend: str) -> str:
        nullable = {p.name: p.type for p in self.params if not p.required and p.default is None}
        return dialect.translate(self.text, backend, nullable)

    def bind(self, values: dict[str, Any]) -> dict[str, Any]:
        declared = {p.name: p for p in self.params}
        unknown = sorted(set(values) - set(declared))
        if unknown and self.path is not None:
            raise QueryLibraryError(f"query {self.name} has no parameter {', '.join(unknown)}")
        bound: dict[str, Any] = {}
        for p in self.params:
            if p.name in values:
                bound[p.name] = p.convert(values[p.name])
            elif p.required:
                raise QueryLibraryError(f"query {self.name} needs --param {p.name}=<{p.type}>")
            else:
                bound[p.name] = p.default
        if self.path is None:  # ad-hoc text: pass what the user gave
            bound.update({k: v for k, v in values.items() if k not in declared})
        return bound


INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def _int64(value: int, name: str) -> int:
    """Both stores take 64-bit integers; a larger one would fail in the driver with an opaque message."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise QueryLibraryError(f"parameter {name} must be between {INT64_MIN} and {INT64_MAX}, got {value}")
    return value


def _parse_default(type_: str, raw: str) -> Any:
    raw = raw.strip()
    if raw in ("null", "None"):
        return None
    if raw.startswith(("'", '"')):
        return raw[1:-1]
    return Param("default", type_).convert(raw)


def parse_query(text: str, path: Path | None = None, fallback_name: str = "query") -> Query:
    meta: dict[str, str] = {}
    params: list[Param] = []
    body: list[str] = []
    in_header = True
    for line in text.splitlines():
        m = _HEADER.match(line) if in_header else None
        if m:
            key, value = m.groups()
            if key == "param":
                pm = _PARAM.match(value.split("  ")[0].strip())
                if not pm or pm.group(2) not in PARAM_TYPES:
                    raise QueryLibraryError(f"{path or fallback_name}: bad param line {value!r}")
                name, type_, default = pm.groups()
                params.append(Param(name, type_, _parse_default(type_, default) if default is not None else None,
                                    required=default is None))
            else:
                meta[key] = value
            continue
        if line.strip().startswith("//") and in_header:
            continue
        in_header = False
        body.append(line)
    cypher = "\n".join(body).strip().rstrip(";")
    mode = meta.get("mode", "read").lower()
    if mode not in ("read", "write"):
        raise QueryLibraryError(f"{path or fallback_name}: mode must be read or write")
    return Query(meta.get("name", fallback_name), cypher, meta.get("description", ""), tuple(params),
                 mode == "write", path)


class Library:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.queries: dict[str, Query] = {}
        for path in sorted(root.rglob("*.cypher")):
            q = parse_query(path.read_text(encoding="utf-8"), path, path.stem)
            if path.relative_to(root).parts[0] == INTERNAL_DIR:
                q = replace(q, internal=True)
            if q.name in self.queries:
                raise QueryLibraryError(f"two queries are named {q.name}: {self.queries[q.name].path} and {path}")
            self.queries[q.name] = q

    def get(self, name: str) -> Query:
        if name not in self.queries:
            raise QueryLibraryError(f"no query named {name!r}; `younger-graph queries` lists them")
        return self.queries[name]

    def __iter__(self) -> Iterator[Query]:
        """The public queries (cypher/internal/ left out)."""
        return (q for q in self.queries.values() if not q.internal)

    def internal(self) -> list[Query]:
        return [q for q in self.queries.values() if q.internal]


@lru_cache(maxsize=1)
def library() -> Library:
    return Library(cypher_dir())


def queries() -> list[Query]:
    """The public query library (what `younger-graph queries` lists), in name order of their files."""
    return list(library())


def resolve(spec: str) -> Query:
    """NAME of a library query, a path to a .cypher file, or Cypher text."""
    if re.fullmatch(r"[\w.-]+", spec) and not spec.endswith(".cypher"):
        return library().get(spec)
    path = Path(spec)
    if spec.endswith(".cypher"):
        if not path.is_file():
            raise QueryLibraryError(f"no query file {spec}")
        return parse_query(path.read_text(encoding="utf-8"), None, path.stem)
    return parse_query(spec, None, "query")


def looks_like_write(text: str) -> bool:
    """Whether the text does anything but read, by the allow-list the embedded store enforces
    (store/readonly.py: strings, comments and escapes read as the engine reads them). Neo4j's READ
    sessions refuse writes on the server as well."""
    from younger_graph.errors import StoreError
    from younger_graph.store.readonly import check_read_only

    try:
        check_read_only(text)
    except StoreError:
        return True
    return False
