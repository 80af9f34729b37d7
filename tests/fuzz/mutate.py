"""A protobuf-aware mutator of ONNX models, for the extraction fuzzer (tests/fuzz/extract.py).

Byte-level mutation of a serialized model almost always gives bytes that no longer parse, so it
mostly tests the protobuf parser. This mutator parses the model, changes it the way hostile or
broken files do (the defects of issue #11 among them), and serializes it again:

- strings: a name, op_type, domain, attribute name, dim_param, producer... replaced, emptied, made
  very long, or given bytes that are not UTF-8 (patched in the serialized bytes, same length);
- structure: nodes duplicated, dropped, reordered, rewired (dangling names, shadowing, cycles);
- attributes of every type added, including subgraphs that nest nodes of the model;
- model-local functions: bodies made of the model's nodes, calls to them, functions calling the
  previous one twice (exponential expansion) or themselves;
- shapes, initializers (dense and sparse), IR version, opsets.

Deterministic for a given seed, so a finding can be replayed. Plain Python: the pytest smoke test
uses it without atheris.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import onnx
from onnx import AttributeProto, TensorProto
from onnx import helper as oh

Mutation = Callable[[onnx.ModelProto, random.Random], None]


def _parse(data: bytes) -> onnx.ModelProto | None:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception:
        return None
    return model if model.HasField("graph") else None


def _graphs(model: onnx.ModelProto) -> list[onnx.GraphProto]:
    """The main graph and every GRAPH/GRAPHS body, at any depth."""
    found, todo = [], [model.graph]
    while todo:
        graph = todo.pop()
        found.append(graph)
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == AttributeProto.GRAPH:
                    todo.append(attr.g)
                elif attr.type == AttributeProto.GRAPHS:
                    todo.extend(attr.graphs)
    return found


def _node_lists(model: onnx.ModelProto) -> list:
    return [g.node for g in _graphs(model)] + [f.node for f in model.functions]


def _any_node(model: onnx.ModelProto, rng: random.Random) -> onnx.NodeProto | None:
    lists = [nodes for nodes in _node_lists(model) if len(nodes)]
    if not lists:
        return None
    nodes = rng.choice(lists)
    return nodes[rng.randrange(len(nodes))]


def _names(model: onnx.ModelProto) -> list[str]:
    names = set()
    for nodes in _node_lists(model):
        for node in nodes:
            names.update(node.input)
            names.update(node.output)
    for graph in _graphs(model):
        names.update(vi.name for vi in graph.input)
    return sorted(n for n in names if isinstance(n, str))


def _text(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return ""
    if kind == 1:
        return "x" * rng.choice([300, 5000, 70_000])
    if kind == 2:
        return "".join(rng.choice("αβ→✓\u00a0\u2028/:.-_ \\'\"`;") for _ in range(rng.randrange(1, 12)))
    if kind == 3:
        return rng.choice(["MATCH (n) DETACH DELETE n", "x'; DROP", "../../etc/passwd", "\x00", "%s%n"])
    return "".join(rng.choice("abcXYZ019_") for _ in range(rng.randrange(1, 10)))


# -- string fields -------------------------------------------------------------------------------------
def set_string(model: onnx.ModelProto, rng: random.Random) -> None:
    node = _any_node(model, rng)
    choice = rng.randrange(9)
    value = _text(rng)
    if node is not None and choice == 0:
        node.name = value
    elif node is not None and choice == 1:
        node.op_type = value
    elif node is not None and choice == 2:
        node.domain = value
    elif node is not None and choice == 3 and len(node.input):
        node.input[rng.randrange(len(node.input))] = value
    elif node is not None and choice == 4 and len(node.output):
        node.output[rng.randrange(len(node.output))] = value
    elif node is not None and choice == 5 and len(node.attribute):
        node.attribute[rng.randrange(len(node.attribute))].name = value
    elif choice == 6:
        model.producer_name = value
    elif choice == 7 and len(model.opset_import):
        model.opset_import[rng.randrange(len(model.opset_import))].domain = value
    elif len(model.graph.input):
        vi = model.graph.input[rng.randrange(len(model.graph.input))]
        if rng.random() < 0.5:
            vi.name = value
        else:
            vi.type.tensor_type.elem_type = TensorProto.FLOAT
            vi.type.tensor_type.shape.dim.add().dim_param = value


# -- structure -----------------------------------------------------------------------------------------
def duplicate_node(model: onnx.ModelProto, rng: random.Random) -> None:
    nodes = rng.choice(_node_lists(model))
    if len(nodes):
        nodes.add().CopyFrom(nodes[rng.randrange(len(nodes))])


def drop_node(model: onnx.ModelProto, rng: random.Random) -> None:
    nodes = rng.choice(_node_lists(model))
    if len(nodes):
        del nodes[rng.randrange(len(nodes))]


def reorder_nodes(model: onnx.ModelProto, rng: random.Random) -> None:
    nodes = rng.choice(_node_lists(model))
    items = [onnx.NodeProto.FromString(n.SerializeToString()) for n in nodes]
    rng.shuffle(items)
    del nodes[:]
    nodes.extend(items)


def rewire(model: onnx.ModelProto, rng: random.Random) -> None:
    node = _any_node(model, rng)
    names = _names(model)
    if node is None or not names:
        return
    if len(node.input) and rng.random() < 0.7:
        node.input[rng.randrange(len(node.input))] = rng.choice([*names, "", "dangling"])
    else:
        node.input.append(rng.choice(names))


def add_attribute(model: onnx.ModelProto, rng: random.Random) -> None:
    node = _any_node(model, rng)
    if node is None:
        return
    name = rng.choice(["axis", "k-x", "k.x", "Alpha", "alpha", "then_branch", "body", _text(rng)])
    kind = rng.randrange(9)
    if kind == 0:
        attr = oh.make_attribute(name, rng.randrange(-2**63, 2**63))
    elif kind == 1:
        attr = oh.make_attribute(name, rng.choice([0.1, float("nan"), float("inf"), -0.0, 1e38]))
    elif kind == 2:
        attr = oh.make_attribute(name, _text(rng).encode())
    elif kind == 3:
        attr = oh.make_attribute(name, list(range(rng.choice([0, 3, 2000]))))
    elif kind == 4:
        attr = oh.make_attribute(name, oh.make_tensor("t", TensorProto.FLOAT, [rng.randrange(4)], []), )
    elif kind == 5:
        attr = oh.make_attribute(name, [_text(rng).encode() for _ in range(rng.randrange(4))])
    elif kind in (6, 7):
        attr = oh.make_attribute(name, _subgraph(model, rng))
    else:
        attr = oh.make_attribute(name, [_subgraph(model, rng) for _ in range(rng.randrange(1, 3))])
    node.attribute.append(attr)


def _subgraph(model: onnx.ModelProto, rng: random.Random) -> onnx.GraphProto:
    """A body made of a few of the model's own nodes (reading outer names, or nothing)."""
    source = model.graph.node
    picked = [source[rng.randrange(len(source))] for _ in range(min(len(source), rng.randrange(1, 4)))]
    outputs = [o for n in picked for o in n.output][:1] or ["out"]
    return oh.make_graph(picked, "body", [], [oh.make_tensor_value_info(outputs[0], TensorProto.FLOAT, None)])


