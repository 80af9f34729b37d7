"""Query by example: every occurrence of an operator block across the corpus (`younger-graph match`).

A pattern is a chain (`Conv>BatchNormalization>Relu`: consecutive operators joined by a flow, any
slots) or an `.onnx` file holding the block (`pattern_from_onnx`): its operators are the pattern's
nodes, its flows between operators the required flows with their exact output/input slots, its graph
inputs, outputs and initializers open ends that match anything; an attribute the pattern node sets
must be equal, the others are ignored; the domain is respected.

An occurrence is a node-injective mapping of the pattern's operators onto operators of one graph and
one scope with the same op types, every pattern flow present between the images (extra flows
allowed). The whole search is one generated Cypher statement (`match_cypher`), the only Cypher this
module writes; every value in it (op types, domains, slots, attribute texts, limits) is a bound
parameter, never pasted into the text. What plain pattern matching does not give is spelled in the
statement itself, not left to Python:

- injectivity: `n_i <> n_j` for every two pattern nodes that could land on the same operator (Neo4j
  keeps relationships distinct within a MATCH, not nodes; LadybugDB neither);
- slot-exact multi-edges: one relationship variable per pattern flow with its slots bound, so
  `Mul(x, x)` needs two flows into slots 0 and 1;
- occurrences, not paths: a chain flow accepts any slots, so two parallel flows would give two rows
  for one mapping; the statement keeps DISTINCT mappings then.

Labels and relationship types come from `view_schema(view)`: `--view arch` searches the architecture
view (`ArchOperator`, `ARCH_FLOWS`; docs/arch.md), and an `.onnx` pattern is normalised the same way
first, so a block written by hand matches what exporters emitted for it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from younger_graph.canonical import dumps
from younger_graph.errors import UsageError
from younger_graph.schema import INPUT_OP_TYPE, OUTPUT_OP_TYPE

if TYPE_CHECKING:  # pandas loads on use
    import pandas as pd

__all__ = ["MAX_OPERATORS", "VIEWS", "Pattern", "PatternFlow", "PatternNode", "ViewSchema", "match", "match_cypher",
           "parse_pattern", "pattern_from_chain", "pattern_from_onnx", "totals", "view_schema"]

MAX_OPERATORS = 12  # the search is a join of this many operators: beyond it a pattern is refused
VIEWS = ("exact", "arch")
DEFAULT_DOMAINS = ("", "ai.onnx")  # two spellings of the default ONNX domain
COLUMNS = ["graph_id", "scope", "nodes", "models"]
COUNT_COLUMNS = ["graph_id", "occurrences", "models"]
_OP_TYPE = re.compile(r"^(?:([A-Za-z_][\w.\-]*):)?([A-Za-z_][\w.\-]*)$")


class Runs(Protocol):
    """What `match` needs of a store (younger_graph.store.base.Store), named without importing it."""

    backend: str

    def run(self, cypher: str, params: dict[str, Any] | None = None, *, write: bool = False) -> pd.DataFrame: ...


# -- patterns -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class PatternNode:
    op_type: str
    domain: str | None = None  # None: any domain (a chain operator without a `domain:` prefix)
    attrs: tuple[tuple[str, str], ...] = ()  # (attribute name, canonical JSON of the required value)

    def label(self) -> str:
        prefix = f"{self.domain}:" if self.domain not in (None, "", "ai.onnx") else ""
        return prefix + self.op_type


@dataclass(frozen=True)
class PatternFlow:
    src: int  # pattern node positions
    dst: int
    src_slot: int | None = None  # None: any slot (chains)
    dst_slot: int | None = None


@dataclass(frozen=True)
class Pattern:
    nodes: tuple[PatternNode, ...]
    flows: tuple[PatternFlow, ...] = ()
    source: str = ""  # how the user gave it: the chain text or the file path
    notes: tuple[str, ...] = field(default=(), compare=False)  # what was left out of a pattern file

    def describe(self) -> str:
        """`Conv>Relu` for chains; `<file>: 5 operators (Conv, Relu, ...), 5 flows` for files."""
        if self.is_chain():
            return ">".join(n.label() for n in self.nodes)
        types = ", ".join(n.label() for n in self.nodes)
        return f"{os.path.basename(self.source) or 'pattern'}: {len(self.nodes)} operators ({types}), " \
               f"{len(self.flows)} flows"

    def is_chain(self) -> bool:
        return all(f.src_slot is None and f.dst_slot is None for f in self.flows) and \
            all(f.src == i and f.dst == i + 1 for i, f in enumerate(self.flows)) and \
            len(self.flows) == len(self.nodes) - 1

    def check(self) -> Pattern:
        if not self.nodes:
            raise UsageError(f"the pattern {self.source!r} is empty: give operators such as Conv>Relu or an "
                             ".onnx file holding the block")
        if len(self.nodes) > MAX_OPERATORS:
            raise UsageError(f"the pattern has {len(self.nodes)} operators; patterns are limited to "
                             f"{MAX_OPERATORS} operators")
        return self


def pattern_from_chain(text: str) -> Pattern:
    """`Conv>BatchNormalization>Relu` (optionally `domain:Op`, e.g. `com.microsoft:Attention`)."""
    tokens = [t.strip() for t in text.split(">")]
    if not text.strip() or all(not t for t in tokens):
        return Pattern((), (), text).check()
    nodes = []
    for token in tokens:
        m = _OP_TYPE.match(token)
        if not m:
            raise UsageError(f"{token!r} is not an operator type (a chain is op types joined by '>', e.g. "
                             "Conv>BatchNormalization>Relu)")
        nodes.append(PatternNode(m.group(2), m.group(1)))
    flows = tuple(PatternFlow(i, i + 1) for i in range(len(nodes) - 1))
    return Pattern(tuple(nodes), flows, text).check()


def pattern_from_onnx(path: str | os.PathLike[str], view: str = "exact") -> Pattern:
    """The block an .onnx file holds, read through the same walker as every model (so attribute values
    are spelled as the store spells them). Operators of the main graph are the pattern's nodes, in the
    file's node order; inputs, outputs and initializers are open ends; bodies of control-flow
    operators inside the pattern are not part of it (their operators are left out, with a note).
    `view="arch"`: the block's own architecture view (the normalisation the store's view went
    through: plumbing dropped, decompositions fused, constants folded into attributes)."""
    from younger_graph.loaders.onnx_files import extract_file
    from younger_graph.schema import KIND_OPERATOR
    from younger_graph.views import arch_of, check_view, view_tables

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise UsageError(f"no pattern file {path}")
    result = extract_file(path)
    if not result.ok or result.graph is None:
        raise UsageError(f"the pattern file {path} is not a model: {result.row.get('error') or 'it does not extract'}")
    operators, edges_table = result.graph.operators, result.graph.edges
    if check_view(view) == "arch":
        operators, edges_table = view_tables("", arch_of(operators, edges_table))
    ops = operators.to_pydict()
    edges = edges_table.to_pydict()
    position: dict[int, int] = {}
    nodes: list[PatternNode] = []
    nested = 0
    for idx, kind, op_type, domain, scope, attrs in zip(ops["idx"], ops["kind"], ops["op_type"], ops["domain"],
                                                         ops["scope"], ops["attrs"]):
        if kind != KIND_OPERATOR:
            continue
        if scope:
            nested += 1
            continue
        position[idx] = len(nodes)
        nodes.append(PatternNode(op_type, domain or "", _required_attrs(attrs)))
    flows = sorted({PatternFlow(position[s], position[d], ss, ds)
                    for s, d, ss, ds in zip(edges["src"], edges["dst"], edges["src_slot"], edges["dst_slot"])
                    if s in position and d in position}, key=lambda f: (f.dst, f.dst_slot, f.src, f.src_slot))
    notes = (f"{nested} operators inside control-flow bodies of the pattern are not part of it",) if nested else ()
    return Pattern(tuple(nodes), tuple(flows), path, notes).check()


def _required_attrs(attrs_json: str) -> tuple[tuple[str, str], ...]:
    """Attributes a pattern node sets, as (name, canonical value text); subgraph references are left out
    (they name scopes of the pattern file, not values)."""
    import json

    attrs = json.loads(attrs_json or "{}")
    return tuple((name, dumps(value)) for name, value in sorted(attrs.items())
                 if not (isinstance(value, dict) and ("graph" in value or "ref" in value)))


def parse_pattern(spec: Pattern | str | os.PathLike[str], view: str = "exact") -> Pattern:
    """A Pattern, an .onnx file (a path ending in .onnx, or any existing file; in `view`) or a chain."""
    if isinstance(spec, Pattern):
        return spec.check()
    text = os.fspath(spec)
    if text.lower().endswith(".onnx") or os.path.isfile(text) or not isinstance(spec, str):
        return pattern_from_onnx(text, view)
    return pattern_from_chain(text)


# -- views ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ViewSchema:
    """Where a view keeps its graphs: the node labels and relationship types the generated query names."""

    view: str
    graph: str = "Graph"
    operator: str = "Operator"
    flow: str = "FLOWS"
    model: str = "Model"
    instance_of: str = "INSTANCE_OF"
    contains: str = "CONTAINS"


def view_schema(view: str) -> ViewSchema:
    """The labels of one view of the corpus (`younger_graph.views.VIEW_NAMES`): the generated query is
    the same on both, only the labels differ."""
    from younger_graph.views import VIEW_NAMES, check_view

    names = VIEW_NAMES[check_view(view)]
    return ViewSchema(view, operator=names.operator, flow=names.flows, contains=names.contains)


# -- the generated query --------------------------------------------------------------------------
def _node_conditions(i: int, node: PatternNode, params: dict[str, Any]) -> list[str]:
    v = f"n{i}"
    params[f"op_{i}"] = node.op_type
    out = [f"{v}.op_type = $op_{i}"]
    if node.op_type in (INPUT_OP_TYPE, OUTPUT_OP_TYPE):  # only graph inputs/outputs carry these op types
        out.insert(0, f"{v}.kind = 'operator'")
    if node.domain is not None:
        params[f"domain_{i}"] = list(DEFAULT_DOMAINS) if node.domain in DEFAULT_DOMAINS else [node.domain]
        out.append(f"{v}.domain IN $domain_{i}")
    for k, (name, value) in enumerate(node.attrs):
        # attrs is canonical JSON (sorted keys, no spaces) of a flat object: `"name":value` followed by
        # `,` or `}` is that attribute with exactly that value (the quote before the name bounds it).
        needle = f"{dumps(name)}:{value}"
        params[f"attr_{i}_{k}a"], params[f"attr_{i}_{k}b"] = needle + ",", needle + "}"
        out.append(f"({v}.attrs CONTAINS $attr_{i}_{k}a OR {v}.attrs CONTAINS $attr_{i}_{k}b)")
    return out


def _may_coincide(a: PatternNode, b: PatternNode) -> bool:
    if a.op_type != b.op_type:
        return False
    if a.domain is None or b.domain is None:
        return True
    return (a.domain in DEFAULT_DOMAINS) == (b.domain in DEFAULT_DOMAINS) and (
        a.domain in DEFAULT_DOMAINS or a.domain == b.domain)


def _components(pattern: Pattern) -> list[int]:
    """Each node's component (the smallest node position in it), flows taken undirected."""
    owner = list(range(len(pattern.nodes)))

    def find(i: int) -> int:
        while owner[i] != i:
            owner[i] = owner[owner[i]]
            i = owner[i]
        return i

    for f in pattern.flows:
        a, b = find(f.src), find(f.dst)
        owner[max(a, b)] = min(a, b)
    return [find(i) for i in range(len(pattern.nodes))]


