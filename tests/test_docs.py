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


def test_every_library_query_has_a_header() -> None:
    for path in (ROOT / "cypher").rglob("*.cypher"):
        head = path.read_text().splitlines()[:3]
        assert head[0].startswith("// name: ") and head[1].startswith("// description: "), path
