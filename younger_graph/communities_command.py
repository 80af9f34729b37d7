"""`younger-graph communities`: the CLI over younger_graph.communities (listed in cli.COMMAND_MODULES)."""

import json
from pathlib import Path
from typing import Annotated, Any


def register(app: Any) -> None:
    import typer

    from younger_graph.cli import CLIError, DbOption, PasswordOption, UserOption, _open, progress_bar
    from younger_graph.model import DEFAULT_SEED

    @app.command("communities")
    def communities(
        method: Annotated[str, typer.Option("--method", "-m", help="cnm | louvain | wcc")],
        db: DbOption = None,
        where: Annotated[str | None, typer.Option("--where", help="Cypher condition on g (the Graph) selecting "
                                                   "graphs, e.g. 'g.num_operators < 5000'.")] = None,
        seed: Annotated[int, typer.Option("--seed", help="Random seed (louvain).")] = DEFAULT_SEED,
        force: Annotated[bool, typer.Option("--force", help="Recompute graphs that already have communities "
                                            "of this method (their old ones are deleted).")] = False,
        fmt: Annotated[str, typer.Option("--format", "-f", help="Summary as table | json.")] = "table",
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """Per-graph communities (CNM, Louvain, weakly connected components) written back to the store,
        with boundaries and deduplicated subgraph hashes (resumable; --force recomputes)."""
        from younger_graph.communities import METHODS, compute_communities
        from younger_graph.store import is_neo4j, resolve_db

        if method not in METHODS:
            raise CLIError(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
        target = resolve_db(db)
        if not is_neo4j(target) and not Path(target).exists():
            raise CLIError(f"no database at {target}: load one with `younger-graph load DIR --db {target}`")
        with _open(target, True, username, password) as store, progress_bar() as progress:
            task = progress.add_task(f"communities ({method})", total=None)
            summary = compute_communities(
                store, method, where=where, seed=seed, force=force,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        if fmt == "json":
            typer.echo(json.dumps(summary.as_dict(), indent=2))
        else:
            for warning in summary.warnings[:20]:
                typer.echo(f"warning: {warning}", err=True)
            typer.echo(summary.line())
