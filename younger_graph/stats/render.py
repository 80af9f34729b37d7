"""Renderers of a statistics document: JSON, Markdown and a self-contained HTML report, plus the
sections every renderer shows (the terminal table is drawn by the CLI from the same sections).

All of them read only the document (docs/stats.md), so a saved `stats --format json` file can be
rendered again later. The HTML report embeds its plots as inline SVG and its data as JSON: one file,
no network, opens offline.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from typing import Any

import pandas as pd

from younger_graph import __version__
from younger_graph.stats import FORMATS

__all__ = ["FORMATS", "TEXT_COLUMNS", "BlockLink", "block_section", "cells", "render_html", "render_json",
           "render_markdown", "sections", "selection_line"]

DIST_COLUMNS = ["count", "min", "median", "mean", "p90", "max"]
TEXT_COLUMNS = ("", "task", "origin", "op_type", "domain", "producer", "consumer", "graphs with", "family", "graph",
                "neighbour", "neighbour_family", "op types", "example", "hash")
BLOCK_COLUMNS = ["#", "graphs", "occurrences", "size", "operators", "boundary", "op types", "example", "hash"]
SHOWN_OP_TYPES = 8  # runs of op types listed per block in the tables (the JSON document has them all)
COMMUNITIES_COMMAND = "younger-graph communities --method cnm|louvain|wcc"
# (method, block row) → the URL of a page showing the block's example, or None: no link (stats_report).
BlockLink = Callable[[str, dict[str, Any]], "str | None"]


def render_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# -- sections shared by table / md / html -------------------------------------------------------
def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "–"
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return str(value)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _dist_rows(dists: dict[str, dict[str, Any]], labels: dict[str, str]) -> pd.DataFrame:
    rows = [{"": label, **{c: dists[key].get(c) for c in DIST_COLUMNS}} for key, label in labels.items()]
    return pd.DataFrame(rows, columns=["", *DIST_COLUMNS])


def selection_line(doc: dict[str, Any]) -> str:
    sel = doc["selection"]
    parts = []
    if sel.get("task") is not None:
        parts.append(f"task = {sel['task']}")
    if sel.get("where"):
        params = ", ".join(f"{k}={v}" for k, v in sel.get("where_params", {}).items())
        parts.append(f"where = {sel['where']}" + (f" ({params})" if params else ""))
    scope = " and ".join(parts) if parts else "all graphs"
    return f"{scope}: {sel['graphs']:,} graphs"


def sections(doc: dict[str, Any]) -> list[tuple[str, str, pd.DataFrame]]:
    """(key, title, table) in report order; `key` tells the HTML report where plots go."""
    ov = doc["overview"]
    overview = pd.DataFrame([
        ("models", ov["models"]), ("models ok", ov["models_ok"]), ("models failed", ov["models_failed"]),
        ("unique architectures (graphs)", ov["graphs"]),
        ("unique architectures without attributes", ov["graphs_noattr"]),
        ("dedup ratio (ok models per graph)", ov["dedup_ratio"]),
        ("nodes", ov["nodes"]), ("operators", ov["operators"]), ("edges", ov["edges"]),
        ("operator types", ov["op_types"]),
        ("vocabulary with attributes (op_type, domain, attrs)", ov["vocabulary_with_attrs"]),
        ("vocabulary without attributes (op_type, domain)", ov["vocabulary_without_attrs"]),
    ], columns=["", "value"])
    st = doc["structure"]
    features = pd.DataFrame(
        [{"graphs with": k.replace("_", " "), "graphs": v, "fraction": _pct(st["fractions"][k])}
         for k, v in st["counts"].items()],
        columns=["graphs with", "graphs", "fraction"],
    )
    op = doc["op_types"]
    ops_cols = ["op_type", "domain", "occurrences", "graphs", "attr_variants", "share"]
    deg_in = {r["degree"]: r["nodes"] for r in doc["degrees"]["in"]["histogram"]}
    deg_out = {r["degree"]: r["nodes"] for r in doc["degrees"]["out"]["histogram"]}
    degrees = pd.DataFrame(
        [{"degree": d, "nodes (in-degree)": deg_in.get(d, 0), "nodes (out-degree)": deg_out.get(d, 0)}
         for d in sorted(set(deg_in) | set(deg_out))],
        columns=["degree", "nodes (in-degree)", "nodes (out-degree)"],
    )
    return [
        ("overview", "Overview", overview),
        ("by_task", "Models by task", pd.DataFrame(doc["by_task"],
                                                   columns=["task", "models", "models_ok", "models_failed", "graphs"])),
        ("by_origin", "Models by origin", pd.DataFrame(doc["by_origin"], columns=["origin", "models", "models_ok",
                                                                                  "models_failed", "graphs"])),
        ("sizes", "Graph sizes (per unique architecture)",
         _dist_rows(doc["sizes"], {"operators": "operators", "edges": "edges", "nodes": "nodes"})),
        ("op_types_occ", f"Top {op['top']} operator types by occurrences ({op['distinct']} distinct)",
         pd.DataFrame(op["by_occurrences"], columns=ops_cols)),
        ("op_types_graphs", f"Top {op['top']} operator types by graphs containing them",
         pd.DataFrame(op["by_graphs"], columns=ops_cols)),
        ("degrees", f"Node degrees along FLOWS (mean {_fmt(doc['degrees']['in']['mean'])}, max in "
                    f"{_fmt(doc['degrees']['in']['max'])}, max out {_fmt(doc['degrees']['out']['max'])})", degrees),
        ("structure", f"Structure ({st['with_metrics']:,} of {st['graphs']:,} graphs have metrics; "
                      f"{st['counts']['cyclic']:,} cyclic)",
         _dist_rows(st, {"depth": "depth", "width": "width", "entropy": "op-type entropy (bits)",
                         "components": "weakly connected components", "op_types_per_graph": "op types per graph",
                         "max_in_degree": "max in-degree", "max_out_degree": "max out-degree"})),
        ("features", "Graph features", features),
        ("cooccurrence", "Operator pairs joined by an edge (producer → consumer)",
         pd.DataFrame(doc["cooccurrence"], columns=["producer", "consumer", "edges", "graphs"])),
        *_map_sections(doc),
        *_community_sections(doc),
    ]


MAP_COLUMNS = ["family", "graph", "rank", "neighbour", "neighbour_family", "score", "same_family"]


def _map_sections(doc: dict[str, Any]) -> list[tuple[str, str, pd.DataFrame]]:
    """The corpus map's nearest-neighbours table, when the document has a map."""
    m = doc.get("map")
    if m is None:
        return []
    rows = m.get("neighbours") or []
    same = sum(1 for r in rows if r["same_family"])
    title = (f"Map of the corpus: nearest neighbours of the largest families ({m['view']} embeddings, "
             f"{same} of {len(rows)} neighbours in the same family)")
    if not m.get("graphs"):
        title += " (no graph has an embedding: run `younger-graph embed`)"
    return [("map_neighbours", title, pd.DataFrame(rows, columns=MAP_COLUMNS))]


