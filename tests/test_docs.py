"""Docs stay true: generated references are fresh, every command is documented, quick start is sane."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_generated_docs_are_fresh() -> None:
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr


def test_every_command_and_option_is_in_the_cli_reference() -> None:
    import typer

    from younger_graph.cli import app

    root = typer.main.get_command(app)
    text = (ROOT / "docs" / "cli.md").read_text()
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        assert f"`younger-graph {name}`" in text
        for param in cmd.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in text, (name, opt)


def test_readme_quickstart_markers_and_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    for marker in ("run", "test"):
        m = re.search(rf"<!-- quickstart:{marker} -->\n```[^\n]*\n([^\n]+)\n", readme)
        assert m, marker
    test_cmd = re.search(r"<!-- quickstart:test -->\n```[^\n]*\n([^\n]+)\n", readme).group(1)  # type: ignore[union-attr]
    assert test_cmd in (ROOT / ".ci" / "run").read_text()
    import typer

    from younger_graph.cli import app

    names = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    for name in names:
        assert f"`{name}" in readme, f"README's CLI overview lacks {name}"


def _command_paths() -> list[str]:
    """Every leaf command of the CLI as its path ("extract", "export pyg")."""
    import typer

    from younger_graph.cli import app

    root = typer.main.get_command(app)
    paths = []
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        paths.extend(f"{name} {sub}" for sub in subs) if subs else paths.append(name)
    return sorted(paths)


def _resolve(counterpart: str) -> object:
    import younger_graph as yg
    from younger_graph.store.base import Store

    owner, _, attribute = counterpart.partition(".")
    return getattr({"yg": yg, "Store": Store}[owner], attribute)


def test_every_command_mirrors_a_documented_library_call() -> None:
    """sqlite-utils style: each command is one library call, which exists and docs/api.md documents."""
    from younger_graph.cli import COUNTERPARTS

    api = (ROOT / "docs" / "api.md").read_text()
    paths = _command_paths()
    assert len(paths) >= 14
    assert sorted(COUNTERPARTS) == paths, "every command declares its library counterpart (cli.app.mirrors)"
    for command, counterpart in COUNTERPARTS.items():
        assert callable(_resolve(counterpart)), (command, counterpart)
        assert f"`{counterpart}`" in api or f"### `{counterpart}" in api, f"docs/api.md lacks {counterpart}"
        assert f"`younger-graph {command}" in api, f"docs/api.md's table lacks {command}"


def test_the_facade_lists_only_names_that_import() -> None:
    import younger_graph as yg

    for name in yg.__all__:
        if name in ("YoungerDataset", "YoungerOnDiskDataset", "export_pyg"):
            continue  # need torch_geometric, tested by test_export
        assert getattr(yg, name) is not None, name


def test_every_library_query_has_a_header() -> None:
    for path in (ROOT / "cypher").rglob("*.cypher"):
        head = path.read_text().splitlines()[:3]
        assert head[0].startswith("// name: ") and head[1].startswith("// description: "), path