def _match_clause(pattern: Pattern, schema: ViewSchema, graphs: bool = False) -> str:
    """One MATCH: a piece per flow, `(n_src)-[f_k:FLOWS]->(n_dst)`, plus nodes no flow touches; with
    `graphs`, n0 is reached from its Graph (a key lookup, not a scan of every operator of its type)."""
    labelled: set[int] = set()

    def node(i: int) -> str:
        if i in labelled:
            return f"(n{i})"
        labelled.add(i)
        return f"(n{i}:{schema.operator})"

    pieces = [f"(g0:{schema.graph})-[:{schema.contains}]->{node(0)}"] if graphs else []
    pieces += [f"{node(f.src)}-[f{k}:{schema.flow}]->{node(f.dst)}" for k, f in enumerate(pattern.flows)]
    pieces += [node(i) for i in range(len(pattern.nodes)) if i not in labelled]
    return "MATCH " + ",\n      ".join(pieces)


def match_cypher(pattern: Pattern, view: str = "exact", *, limit: int | None = None,
                 graphs: bool = False, count: bool = False) -> tuple[str, dict[str, Any]]:
    """(Cypher text, parameters) finding every occurrence of `pattern`: one row per graph with its
    occurrences as parallel lists (scopes, c0..c<k-1>: the operator idx of each pattern node) and its
    models' names. `limit`: the first occurrences in (graph_id, scope, nodes) order; `graphs`: restrict
    to the graph ids bound as `$graph_ids`. `count`: one row per graph with its number of occurrences
    instead of the lists (then `limit` is the first graphs in graph_id order)."""
    pattern.check()
    schema = view_schema(view)
    params: dict[str, Any] = {}
    lines = [_match_clause(pattern, schema, graphs),
             "WHERE " + "\n  AND ".join(_conditions(pattern, params, graphs))]
    lines += _slot_check(pattern, params)
    lines += (_counts if count else _occurrences)(pattern, schema, params, limit)
    return "\n".join(lines), params


