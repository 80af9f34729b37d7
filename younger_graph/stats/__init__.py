"""Corpus statistics: `compute_stats(store)` → a JSON document (docs/stats.md), and its renderers.

    import younger_graph as yg
    with yg.open("corpus.db") as store:
        doc = yg.stats(store, task="image-classification")
    Path("report.html").write_text(yg.stats_report(doc))

The CLI command is `younger-graph stats` (younger_graph/cli/analysis.py). Names are imported on
first use, so importing the package costs nothing (no numpy/pandas/matplotlib).
"""

from __future__ import annotations

import importlib
from typing import Any

FORMATS = ("table", "json", "md", "html")

_WHERE = {
    "SCHEMA_VERSION": "compute",
    "STATS_QUERIES": "compute",
    "StatsError": "compute",
    "compute_stats": "compute",
    "distribution": "values",
    "render_html": "render",
    "render_json": "render",
    "render_markdown": "render",
    "write_plots": "plots",
    "svg_texts": "plots",
    "plot_names": "plots",
}

__all__ = ["FORMATS", *sorted(_WHERE)]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"younger_graph.stats.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'younger_graph.stats' has no attribute {name!r}")
