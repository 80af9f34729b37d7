"""`export neo4j-import`: extraction tables → the CSV files `neo4j-admin database import full` reads.

The files hold what the Bolt load (store/neo4j.py) writes, node for node and property for property:
Model, Graph and Operator nodes (operator key `uid` = `<graph_id>:<idx>`, typed `attr_*` properties),
INSTANCE_OF, CONTAINS and FLOWS relationships. Layout of DIR (docs/neo4j.md#bulk-import):

    <Label>.header.csv, <Label>-NNN.csv      nodes (header: `key:ID(<Label>)`, `name:long`, `name:string[]`...)
    <TYPE>.header.csv,  <TYPE>-NNN.csv       relationships (`:START_ID(<Label>)`, `:END_ID(<Label>)`, properties)
    import.args                               the neo4j-admin arguments, one per line (files, delimiters)
    schema.cypher                             the constraints and indexes the Bolt load creates (`;`, one a line)
    import.json                               counts, the files, the options

A null is an empty unquoted field (no property, as the Bolt load drops nulls); an empty string is
`""`. Everything is written to DIR.tmp and renamed into place at the end.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from younger_graph.errors import StoreError, StoreErrorKind
from younger_graph.schema import SCHEMAS
from younger_graph.store.base import GRAPH_COLUMNS, GraphChunk
from younger_graph.store.neo4j import CONSTRAINTS
from younger_graph.store.properties import AttributeFlattener, db_type, infer_types
from younger_graph.tables import read_table, table_path

Progress = Callable[[str, int, int], None]
SLICE_ROWS = 1_000_000  # rows per data file: neo4j-admin reads several files in parallel
ARRAY_DELIMITERS = (";", "|", "\x1f")
_KINDS = {"INT64": "long", "DOUBLE": "double", "STRING": "string", "BOOLEAN": "boolean",
          "INT64[]": "long[]", "DOUBLE[]": "double[]", "STRING[]": "string[]"}
_ARROW = {"INT64": pa.int64(), "DOUBLE": pa.float64(), "STRING": pa.string(), "BOOLEAN": pa.bool_(),
          "INT64[]": pa.list_(pa.int64()), "DOUBLE[]": pa.list_(pa.float64()), "STRING[]": pa.list_(pa.string())}


def export_neo4j_import(tables: str | Path, out: str | Path, *, attr_properties: bool = True,
                        on_progress: Progress | None = None) -> dict[str, Any]:
    """Write the neo4j-admin import files for the extraction folder `tables` into `out` (replaced)."""
    tables, out = Path(tables), Path(out)
    if not table_path(tables, "graphs").exists():
        raise StoreError(f"{tables} has no graphs.parquet: run `younger-graph extract` first", StoreErrorKind.MISSING)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    writer = _Writer(tmp)
    graphs = read_table(tables, "graphs")
    kinds, delimiter = _kinds(tables) if attr_properties else ({}, ARRAY_DELIMITERS[0])
    writer.array_delimiter = delimiter
    writer.write_all("Graph", "node", [_graph_nodes(graphs)])
    writer.write_all("Operator", "node", _operator_nodes(tables, kinds, on_progress), _operator_header(kinds))
    writer.write_all("CONTAINS", "rel", _contains(tables))
    writer.write_all("FLOWS", "rel", _flows(tables, on_progress))
    models = read_table(tables, "models")
    writer.write_all("Model", "node", [_model_nodes(models)])
    writer.write_all("INSTANCE_OF", "rel", [_instance_of(models, graphs)])
    manifest = writer.finish(kinds)
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return manifest


# -- the rows -------------------------------------------------------------------------------------
def _kinds(tables: Path) -> tuple[dict[str, str], str]:
    """Attribute kinds, and an array delimiter that no string-array value contains."""
    distinct: set[str] = set()
    for batch in pq.ParquetFile(table_path(tables, "operators")).iter_batches(batch_size=500_000, columns=["attrs"]):
        distinct.update(pc.unique(batch.column("attrs")).to_pylist())
    kinds = infer_types(distinct)
    flattener = AttributeFlattener(kinds)
    seen = {c for text in distinct for value in flattener.props(text).values() if isinstance(value, list)
            for item in value if isinstance(item, str) for c in ARRAY_DELIMITERS if c in item}
    free = [c for c in ARRAY_DELIMITERS if c not in seen]
    if not free:
        raise StoreError("string attribute values contain every array delimiter (; | \\x1f): cannot write them "
                         "for neo4j-admin", StoreErrorKind.REJECTED)
    return kinds, free[0]


def _graph_nodes(graphs: pa.Table) -> pa.Table:
    return graphs.select(GRAPH_COLUMNS).rename_columns(["graph_id:ID(Graph)", *GRAPH_COLUMNS[1:]])


def _operator_header(kinds: dict[str, str]) -> list[tuple[str, str]]:
    """(property, db type) of every operator column, attr_* last (also for slices that lack some)."""
    from younger_graph.store.properties import property_name

    columns = [("uid", "STRING"), *[(f.name, _db_kind(f.type)) for f in SCHEMAS["operators"]]]
    return columns + sorted((property_name(name), db_type(kind)) for name, kind in kinds.items())


def _operator_nodes(tables: Path, kinds: dict[str, str], on_progress: Progress | None) -> Iterator[pa.Table]:
    flattener = AttributeFlattener(kinds)
    header = _operator_header(kinds)
    arrow_types = {name: _ARROW[kind] for name, kind in header}
    empty = SCHEMAS["edges"].empty_table()
    for ops, done, total in _slices(tables, "operators"):
        chunk = GraphChunk(ops, ops, empty)
        chunk.flatten_attrs(flattener)
        attrs = chunk.attr_columns(arrow_types)
        uid = _keys(ops.column("graph_id"), ops.column("idx"))
        columns = {"uid": uid, **{c: ops.column(c) for c in ops.column_names}, **attrs}
        yield pa.table({("uid:ID(Operator)" if name == "uid" else name):
                        columns[name] if name in columns else pa.nulls(ops.num_rows, arrow_types[name])
                        for name, _ in header})
        if on_progress:
            on_progress("operators", done, total)


def _contains(tables: Path) -> Iterator[pa.Table]:
    for ops, _, _ in _slices(tables, "operators", ["graph_id", "idx"]):
        yield pa.table({":START_ID(Graph)": ops.column("graph_id"), ":END_ID(Operator)": _keys(ops.column("graph_id"),
                                                                                             ops.column("idx"))})


def _flows(tables: Path, on_progress: Progress | None) -> Iterator[pa.Table]:
    for edges, done, total in _slices(tables, "edges"):
        gid = edges.column("graph_id")
        yield pa.table({":START_ID(Operator)": _keys(gid, edges.column("src")),
                        ":END_ID(Operator)": _keys(gid, edges.column("dst")),
                        **{c: edges.column(c) for c in ("src_slot", "dst_slot", "scope", "tensor", "dtype", "shape")}})
        if on_progress:
            on_progress("edges", done, total)


def _model_nodes(models: pa.Table) -> pa.Table:
    names = ["model_id:ID(Model)", *[c for c in models.column_names if c != "model_id"]]
    return models.select(["model_id", *names[1:]]).rename_columns(names)


def _instance_of(models: pa.Table, graphs: pa.Table) -> pa.Table:
    linked = models.filter(pc.is_in(models.column("graph_id"), value_set=graphs.column("graph_id")))
    return pa.table({":START_ID(Model)": linked.column("model_id"), ":END_ID(Graph)": linked.column("graph_id")})


def _keys(graph_id: pa.ChunkedArray, idx: pa.ChunkedArray) -> pa.ChunkedArray:
    """Neo4j operator keys `<graph_id>:<idx>` (the Bolt load's `uid`)."""
    return pc.binary_join_element_wise(graph_id, pc.cast(idx, pa.string()), ":")


def _slices(tables: Path, table: str, columns: list[str] | None = None) -> Iterator[tuple[pa.Table, int, int]]:
    path = table_path(tables, table)
    if not path.exists():
        return
    parquet = pq.ParquetFile(path)
    total, done = parquet.metadata.num_rows, 0
    for batch in parquet.iter_batches(batch_size=SLICE_ROWS, columns=columns):
        done += batch.num_rows
        yield pa.Table.from_batches([batch]), done, total


def _db_kind(arrow_type: pa.DataType) -> str:
    if pa.types.is_integer(arrow_type):
        return "INT64"
    if pa.types.is_floating(arrow_type):
        return "DOUBLE"
    if pa.types.is_boolean(arrow_type):
        return "BOOLEAN"
    if pa.types.is_list(arrow_type):
        return _db_kind(arrow_type.value_type) + "[]"
    return "STRING"


# -- the files ------------------------------------------------------------------------------------
class _Writer:
    """CSV files per label/type; remembers what neo4j-admin must be told (files, delimiters, multiline)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.groups: list[tuple[str, str, list[str]]] = []  # (node|rel, label or type, files)
        self.counts: dict[str, int] = {}
        self.multiline = False
        self.array_delimiter = ARRAY_DELIMITERS[0]

    def write_all(self, name: str, kind: str, parts: Any, header: list[tuple[str, str]] | None = None) -> None:
        files: list[str] = []
        rows = 0
        for i, table in enumerate(parts):
            if i == 0:
                self._header(name, table, header)
            data = f"{name}-{i:03d}.csv"
            self._data(self.folder / data, table)
            files.append(data)
            rows += table.num_rows
        if not files:
            return
        self.groups.append((kind, name, [f"{name}.header.csv", *files]))
        self.counts[name] = rows

    def _header(self, name: str, table: pa.Table, header: list[tuple[str, str]] | None) -> None:
        fields = []
        for field in table.schema:
            if ":" in field.name:  # an id or endpoint column, named as neo4j-admin wants it
                fields.append(field.name)
            else:
                fields.append(f"{field.name}:{_KINDS[_db_kind(field.type)]}")
        (self.folder / f"{name}.header.csv").write_text(",".join(fields) + "\n")

    def _data(self, path: Path, table: pa.Table) -> None:
        columns = []
        for field, column in zip(table.schema, table.columns):
            columns.append(self._text(column, field.type))
        text = pa.table(columns, names=table.column_names)
        for column in text.columns:
            if not self.multiline and pc.any(pc.match_substring_regex(column, "[\r\n]")).as_py():
                self.multiline = True
        pacsv.write_csv(text, path, pacsv.WriteOptions(include_header=False, quoting_style="needed"))

    def _text(self, column: pa.ChunkedArray, arrow_type: pa.DataType) -> pa.ChunkedArray:
        """A column as the text neo4j-admin parses; nulls stay null (empty, unquoted)."""
        if pa.types.is_list(arrow_type):
            return pc.binary_join(pa.chunked_array([_list_text(chunk, arrow_type.value_type)
                                                    for chunk in column.chunks], pa.list_(pa.string())),
                                  self.array_delimiter)
        if pa.types.is_floating(arrow_type):
            return _double_text(column)
        if pa.types.is_string(arrow_type):
            return column
        return pc.cast(column, pa.string())

    def finish(self, kinds: dict[str, str]) -> dict[str, Any]:
        delimiter = self.array_delimiter
        args = [f"--{'nodes' if kind == 'node' else 'relationships'}={name}={','.join(files)}"
                for kind, name, files in self.groups]
        args += ["--id-type=string", f"--array-delimiter={delimiter}", "--delimiter=,", "--quote=\"",
                 f"--multiline-fields={'true' if self.multiline else 'false'}"]
        (self.folder / "import.args").write_text("\n".join(args) + "\n")
        # `;`-terminated, one per line: for cypher-shell -f as for scripts/neo4j import
        (self.folder / "schema.cypher").write_text("".join(f"{c};\n" for c in CONSTRAINTS))
        manifest = {"format": "neo4j-admin database import full", "counts": self.counts,
                    "files": {name: files for _, name, files in self.groups}, "array_delimiter": delimiter,
                    "multiline_fields": self.multiline, "attribute_properties": len(kinds)}
        (self.folder / "import.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        return manifest


def _list_text(chunk: pa.ListArray, value_type: pa.DataType) -> pa.ListArray:
    values = chunk.values
    text = _double_text(values, in_list=True) if pa.types.is_floating(value_type) else pc.cast(values, pa.string())
    return pa.ListArray.from_arrays(chunk.offsets, text, mask=chunk.is_null())


def _double_text(column: Any, in_list: bool = False) -> Any:
    """Doubles as Java parses them (NaN, ±Infinity); a NaN property is dropped, as the Bolt load drops it,
    a NaN inside a list kept."""
    if not in_list:
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
    text = pc.cast(column, pa.string())
    text = pc.replace_substring_regex(text, "^nan$", "NaN")
    text = pc.replace_substring_regex(text, "^inf$", "Infinity")
    return pc.replace_substring_regex(text, "^-inf$", "-Infinity")


__all__ = ["export_neo4j_import"]
