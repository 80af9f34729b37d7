"""`stats`, `communities`, `patterns`: what the corpus in a store is made of."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from younger_graph.cli.app import app, mirrors
from younger_graph.cli.options import (
    SUMMARY_FORMATS,
    DbOption,
    FrameFormat,
    OutFile,
    PasswordOption,
    SummaryFormat,
    UserOption,
    ViewOption,
    WhereGraphsOption,
    check_choice,
    open_store,
    parse_params,
)
from younger_graph.cli.render import (
    console,
    print_rich,
    print_stats_table,
    stage_progress,
    write_frame,
    write_stdout,
    write_text,
)
from younger_graph.errors import UsageError
from younger_graph.schema import DEFAULT_SEED

STATS_FORMATS = ("table", "json", "md", "html")


@app.command()
def stats(
    db: DbOption = None,
    where: Annotated[str | None, typer.Option(
        "--where", help="Restrict to the graphs a query returns: a library query name, a .cypher file or "
                        "Cypher text with a graph_id column.")] = None,
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", help="Parameter key=value of the --where query (repeatable).")] = None,
    task: Annotated[str | None, typer.Option(
        "--task", help="Only models of this task (metadata) and their graphs.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help=" | ".join(STATS_FORMATS))] = "table",
    plots: Annotated[Path | None, typer.Option(
        "--plots", help="Write the plots as PNG and SVG into this folder.")] = None,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Write a self-contained HTML report (tables and plots) to this file.")] = None,
    out: OutFile = None,
    top: Annotated[int, typer.Option(
        "--top", help="Rows in the top op types, co-occurrence and building-block lists.")] = 30,
    view: ViewOption = "exact",
    corpus_map: Annotated[bool | None, typer.Option(
        "--map/--no-map", help="Add the map of the corpus: a 2-D projection (t-SNE) of the architecture "
                               "embeddings and the nearest neighbours of the largest families (default: with "
                               "--report or --format html).")] = None,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Corpus statistics: models, sizes, operator types, degrees, structure, co-occurrence, a map of
    the corpus, and the communities' building blocks once `communities` has run."""
    import younger_graph as yg
    from younger_graph.stats import render_html, render_json, render_markdown

    check_choice("--format", fmt, STATS_FORMATS)
    if param and not where:
        raise UsageError("--param sets parameters of the --where query; give --where too")
    if top < 1:
        raise UsageError("--top must be at least 1")
    links = None
    block_hrefs: dict[tuple[str, str], str] = {}
    with_map = corpus_map if corpus_map is not None else (report is not None or fmt == "html")
    with open_store(db, False, username, password) as store, stage_progress("stats") as on_progress:
        doc = yg.compute_stats(store, task=task, where=where, where_params=parse_params(param), top=top,
                               on_progress=lambda label, done, total: on_progress("stats", done, total), view=view,
                               corpus_map=with_map)
        if report is not None:  # graph pages beside the report, linked from it
            from younger_graph.viewer.report import block_views, views_folder

            links = yg.report_views(store, views_folder(report))
            block_hrefs = block_views(store, doc, views_folder(report))
    svgs = page = None
    if plots is not None:  # matplotlib is imported only when a figure is drawn
        from younger_graph.stats.plots import svg_texts, write_plots

        if report is not None or fmt == "html":
            svgs = svg_texts(doc)  # drawn once for the report and the plot files
        written = write_plots(doc, plots, svgs)
        console.print(f"wrote {len(written)} plot files to {plots}", highlight=False, markup=False)
    if svgs is None and report is not None and fmt == "html":  # two pages: draw the plots once
        from younger_graph.stats.plots import svg_texts

        svgs = svg_texts(doc)
    if fmt == "html":
        page = render_html(doc, svgs)
    if report is not None:
        def block_link(method: str, block: dict[str, Any]) -> str | None:
            return block_hrefs.get((method, str(block["hash"])))

        write_text(render_html(doc, svgs, links, block_link=block_link), report)
        pages = sum(1 for row in links or [] if row.get("href")) + len(block_hrefs)
        console.print(f"wrote the report to {report} (linking {pages} graph pages in "
                      f"{views_folder(report)})", highlight=False, markup=False)
    if fmt == "table":
        print_rich(print_stats_table, doc, out)
        return
    text = page if fmt == "html" else {"json": render_json, "md": render_markdown}[fmt](doc)
    write_text(text or "", out)


mirrors("stats", "yg.compute_stats")


@app.command("communities")
def communities(
    method: Annotated[str, typer.Option("--method", "-m", help="cnm | louvain | wcc")],
    db: DbOption = None,
    where: WhereGraphsOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (louvain).")] = DEFAULT_SEED,
    force: Annotated[bool, typer.Option("--force", help="Recompute graphs that already have communities "
                                        "of this method (their old ones are deleted).")] = False,
    fmt: SummaryFormat = "table",
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Per-graph communities (CNM, Louvain, weakly connected components) written back to the store,
    with boundaries and deduplicated subgraph hashes (resumable; --force recomputes)."""
    import younger_graph as yg
    from younger_graph.communities import check_method
    from younger_graph.store import is_neo4j, resolve_db

    check_method(method)
    check_choice("--format", fmt, SUMMARY_FORMATS)
    target = resolve_db(db)
    if not is_neo4j(target) and not Path(target).exists():  # opening for writing would create it
        raise UsageError(f"no database at {target}: load one with `younger-graph load DIR --db {target}`")
    with open_store(target, True, username, password) as store, stage_progress(f"communities ({method})") as cb:
        summary = yg.compute_communities(store, method, where=where, seed=seed, force=force, on_progress=cb)
    if fmt == "json":
        write_stdout(json.dumps(summary.as_dict(), indent=2) + "\n")
        return
    for warning in summary.warnings[:20]:
        console.print(f"warning: {warning}", highlight=False, markup=False)
    typer.echo(summary.line())


mirrors("communities", "yg.compute_communities")


@app.command("patterns")
def patterns(
    length: Annotated[str, typer.Option("--length", "-l", help="Path lengths in operators: 2..4, 3 or 2,4.")] = "2..4",
    top: Annotated[int, typer.Option("--top", "-k", help="Rows per length (0: all).")] = 20,
    min_support: Annotated[int, typer.Option("--min-support", "-s",
                                             help="Keep paths found in at least this many graphs.")] = 1,
    fmt: FrameFormat = "table",
    out: OutFile = None,
    view: ViewOption = "exact",
    db: DbOption = None,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Frequent operator-type paths (2-4 operators) with support (graphs) and occurrences."""
    import younger_graph as yg
    from younger_graph.patterns import parse_lengths

    lengths = parse_lengths(length)
    with open_store(db, False, username, password) as store:
        df = yg.frequent_paths(store, lengths, top=top, min_support=min_support, view=view)
    write_frame(df, fmt, out, title="frequent paths")


mirrors("patterns", "yg.frequent_paths")
