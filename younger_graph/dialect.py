"""The one place where Cypher text differs between backends.

Library queries are written in Neo4j's Cypher. For the embedded store (LadybugDB) a few
functions are spelled differently; each rule below rewrites one construct, and nothing else in
the code knows about dialects. Rules apply to user queries too, so a query written for Neo4j
runs unchanged on the embedded store where these constructs are all that differ.
"""

from __future__ import annotations

import re
from collections.abc import Callable

Rule = Callable[[str], str]


def _rewrite_calls(text: str, name: str, render: Callable[[str], str]) -> str:
    """Rewrite `name(<balanced args>)` → render(args), leaving everything else alone."""
    out, i = [], 0
    pattern = re.compile(rf"\b{name}\s*\(", re.IGNORECASE)
    while True:
        m = pattern.search(text, i)
        if not m:
            out.append(text[i:])
            return "".join(out)
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        out.append(text[i:m.start()])
        out.append(render(_rewrite_calls(text[m.end():j - 1], name, render)))
        i = j


EMBEDDED_RULES: list[tuple[str, Rule]] = [
    ("toFloat(x) → CAST(x AS DOUBLE)", lambda t: _rewrite_calls(t, "toFloat", lambda a: f"CAST({a} AS DOUBLE)")),
    ("toInteger(x) → CAST(x AS INT64)", lambda t: _rewrite_calls(t, "toInteger", lambda a: f"CAST({a} AS INT64)")),
    ("relationships(p) → rels(p)", lambda t: re.sub(r"\brelationships\s*\(", "rels(", t)),
    ("[x IN nodes(p) | x.prop] → properties(nodes(p), 'prop')",
     lambda t: re.sub(r"\[\s*(\w+)\s+IN\s+nodes\((\w+)\)\s*\|\s*\1\.(\w+)\s*\]", r"properties(nodes(\2), '\3')", t)),
]

RULES: dict[str, list[tuple[str, Rule]]] = {"neo4j": [], "embedded": EMBEDDED_RULES}

# LadybugDB types a parameter bound to null as BOOL, so `$p IS NULL OR x IN $p` fails to bind when p
# is null. Parameters a query declares with a null default (`// param: graph_ids list[str] = null`)
# are therefore spelled with their declared type on the embedded store.
DB_TYPES = {"str": "STRING", "int": "INT64", "float": "DOUBLE", "bool": "BOOLEAN", "list[str]": "STRING[]",
            "list[int]": "INT64[]", "list[float]": "DOUBLE[]"}
NULLABLE_RULE = "$p (declared with default null) → CAST($p AS <declared type>)"


def _typed_parameters(text: str, nullable: dict[str, str]) -> str:
    for name, type_ in nullable.items():
        text = re.sub(rf"\$({re.escape(name)})(?!\w)", rf"CAST($\1 AS {DB_TYPES[type_]})", text)
    return text


def translate(text: str, backend: str, nullable: dict[str, str] | None = None) -> str:
    """Rewrite `text` for `backend`; `nullable` maps parameters declared with a null default to their
    declared type (query.py passes it for library queries)."""
    for _, rule in RULES.get(backend, []):
        text = rule(text)
    if backend == "embedded" and nullable:
        text = _typed_parameters(text, nullable)
    return text
