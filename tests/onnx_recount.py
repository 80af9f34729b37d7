"""An independent recount of what extraction should produce, using plain `onnx` only.

Deliberately written differently from younger_graph/walk/onnx_walker.py (and never importing
younger_graph) so the two can check each other: a recursive walk keeping, per scope, one set of
names that carry a flow (graph inputs and node outputs) and one of names that are initializers.

Rules counted (the extractor's documented rules):
- operators: every node of the main graph, of every subgraph (GRAPH/GRAPHS attributes) and of every
  model-local function body, once per call;
- inputs: graph inputs that are not initializers of the same graph; outputs: every graph output
  (main graph and subgraphs, counted separately);
- edges: every non-empty node input and every graph output whose name resolves, innermost scope
  first, to a flow name (an initializer resolves to no edge); a function body sees only its formal
  inputs, which carry a flow when the call's actual input does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import onnx
from onnx import AttributeProto


@dataclass
class Recount:
    operators: int = 0
    main_inputs: int = 0
    main_outputs: int = 0
    sub_inputs: int = 0
    sub_outputs: int = 0
    edges: int = 0
    op_types: Counter = field(default_factory=Counter)  # (domain, op_type) -> count
    function_calls: int = 0
    subgraphs: int = 0

    @property
    def inputs(self) -> int:
        return self.main_inputs + self.sub_inputs

    @property
    def outputs(self) -> int:
        return self.main_outputs + self.sub_outputs


@dataclass
class _Scope:
    flows: set[str]
    inits: set[str]


def _resolves_to_flow(name: str, chain: list[_Scope]) -> bool:
    """Innermost scope that knows `name` decides: a flow gives an edge, an initializer does not."""
    if not name:
        return False
    for scope in reversed(chain):
        if name in scope.flows:
            return True
        if name in scope.inits:
            return False
    return False


def _function_key(domain: str, name: str, overload: str) -> tuple[str, str, str]:
    return (domain, name, overload)


def recount(model: onnx.ModelProto) -> Recount:
    functions = {_function_key(f.domain, f.name, f.overload): f for f in model.functions}
    rc = Recount()

    def visit_nodes(nodes, chain: list[_Scope]) -> None:
        scope = chain[-1]
        for node in nodes:
            scope.flows.update(o for o in node.output if o)
        for node in nodes:
            rc.operators += 1
            rc.op_types[(node.domain, node.op_type)] += 1
            rc.edges += sum(1 for name in node.input if _resolves_to_flow(name, chain))
            for attr in node.attribute:
                if attr.type == AttributeProto.GRAPH:
                    visit_graph(attr.g, chain, main=False)
                elif attr.type == AttributeProto.GRAPHS:
                    for g in attr.graphs:
                        visit_graph(g, chain, main=False)
            fn = functions.get(_function_key(node.domain, node.op_type, node.overload))
            if fn is not None:
                rc.function_calls += 1
                formals = {
                    formal
                    for formal, actual in zip(fn.input, node.input)
                    if _resolves_to_flow(actual, chain)
                }
                visit_nodes(fn.node, [_Scope(set(formals), set())])

    def visit_graph(graph: onnx.GraphProto, outer: list[_Scope], main: bool) -> None:
        if not main:
            rc.subgraphs += 1
        inits = {t.name for t in graph.initializer} | {s.values.name for s in graph.sparse_initializer}
        real_inputs = [vi.name for vi in graph.input if vi.name not in inits]
        chain = [*outer, _Scope(set(real_inputs), inits)]
        if main:
            rc.main_inputs += len(real_inputs)
            rc.main_outputs += len(graph.output)
        else:
            rc.sub_inputs += len(real_inputs)
            rc.sub_outputs += len(graph.output)
        visit_nodes(graph.node, chain)
        rc.edges += sum(1 for vi in graph.output if _resolves_to_flow(vi.name, chain))

    visit_graph(model.graph, [], main=True)
    return rc
