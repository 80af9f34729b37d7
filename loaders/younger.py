"""Younger dataset releases → the same operator DAG an ONNX file gives (docs/younger.md).

Two on-disk formats exist; both wrap their payload in Younger's "safety pickle" (younger/commons/io.py
`save_pickle`): a pickled `{"main": pickle.dumps(payload), "checksum": sha256(main) as hex}`.

- Paper era (github.com/YangsCloud/Younger, branch `paper`, younger/datasets/modules/instance.py and
  network.py): an instance folder holds `meta.json`, `unique.id`, `label.json` and
  `network/{info.json,graph.pkl}`; the payload of `graph.pkl` is a networkx DiGraph, either
  * complete (younger/datasets/utils/translation.py `trans_model_proto`): nodes typed
    operator/input/output/constant/outer, operators keep their operand and result names, subgraphs
    are nested DiGraphs inside attribute values, edges carry `connection={emit_index, trap_index}`;
  * standardized (younger/datasets/constructors/official/filter.py `Network.standardize`):
    operators only (Constant operators dropped), subgraphs flattened into the same graph behind an
    attribute-less father → first-node edge, edges carry only `connection`.
- LogicX (PyPI younger-logics-ir 0.1.0, younger_logics_ir/modules/{instance,logicx}.py): an instance
  folder holds `meta`, `logicx.bin` and `labels.lbl`; the payload of `logicx.bin` is
  `(dag_json, pickle(src), pickle(relationship))`. The DAG is JSON: nodes with node_type and
  node_attr (operators keep operand/result names), edges with `connections=[[emit, trap], ...]`,
  nested DAGs as strings prefixed `YLIR-DAG-`, bytes as `YLIR-BYTES-` + base64. LogicX's own
  standardized/skeleton files (bare, no folder) have typed nodes but edges without slots.

Where operand/result names survive (complete paper graphs, LogicX instances) flows are rebuilt from
the names with the rules of walk/onnx_walker.py, which recovers the flows the DiGraph collapsed;
otherwise they come from the edges. Pickles are read by an Unpickler that only builds networkx
graphs and plain containers, so a malicious file cannot run code. Nothing here raises for bad input.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import json
import os
import pickle
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from younger_graph.loaders.results import ModelResult, display_path, failed, model_id_for, new_row

from younger_graph.canonical import dumps
from younger_graph.errors import ExtractionError, YoungerGraphError, first_line
from younger_graph.graph import GraphBuilder
from younger_graph.schema import KIND_OPERATOR
from younger_graph.walk.attrs import (
    MAX_LIST_ITEMS,
    bounded_list,
    canonical_float,
    canonical_string,
    dtype_name,
)
from younger_graph.walk.attrs import AttrType as AP
from younger_graph.walk.scopes import MAX_NESTING, SymbolTable, check_nesting, nesting_label, subgraph_scope


class _LazyNetworkx:
    """networkx on first use: every directory walk asks is_younger_instance(), which needs none of it."""

    def __getattr__(self, name: str) -> Any:
        import networkx

        return getattr(networkx, name)


nx = _LazyNetworkx()

__all__ = ["YoungerFormatError", "extract_instance", "is_younger_instance", "safe_loads"]

PAPER_GRAPH = "network/graph.pkl"
PAPER_INFO = "network/info.json"
PAPER_META, PAPER_LABELS = "meta.json", "label.json"
LOGICX_FILE, LOGICX_META, LOGICX_LABELS = "logicx.bin", "meta", "labels.lbl"

UNKNOWN_SLOT = -1  # LogicX standardized/skeleton edges record no slots
UNKNOWN_INIT: dict[str, Any] = {"dtype": None, "shape": None}  # an initializer whose summary was lost
# Columns beyond the core ones (which include name, task, origin and tags); the driver writes them as strings.
EXTRA_KEYS = ("younger_format", "younger_models", "younger_release", "downloads", "likes")

_DAG_HEAD, _BYTES_HEAD = "YLIR-DAG-", "YLIR-BYTES-"
_INDEX_SUFFIX = re.compile(r"-(\d+)$")
_INSTANCE_NAME_SEP = "--MN_YD_MS--"  # younger/datasets/constructors/utils.py get_instance_dirname


class YoungerFormatError(ExtractionError):
    """An instance that cannot be read; the message is one sentence for the user."""


# -- detection ----------------------------------------------------------------------------------

def is_younger_instance(path: str) -> bool:
    """A paper-era or LogicX instance folder? A few stat calls, nothing is opened."""
    def has(name: str) -> bool:
        return os.path.isfile(os.path.join(path, name))

    if has(LOGICX_FILE) or (has(LOGICX_META) and has(LOGICX_LABELS)):
        return True
    return os.path.isdir(os.path.join(path, "network")) and (has(PAPER_META) or has(PAPER_LABELS)
                                                            or has(PAPER_GRAPH))


# -- safe unpickling ----------------------------------------------------------------------------

class UnsafePickleError(YoungerGraphError, pickle.UnpicklingError):
    """The pickle names a global outside the allow-list."""


_ALLOWED_GLOBALS = frozenset({
    *((m, n) for m in ("builtins", "__builtin__") for n in ("set", "frozenset", "bytearray", "complex", "object")),
    ("copyreg", "_reconstructor"), ("copy_reg", "_reconstructor"),  # protocol 0/1 objects
    ("_codecs", "encode"),  # protocol 2 bytes
    ("collections", "OrderedDict"),
    ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
})
# A pickled DiGraph references its class and the cached views networkx keeps in __dict__.
_NETWORKX_MODULES = frozenset(f"networkx.classes.{m}" for m in (
    "graph", "digraph", "multigraph", "multidigraph", "reportviews", "coreviews"))


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        if module in _NETWORKX_MODULES and name.isidentifier() and not name.startswith("_"):
            found = super().find_class(module, name)
            if isinstance(found, type) and found.__module__ == module:  # networkx's own classes only
                return found
        raise UnsafePickleError(f"{module}.{name}")


def safe_loads(data: bytes) -> Any:
    """pickle.loads that only builds networkx graphs, builtin containers and numpy scalars."""
    return _SafeUnpickler(io.BytesIO(data)).load()



def _unpickle(data: bytes, rel: str) -> Any:
    try:
        return safe_loads(data)
    except UnsafePickleError as exc:
        raise YoungerFormatError(
            f"{rel} was refused: it asks to load {exc}, which no Younger file needs (malicious or foreign pickle)"
        ) from None
    except RecursionError:
        raise YoungerFormatError(f"{rel} is nested too deeply to unpickle") from None
    except MemoryError:
        raise YoungerFormatError(f"{rel} ran out of memory while unpickling") from None
    except Exception as exc:  # truncated or garbage pickles fail in many ways
        raise YoungerFormatError(f"{rel} is not a readable pickle ({_line(exc)})") from None


def _read_bytes(path: str, rel: str) -> bytes:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the worker, a device never end
            raise YoungerFormatError(f"{rel} is not a regular file")
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise YoungerFormatError(f"{rel} is missing from the Younger instance") from None
    except OSError as exc:
        raise YoungerFormatError(f"{rel} cannot be read ({exc.strerror or exc})") from None


def _open_safety_pickle(data: bytes, rel: str) -> Any:
    """The payload of Younger's `{main, checksum}` pickle, after the checksum is verified."""
    outer = _unpickle(data, rel)
    if not (isinstance(outer, dict) and isinstance(outer.get("main"), (bytes, bytearray))
            and isinstance(outer.get("checksum"), str)):
        raise YoungerFormatError(
            f"{rel} holds {_describe(outer)}, not the {{'main': bytes, 'checksum': str}} wrapper Younger writes")
    main = bytes(outer["main"])
    actual, stored = hashlib.sha256(main).hexdigest(), outer["checksum"].strip().lower()
    if actual != stored:
        raise YoungerFormatError(
            f"checksum mismatch in {rel}: it records sha256 {stored[:16]}… but its content hashes to {actual[:16]}…")
    return _unpickle(main, rel)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        keys = ", ".join(sorted(repr(k) for k in list(value)[:6]))
        return f"a dict with keys {{{keys}}}"
    return f"a {type(value).__name__}"