# -- the communities section (schema 2; absent until `younger-graph communities` has run) --------
def _community_sections(doc: dict[str, Any]) -> list[tuple[str, str, pd.DataFrame]]:
    if not doc.get("communities"):
        return [("communities", f"Communities: none in the store (`{COMMUNITIES_COMMAND}` computes them)",
                 pd.DataFrame(columns=[""]))]
    out = []
    for method, entry in doc["communities"].items():
        title = (f"Communities ({method}): {entry['communities']:,} in {entry['graphs']:,} graphs, "
                 f"{_pct(entry['coverage']['hash']['share'])} of their operators in blocks shared by ≥ 2 graphs")
        if entry["graphs_outdated"]:
            title += (f"; {entry['graphs_outdated']:,} graphs have communities from an older version, left out "
                      f"(run `younger-graph communities --method {method}` again)")
        out.append((f"communities_{method}", title, _dist_rows(entry, {
            "per_graph": "communities per graph", "size": "community size (nodes)",
            "boundary_size": "boundary size (nodes)", "modularity": "modularity per graph"})))
        for kind in ("hash", "hash_noattr"):
            out.append((block_section(method, kind), _block_title(method, kind, entry),
                        _block_frame(entry["blocks"][kind]["ranking"])))
    return out


def block_section(method: str, kind: str) -> str:
    """The section key of a method's block table (`kind`: hash or hash_noattr)."""
    return f"blocks_{method}" if kind == "hash" else f"blocks_noattr_{method}"


