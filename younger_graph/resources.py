"""Folders shipped with the package: inside it in a wheel, beside it in a source checkout."""

from __future__ import annotations

from pathlib import Path


def shipped_dir(name: str) -> Path | None:
    """`cypher`, `sample`, … : younger_graph/<name> (wheel) or <repo>/<name> (checkout); None if absent."""
    here = Path(__file__).resolve().parent
    for candidate in (here / name, here.parent / name):
        if candidate.is_dir():
            return candidate
    return None
