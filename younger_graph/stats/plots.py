"""Figures of a statistics document (matplotlib, Agg: no display, no pyplot global state).

Each function takes the JSON document of `compute_stats` and returns a Figure, so plots can be
redrawn from a saved `stats --format json` file. `PLOTS` names them; `write_plots` saves PNG + SVG.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from younger_graph import atomic

BAR = "#1f77b4"
BAR2 = "#ff7f0e"
STYLE = {"svg.hashsalt": "younger-graph", "svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
         "axes.spines.right": False}


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _bin_label(b: dict[str, Any]) -> str:
    lo, hi = b["lo"], b["hi"]
    if isinstance(lo, float):
        return f"{lo:g}–{hi:g}"
    return str(lo) if lo == hi else f"{_short(lo)}–{_short(hi)}"


def _short(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.3g}M"
    if n >= 10_000:
        return f"{n / 1e3:.3g}k"
    return str(n)


def _empty(ax: Any, title: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def _histogram(ax: Any, dist: dict[str, Any], title: str, xlabel: str, color: str = BAR,
               ylabel: str = "graphs") -> None:
    bins = dist.get("histogram") or []
    if not bins:
        _empty(ax, title)
        return
    xs = range(len(bins))
    ax.bar(xs, [b["count"] for b in bins], color=color, width=0.85)
    ax.set_xticks(list(xs), [_bin_label(b) for b in bins], rotation=45 if len(bins) > 6 else 0,
                  ha="right" if len(bins) > 6 else "center")
    ax.set_title(title)
    ax.set_xlabel(f"{xlabel}   (n={dist['count']:,}, median {dist['median']:.4g}, p90 {dist['p90']:.4g}, "
                  f"max {dist['max']:.4g})")
    ax.set_ylabel(ylabel)


def operators_per_graph(doc: dict[str, Any]) -> Figure:
    """Younger paper Figure 2a: graphs by number of operators, log2 bins."""
    fig = _figure(7.2, 3.6)
    _histogram(fig.add_subplot(), doc["sizes"]["operators"], "Operators per graph (log2 bins)", "operators")
    return fig


def edges_per_graph(doc: dict[str, Any]) -> Figure:
    """Younger paper Figure 2b: graphs by number of data-flow edges, log2 bins."""
    fig = _figure(7.2, 3.6)
    _histogram(fig.add_subplot(), doc["sizes"]["edges"], "Edges per graph (log2 bins)", "edges", BAR2)
    return fig


def _label(r: dict[str, Any]) -> str:
    return r["op_type"] if r["domain"] in ("", "ai.onnx") else f"{r['op_type']} ({r['domain']})"


def top_op_types(doc: dict[str, Any]) -> Figure:
    """Younger paper Figure 2c: the top operator types, by occurrences and by graphs containing them."""
    ops = doc["op_types"]
    n = max(len(ops["by_occurrences"]), 1)
    fig = _figure(10, 1.2 + 0.2 * n)
    for ax, key, value, title, color in (
        (fig.add_subplot(1, 2, 1), "by_occurrences", "occurrences", "Top operator types by occurrences", BAR),
        (fig.add_subplot(1, 2, 2), "by_graphs", "graphs", "Top operator types by graphs containing them", BAR2),
    ):
        rows = ops[key]
        if not rows:
            _empty(ax, title)
            continue
        ys = range(len(rows))
        ax.barh(list(ys), [r[value] for r in rows], color=color)
        ax.set_yticks(list(ys), [_label(r) for r in rows], fontsize=7)
        ax.invert_yaxis()
        ax.set_title(title)
        ax.set_xlabel(value)
        if value == "occurrences":
            ax.set_xscale("log")
    return fig


def degree_distribution(doc: dict[str, Any]) -> Figure:
    """Nodes per in-degree and per out-degree (log-log; degree-0 counts in the legend)."""
    fig = _figure(7.2, 3.8)
    ax = fig.add_subplot()
    drawn = False
    for key, color, marker in (("in", BAR, "o"), ("out", BAR2, "s")):
        hist = doc["degrees"][key]["histogram"]
        zero = sum(r["nodes"] for r in hist if r["degree"] == 0)
        pts = [(r["degree"], r["nodes"]) for r in hist if r["degree"] > 0]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, linestyle="-", color=color,
                    markersize=4, label=f"{key}-degree ({zero:,} nodes with 0)")
            drawn = True
    if not drawn:
        _empty(ax, "Degree distribution")
        return fig
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("degree (data-flow edges)")
    ax.set_ylabel("nodes")
    ax.set_title("Degree distribution")
    ax.legend(frameon=False)
    return fig


def structure(doc: dict[str, Any]) -> Figure:
    """Per-graph depth, width, op-type entropy and weakly connected components."""
    st = doc["structure"]
    fig = _figure(10, 6.4)
    panels = (("depth", "Depth (longest path, nodes)", "depth"), ("width", "Width (widest level)", "width"),
              ("entropy", "Op-type entropy (bits)", "bits"), ("components", "Weakly connected components",
                                                                "components"))
    for i, (key, title, xlabel) in enumerate(panels):
        _histogram(fig.add_subplot(2, 2, i + 1), st[key], title, xlabel, BAR if i % 3 == 0 else BAR2)
    return fig


MAP_COLOURS = 10  # the most frequent tasks/origins get a colour each; the rest are grey


def _scatter(ax: Any, points: list[dict[str, Any]], key: str, title: str) -> None:
    if not points:
        _empty(ax, title)
        return
    from matplotlib import colormaps

    counts: dict[str, int] = {}
    for p in points:
        counts[p[key] or "(none)"] = counts.get(p[key] or "(none)", 0) + 1
    top = [k for k, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:MAP_COLOURS]]
    palette = colormaps["tab10"]
    others = [p for p in points if (p[key] or "(none)") not in top]
    if others:
        ax.scatter([p["x"] for p in others], [p["y"] for p in others], s=8, c="#bbbbbb",
                   label=f"other ({len(others)})", linewidths=0)
    for i, name in enumerate(top):
        group = [p for p in points if (p[key] or "(none)") == name]
        ax.scatter([p["x"] for p in group], [p["y"] for p in group], s=10, color=palette(i % 10),
                   label=f"{name} ({len(group)})", linewidths=0)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=7, loc="best", frameon=False, markerscale=1.5)


def corpus_map(doc: dict[str, Any]) -> Figure:
    """Younger paper Figure 6: the graphs' embeddings projected to 2-D, coloured by task and by origin."""
    m = doc.get("map") or {}
    points = m.get("points") or []
    fig = _figure(11, 5.2)
    method = {"tsne": "t-SNE", "pca": "PCA"}.get(m.get("method", ""), m.get("method", ""))
    _scatter(fig.add_subplot(1, 2, 1), points, "task", f"Graphs by task ({method} of {m.get('view', '')} embeddings)")
    _scatter(fig.add_subplot(1, 2, 2), points, "origin", "Graphs by origin")
    return fig