def add_function(model: onnx.ModelProto, rng: random.Random) -> None:
    """A model-local function and calls to it: a plain body, one calling the previous function twice
    (exponential), or one calling itself."""
    k = len(model.functions)
    domain = rng.choice(["local", "", "ai.onnx", _text(rng)])
    name = f"f{k}"
    kind = rng.randrange(3)
    if kind == 0 or k == 0:
        body = [oh.make_node(rng.choice(["Relu", "Neg", "Identity"]), ["x"], ["y"])]
    elif kind == 1:
        prev = model.functions[k - 1]
        body = [oh.make_node(prev.name, ["x"], ["h"], domain=prev.domain),
                oh.make_node(prev.name, ["h"], ["y"], domain=prev.domain)]
    else:
        body = [oh.make_node(name, ["x"], ["y"], domain=domain)]
    model.functions.append(oh.make_function(domain, name, ["x"], ["y"], body, [oh.make_opsetid("", 17)]))
    node = _any_node(model, rng)
    if node is not None:
        node.op_type, node.domain = name, domain


def change_shapes(model: onnx.ModelProto, rng: random.Random) -> None:
    graph = model.graph
    if rng.random() < 0.5 and len(graph.initializer):
        init = graph.initializer[rng.randrange(len(graph.initializer))]
        init.dims.append(rng.choice([-1, 0, 2**40]))
    elif rng.random() < 0.5:
        values = oh.make_tensor(rng.choice(_names(model) or ["s"]), TensorProto.FLOAT, [2], [1.0, 2.0])
        graph.sparse_initializer.append(oh.make_sparse_tensor(
            values, oh.make_tensor("i", TensorProto.INT64, [2], [0, rng.randrange(-5, 50)]), [rng.randrange(0, 9)]))
    else:
        vi = graph.value_info.add()
        vi.name = rng.choice(_names(model) or ["v"])
        vi.type.tensor_type.elem_type = rng.randrange(0, 30)
        vi.type.tensor_type.shape.dim.add().dim_value = rng.randrange(-3, 10)