def _read_json(folder: str, rel: str) -> Any:
    """A JSON side file of an instance; None when absent."""
    path = os.path.join(folder, rel)
    if not os.path.isfile(path):
        return None
    try:
        return json.loads(_read_bytes(path, rel).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise YoungerFormatError(f"{rel} is not valid JSON ({_line(exc)})") from None


# -- LogicX DAG JSON ----------------------------------------------------------------------------

def _revive(value: Any, depth: int) -> Any:
    """Undo YLIRJSONEncoder and LogicX.saved_dag: `YLIR-BYTES-` strings and nested `YLIR-DAG-` DAGs."""
    if isinstance(value, dict):
        return {k: _revive(v, depth) for k, v in value.items()}
    if isinstance(value, list):
        return [_revive(v, depth) for v in value]
    if isinstance(value, str):
        if value.startswith(_DAG_HEAD):
            return _decode_dag(value[len(_DAG_HEAD):], depth + 1)
        if value.startswith(_BYTES_HEAD):
            try:
                return base64.b64decode(value[len(_BYTES_HEAD):], validate=True)
            except ValueError:
                return value
    return value


def _decode_dag(text: Any, depth: int = 0) -> nx.DiGraph:
    if depth > MAX_NESTING:
        raise YoungerFormatError(f"logicx.bin nests subgraphs deeper than {MAX_NESTING} levels")
    if not isinstance(text, str):
        raise YoungerFormatError(f"logicx.bin stores its DAG as {_describe(text)}, not JSON text")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise YoungerFormatError(f"logicx.bin holds a DAG that is not valid JSON ({_line(exc)})") from None
    if not (isinstance(data, dict) and isinstance(data.get("nodes"), list) and isinstance(data.get("edges"), list)):
        raise YoungerFormatError("logicx.bin holds a DAG without 'nodes' and 'edges' lists")
    dag = nx.DiGraph()
    dag.graph.update(_revive(data.get("graph") or {}, depth))
    try:
        for node in data["nodes"]:
            dag.add_node(node["node_index"], **_revive(node.get("node_features") or {}, depth))
        for edge in data["edges"]:
            dag.add_edge(edge["tail_index"], edge["head_index"], **(edge.get("edge_features") or {}))
    except (KeyError, TypeError) as exc:
        raise YoungerFormatError(f"logicx.bin holds a malformed node or edge ({_line(exc)})") from None
    return dag


def _logicx_payload(payload: Any) -> nx.DiGraph:
    # (dag, src, relationship) since 2025; (dag, src) in the first releases of younger-logics-ir.
    if not (isinstance(payload, tuple) and len(payload) in (2, 3)):
        raise YoungerFormatError(f"logicx.bin holds {_describe(payload)}, not LogicX's (dag, src, relationship) tuple")
    return _decode_dag(payload[0])


# -- values stored by Younger → our canonical JSON ----------------------------------------------

def _tensor_summary(tensor: Any) -> dict[str, Any]:
    """trans_tensor_proto / trans_sparse_tensor_proto dict → {dtype, shape[, sparse]} like attrs.py."""
    if not isinstance(tensor, dict):
        return dict(UNKNOWN_INIT)
    dims = tensor.get("dims")
    shape = [int(d) for d in dims] if isinstance(dims, list) else None
    if "values" in tensor and "data_type" not in tensor:  # sparse: values are None when neglected
        values = tensor.get("values")
        data_type = values.get("data_type") if isinstance(values, dict) else None
        return {"dtype": dtype_name(data_type) if isinstance(data_type, int) else None, "shape": shape,
                "sparse": True}
    data_type = tensor.get("data_type")
    return {"dtype": dtype_name(data_type) if isinstance(data_type, int) else None, "shape": shape}


def _value_type(value_info: Any) -> tuple[str | None, str | None]:
    """trans_value_info_proto dict → (dtype, shape JSON) for the edges table."""
    tp = value_info.get("type_proto") if isinstance(value_info, dict) else None
    if not isinstance(tp, dict) or not isinstance(tp.get("elem_type"), int):
        return None, None
    shape = tp.get("shape")
    return (dtype_name(tp["elem_type"]) if tp["elem_type"] else None,
            dumps(list(shape)) if isinstance(shape, list) else None)


def _type_summary(tp: Any) -> str:
    if not isinstance(tp, dict) or not tp:
        return "unknown"
    if isinstance(tp.get("elem_type"), int):
        return f"tensor({dtype_name(tp['elem_type'])})"
    if isinstance(tp.get("elem_type"), dict):  # Younger stores sequence and optional alike
        return f"sequence_or_optional({_type_summary(tp['elem_type'])})"
    return "map_type" if "key_type" in tp else "unknown"


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


GraphRef = Callable[[str, "int | None", Any], Any]  # (attribute name, k or None, stored value) → JSON


def _is_int_pair(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value)


def _attr_value(name: str, attr: dict[str, Any], graph_ref: GraphRef) -> Any:
    """trans_attribute_proto dict {value, attr_type, doc_string} → the JSON attrs.attribute_value gives."""
    t, v = attr.get("attr_type"), attr.get("value")
    if t == AP.INT:
        return int(v)
    if t == AP.FLOAT:
        return canonical_float(float(v))
    if t == AP.STRING:
        return canonical_string(_as_bytes(v))
    if t == AP.INTS:
        return bounded_list([int(x) for x in v])
    if t == AP.FLOATS:
        floats = [float(x) for x in v]
        return bounded_list(floats if len(floats) > MAX_LIST_ITEMS else [canonical_float(f) for f in floats])
    if t == AP.STRINGS:
        return bounded_list([canonical_string(_as_bytes(s)) for s in v])
    if t in (AP.TENSOR, AP.SPARSE_TENSOR):
        return {"tensor": _tensor_summary(v)}
    if t in (AP.TENSORS, AP.SPARSE_TENSORS):
        return bounded_list([{"tensor": _tensor_summary(x)} for x in v])
    if t == AP.GRAPH:
        return {"graph": graph_ref(name, None, v)}
    if t == AP.GRAPHS:  # standardized paper graphs keep [first subgraph index, count]
        graphs = list(range(v[1])) if _is_int_pair(v) else list(v)
        return [{"graph": graph_ref(name, k, g)} for k, g in enumerate(graphs)]
    if t == AP.TYPE_PROTO:
        return {"type": _type_summary(v)}
    if t == AP.TYPE_PROTOS:
        return [{"type": _type_summary(x)} for x in v]
    return {"unknown_attribute_type": t}


def _attrs_json(attributes: dict[str, Any], graph_ref: GraphRef, where: str) -> tuple[str, str | None]:
    """(attrs JSON, hash JSON or None): subgraph scopes hold node indices, which must not be hashed."""
    values: dict[str, Any] = {}
    hashed: dict[str, Any] = {}
    for name, attr in attributes.items():
        if not isinstance(attr, dict) or "attr_type" not in attr:
            raise YoungerFormatError(f"attribute {name!r} of {where} is not a Younger attribute record")
        try:
            values[name] = _attr_value(name, attr, graph_ref)
        except (TypeError, ValueError, IndexError) as exc:
            raise YoungerFormatError(
                f"attribute {name!r} of {where} has an unexpected value ({_line(exc)})") from None
        if attr["attr_type"] in (AP.GRAPH, AP.GRAPHS):
            hashed[name] = "subgraph"
    return dumps(values), (dumps({**values, **hashed}) if hashed else None)


def _nested_ref(prefix: str, idx: int, name: str, k: int | None, value: Any) -> Any:
    """A nested DAG is walked under its scope; anything else (a LogicX sub-DAG id) is kept as stored."""
    return subgraph_scope(prefix, idx, name, k) if isinstance(value, nx.DiGraph) else value


# -- one (sub)graph of a format that kept operand and result names ------------------------------

@dataclass
class _Op:
    key: Any
    op_type: str
    domain: str
    name: str
    attributes: dict[str, Any]
    operands: dict[str, int]  # name → input slot (a dict: Mul(x, x) kept only its last slot)
    results: dict[str, int]  # name → output slot


@dataclass
class _Scope:
    ops: list[_Op]
    inputs: list[str]  # graph inputs in position order, initializers excluded
    outputs: list[str]
    initializers: dict[str, dict[str, Any]]  # name → {dtype, shape}
    types: dict[str, tuple[str | None, str | None]]  # tensor name → (dtype, shape JSON)


def _slot_map(value: Any, what: str) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(s, int) for k, s in value.items()):
        raise YoungerFormatError(f"{what} is not a mapping of tensor names to slots")
    return value