def communities(doc: dict[str, Any], method: str) -> Figure:
    """One community method: communities per graph, community and boundary sizes, modularity per graph."""
    entry = doc["communities"][method]
    fig = _figure(10, 6.4)
    panels = (("per_graph", "Communities per graph", "communities", "graphs"),
              ("size", "Community size (nodes)", "nodes", "communities"),
              ("boundary_size", "Boundary size (nodes)", "nodes", "communities"),
              ("modularity", "Modularity per graph", "modularity", "graphs"))
    for i, (key, title, xlabel, ylabel) in enumerate(panels):
        _histogram(fig.add_subplot(2, 2, i + 1), entry[key], f"{title} ({method})", xlabel,
                   BAR if i % 3 == 0 else BAR2, ylabel)
    return fig


PLOTS: dict[str, Callable[[dict[str, Any]], Figure]] = {
    "operators_per_graph": operators_per_graph,
    "edges_per_graph": edges_per_graph,
    "top_op_types": top_op_types,
    "degree_distribution": degree_distribution,
    "structure": structure,
    "corpus_map": corpus_map,
}


def figure_svg(fig: Figure, salt: str = "", *, inline: bool = True) -> str:
    """The figure as SVG text; `inline`: just the <svg> element, for embedding in HTML. Ids are
    salted per figure so several figures stay distinct in one page."""
    buf = io.StringIO()
    with rc_context({**STYLE, "svg.hashsalt": f"younger-graph-{salt}"}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    return text[text.index("<svg"):] if inline else text


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


COMMUNITY_PLOT = "communities_"  # + method: one figure per community method in the document


def plot_names(doc: dict[str, Any]) -> list[str]:
    """The plots this document has data for: the fixed ones (the corpus map only when it was
    computed), then one per community method present."""
    fixed = [name for name in PLOTS if name != "corpus_map" or "map" in doc]
    return [*fixed, *(COMMUNITY_PLOT + m for m in doc.get("communities") or {})]


def make(doc: dict[str, Any], name: str) -> Figure:
    with rc_context(STYLE):
        if name.startswith(COMMUNITY_PLOT):
            return communities(doc, name[len(COMMUNITY_PLOT):])
        return PLOTS[name](doc)


def svg_texts(doc: dict[str, Any]) -> dict[str, str]:
    """Every plot as standalone SVG text (render once, use for the report and for --plots)."""
    return {name: figure_svg(make(doc, name), name, inline=False) for name in plot_names(doc)}


def inline(svg: str) -> str:
    """A standalone SVG document → its <svg> element, for embedding in HTML."""
    return svg[svg.index("<svg"):]


def write_plots(doc: dict[str, Any], folder: str | Path, svgs: dict[str, str] | None = None) -> list[Path]:
    """Every plot as <name>.png and <name>.svg in `folder` (created); returns the paths written.
    `svgs`: the SVG texts of `svg_texts(doc)` when already rendered."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in plot_names(doc):
        png, svg = folder / f"{name}.png", folder / f"{name}.svg"
        atomic.write_bytes(png, figure_png(make(doc, name)))
        atomic.write_text(svg, svgs[name] if svgs else figure_svg(make(doc, name), name, inline=False))
        written += [png, svg]
    return written
