"""One graph of a store as a self-contained HTML page (`younger-graph view`, `yg.view_graph`).

The page holds everything it needs: the drawing's data as JSON, and the script and style shipped in
`viewer/assets/` (inlined; no network request is made). Positions are computed here (layout.py), per
scope: the drawn scope at the origin, each subgraph body (If/Loop/Scan bodies, function bodies) a
collapsible cluster the page places beside its owner. Pattern occurrences found by
`younger_graph.match` mark their operators with the CSS class `hit` and can be stepped through.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from younger_graph import __version__, atomic
from younger_graph.errors import UsageError
from younger_graph.match import Runs, match, parse_pattern
from younger_graph.viewer.families import NAMES, family
from younger_graph.viewer.layout import NODE_HEIGHT, layered_layout, node_width

__all__ = ["GraphView", "resolve_target", "view_graph"]

EXPAND_UP_TO = 5000  # bodies start expanded when the drawing has at most this many nodes
IO_LABEL = 28  # characters of an input/output name shown in its box
OUTER_STUB = 18.0  # length of the stub drawn for a flow entering a body from an enclosing scope


@dataclass
class GraphView:
    """A drawn graph: `html()` is the page, `save(path)` writes it, notebooks show it inline."""

    graph_id: str
    payload: dict[str, Any]
    title: str = ""
    occurrences: dict[str, list[list[int]]] = field(default_factory=dict)

    def html(self) -> str:
        data = json.dumps(self.payload, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
        legend = "".join(f"<span><i class=fam-{name}></i>{name}</span>" for name in self.payload["legend"])
        models = ", ".join(self.payload["graph"]["models"][:5])
        more = len(self.payload["graph"]["models"]) - 5
        meta = (f"{self.payload['graph']['num_operators']:,} operators · graph {self.graph_id}"
                + (f" · {models}" if models else "") + (f" and {more} more" if more > 0 else ""))
        return "\n".join([
            "<!DOCTYPE html>", "<html lang=en><head><meta charset=utf-8>",
            "<meta name=viewport content='width=device-width,initial-scale=1'>",
            f"<title>{html.escape(self.title)}</title>", f"<style>{_asset('view.css')}</style></head><body>",
            f"<header id=yg-top><h1>{html.escape(self.title)}</h1><span class=meta>{html.escape(meta)}</span>",
            "<button id=yg-fit title='fit the graph'>fit</button><button id=yg-zoom-out>\u2212</button>"
            "<button id=yg-zoom-in>+</button>", f"<div id=yg-legend>{legend}</div></header>",
            "<div id=yg-main><div id=yg-stage><canvas id=yg-canvas style='display:none'></canvas>",
            "<svg id=yg-svg xmlns='http://www.w3.org/2000/svg'><defs><marker id=yg-arrow viewBox='0 0 10 10' "
            "refX=10 refY=5 markerWidth=8 markerHeight=8 markerUnits=userSpaceOnUse orient=auto-start-reverse>"
            "<path d='M0,0L10,5L0,10z' fill='#888'/></marker></defs>"
            "<g id=yg-world><g id=yg-frames></g><g id=yg-edges></g><g id=yg-nodes></g></g></svg></div>",
            "<aside id=yg-side><section id=yg-occurrences></section><section id=yg-details></section></aside></div>",
            f"<script type=application/json id=yg-data>{data}</script>",
            f"<script>{_asset('view.js')}</script>",
            f"<!-- younger-graph {__version__} -->", "</body></html>", ""])

    def save(self, path: str | os.PathLike[str]) -> Path:
        out = Path(path)
        atomic.write_text(out, self.html())
        return out

    def summary(self) -> str:
        nodes = len(self.payload["nodes"]["idx"])
        found = ", ".join(f"{len(v)} occurrences of {k}" for k, v in self.occurrences.items())
        return f"{nodes:,} nodes drawn in {len(self.payload['scopes'])} scopes" + (f"; {found}" if found else "")

    def _repr_html_(self) -> str:
        """Notebooks: the page in an iframe of its own (its script and style stay out of the notebook's)."""
        page = html.escape(self.html(), quote=True)
        return (f"<iframe srcdoc=\"{page}\" style='width:100%;height:620px;border:1px solid #ddd' "
                "sandbox='allow-scripts'></iframe>")


def _asset(name: str) -> str:
    return resources.files("younger_graph.viewer").joinpath("assets", name).read_text(encoding="utf-8")


# -- what to draw -------------------------------------------------------------------------------------
def resolve_target(store: Runs, target: str) -> str:
    """A graph_id, a model name or model_id, or a model file (hashed, then looked up) → the graph_id."""
    if os.path.isfile(target):
        from younger_graph.inspection import hash_model

        graph_id = hash_model(target)
        if not _found(store, graph_id):
            raise UsageError(f"{target} (graph {graph_id}) is not in the store {getattr(store, 'location', '')}: "
                             "load it first")
        return graph_id
    ids = sorted({str(g) for g in _run_named(store, "view_target", target=target)["graph_id"]})
    if not ids:
        raise UsageError(f"{target!r} is not in the store: no graph_id, model name, model_id or model file of that "
                         "name")
    if len(ids) > 1:
        raise UsageError(f"{target!r} names {len(ids)} architectures ({', '.join(ids[:3])}...): give a graph_id")
    return ids[0]


def _found(store: Runs, graph_id: str) -> bool:
    return len(_run_named(store, "view_target", target=graph_id)) > 0


def _run_named(store: Runs, name: str, **params: Any) -> pd.DataFrame:
    from younger_graph.query import library

    q = library().get(name)
    return store.run(q.text_for(store.backend), q.bind(params))


def _owner(scope: str) -> tuple[int, str]:
    """`3/body/11/then_branch` → (11, 'then_branch'); `5/branches/0` → (5, 'branches/0')."""
    parts = scope.split("/")
    for i in range(len(parts) - 2, -1, -1):
        if parts[i].isdigit():
            return int(parts[i]), "/".join(parts[i + 1:])
    return -1, scope


def _label(kind: str, op_type: str, name: str) -> str:
    if kind == "operator":
        return op_type
    text = name or op_type
    return text if len(text) <= IO_LABEL else text[:IO_LABEL - 1] + "…"


def view_graph(store: Runs, target: str, *, highlight: Any = (), scope: str | None = None,
               marks: dict[str, list[int]] | None = None) -> GraphView:
    """Draw one graph of the store (`target`: a graph_id, model name or model_id, or a model file in the
    store) as a self-contained page; `highlight`: patterns (chains, .onnx blocks, Patterns; one or a list)
    whose occurrences in the graph are marked; `marks`: label → operator idx marked as one occurrence
    (a community, a diff); `scope`: draw only that subgraph body and what it nests."""
    graph_id = resolve_target(store, target)
    info = _run_named(store, "view_graph", graph_id=graph_id).iloc[0].to_dict()
    ops = _run_named(store, "view_operators", graph_id=graph_id)
    flows = _run_named(store, "view_flows", graph_id=graph_id)
    ops = ops.fillna({"scope": "", "name": "", "domain": "", "attrs": "{}", "initializers": "{}"})
    root = scope or ""
    scopes = sorted({str(s) for s in ops["scope"]})
    if root and root not in scopes:
        raise UsageError(f"graph {graph_id} has no scope {root!r}" + (f"; its scopes: {', '.join(scopes[:8])}"
                                                                       if len(scopes) > 1 else ""))
    drawn = ops[ops["scope"].map(lambda s: s == root or s.startswith(root + "/") if root else True)]
    drawn = drawn.reset_index(drop=True)
    payload = _payload(drawn, flows, root, info)
    patterns = [highlight] if isinstance(highlight, (str, os.PathLike)) or hasattr(highlight, "nodes") else \
        list(highlight or ())
    occurrences = {}
    for spec in patterns:
        pat = parse_pattern(spec)
        found = match(store, pat, graphs=[graph_id])
        inside = [list(n) for s, n in zip(found["scope"], found["nodes"]) if s in payload["scope_index"]]
        occurrences[pat.describe()] = inside
        payload["occurrences"].append({"pattern": pat.describe(), "found": inside,
                                       "elsewhere": len(found) - len(inside)})
    drawn_idx = {int(i) for i in drawn["idx"]}
    for label, nodes in (marks or {}).items():
        inside = [int(i) for i in nodes if int(i) in drawn_idx]
        occurrences[label] = [inside] if inside else []
        payload["occurrences"].append({"pattern": label, "found": occurrences[label],
                                       "elsewhere": 0 if inside or not nodes else 1})
    del payload["scope_index"]
    models = sorted(str(m) for m in info.get("models") or [])
    title = f"{models[0] if models else graph_id}" + (f" · scope {root}" if root else "")
    return GraphView(graph_id, payload, title, occurrences)


def _payload(ops: pd.DataFrame, flows: pd.DataFrame, root: str, info: dict[str, Any]) -> dict[str, Any]:
    """The JSON the page's script draws: nodes (columns), flows (columns with polylines), scopes."""
    idx = ops["idx"].astype(int).to_numpy()
    position = {int(i): p for p, i in enumerate(idx)}
    scope_names = [root, *sorted({s for s in ops["scope"] if s != root}, key=lambda s: (s.count("/"), s))]
    scope_index = {s: k for k, s in enumerate(scope_names)}
    node_scope = ops["scope"].map(scope_index).to_numpy()
    kinds, op_types, names = ops["kind"].tolist(), ops["op_type"].tolist(), ops["name"].tolist()
    labels = [_label(k, t, n) for k, t, n in zip(kinds, op_types, names)]
    families = [family(t, k) for t, k in zip(op_types, kinds)]
    widths = np.array([node_width(lb) for lb in labels])
    keep = flows["src"].map(lambda s: int(s) in position) & flows["dst"].map(lambda d: int(d) in position)
    flows = flows[keep].reset_index(drop=True)
    src_p = flows["src"].map(lambda s: position[int(s)]).to_numpy(dtype=np.int64)
    dst_p = flows["dst"].map(lambda d: position[int(d)]).to_numpy(dtype=np.int64)
    x, y = np.zeros(len(idx)), np.zeros(len(idx))
    pts: list[list[float] | None] = [None] * len(flows)
    flow_scope = node_scope[dst_p] if len(flows) else np.zeros(0, np.int64)
    outer = (node_scope[src_p] != node_scope[dst_p]) if len(flows) else np.zeros(0, bool)
    scope_rows = []
    for k, name in enumerate(scope_names):
        members = np.flatnonzero(node_scope == k)
        local = np.full(len(idx), -1, dtype=np.int64)
        local[members] = np.arange(len(members))
        inner = np.flatnonzero((flow_scope == k) & ~outer)
        lay = layered_layout(len(members), local[src_p[inner]], local[dst_p[inner]], widths[members],
                             np.array([kinds[p] == "input" for p in members], bool))
        x[members], y[members] = lay.x, lay.y
        for f, line in zip(inner.tolist(), lay.edges):
            pts[f] = line
        owner, attr = _owner(name) if k else (-1, "")
        scope_rows.append({"scope": name, "owner": owner, "w": round(lay.width, 1), "h": round(lay.height, 1),
                           "nodes": members.tolist(), "edges": [], "children": [], "parent": -1,
                           "title": f"#{owner} {op_types[position[owner]] if owner in position else ''} · {attr}"
                           if k else name})
    for f in np.flatnonzero(outer).tolist():  # a flow into a body from an enclosing scope: a stub above its consumer
        d = dst_p[f]
        pts[f] = [round(x[d], 1), round(y[d] - OUTER_STUB, 1), round(x[d], 1), round(y[d], 1)]
    for f, k in enumerate(flow_scope.tolist()):
        scope_rows[k]["edges"].append(f)
    for k, row in enumerate(scope_rows[1:], start=1):
        parent = scope_index.get(ops["scope"].iloc[position[row["owner"]]]) if row["owner"] in position else 0
        row["parent"] = 0 if parent is None else parent
        scope_rows[row["parent"]]["children"].append(k)
    present = sorted({f for f in families}, key=NAMES.index)
    fam_code = {name: i for i, name in enumerate(NAMES)}
    return {
        "version": 1,
        "graph": {"graph_id": str(info.get("graph_id")), "models": sorted(str(m) for m in info.get("models") or []),
                  **{k: _int(info.get(k)) for k in ("num_operators", "num_nodes", "num_edges", "num_subgraphs",
                                                     "num_functions")}},
        "node_height": NODE_HEIGHT,
        "expanded": len(idx) <= EXPAND_UP_TO,
        "families": list(NAMES),
        "legend": present,
        "nodes": {"idx": idx.tolist(), "kind": kinds, "op": op_types, "domain": ops["domain"].tolist(),
                  "name": names, "label": labels, "fam": [fam_code[f] for f in families],
                  "scope": node_scope.tolist(), "x": np.round(x, 1).tolist(), "y": np.round(y, 1).tolist(),
                  "w": np.round(widths, 1).tolist(), "attrs": ops["attrs"].tolist(),
                  "inits": ops["initializers"].tolist()},
        "flows": {"src": flows["src"].astype(int).tolist(), "dst": flows["dst"].astype(int).tolist(),
                  "src_slot": flows["src_slot"].astype(int).tolist(),
                  "dst_slot": flows["dst_slot"].astype(int).tolist(),
                  "tensor": _texts(flows["tensor"]), "dtype": _texts(flows["dtype"]), "shape": _texts(flows["shape"]),
                  "scope": flow_scope.tolist(), "outer": outer.astype(int).tolist(), "pts": pts},
        "scopes": scope_rows,
        "occurrences": [],
        "scope_index": scope_index,
    }


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _texts(col: pd.Series) -> list[str]:
    return [("" if v is None or (isinstance(v, float) and v != v) else str(v)) for v in col.tolist()]