def _index_number(key: Any) -> int:
    """Position encoded in a node id: '7' (paper) or '{graph}-{depth}-{type}-7' (LogicX)."""
    text = str(key)
    if text.isdigit():
        return int(text)
    found = _INDEX_SUFFIX.search(text)
    return int(found.group(1)) if found else 0


def _node_order(key: Any) -> tuple[int, str]:
    return _index_number(key), str(key)


def _make_op(key: Any, op_type: Any, domain: Any, name: Any, attrs: Any, operands: Any, results: Any) -> _Op:
    if not isinstance(op_type, str) or not op_type:
        raise YoungerFormatError(f"operator node {key!r} has no operator type")
    if attrs is not None and not isinstance(attrs, dict):
        raise YoungerFormatError(f"operator node {key!r} stores its attributes as {_describe(attrs)}")
    return _Op(key, op_type, domain if isinstance(domain, str) else "", name if isinstance(name, str) else "",
               attrs or {}, _slot_map(operands, f"the operands of node {key!r}"),
               _slot_map(results, f"the results of node {key!r}"))


def _paper_scope(dag: nx.DiGraph) -> _Scope:
    """A complete paper-era graph: one aggregated input, output, constant and outer node per graph."""
    ops: list[_Op] = []
    positions: dict[str, dict[str, int]] = {"input": {}, "output": {}, "constant": {}}
    field = {"input": "graph_inputs", "output": "graph_outputs", "constant": "graph_constants"}
    for key in sorted(dag.nodes, key=_node_order):
        d = dag.nodes[key]
        kind = d.get("type")
        if kind == "operator":
            operator = d.get("operator") if isinstance(d.get("operator"), dict) else {}
            ops.append(_make_op(key, operator.get("op_type"), operator.get("domain"), d.get("name"),
                                d.get("attributes"), d.get("operands"), d.get("results")))
        elif kind in field:
            positions[kind].update(_slot_map(d.get(field[kind]), f"the {field[kind]} of node {key!r}"))
        elif kind != "outer":
            raise YoungerFormatError(f"node {key!r} has unknown type {kind!r}")
    defaults, types = _paper_edge_info(dag)
    initializers = {n: defaults.get(n, dict(UNKNOWN_INIT)) for n in _by_position(positions["constant"])}
    inputs = _by_position(positions["input"])
    initializers.update({n: defaults[n] for n in inputs if n in defaults})  # IR < 4: initializers listed as inputs
    return _Scope(ops, [n for n in inputs if n not in initializers], _by_position(positions["output"]),
                  initializers, types)