def _conditions(pattern: Pattern, params: dict[str, Any], graphs: bool) -> list[str]:
    """Each node's type, domain and attributes; one scope (and graph) for all; injectivity."""
    conditions: list[str] = []
    component = _components(pattern)
    for i, node in enumerate(pattern.nodes):
        conditions += _node_conditions(i, node, params)
        if i:
            conditions.append(f"n{i}.scope = n0.scope")
            if component[i] != 0:  # not tied to n0 by flows: the same graph must be asked for
                conditions.append(f"n{i}.graph_id = n0.graph_id")
        conditions += [f"n{i} <> n{j}" for j in range(i) if _may_coincide(pattern.nodes[j], node)]
    if graphs:
        conditions.append("g0.graph_id IN $graph_ids")
    return conditions


def _slot_check(pattern: Pattern, params: dict[str, Any]) -> list[str]:
    """WITH … WHERE lines comparing each flow's slots, after the MATCH, on projected values: LadybugDB
    0.22 evaluates a relationship-property predicate inside a multi-hop MATCH wrongly (it dropped 29 of
    30 LayerNormalization→MatMul→Add→Reshape paths for `f1.dst_slot = 1`; found by tests/test_match.py's
    differential test)."""
    slots, checks = [], []
    for k, f in enumerate(pattern.flows):
        for end, slot in (("src_slot", f.src_slot), ("dst_slot", f.dst_slot)):
            if slot is not None:
                params[f"{end}_{k}"] = int(slot)
                slots.append(f"f{k}.{end} AS f{k}_{end}")
                checks.append(f"f{k}_{end} = ${end}_{k}")
    if not slots:
        return []
    kept = ", ".join(f"n{i}" for i in range(len(pattern.nodes)))
    return [f"WITH {kept}, " + ", ".join(slots), "WHERE " + "\n  AND ".join(checks)]


