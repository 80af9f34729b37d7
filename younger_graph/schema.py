"""The tables every stage exchanges: the single definition of every column.

`docs/formats.md` documents them for users; this module is what the code reads and writes.
Every later stage (store, stats, export) depends only on these schemas, never on ONNX.
"""

from __future__ import annotations

import pyarrow as pa

FORMAT_VERSION = "2"  # 2: graphs.graph_id_arch (older folders load: it is null there)

# The four tables of format 1, and the architecture view's two (format 2, docs/arch.md): one row per
# node / edge of each graph's architecture view, written by the extraction with the exact graph.
CORE_TABLES = ("models", "graphs", "operators", "edges")
TABLE_NAMES = (*CORE_TABLES, "arch_operators", "arch_edges")
GRAPH_ROW_TABLES = ("operators", "edges", "arch_operators", "arch_edges")  # rows grouped by graph

# Columns of models.parquet that always exist; metadata columns from --meta are appended as strings.
MODELS_SCHEMA = pa.schema(
    [
        ("model_id", pa.string()),
        ("source", pa.string()),
        ("name", pa.string()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("graph_id", pa.string()),
        ("content_sha256", pa.string()),
        ("ir_version", pa.int64()),
        ("opsets", pa.string()),
        ("producer", pa.string()),
        ("num_bytes", pa.int64()),
        ("task", pa.string()),
        ("origin", pa.string()),
        ("tags", pa.string()),
    ]
)

GRAPHS_SCHEMA = pa.schema(
    [
        ("graph_id", pa.string()),
        ("graph_id_noattr", pa.string()),
        ("num_nodes", pa.int64()),
        ("num_operators", pa.int64()),
        ("num_edges", pa.int64()),
        ("num_inputs", pa.int64()),
        ("num_outputs", pa.int64()),
        ("num_subgraphs", pa.int64()),
        ("num_functions", pa.int64()),
        ("num_initializers", pa.int64()),
        ("num_dangling", pa.int64()),
        ("num_models", pa.int64()),
        # Structural aggregates computed once at extraction (younger_graph/metrics.py).
        ("num_components", pa.int64()),
        ("max_in_degree", pa.int64()),
        ("max_out_degree", pa.int64()),
        ("depth", pa.int64()),
        ("width", pa.int64()),
        ("num_op_types", pa.int64()),
        ("op_type_entropy", pa.float64()),
        ("has_control_flow", pa.bool_()),
        ("has_custom_domain", pa.bool_()),
        # The architecture view's hash (younger_graph/arch, docs/arch.md); null in folders written
        # before format 2.
        ("graph_id_arch", pa.string()),
    ]
)

OPERATORS_SCHEMA = pa.schema(
    [
        ("graph_id", pa.string()),
        ("idx", pa.int32()),
        ("kind", pa.string()),
        ("op_type", pa.string()),
        ("domain", pa.string()),
        ("scope", pa.string()),
        ("name", pa.string()),
        ("attrs", pa.string()),
        ("initializers", pa.string()),
    ]
)

EDGES_SCHEMA = pa.schema(
    [
        ("graph_id", pa.string()),
        ("src", pa.int32()),
        ("src_slot", pa.int32()),
        ("dst", pa.int32()),
        ("dst_slot", pa.int32()),
        ("scope", pa.string()),
        ("tensor", pa.string()),
        ("dtype", pa.string()),
        ("shape", pa.string()),
    ]
)

ARCH_OPERATORS_SCHEMA = pa.schema([
    *OPERATORS_SCHEMA,
    ("origin", pa.int32()),  # the exact idx this node stands for (a fused group's last node)
    ("fused", pa.int32()),  # how many exact nodes it stands for
])
ARCH_EDGES_SCHEMA = EDGES_SCHEMA

SCHEMAS: dict[str, pa.Schema] = {
    "models": MODELS_SCHEMA,
    "graphs": GRAPHS_SCHEMA,
    "operators": OPERATORS_SCHEMA,
    "edges": EDGES_SCHEMA,
    "arch_operators": ARCH_OPERATORS_SCHEMA,
    "arch_edges": ARCH_EDGES_SCHEMA,
}

# Node kinds and the op_type given to the graph's input and output nodes.
KIND_OPERATOR, KIND_INPUT, KIND_OUTPUT = "operator", "input", "output"
INPUT_OP_TYPE, OUTPUT_OP_TYPE = "Input", "Output"

# The Younger paper's seed (splits 8:1:1, Louvain); every seeded command defaults to it.
DEFAULT_SEED = 1234