def _by_position(names: dict[str, int]) -> list[str]:
    return [n for n, _ in sorted(names.items(), key=lambda item: (item[1], item[0]))]


def _paper_edge_info(dag: nx.DiGraph) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[str | None, str | None]]]:
    """Initializer summaries and tensor types, which paper-era graphs keep only on (surviving) edges."""
    defaults: dict[str, dict[str, Any]] = {}
    types: dict[str, tuple[str | None, str | None]] = {}
    for _, head, d in dag.edges(data=True):
        connection = d.get("connection")
        trap = connection.get("trap_index") if isinstance(connection, dict) else None
        h = dag.nodes[head]
        names = h.get("operands") if h.get("type") == "operator" else h.get("graph_outputs")
        name = next((n for n, s in names.items() if s == trap), None) if isinstance(names, dict) else None
        if name is None:
            continue
        if isinstance(d.get("default_value"), dict):
            defaults[name] = _tensor_summary(d["default_value"])
        if isinstance(d.get("dataflow"), dict):
            types[name] = _value_type(d["dataflow"])
    return defaults, types


def _logicx_scope(dag: nx.DiGraph) -> _Scope:
    """A LogicX DAG from trans_model_proto: one node per graph input, output and outer name."""
    ops: list[_Op] = []
    inputs: list[str] = []
    outputs: list[str] = []
    for key in sorted(dag.nodes, key=_node_order):
        d = dag.nodes[key]
        kind, attr = d.get("node_type"), d.get("node_attr")
        if kind == "operator":
            attr = attr if isinstance(attr, dict) else {}
            ops.append(_make_op(key, attr.get("op_type"), attr.get("domain"), attr.get("name"),
                                attr.get("attributes"), attr.get("operands"), attr.get("results")))
        elif kind in ("input", "output"):
            if not isinstance(d.get("node_name"), str):
                raise YoungerFormatError(f"{kind} node {key!r} has no tensor name")
            (inputs if kind == "input" else outputs).append(d["node_name"])
        elif kind != "outer":
            raise YoungerFormatError(f"node {key!r} has unknown node_type {kind!r}")
    g = dag.graph
    stored = g.get("graph_initializers")
    initializers = {n: _tensor_summary(t) for n, t in stored.items()} if isinstance(stored, dict) else {}
    types: dict[str, tuple[str | None, str | None]] = {}
    for field in ("graph_dataflows", "graph_inputs", "graph_outputs"):
        if isinstance(g.get(field), dict):
            types.update({n: _value_type(vi) for n, vi in g[field].items()})
    return _Scope(ops, [n for n in inputs if n not in initializers], outputs, initializers, types)


