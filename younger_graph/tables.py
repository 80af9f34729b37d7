"""The extraction folder: four Parquet tables, written in crash-safe parts and merged at the end.

While a run works, each flush writes `DIR/.parts/<n>/` (all four tables of a batch of models) and
marks it complete by an atomic rename. `finalize()` merges the main tables and every complete part
into new files and replaces the old ones (models.parquet last). A run killed at any point loses at
most the batch in flight: the next run first merges the parts it finds, then carries on.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from younger_graph import __version__, arrays, atomic
from younger_graph.hashing import HASH_VERSION
from younger_graph.schema import CORE_TABLES, FORMAT_VERSION, GRAPH_ROW_TABLES, SCHEMAS, TABLE_NAMES

PARTS = ".parts"
MERGE_TMP = ".merge-tmp"
COMPRESSION = "zstd"


def table_path(out: Path, table: str) -> Path:
    return out / f"{table}.parquet"


def read_table(out: str | Path, table: str, columns: list[str] | None = None) -> pa.Table:
    """A table of an extraction folder (empty with the right schema when absent)."""
    path = table_path(Path(out), table)
    if not path.exists():
        schema = SCHEMAS[table]
        empty = arrays.empty_table(schema)
        return empty if columns is None else empty.select(columns)
    return _read(path, columns)


def _read(path: Path, columns: list[str] | None = None) -> pa.Table:
    # ParquetFile.read, unlike pq.read_table, does not import pandas (0.3 s of every extract run).
    return pq.ParquetFile(path).read(columns=columns)


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """A table written by an older version (columns added since are missing) in `schema`; missing
    columns are null."""
    if table.schema.equals(schema):
        return table
    return pa.Table.from_arrays(
        [table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
         for f in schema],
        schema=schema,
    )


def models_from_rows(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows of models (core columns + any metadata columns as strings) → Arrow table."""
    base = SCHEMAS["models"]
    extra = sorted({k for r in rows for k in r} - set(base.names))
    fields = list(base) + [pa.field(k, pa.string()) for k in extra]
    schema = pa.schema(fields)
    return arrays.table_from_rows(
        [{**r, **{k: None if r.get(k) is None else str(r[k]) for k in extra}} for r in rows], schema
    )


class TableDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.parts = self.path / PARTS
        self._next_part = 0
        # Sidecar column → the models column it is stored as (names.metadata_columns), kept in the
        # manifest so later runs into this folder store each column under the same name.
        self.metadata_columns: dict[str, str] = read_manifest(self.path).get("metadata_columns", {})

    # -- writing --------------------------------------------------------------------------------
    def write_part(self, *tables: pa.Table) -> None:
        """One batch as a part: its tables in TABLE_NAMES order (models, graphs, operators, edges and,
        from format 2, arch_operators and arch_edges)."""
        self.parts.mkdir(parents=True, exist_ok=True)
        existing = [int(p.name) for p in self.parts.iterdir() if p.name.isdigit()]
        self._next_part = max([self._next_part, *(e + 1 for e in existing)])
        final = self.parts / f"{self._next_part:06d}"
        tmp = self.parts / f"tmp-{self._next_part:06d}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            for name, table in zip(TABLE_NAMES, tables):
                pq.write_table(table, tmp / f"{name}.parquet", compression=COMPRESSION)
        except BaseException:  # a full disk: no half-written part stays behind
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        os.replace(tmp, final)  # the rename is the commit point of a part
        self._next_part += 1

    def complete_parts(self) -> list[Path]:
        if not self.parts.exists():
            return []
        return sorted(p for p in self.parts.iterdir() if p.name.isdigit())

    def finalize(self, pending: Sequence[pa.Table] | None = None, *, create: bool = True) -> dict[str, int]:
        """Merge main tables, complete parts and `pending` into new main tables; returns row counts.

        `pending` is a last batch still in memory (its tables in TABLE_NAMES order), merged as if it
        were the newest part: writing it as a part only to read it back costs a Parquet round trip.
        (A crash during the merge loses it, as it would lose a batch in flight: its models are
        extracted again by the next run.)

        With nothing to merge, a folder without tables gets empty ones only if `create` (a run that
        ended normally, having found nothing): a run that starts, or one that fails before its first
        model, must not leave tables and a manifest that say "0 models" as if it had completed.
        The new tables are written under a temporary folder and renamed into place only once all of
        them are complete; a failed write (a full disk) removes them and raises."""
        parts = self.complete_parts()
        nothing_new = not parts and pending is None
        # (a folder of format 1 has no architecture tables: it is complete all the same)
        if nothing_new and (not create or all(table_path(self.path, t).exists() for t in CORE_TABLES)):
            return self.counts()
        self.path.mkdir(parents=True, exist_ok=True)
        extra = {name: [table] for name, table in zip(TABLE_NAMES, pending or ())}
        tmp = self.path / MERGE_TMP
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            models = self._merge_models(parts, extra.get("models", []))
            graphs, included = self._merge_graphs(parts, models, extra.get("graphs", []))
            for name in GRAPH_ROW_TABLES:
                self._merge_graph_rows(name, parts, included, tmp / f"{name}.parquet", extra.get(name, []))
            pq.write_table(graphs, tmp / "graphs.parquet", compression=COMPRESSION)
            pq.write_table(models, tmp / "models.parquet", compression=COMPRESSION)
            for name in (*GRAPH_ROW_TABLES, "graphs", "models"):  # models last: it is the index
                os.replace(tmp / f"{name}.parquet", table_path(self.path, name))
            self._write_manifest(models, graphs)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(self.parts, ignore_errors=True)
        return self.counts()

    def _sources(self, table: str, parts: list[Path]) -> list[Path]:
        main = table_path(self.path, table)
        return ([main] if main.exists() else []) + [p / f"{table}.parquet" for p in parts]

    def _merge_models(self, parts: list[Path], pending: list[pa.Table]) -> pa.Table:
        tables = [_read(p) for p in self._sources("models", parts)] + pending
        if not tables:
            return arrays.empty_table(SCHEMAS["models"])
        merged = pa.concat_tables(tables, promote_options="default")
        # Later rows (newer parts) replace earlier ones of the same model_id; first-seen order kept.
        ids = merged.column("model_id").to_pylist()
        last = {mid: i for i, mid in enumerate(ids)}
        order, seen = [], set()
        for mid in ids:
            if mid not in seen:
                seen.add(mid)
                order.append(last[mid])
        return merged.take(arrays.array(order, pa.int64()))

    def _merge_graphs(self, parts: list[Path], models: pa.Table,
                      pending: list[pa.Table]) -> tuple[pa.Table, set[str]]:
        tables = [conform(_read(p), SCHEMAS["graphs"]) for p in self._sources("graphs", parts)] + pending
        merged = pa.concat_tables(tables) if tables else arrays.empty_table(SCHEMAS["graphs"])
        keep, included = [], set()
        for i, gid in enumerate(merged.column("graph_id").to_pylist()):
            if gid not in included:
                included.add(gid)
                keep.append(i)
        graphs = merged.take(arrays.array(keep, pa.int64()))
        counts = _models_per_graph(models)
        num_models = arrays.array([counts.get(g, 0) for g in graphs.column("graph_id").to_pylist()], pa.int64())
        graphs = graphs.set_column(graphs.schema.get_field_index("num_models"), "num_models", num_models)
        return graphs, included

    def _merge_graph_rows(self, table: str, parts: list[Path], included: set[str], dest: Path,
                          pending: list[pa.Table]) -> None:
        """Stream operators/edges: each graph's rows once, from the first source that has it,
        dropping rows of graphs the graphs table does not list (left by an interrupted merge)."""
        main = table_path(self.path, table)
        main_graphs = set(read_table(self.path, "graphs", ["graph_id"]).column("graph_id").to_pylist())
        written: set[str] = set()
        with pq.ParquetWriter(dest, SCHEMAS[table], compression=COMPRESSION) as writer:
            if main.exists():
                allowed = arrays.string_array(sorted(main_graphs & included))
                for batch in pq.ParquetFile(main).iter_batches(batch_size=256_000):
                    kept = batch.filter(pc.is_in(batch.column("graph_id"), allowed))
                    if kept.num_rows:
                        writer.write_batch(kept)
                written |= main_graphs & included
            # (parts written before format 2 have no architecture tables)
            part_tables = (_read(part / f"{table}.parquet") for part in parts
                           if (part / f"{table}.parquet").exists())
            for part_table in itertools.chain(part_tables, pending):
                fresh = sorted(set(part_table.column("graph_id").to_pylist()) - written)
                if fresh:
                    keep = pc.is_in(part_table.column("graph_id"), arrays.string_array(fresh))
                    writer.write_table(part_table.filter(keep))
                    written |= set(fresh)

    def _write_manifest(self, models: pa.Table, graphs: pa.Table) -> None:
        manifest = {
            "format_version": FORMAT_VERSION,
            "hash_version": HASH_VERSION,
            "younger_graph_version": __version__,
            "tables": {t: f"{t}.parquet" for t in TABLE_NAMES},
            "counts": self.counts(),
            "metadata_columns": dict(sorted(self.metadata_columns.items())),
        }
        atomic.write_text(self.path / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    # -- reading --------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        return {
            t: pq.ParquetFile(table_path(self.path, t)).metadata.num_rows if table_path(self.path, t).exists() else 0
            for t in TABLE_NAMES
        }

    def models(self) -> pa.Table:
        return read_table(self.path, "models")

    def graph_ids(self) -> set[str]:
        return set(read_table(self.path, "graphs", ["graph_id"]).column("graph_id").to_pylist())


def read_manifest(out: str | Path) -> dict[str, Any]:
    """manifest.json of an extraction folder ({} when absent or unreadable)."""
    try:
        found = json.loads((Path(out) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _models_per_graph(models: pa.Table) -> dict[str, int]:
    counts: dict[str, int] = {}
    for gid, status in zip(models.column("graph_id").to_pylist(), models.column("status").to_pylist()):
        if gid is not None and status == "ok":
            counts[gid] = counts.get(gid, 0) + 1
    return counts



def concat_or_empty(tables: Iterable[pa.Table], table: str) -> pa.Table:
    tables = list(tables)
    return pa.concat_tables(tables) if tables else arrays.empty_table(SCHEMAS[table])
