"""Graph pages: one graph of a store drawn as a self-contained HTML page (`younger-graph view`).

`page.py` reads the graph and assembles the page, `layout.py` places the nodes (top-down layers),
`families.py` colours operators by family, `report.py` writes the pages the stats report links to;
`assets/` holds the page's script and style, shipped as package data and inlined into every page.
"""

from __future__ import annotations

from younger_graph.viewer.page import GraphView, resolve_target, view_graph

__all__ = ["GraphView", "resolve_target", "view_graph"]
