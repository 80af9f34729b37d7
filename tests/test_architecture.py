"""The boundaries of docs/architecture.md, read from the source (nothing is imported or run)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "younger_graph"
MAPPED = {"loaders": ROOT / "loaders"}  # top-level folders installed inside the package


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts)
        found[name.removesuffix(".__init__")] = path
    for sub, folder in MAPPED.items():
        for path in folder.glob("*.py"):
            name = f"younger_graph.{sub}" + ("" if path.stem == "__init__" else f".{path.stem}")
            found[name] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> list[tuple[str, str | None]]:
    """(imported module, imported name or None) for every import, module-level or inside functions."""
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.extend((alias.name, None) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.extend((target, alias.name) for alias in node.names)
    return out


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _internal_target(target: str, name: str | None) -> str | None:
    if not target.startswith("younger_graph"):
        return None
    full = f"{target}.{name}" if name and f"{target}.{name}" in MODULES else target
    return full if full in MODULES else None


def _in(module: str, *prefixes: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_the_module_map_is_found() -> None:
    assert "younger_graph.cli" in MODULES and "younger_graph.loaders.younger" in MODULES
    assert len(MODULES) > 40


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not _in(m, "younger_graph.cli")))
def test_the_library_never_imports_the_cli_typer_or_rich(module: str) -> None:
    for target, _ in _imports(module, MODULES[module]):
        assert not _in(target, "typer", "rich", "click", "younger_graph.cli"), f"{module} imports {target}"


def test_no_private_name_crosses_areas() -> None:
    crossing = [
        f"{module} imports {target}.{name}"
        for module, path in MODULES.items()
        for target, name in _imports(module, path)
        if target.startswith("younger_graph") and name and name.startswith("_") and not name.startswith("__")
        and _area(target) != _area(module)
    ]
    assert not crossing


def test_stage_boundaries() -> None:
    rules = [  # (importer prefixes, forbidden targets, why)
        (("younger_graph.walk", "younger_graph.loaders", "younger_graph.extract", "younger_graph.tables"),
         ("younger_graph.store", "younger_graph.reading", "ladybug", "neo4j"), "extraction never talks to a store"),
        (("younger_graph.store",), ("younger_graph.walk", "younger_graph.loaders", "younger_graph.extract", "onnx"),
         "the store never parses ONNX"),
        (("younger_graph.export",), ("younger_graph.datasets", "younger_graph.walk", "younger_graph.loaders", "onnx"),
         "export builds on the store, and the torch datasets build on export"),
    ]
    broken = []
    for module, path in MODULES.items():
        for importers, forbidden, why in rules:
            if _in(module, *importers):
                broken += [f"{module} imports {t} ({why})" for t, _ in _imports(module, path) if _in(t, *forbidden)]
    assert not broken


def test_the_import_graph_has_no_cycle() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, path in MODULES.items():
        for target, name in _imports(module, path):
            full = _internal_target(target, name)
            # a package re-exporting its own submodules is not a cycle
            if full and full != module and not full.startswith(module + "."):
                edges[module].add(full)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[node] = 2
        stack.pop()
        return None

    for module in sorted(MODULES):
        if module not in state:
            cycle = visit(module)
            assert cycle is None, " -> ".join(cycle)
