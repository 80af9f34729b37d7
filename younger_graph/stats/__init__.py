"""Corpus statistics: `compute_stats(store)` → a JSON document (docs/stats.md), and its renderers.

    from younger_graph.stats import compute_stats, render_html
    with yg.open("corpus.db") as store:
        doc = compute_stats(store, task="image-classification")
    Path("report.html").write_text(render_html(doc))

The CLI command is `younger-graph stats` (younger_graph/stats/command.py).
"""

from __future__ import annotations

from typing import Any

from younger_graph.stats.compute import SCHEMA_VERSION, STATS_QUERIES, StatsError, compute_stats, distribution
from younger_graph.stats.render import FORMATS, render_html, render_json, render_markdown, render_table

__all__ = [
    "FORMATS",
    "SCHEMA_VERSION",
    "STATS_QUERIES",
    "StatsError",
    "compute_stats",
    "distribution",
    "render_html",
    "render_json",
    "render_markdown",
    "render_table",
    "write_plots",
]


def write_plots(doc: dict[str, Any], folder: Any, svgs: dict[str, str] | None = None) -> list[Any]:
    """Every plot of the document as PNG and SVG in `folder` (matplotlib is imported only here)."""
    from younger_graph.stats.plots import write_plots as _write

    return _write(doc, folder, svgs)