class _NamedWalker:
    """Names → flows, scopes and nesting, with the scoping rules of every walker (walk/scopes.py)."""

    def __init__(self, builder: GraphBuilder, to_scope: Callable[[nx.DiGraph], _Scope]) -> None:
        self.b = builder
        self.to_scope = to_scope
        self.symbols = SymbolTable()
        # Tensor types are recorded once per name for the whole model (these formats kept one per name).
        self.types: dict[str, tuple[str | None, str | None]] = {}

    def walk(self, dag: Any, scope: str, depth: int, parent: int | None, label: str) -> None:
        check_nesting(depth)
        if not isinstance(dag, nx.DiGraph):
            raise YoungerFormatError(f"a subgraph is stored as {_describe(dag)}, not a DAG")
        sc = self.to_scope(dag)
        b = self.b
        self.types.update(sc.types)
        with self.symbols.scope() as symbols:
            for name, summary in sc.initializers.items():
                symbols.define(name, summary)
            b.num_initializers += len(sc.initializers)
            for position, name in enumerate(sc.inputs):
                idx = b.add_input(scope, name, position)
                symbols.define(name, (idx, 0))
                self.nest(parent, idx, label)
            self.walk_ops(sc.ops, scope, depth, parent, label)
            for position, name in enumerate(sc.outputs):
                idx = b.add_output(scope, name, position)
                self.nest(parent, idx, label)
                self.connect(name, idx, 0, scope)

    def nest(self, parent: int | None, child: int, label: str) -> None:
        if parent is not None:
            self.b.add_nesting(parent, child, label)

    def walk_ops(self, ops: list[_Op], scope: str, depth: int, parent: int | None, label: str) -> None:
        b, symbols = self.b, self.symbols
        prefix = f"{scope}/" if scope else ""
        first = len(b.kind)
        for op in ops:
            idx = len(b.kind)
            inits = {slot: symbols.get(n) for n, slot in op.operands.items() if isinstance(symbols.get(n), dict)}
            attrs, hashed = _attrs_json(op.attributes, lambda n, k, v, i=idx: _nested_ref(prefix, i, n, k, v),
                                        f"node {op.key!r}")
            b.add_node(KIND_OPERATOR, op.op_type, op.domain, scope, op.name, attrs, hashed, inits)
            self.nest(parent, idx, label)
            for name, slot in op.results.items():
                symbols.define(name, (idx, slot))
        for offset, op in enumerate(ops):
            idx = first + offset
            for name, slot in sorted(op.operands.items(), key=lambda item: item[1]):
                self.connect(name, idx, slot, scope)
            self.walk_subgraphs(op, idx, prefix, depth)

    def walk_subgraphs(self, op: _Op, idx: int, prefix: str, depth: int) -> None:
        for name, attr in op.attributes.items():
            value = attr.get("value")
            if attr.get("attr_type") == AP.GRAPH:
                graphs: list[tuple[int | None, Any]] = [(None, value)]
            elif attr.get("attr_type") == AP.GRAPHS and isinstance(value, list):
                graphs = list(enumerate(value))
            else:
                continue
            for k, graph in graphs:
                if not isinstance(graph, nx.DiGraph):  # a LogicX reference to a separately stored DAG
                    continue
                self.b.num_subgraphs += 1
                self.walk(graph, subgraph_scope(prefix, idx, name, k), depth + 1, idx, nesting_label(name, k))

    def connect(self, name: str, dst: int, dst_slot: int, scope: str) -> None:
        self.b.connect(self.symbols.get(name), dst, dst_slot, scope, name, self.types)


# -- formats that kept only edges ---------------------------------------------------------------

def _slot(value: Any) -> int:
    return value if isinstance(value, int) else UNKNOWN_SLOT