def _block_title(method: str, kind: str, entry: dict[str, Any]) -> str:
    blocks = entry["blocks"][kind]
    which = "with attributes" if kind == "hash" else "ignoring attribute values"
    return (f"Top {entry['blocks']['top']} building blocks ({method}, {which}): {blocks['distinct']:,} distinct, "
            f"{blocks['shared']:,} in ≥ 2 graphs, holding {_pct(entry['coverage'][kind]['share'])} of the operators")


def _op_types_cell(op_types: list[str]) -> str:
    """The op types in order, runs of one type written once with their count (`Identity×16`), cut after
    SHOWN_OP_TYPES runs (the JSON document lists them all)."""
    runs: list[list[Any]] = []
    for t in op_types:
        if runs and runs[-1][0] == t:
            runs[-1][1] += 1
        else:
            runs.append([t, 1])
    shown = ", ".join(t if n == 1 else f"{t}×{n}" for t, n in runs[:SHOWN_OP_TYPES])
    rest = sum(n for _, n in runs[SHOWN_OP_TYPES:])
    return shown + (f", … (+{rest})" if rest else "")


def _example_cell(example: dict[str, Any]) -> str:
    """graph_id:method:k with the graph id cut to 8 characters."""
    cid = example.get("community_id") or example.get("graph_id") or ""
    gid, sep, rest = cid.partition(":")
    return f"{gid[:8]}…{sep}{rest}" if len(gid) > 8 else cid


def _block_frame(ranking: list[dict[str, Any]]) -> pd.DataFrame:
    rows = [{"#": i + 1, "graphs": b["graphs"], "occurrences": b["occurrences"], "size": b["size"],
             "operators": b["operators"], "boundary": b["boundary_size"], "op types": _op_types_cell(b["op_types"]),
             "example": _example_cell(b["example"]), "hash": b["hash"][:8]} for i, b in enumerate(ranking)]
    return pd.DataFrame(rows, columns=BLOCK_COLUMNS)


def cells(df: pd.DataFrame) -> list[list[str]]:
    return [[_pct(v) if c == "share" else _fmt(v) for c, v in zip(df.columns, row)]
            for row in df.astype(object).itertuples(index=False)]


# -- markdown -----------------------------------------------------------------------------------
def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: dict[str, Any]) -> str:
    lines = ["# younger-graph stats", "", f"Selection: {selection_line(doc)}.", ""]
    for _, title, df in sections(doc):
        lines += [f"## {title}", ""]
        if not len(df):
            lines += ["(none)", ""]
            continue
        lines.append("| " + " | ".join(_md_cell(str(c)) for c in df.columns) + " |")
        lines.append("|" + "|".join("---" if c in TEXT_COLUMNS else "---:" for c in df.columns) + "|")
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in cells(df)]
        lines.append("")
    return "\n".join(lines)


