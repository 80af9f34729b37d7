"""View pages for the stats report (`stats --report`): the report's links to the graphs behind its tables.

`report_views` writes, into a folder beside the report, one page per largest graph, per graph most
models share, and per top operator path (the graph where the path occurs most, its occurrences
highlighted), and returns the link rows `stats.render.render_html(doc, links=...)` draws.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from younger_graph.match import Runs, match
from younger_graph.patterns import frequent_paths
from younger_graph.viewer.page import _run_named, view_graph

__all__ = ["BLOCK_PAGES", "DRAW_UP_TO", "block_views", "report_views", "views_folder"]

DRAW_UP_TO = 60_000  # nodes: larger graphs are listed without a page (`younger-graph view` still draws them)
BLOCK_PAGES = 5  # per block table of the report: its top blocks get a page of their example


def views_folder(report: str | os.PathLike[str]) -> Path:
    """Where the pages of a report go: `report.html` → `report.views/` beside it."""
    path = Path(report)
    return path.with_name(f"{path.stem}.views")


def report_views(store: Runs, folder: str | os.PathLike[str], *, top: int = 5, path_length: int = 3,
                 relative_to: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Write the pages; one row per link: section, label, href (relative to `relative_to`, default the
    folder's parent: where the report is), detail."""
    out = Path(folder)
    base = Path(relative_to) if relative_to is not None else out.parent
    links: list[dict[str, Any]] = []
    for section, query in (("largest graphs", "report_largest_graphs"),
                           ("graphs most models share", "report_common_graphs")):
        for row in _run_named(store, query, top=top).to_dict("records"):
            detail = f"{int(row['num_operators'] or 0):,} operators, {int(row['num_models'] or 0):,} models"
            links.append(_graph_link(store, section, str(row["graph_id"]), int(row["num_nodes"] or 0), detail,
                                     out, base))
    paths = frequent_paths(store, (path_length,), top=top) if top > 0 else None
    for ops, support, count in zip(paths["ops"], paths["support"], paths["occurrences"]) if paths is not None else ():
        chain = str(ops).replace(",", ">")
        found = match(store, chain)
        if not len(found):
            continue
        graph_id = found["graph_id"].value_counts().sort_index().sort_values(ascending=False, kind="stable").index[0]
        detail = f"in {int(support):,} graphs, {int(count):,} times; drawn: the graph where it occurs most"
        links.append(_graph_link(store, f"top {path_length}-operator paths", str(graph_id), 0, detail, out, base,
                                 label=chain, highlight=chain))
    return links


def block_views(store: Runs, doc: dict[str, Any], folder: str | os.PathLike[str], *, top: int = BLOCK_PAGES,
                relative_to: str | os.PathLike[str] | None = None) -> dict[tuple[str, str], str]:
    """Pages of the building blocks' examples (the stats document's `communities` section): for the top
    blocks of each method and hash kind, the example graph with the example community's operators
    marked. Returns (method, block hash) → href (relative to `relative_to`, default the folder's parent),
    for `render_html(doc, block_link=lambda m, b: hrefs.get((m, b["hash"])))`."""
    out = Path(folder)
    base = Path(relative_to) if relative_to is not None else out.parent
    sizes: dict[str, int] = {}
    hrefs: dict[tuple[str, str], str] = {}
    for method, entry in sorted((doc.get("communities") or {}).items()):
        for kind in ("hash", "hash_noattr"):
            for block in (entry.get("blocks", {}).get(kind) or {}).get("ranking", [])[:top]:
                example = block.get("example") or {}
                graph_id, nodes = example.get("graph_id"), example.get("nodes") or []
                if not graph_id or not nodes or (method, block["hash"]) in hrefs:
                    continue
                if graph_id not in sizes:
                    info = _run_named(store, "view_graph", graph_id=graph_id)
                    sizes[graph_id] = int(info["num_nodes"].iloc[0] or 0) if len(info) else 0
                if sizes[graph_id] > DRAW_UP_TO:
                    continue
                label = f"block {str(block['hash'])[:8]} ({method}, community {example.get('community_id')})"
                view = view_graph(store, graph_id, marks={label: nodes})
                name = re.sub(r"[^\w.-]", "_", f"block-{method}-{kind}-{str(block['hash'])[:16]}") + ".html"
                hrefs[(method, str(block["hash"]))] = os.path.relpath(view.save(out / name), base).replace(os.sep, "/")
    return hrefs


def _graph_link(store: Runs, section: str, graph_id: str, nodes: int, detail: str, out: Path, base: Path, *,
                label: str | None = None, highlight: str | None = None) -> dict[str, Any]:
    row = {"section": section, "label": label or graph_id, "href": None, "detail": detail, "graph_id": graph_id}
    if nodes > DRAW_UP_TO:
        row["detail"] += f"; too large for a page here ({nodes:,} nodes): younger-graph view {graph_id}"
        return row
    view = view_graph(store, graph_id, highlight=[highlight] if highlight else ())
    if label is None:
        row["label"] = view.title
    name = re.sub(r"[^\w.-]", "_", f"path-{label.replace('>', '-')}" if label else f"graph-{graph_id}") + ".html"
    path = view.save(out / name)
    row["href"] = os.path.relpath(path, base).replace(os.sep, "/")
    return row