def _flattened_scopes(dag: nx.DiGraph, keys: list[Any], idx_of: dict[Any, int]) -> dict[Any, tuple[str, Any, str]]:
    """Standardized paper graphs: node → (scope, father, attribute label) for nodes of flattened subgraphs.

    Network.flatten appends each subgraph's nodes as one consecutive id range after everything
    before it (a subgraph's own nested subgraphs after its own nodes) and links the father operator
    to the range's first node by an edge without `connection`. Sweeping the ids in order with a stack
    of open ranges recovers the range, hence the father and attribute, of every node.
    """
    starts = {v: u for u, v, d in dag.edges(data=True) if "connection" not in d}
    labels = {father: _flattened_labels(dag.nodes[father].get("attributes")) for father in set(starts.values())}
    used: dict[Any, int] = {}
    placed: dict[Any, tuple[str, Any, str, Any]] = {}  # node → (scope, father, label, start of its range)
    stack: list[Any] = []  # start nodes of the open ranges, innermost last
    for key in keys:
        father = starts.get(key)
        if father is not None:
            father_scope, _, _, father_range = placed.get(father, ("", None, "", None))
            while stack and stack[-1] != father_range:
                stack.pop()
            k = used.get(father, 0)
            used[father] = k + 1
            label = labels[father][k] if k < len(labels[father]) else f"subgraph/{k}"
            prefix = f"{father_scope}/" if father_scope else ""
            placed[key] = (f"{prefix}{idx_of[father]}/{label}", father, label, key)
            stack.append(key)
        elif stack:
            scope, top_father, label, _ = placed[stack[-1]]
            placed[key] = (scope, top_father, label, stack[-1])
    return {key: value[:3] for key, value in placed.items()}


def _flattened_labels(attributes: Any) -> list[str]:
    """A father's subgraph attributes in the order flatten() numbered them (value = subgraph index)."""
    numbered: list[tuple[int, str]] = []
    for name, attr in (attributes or {}).items():
        if not isinstance(attr, dict):
            continue
        value = attr.get("value")
        if attr.get("attr_type") == AP.GRAPH and isinstance(value, int):
            numbered.append((value, name))
        elif attr.get("attr_type") == AP.GRAPHS and _is_int_pair(value):
            numbered.extend((value[0] + k, f"{name}/{k}") for k in range(value[1]))
    return [label for _, label in sorted(numbered)]


def _build_flattened(b: GraphBuilder, dag: nx.DiGraph) -> None:
    keys = sorted(dag.nodes, key=_node_order)
    idx_of = {key: i for i, key in enumerate(keys)}
    placed = _flattened_scopes(dag, keys, idx_of)
    scopes = {(father, label): scope for scope, father, label in placed.values()}
    for key in keys:
        d = dag.nodes[key]
        operator = d.get("operator") if isinstance(d.get("operator"), dict) else {}
        op = _make_op(key, operator.get("op_type"), operator.get("domain"), "", d.get("attributes"), None, None)
        scope, father, label = placed.get(key, ("", None, ""))

        def graph_ref(name: str, k: int | None, _value: Any, key: Any = key) -> Any:
            return scopes.get((key, nesting_label(name, k)))

        attrs, hashed = _attrs_json(op.attributes, graph_ref, f"node {key!r}")
        b.add_node(KIND_OPERATOR, op.op_type, op.domain, scope, "", attrs, hashed)
        if father is not None:
            b.add_nesting(idx_of[father], idx_of[key], label)
    b.num_subgraphs = len({(f, label) for _, f, label in placed.values()})
    for u, v, d in dag.edges(data=True):
        connection = d.get("connection")
        if isinstance(connection, dict):
            b.add_edge(idx_of[u], _slot(connection.get("emit_index")), idx_of[v],
                       _slot(connection.get("trap_index")), placed.get(v, ("",))[0], "")


_TYPE_RANK = {"input": 0, "operator": 1, "output": 2}


def _tuid_operator(key: Any, tuid: Any) -> tuple[str, str]:
    """node_tuid "operator-('Conv', '', 11, 17)" → (op_type, domain)."""
    try:
        parsed = ast.literal_eval(str(tuid).partition("-")[2])
        return str(parsed[0]), str(parsed[1])
    except (ValueError, SyntaxError, TypeError, IndexError, MemoryError, RecursionError):
        raise YoungerFormatError(f"operator node {key!r} has an unreadable node_tuid {str(tuid)[:80]!r}") from None


