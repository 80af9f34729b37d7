"""The native extraction core (Rust, `native/` → `younger_graph.walk._native`), when this installation has it.

The native core is the Python walker's twin: from a model's bytes it returns the same operator,
edge and graph rows, the same `yg-wl-1` hashes and the same one-line error texts (the parity tests
compare the two row for row), without parsing tensor payloads and with the GIL released. `pip
install` builds it where a Rust toolchain exists; elsewhere the Python walker does all the work.
`YOUNGER_GRAPH_NATIVE=0` forces the Python walker even where the native core is built.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pyarrow as pa

from younger_graph.graph import ExtractedGraph, with_arch_view
from younger_graph.metrics import entropy_bits

ENV = "YOUNGER_GRAPH_NATIVE"


def switched_off() -> bool:
    return os.environ.get(ENV, "").strip().lower() in ("0", "false", "no", "off")


def module() -> ModuleType | None:
    """The native extension, or None when it is not built or switched off."""
    if switched_off():
        return None
    try:
        from younger_graph.walk import _native  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _native


def describe() -> str:
    """One line for `younger-graph --version`."""
    found = module()
    if found is not None:
        return f"native extractor: younger-graph-native {found.version()} (Rust, {found.HASH_VERSION})"
    if switched_off():
        return f"native extractor: switched off ({ENV}=0)"
    return "native extractor: not built (pure-Python walker)"


@dataclass
class NativeResult:
    """One model through the native core: its ONNX header fields (None when the bytes did not parse
    as a model), the row's error (None when it extracted) and its graph."""

    header: dict[str, Any] | None
    error: str | None
    graph: ExtractedGraph | None


def extract_bytes(core: ModuleType, data: bytes | memoryview, label: str) -> NativeResult:
    """`data` (a model file's bytes) through the native core. Errors read exactly as the Python
    path writes them: every error of a file starts with its name `label`."""
    return convert(core.extract_bytes(bytes(data) if isinstance(data, memoryview) else data, label or None), label)


def extract_paths(core: ModuleType, paths: list[str], threads: int) -> Iterator[tuple[str | None, int | None, Any]]:
    """(content sha256, size, raw result) per path, in order: the core reads, hashes and extracts
    the files on `threads` Rust threads, a few files ahead of the consumer (GIL released)."""
    return core.extract_paths(paths, threads=max(1, threads))


def convert(result: Any, label: str) -> NativeResult:
    """A raw result of the core → header, error, graph. The core prefixes read and parse errors
    with the file's name; walker errors (those after a successful parse) are prefixed here."""
    header, error, graph, operators, edges = result
    if error is not None:
        if header is not None and label:
            error = f"{label} {error}"
        return NativeResult(header, error, None)
    row = dict(graph)
    row["op_type_entropy"] = entropy_bits(row.pop("op_type_counts"))  # numpy's bits, not a Rust twin's
    row["num_models"] = 0
    graph = ExtractedGraph(row["graph_id"], row["graph_id_noattr"], row, pa.Table.from_batches([operators]),
                           pa.Table.from_batches([edges]))
    return NativeResult(header, None, with_arch_view(graph))  # the view is computed from the rows, as for every walker