def _needs_distinct(pattern: Pattern) -> bool:
    """Slot-free flows can be matched by parallel relationships: then each node mapping is kept once."""
    return any(f.src_slot is None or f.dst_slot is None for f in pattern.flows)


def _mappings(pattern: Pattern) -> str:
    """The WITH projecting each match to (graph_id, scope, i0..i<k-1>), once per node mapping."""
    distinct = "DISTINCT " if _needs_distinct(pattern) else ""
    return f"WITH {distinct}n0.graph_id AS graph_id, n0.scope AS scope, " + ", ".join(
        f"n{i}.idx AS i{i}" for i in range(len(pattern.nodes)))


def _with_models(schema: ViewSchema, columns: str) -> list[str]:
    """Each graph row gains its models' names, read once per graph."""
    return [f"MATCH (g:{schema.graph} {{graph_id: graph_id}})",
            f"OPTIONAL MATCH (m:{schema.model})-[:{schema.instance_of}]->(g)",
            f"WITH graph_id, {columns}, collect(m.name) AS models",
            f"RETURN graph_id, {columns}, models"]


def _counts(pattern: Pattern, schema: ViewSchema, params: dict[str, Any], limit: int | None) -> list[str]:
    """From matches to one row per graph with its number of occurrences: no node lists are collected or
    shipped, and without parallel-flow duplicates not even a mapping is projected."""
    lines = [_mappings(pattern), "WITH graph_id, count(*) AS occurrences"] if _needs_distinct(pattern) else \
        ["WITH n0.graph_id AS graph_id, count(*) AS occurrences"]
    if limit is not None:
        params["limit"] = int(limit)
        lines += ["ORDER BY graph_id", "LIMIT $limit"]
    return [*lines, *_with_models(schema, "occurrences")]