def _build_typed_unslotted(b: GraphBuilder, dag: nx.DiGraph) -> None:
    """LogicX standardized/skeleton DAGs: typed nodes, operator identity in node_tuid, no slots."""
    keys = sorted((k for k in dag.nodes if dag.nodes[k].get("node_type") in _TYPE_RANK),
                  key=lambda k: (_TYPE_RANK[dag.nodes[k]["node_type"]], *_node_order(k)))
    idx_of: dict[Any, int] = {}
    position = {"input": 0, "output": 0}
    for key in keys:
        d = dag.nodes[key]
        kind, name = d["node_type"], d.get("node_name") if isinstance(d.get("node_name"), str) else ""
        if kind == "operator":
            op_type, domain = _tuid_operator(key, d.get("node_tuid"))
            stored = d.get("node_attr") if isinstance(d.get("node_attr"), dict) else {}
            attrs, hashed = _attrs_json(stored, lambda _n, _k, v: v, f"node {key!r}")
            idx_of[key] = b.add_node(KIND_OPERATOR, op_type, domain, "", name, attrs, hashed)
        else:
            add = b.add_input if kind == "input" else b.add_output
            idx_of[key] = add("", name, position[kind])
            position[kind] += 1
    for u, v, d in dag.edges(data=True):
        if u not in idx_of or v not in idx_of:  # outer nodes of a separately stored sub-DAG
            b.num_dangling += 1
            continue
        pairs = d.get("connections") or [[UNKNOWN_SLOT, UNKNOWN_SLOT]]
        for pair in pairs:
            emit, trap = (pair[0], pair[1]) if isinstance(pair, list | tuple) and len(pair) == 2 else (None, None)
            b.add_edge(idx_of[u], _slot(emit), idx_of[v], _slot(trap), "", "")


# -- instances → rows -----------------------------------------------------------------------------

@dataclass
class _Loaded:
    fmt: str  # younger_format column
    dag: nx.DiGraph
    header: dict[str, Any]  # ir_version, opset_import, producer_name, producer_version


def _paper_format(dag: nx.DiGraph) -> str:
    complete = any("type" in d for _, d in dag.nodes(data=True))
    return "younger-paper/complete" if complete else "younger-paper/standardized"


def _logicx_format(dag: nx.DiGraph) -> str:
    operators = [d for _, d in dag.nodes(data=True) if d.get("node_type") == "operator"]
    if any(isinstance(d.get("node_attr"), dict) and "operands" in d["node_attr"] for d in operators):
        return "logicx"
    return "logicx/standard" if any("node_attr" in d for d in operators) else "logicx/skeleton"


def _build(loaded: _Loaded) -> GraphBuilder:
    b = GraphBuilder()
    if loaded.fmt == "younger-paper/complete":
        _NamedWalker(b, _paper_scope).walk(loaded.dag, "", 0, None, "")
    elif loaded.fmt == "logicx":
        _NamedWalker(b, _logicx_scope).walk(loaded.dag, "", 0, None, "")
    elif loaded.fmt == "younger-paper/standardized":
        _build_flattened(b, loaded.dag)
    else:
        _build_typed_unslotted(b, loaded.dag)
    if not b.kind:
        raise YoungerFormatError("the Younger graph is empty (no operators, inputs or outputs)")
    return b


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list | tuple | set):
        return [v for v in value if isinstance(v, str) and v]
    return []


def _largest(*values: Any) -> str | None:
    numbers = [v for value in values for v in (value if isinstance(value, list) else [value])
               if isinstance(v, int | float) and not isinstance(v, bool)]
    return str(max(numbers)) if numbers else None


def _joined(items: Iterable[str], lower: bool = False) -> str | None:
    """Distinct values, sorted, as one ", "-separated string (None when there are none)."""
    unique = sorted({item.lower() if lower else item for item in items})
    return ", ".join(unique) if unique else None


