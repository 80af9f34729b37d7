"""Name resolution in ONNX scopes: one set of rules for every walker.

A subgraph (an If/Loop/Scan body) sees the names of the graphs around it and may shadow them; when
it ends, the enclosing names are back. A function body sees only its formal parameters, bound to
the call's actual producers. Lookups happen once per input and per edge, so names live in one flat
dict, and each open scope keeps an undo log of what it overwrote (a ChainMap did the same with a
Python-level lookup per name).

Scope paths (the `scope` column, docs/formats.md): `""` for the main graph, `<idx>/<attribute>` for
a GRAPH attribute of operator idx, `<idx>/<attribute>/<k>` for GRAPHS, `<idx>/<domain>:<function>`
for a model-local function body; nested scopes join with `/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from younger_graph.errors import ExtractionError

MAX_NESTING = 64  # subgraph and function-call levels one model may nest
MAX_NODES = 2_000_000  # nodes one model may have once function bodies and subgraphs are expanded

_ABSENT = object()
Undo = list[tuple[str, Any]]


class SymbolTable:
    """Names visible at the current point of a walk, in nested scopes.

    `names` is the flat lookup dict and `log` the undo log of the innermost scope; a hot loop may
    define names itself as `log.append((name, names.get(name, ABSENT))); names[name] = value`."""

    ABSENT = _ABSENT

    def __init__(self, names: dict[str, Any] | None = None) -> None:
        self.names: dict[str, Any] = {} if names is None else names
        self.log: Undo = []
        self._outer: list[Undo] = []

    def get(self, name: str, default: Any = None) -> Any:
        return self.names.get(name, default)

    def define(self, name: str, value: Any) -> None:
        self.log.append((name, self.names.get(name, _ABSENT)))
        self.names[name] = value

    @contextmanager
    def scope(self) -> Iterator[SymbolTable]:
        """A nested scope: names defined inside are gone (and shadowed ones back) when it ends."""
        self._outer.append(self.log)
        self.log = []
        try:
            yield self
        finally:
            names = self.names
            for name, old in reversed(self.log):
                if old is _ABSENT:
                    del names[name]
                else:
                    names[name] = old
            self.log = self._outer.pop()

    @contextmanager
    def isolated(self, names: dict[str, Any]) -> Iterator[SymbolTable]:
        """A function body: only `names` (formal parameters bound to the caller's producers) are
        visible inside; the caller's names are untouched and back when it ends."""
        saved = self.names, self.log, self._outer
        self.names, self.log, self._outer = names, [], []
        try:
            yield self
        finally:
            self.names, self.log, self._outer = saved


def check_nesting(depth: int, what: str = "subgraphs") -> None:
    """Refuse a model whose subgraphs (or function calls) nest deeper than MAX_NESTING."""
    if depth > MAX_NESTING:
        raise ExtractionError(f"{what} are nested deeper than {MAX_NESTING} levels")


def subgraph_scope(prefix: str, idx: int, attribute: str, k: int | None = None) -> str:
    """Scope of the body in attribute `attribute` (item k of a GRAPHS attribute) of operator idx;
    `prefix` is the enclosing scope followed by `/` (empty for the main graph)."""
    return f"{prefix}{idx}/{attribute}" if k is None else f"{prefix}{idx}/{attribute}/{k}"


def nesting_label(attribute: str, k: int | None = None) -> str:
    """The label of nesting links from an operator to the nodes of one of its bodies (hashed)."""
    return attribute if k is None else f"{attribute}/{k}"


def function_scope(prefix: str, idx: int, domain: str, name: str) -> str:
    return f"{prefix}{idx}/{domain}:{name}"
