"""Properties of extraction, checked by Hypothesis on generated inputs (issue #11):

- extraction never raises, on arbitrary bytes and on real models mutated as hostile files are
  (tests/fuzz/mutate.py): every input becomes a row, `status=error` with one line when it is not a model;
- a model's graph id does not depend on the order of its nodes nor on any name (nodes, tensors,
  graphs), in every scope.
"""

from __future__ import annotations

import random
from pathlib import Path

import onnx
import pytest
from fuzz.extract import check_one
from fuzz.mutate import mutate_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from younger_graph.loaders.onnx_files import extract_file, parse_model

ROOT = Path(__file__).resolve().parent.parent
BACKEND = Path(onnx.__file__).resolve().parent / "backend" / "test" / "data"
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _seed_models() -> list[bytes]:
    paths = sorted((ROOT / "sample").glob("*.onnx")) + sorted(BACKEND.rglob("model.onnx"))
    return [p.read_bytes() for p in paths if p.stat().st_size <= 64 * 1024]


SEEDS = _seed_models()


@SETTINGS
@given(st.binary(max_size=4096))
def test_extraction_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    check_one(data)


@SETTINGS
@given(st.sampled_from(range(len(SEEDS))), st.integers(0, 2**32 - 1), st.integers(1, 4))
def test_extraction_never_raises_on_mutated_models(which: int, seed: int, rounds: int) -> None:
    rng = random.Random(seed)
    data = SEEDS[which]
    for _ in range(rounds):
        data = mutate_model(data, rng, 1 << 20) or data
    check_one(data)


# -- the graph id ignores node order and names ------------------------------------------------------------
def _graphs(model: onnx.ModelProto) -> list[onnx.GraphProto]:
    found, todo = [], [model.graph]
    while todo:
        graph = todo.pop()
        found.append(graph)
        for node in graph.node:
            for attr in node.attribute:
                todo.extend([attr.g] if attr.type == onnx.AttributeProto.GRAPH else list(attr.graphs))
    return found


def _rename_and_shuffle(model: onnx.ModelProto, rng: random.Random) -> onnx.ModelProto:
    """The same model with every tensor, node and graph name replaced (one injective mapping, so
    scoping is kept) and the nodes of every graph and function in another order."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    mapping: dict[str, str] = {"": ""}

    def new(name: str) -> str:
        if name not in mapping:
            mapping[name] = f"n{len(mapping)}_{rng.randrange(10**6)}"
        return mapping[name]

    node_lists = [f.node for f in out.functions] + [g.node for g in _graphs(out)]
    for graph in _graphs(out):
        graph.name = f"g{rng.randrange(10**6)}"
        for vi in (*graph.input, *graph.output, *graph.value_info):
            vi.name = new(vi.name)
        for init in graph.initializer:
            init.name = new(init.name)
        for sparse in graph.sparse_initializer:
            sparse.values.name = new(sparse.values.name)
    for function in out.functions:
        function.input[:] = [new(n) for n in function.input]
        function.output[:] = [new(n) for n in function.output]
        for vi in function.value_info:
            vi.name = new(vi.name)
    for nodes in node_lists:
        for node in nodes:
            node.name = f"node{rng.randrange(10**6)}"
            node.input[:] = [new(n) for n in node.input]
            node.output[:] = [new(n) for n in node.output]
    # Reorder once every name is replaced (reordering copies nodes, and with them their bodies), the
    # innermost bodies first (they are found after the graphs around them).
    for nodes in reversed(node_lists):
        items = [onnx.NodeProto.FromString(n.SerializeToString()) for n in nodes]
        rng.shuffle(items)
        del nodes[:]
        nodes.extend(items)
    return out


def _ok_seeds() -> list[bytes]:
    found = []
    for data in SEEDS:
        result = extract_file("seed.onnx", read=_read(data))
        if result.ok:
            found.append(data)
    return found


def _read(data: bytes):  # type: ignore[no-untyped-def]
    import hashlib

    from younger_graph.loaders.onnx_files import FileBytes

    return FileBytes(data, hashlib.sha256(data).hexdigest())


OK_SEEDS = _ok_seeds()


@pytest.mark.skipif(len(OK_SEEDS) < 20, reason="needs the sample and the ONNX backend models")
@SETTINGS
@given(st.sampled_from(range(len(OK_SEEDS)) if OK_SEEDS else [0]), st.integers(0, 2**32 - 1))
def test_graph_id_ignores_node_order_and_names(which: int, seed: int) -> None:
    data = OK_SEEDS[which]
    before = extract_file("a.onnx", read=_read(data))
    changed = _rename_and_shuffle(parse_model(data), random.Random(seed)).SerializeToString()
    after = extract_file("b.onnx", read=_read(changed))
    assert after.ok, after.row["error"]
    assert (after.graph.graph_id, after.graph.graph_id_noattr) == (before.graph.graph_id, before.graph.graph_id_noattr)
    assert after.graph.graph_row["num_nodes"] == before.graph.graph_row["num_nodes"]
    assert after.graph.graph_row["num_edges"] == before.graph.graph_row["num_edges"]