def _occurrences(pattern: Pattern, schema: ViewSchema, params: dict[str, Any], limit: int | None) -> list[str]:
    """From matches to one row per graph: its occurrences as parallel lists (collected in one
    aggregation, so aligned) and its models once (a row per occurrence would repeat them every time)."""
    width = range(len(pattern.nodes))
    lines = [_mappings(pattern)]
    if limit is not None:
        params["limit"] = int(limit)
        lines += ["ORDER BY graph_id, scope, " + ", ".join(f"i{i}" for i in width), "LIMIT $limit"]
    columns = ", ".join(f"c{i}" for i in width)
    return [
        *lines,
        "WITH graph_id, collect(scope) AS scopes, " + ", ".join(f"collect(i{i}) AS c{i}" for i in width),
        *_with_models(schema, f"scopes, {columns}"),
    ]


# -- running it -------------------------------------------------------------------------------------
def match(store: Runs, pattern: Pattern | str | os.PathLike[str], *, view: str = "exact",
          limit: int | None = None, graphs: list[str] | None = None, count: bool = False) -> pd.DataFrame:
    """Every occurrence of `pattern` in the store: one row per occurrence, columns graph_id, scope,
    nodes (operator idx of each pattern node, in pattern order), models (names of the models with
    that architecture), sorted by (graph_id, scope, nodes). `limit`: the first N occurrences in that
    order; `graphs`: only these graph ids. `count`: one row per graph holding the pattern instead,
    columns graph_id, occurrences, models, sorted by graph_id (`limit`: the first N graphs). `df.attrs`
    holds `pattern`, `cypher`, `params`, `limit`, `count` and `notes` (e.g. op types no operator of the
    store has: then there are no rows, not an error)."""
    from younger_graph import dialect

    pat = parse_pattern(pattern, view)
    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    text, params = match_cypher(pat, view, limit=limit, graphs=graphs is not None, count=count)
    if graphs is not None:
        params["graph_ids"] = sorted({str(g) for g in graphs})
    raw = store.run(dialect.translate(text, store.backend), params)
    df = _count_frame(raw) if count else _occurrence_frame(raw, len(pat.nodes))
    notes = list(pat.notes)
    if not len(df):
        notes += _unknown_op_types(store, pat, view)
    df.attrs.update(pattern=pat.describe(), cypher=text, params=params, limit=limit, count=count, notes=notes)
    return df


def _models(names: Any) -> list[str]:
    return sorted(str(m) for m in names or [] if m is not None)


def _frame(rows: list[tuple[Any, ...]], columns: list[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame({c: pd.Series([], dtype=object)
                                                                          for c in columns})


def _occurrence_frame(raw: pd.DataFrame, width: int) -> pd.DataFrame:
    """The per-graph parallel lists unpacked into one row per occurrence."""
    rows: list[tuple[str, str, list[int], list[str]]] = []
    per_node = [raw[f"c{i}"].tolist() for i in range(width)] if len(raw) else []
    for graph_id, scopes, names, *columns in zip(raw.get("graph_id", []), raw.get("scopes", []),
                                                 raw.get("models", []), *per_node):
        models = _models(names)
        rows.extend((str(graph_id), scope or "", list(nodes), models) for scope, nodes in zip(scopes, zip(*columns)))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return _frame(rows, COLUMNS)


def _count_frame(raw: pd.DataFrame) -> pd.DataFrame:
    rows = sorted((str(g), int(n), _models(names)) for g, n, names in
                  zip(raw.get("graph_id", []), raw.get("occurrences", []), raw.get("models", [])))
    return _frame(rows, COUNT_COLUMNS)


def present_op_types_cypher(schema: ViewSchema) -> str:
    """Which of the op types bound as `$types` some operator of the view has."""
    return (f"MATCH (o:{schema.operator}) WHERE o.kind = 'operator' AND o.op_type IN $types "
            "RETURN DISTINCT o.op_type AS op_type")


def _unknown_op_types(store: Runs, pattern: Pattern, view: str) -> list[str]:
    """Op types of the pattern that no operator of the store has (asked only when nothing matched)."""
    wanted = sorted({n.op_type for n in pattern.nodes})
    found = store.run(present_op_types_cypher(view_schema(view)), {"types": wanted})
    missing = [t for t in wanted if t not in set(found.get("op_type", []))]
    return [f"no operator of type {t} in the store" for t in missing]


def totals(df: pd.DataFrame) -> dict[str, int]:
    """occurrences, graphs and models (distinct names) of a match result (occurrence or count rows)."""
    models = {m for ms in df["models"] for m in ms} if len(df) else set()
    occurrences = int(df["occurrences"].sum()) if "occurrences" in df.columns and len(df) else len(df)
    return {"occurrences": occurrences, "graphs": int(df["graph_id"].nunique()) if len(df) else 0,
            "models": len(models)}