def _named(meta: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """Add the model name(s): `name` is the first in sorted order, `younger_models` lists them all."""
    if names:
        meta["name"] = sorted(set(names))[0]
        meta["younger_models"] = _joined(names)
    return meta


def _paper_meta(labels: dict[str, Any]) -> dict[str, Any]:
    """label.json of complete (model_name, tag, annotations), filtered (lists, evaluations) or split instances."""
    annotations = labels.get("annotations") if isinstance(labels.get("annotations"), dict) else {}
    results = annotations.get("eval_results") if isinstance(annotations.get("eval_results"), list) else []
    evaluations = labels.get("evaluations") if isinstance(labels.get("evaluations"), list) else []
    tasks = [*_strings(labels.get("tasks")),
             *(r["task"] for r in results if isinstance(r, dict) and isinstance(r.get("task"), str)),
             *(e[0] for e in evaluations if isinstance(e, list) and e and isinstance(e[0], str))]
    return _named({
        "origin": _joined(_strings(labels.get("model_source")) + _strings(labels.get("model_sources")), lower=True),
        "task": _joined(tasks),
        "tags": _joined(_strings(labels.get("tag")) + _strings(labels.get("tags"))),
        "downloads": _largest(labels.get("download"), labels.get("downloads")),
        "likes": _largest(labels.get("like"), labels.get("likes")),
    }, _strings(labels.get("model_name")))


def _logicx_meta(labels: Any) -> dict[str, Any]:
    """labels.lbl: a JSON list of Implementation.saves strings (origin, like, download, performances)."""
    if not isinstance(labels, list):
        raise YoungerFormatError("labels.lbl is not a JSON list of implementations")
    impls = [_json_text(item) for item in labels]
    origins = [i["origin"] for i in impls if isinstance(i.get("origin"), dict)]
    names = ["/".join(_strings([o.get("owner"), o.get("name")])) for o in origins]
    benchmarks = [_json_text(k) for i in impls if isinstance(i.get("performances"), dict) for k in i["performances"]]
    return _named({
        "origin": _joined((h for o in origins for h in _strings(o.get("hub"))), lower=True),
        "task": _joined(t for bm in benchmarks for t in _strings(bm.get("task"))),
        "downloads": _largest(*(i.get("download") for i in impls)),
        "likes": _largest(*(i.get("like") for i in impls)),
    }, [n for n in names if n])


def _json_text(item: Any) -> dict[str, Any]:
    if isinstance(item, str):
        try:
            item = json.loads(item)
        except ValueError:
            return {}
    return item if isinstance(item, dict) else {}


def _release(meta: Any) -> str | None:
    if isinstance(meta, dict) and meta.get("release") and isinstance(meta.get("release_version"), str):
        return meta["release_version"]
    return None


def _default_name(path: str) -> str:
    base = os.path.basename(path.rstrip("/")) or path
    if _INSTANCE_NAME_SEP in base:  # {model}--MN_YD_MS--{source}--MS_YD_ON--{onnx file}
        return base.split(_INSTANCE_NAME_SEP)[0].replace("--HF--", "/")
    return base


def _read_payload(path: str, rel: str, row: dict[str, Any]) -> Any:
    data = _read_bytes(path, rel)
    row["content_sha256"] = hashlib.sha256(data).hexdigest()
    row["num_bytes"] = len(data)
    row["model_id"] = model_id_for(row["source"], row["content_sha256"])
    return _open_safety_pickle(data, rel)


def _as_dict(value: Any, rel: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise YoungerFormatError(f"{rel} holds {_describe(value)}, not a JSON object")
    return value


def _load_paper_dir(path: str, row: dict[str, Any]) -> _Loaded:
    row.update(_paper_meta(_as_dict(_read_json(path, PAPER_LABELS), PAPER_LABELS)))
    row["younger_release"] = _release(_read_json(path, PAPER_META))
    info = _as_dict(_read_json(path, PAPER_INFO), PAPER_INFO)
    dag = _read_payload(os.path.join(path, PAPER_GRAPH), PAPER_GRAPH, row)
    if not isinstance(dag, nx.DiGraph):
        raise YoungerFormatError(f"{PAPER_GRAPH} holds {_describe(dag)}, not a networkx DiGraph")
    return _Loaded(_paper_format(dag), dag, {**info, **{k: v for k, v in dag.graph.items() if v is not None}})


def _load_logicx_dir(path: str, row: dict[str, Any]) -> _Loaded:
    row.update(_logicx_meta(_read_json(path, LOGICX_LABELS) or []))
    row["younger_release"] = _release(_read_json(path, LOGICX_META))
    dag = _logicx_payload(_read_payload(os.path.join(path, LOGICX_FILE), LOGICX_FILE, row))
    return _Loaded(_logicx_format(dag), dag, dict(dag.graph))


def _load_file(path: str, row: dict[str, Any]) -> _Loaded:
    """A bare graph file: a split's sample-N.pkl, a graph.pkl, or a LogicX standard/skeleton file."""
    rel = os.path.basename(path)
    payload = _read_payload(path, rel, row)
    if isinstance(payload, nx.DiGraph):  # split samples carry their labels in graph.graph
        row.update(_paper_meta(payload.graph))
        return _Loaded(_paper_format(payload), payload, dict(payload.graph))
    dag = _logicx_payload(payload)
    return _Loaded(_logicx_format(dag), dag, dict(dag.graph))


def _apply_header(row: dict[str, Any], header: dict[str, Any]) -> None:
    if isinstance(header.get("ir_version"), int):
        row["ir_version"] = header["ir_version"]
    opsets = header.get("opset_import")
    if isinstance(opsets, dict):
        row["opsets"] = dumps({(d or "ai.onnx"): v for d, v in opsets.items() if isinstance(v, int)})
    if isinstance(header.get("producer_name"), str):
        row["producer"] = " ".join(_strings([header.get("producer_name"), header.get("producer_version")]))


def extract_instance(path: str) -> ModelResult:
    """A Younger instance folder (or bare graph file) → one models row and its graph. Never raises."""
    shown = display_path(path)  # the row's source; the folder is read by its real name
    row = new_row(shown, _default_name(shown))
    row.update(dict.fromkeys(EXTRA_KEYS))
    try:
        if os.path.isdir(path):
            logicx = os.path.isfile(os.path.join(path, LOGICX_FILE)) or os.path.isfile(os.path.join(path, LOGICX_META))
            loaded = _load_logicx_dir(path, row) if logicx else _load_paper_dir(path, row)
        else:
            loaded = _load_file(path, row)
        row["younger_format"] = loaded.fmt
        _apply_header(row, loaded.header)
        graph = _build(loaded).finish()
    except ExtractionError as exc:  # YoungerFormatError included
        return failed(row, str(exc))
    except RecursionError:
        return failed(row, "subgraphs are nested too deeply to walk")
    except MemoryError:
        return failed(row, "ran out of memory while reading the Younger instance")
    except Exception as exc:  # a structure none of the known Younger writers produces
        return failed(row, f"the Younger instance has an unexpected structure ({type(exc).__name__}: "
                          f"{_line(exc)})")
    row["graph_id"] = graph.graph_id
    return ModelResult(row, graph)


def _line(exc: BaseException) -> str:
    return first_line(exc, 200)