def change_header(model: onnx.ModelProto, rng: random.Random) -> None:
    model.ir_version = rng.choice([0, 3, 10, 2**62])
    opset = model.opset_import.add()
    opset.domain, opset.version = rng.choice(["", "ai.onnx", "com.microsoft", _text(rng)]), rng.randrange(-1, 40)


MUTATIONS: list[Mutation] = [set_string, set_string, duplicate_node, drop_node, reorder_nodes, rewire, rewire,
                             add_attribute, add_attribute, add_function, change_shapes, change_header]


def _invalid_utf8(data: bytes, model: onnx.ModelProto, rng: random.Random) -> bytes:
    """One occurrence of a name in the serialized bytes with a byte made 0xff: the protobuf stays
    valid (same length), the string field no longer decodes."""
    names = [n for n in _names(model) if 2 <= len(n.encode("utf-8", "surrogatepass")) <= 64]
    node = _any_node(model, rng)
    if node is not None and node.op_type and isinstance(node.op_type, str):
        names.append(node.op_type)
    if not names:
        return data
    target = rng.choice(names).encode("utf-8", "surrogatepass")
    at = data.find(target)
    if at < 0:
        return data
    i = at + rng.randrange(len(target))
    return data[:i] + bytes([rng.choice([0xFF, 0xC0, 0x80, 0xED])]) + data[i + 1:]


def mutate_model(data: bytes, rng: random.Random, max_size: int) -> bytes | None:
    """`data` mutated as a model (1-3 mutations), or None when it does not parse as one."""
    model = _parse(data)
    if model is None:
        return None
    for _ in range(rng.randrange(1, 4)):
        try:
            rng.choice(MUTATIONS)(model, rng)
        except (ValueError, TypeError, IndexError):  # a mutation that protobuf refuses to build
            continue
    try:
        out = model.SerializeToString()
    except Exception:
        return None
    if rng.random() < 0.25:
        out = _invalid_utf8(out, model, rng)
    if rng.random() < 0.05:
        out = out[: rng.randrange(len(out) + 1)]  # truncated
    return out if len(out) <= max_size else None


def byte_mutation(data: bytes, rng: random.Random, max_size: int) -> bytes:
    """A plain byte mutation, for inputs that do not parse (and when atheris is not there)."""
    buf = bytearray(data or b"\x00")
    for _ in range(rng.randrange(1, 8)):
        op = rng.randrange(4)
        i = rng.randrange(len(buf))
        if op == 0:
            buf[i] = rng.randrange(256)
        elif op == 1:
            del buf[i]
        elif op == 2:
            buf.insert(i, rng.randrange(256))
        else:
            j = rng.randrange(len(buf))
            buf[i:i] = buf[j:j + rng.randrange(1, 16)]
        if not buf:
            buf.append(0)
    return bytes(buf[:max_size])
