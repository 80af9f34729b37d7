"""The native extraction core (Rust, `younger_graph.walk._native`), when this installation has it.

`pip install` builds it where a Rust toolchain exists; elsewhere the Python walker does all the work.
`YOUNGER_GRAPH_NATIVE=0` forces the Python walker even where the native core is built.
"""

from __future__ import annotations

import os
from types import ModuleType


def module() -> ModuleType | None:
    """The native extension, or None when it is not built or switched off."""
    if os.environ.get("YOUNGER_GRAPH_NATIVE", "").strip().lower() in ("0", "false", "no", "off"):
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
        return f"native extractor: {found.version()}"
    if os.environ.get("YOUNGER_GRAPH_NATIVE", "").strip().lower() in ("0", "false", "no", "off"):
        return "native extractor: switched off (YOUNGER_GRAPH_NATIVE=0)"
    return "native extractor: not built"