# -- html ---------------------------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:right}
th{background:#f5f5f5}td.l,th.l{text-align:left}
figure{margin:1rem 0}figure svg{max-width:100%;height:auto;display:block}
figcaption{font-size:.8rem;color:#555}.meta{color:#555;font-size:.85rem}
details{margin:.5rem 0}
"""

PLOTS_AFTER = {
    "sizes": ("operators_per_graph", "edges_per_graph"),
    "op_types_graphs": ("top_op_types",),
    "degrees": ("degree_distribution",),
    "structure": ("structure",),
    "map_neighbours": ("corpus_map",),
}

CAPTIONS = {
    "operators_per_graph": "Graphs by number of operators, log2 bins (cf. the Younger paper, Figure 2a).",
    "edges_per_graph": "Graphs by number of data-flow edges, log2 bins (cf. Figure 2b).",
    "top_op_types": "Top operator types by occurrences and by graphs containing them (cf. Figure 2c).",
    "degree_distribution": "Nodes per in-degree and out-degree along FLOWS, log-log.",
    "structure": "Per-graph depth, width, op-type entropy and weakly connected components.",
    "corpus_map": "The graphs' embeddings projected to two dimensions, coloured by task and by origin (cf. the "
                  "Younger paper, Figure 6): nearby points are similar architectures.",
}


def _plots_after(doc: dict[str, Any], key: str) -> tuple[str, ...]:
    """The plots shown after a section: fixed ones, and each community method's after its table."""
    if key.startswith("communities_") and key[len("communities_"):] in (doc.get("communities") or {}):
        return (key,)
    return PLOTS_AFTER.get(key, ())


def _caption(name: str) -> str:
    if name.startswith("communities_"):
        return (f"Communities ({name[len('communities_'):]}): communities per graph, community and boundary sizes "
                "(log2 bins), modularity per graph.")
    return CAPTIONS[name]


def _html_table(df: pd.DataFrame, collapse_after: int = 40, links: list[str | None] | None = None) -> str:
    """The table; `links[i]`: where row i's `example` cell points (block tables), None for no link."""
    if not len(df):
        return "<p class=meta>(none)</p>"
    head = "".join(f"<th class={'l' if c in TEXT_COLUMNS else 'r'}>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for i, row in enumerate(cells(df)):
        tds = []
        for c, v in zip(df.columns, row):
            text = html.escape(v)
            href = links[i] if links and c == "example" else None
            if href:
                text = f"<a href=\"{html.escape(href)}\">{text}</a>"
            tds.append(f"<td class={'l' if c in TEXT_COLUMNS else 'r'}>{text}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body[:collapse_after])}</tbody></table>"
    if len(body) > collapse_after:
        table += (f"<details><summary>{len(body) - collapse_after} more rows</summary><table><thead><tr>{head}"
                  f"</tr></thead><tbody>{''.join(body[collapse_after:])}</tbody></table></details>")
    return table


def _block_links(doc: dict[str, Any], key: str, block_link: BlockLink | None) -> list[str | None] | None:
    """Links of a block table's rows to views of their examples (none unless `block_link` is given)."""
    if block_link is None:
        return None
    for method, entry in (doc.get("communities") or {}).items():
        for kind in ("hash", "hash_noattr"):
            if block_section(method, kind) == key:
                return [block_link(method, b) for b in entry["blocks"][kind]["ranking"]]
    return None


def render_html(doc: dict[str, Any], svgs: dict[str, str] | None = None,
                links: list[dict[str, Any]] | None = None, *, block_link: BlockLink | None = None) -> str:
    """One self-contained HTML page: tables, inline SVG plots, the JSON document embedded.
    `svgs`: the plots' SVG texts (plots.svg_texts) when already rendered; `links`: rows of
    `younger_graph.viewer.report.report_views` (graph pages written beside the report);
    `block_link(method, block)`: the URL of a view of a building block's example, linked from its
    `example` cell."""
    from younger_graph.stats.plots import figure_svg, inline, make

    parts = [
        "<!DOCTYPE html>", "<html lang=en><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width,initial-scale=1'>",
        "<title>younger-graph stats</title>", f"<style>{CSS}</style></head><body>",
        "<h1>younger-graph stats</h1>",
        f"<p class=meta>Selection: {html.escape(selection_line(doc))}. Statistics per unique architecture "
        f"(graph) unless stated; schema version {doc['schema_version']}; younger-graph {__version__}.</p>",
    ]
    for key, title, df in sections(doc):
        parts.append(f"<section id={key}><h2>{html.escape(title)}</h2>"
                     f"{_html_table(df, links=_block_links(doc, key, block_link))}")
        for name in _plots_after(doc, key):
            svg = inline(svgs[name]) if svgs else figure_svg(make(doc, name), name)
            parts.append(f"<figure id=plot-{name} class=plot>{svg}<figcaption>{html.escape(_caption(name))}"
                         f"</figcaption></figure>")
        parts.append("</section>")
    if links:
        parts.append(links_section(links))
    data = json.dumps(doc, ensure_ascii=False).replace("</", "<\\/")
    parts.append(f"<script type=application/json id=stats-data>{data}</script>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def links_section(links: list[dict[str, Any]]) -> str:
    """The report's links to graph pages, one table per section (largest graphs, shared graphs, paths)."""
    parts = ["<section id=explore><h2>Explore the graphs</h2>"]
    sections: dict[str, list[dict[str, Any]]] = {}
    for row in links:
        sections.setdefault(row["section"], []).append(row)
    for title, rows in sections.items():
        parts.append(f"<h3>{html.escape(title.capitalize())}</h3><table><tbody>")
        for row in rows:
            label = html.escape(str(row["label"]))
            cell = f"<a href='{html.escape(row['href'], quote=True)}'>{label}</a>" if row.get("href") else label
            parts.append(f"<tr><td class=l>{cell}</td><td class=l>{html.escape(str(row['detail']))}</td></tr>")
        parts.append("</tbody></table>")
    parts.append("</section>")
    return "".join(parts)
