"""A Younger-scale synthetic corpus, built from real extracted architectures.

Usage:
    python benchmarks/synth.py [--from sample/] [--scale 1.0] [--seed 0] [--out DIR] [--json out.json]

At --scale 1 it writes about 7.6k graphs, 12.6M operators and 16M edges (the size of the Younger
release) as the four extraction tables (models, graphs, operators, edges; the schemas of
`younger_graph.schema.SCHEMAS`), so stores and queries can be exercised at full size without
converting 7.6k real models. `--scale 0.01` makes 1% of that. It writes no architecture view
(arch_operators / arch_edges): a load computes it for graphs that have none
(benchmarks/similarity.py adds it once, in `<out>-v2/`).

How a graph is made: its operator count is drawn from a log-normal law (many small graphs, a long
tail past 100k operators); it is filled with blocks of real graphs (windows [a, b) of a randomly
chosen extracted graph), copied one after another. Edges inside a block are kept; an edge that
entered a block from outside is re-wired to a random operator of the previous block, so copies are
chained; a few extra forward "skip" edges bring the edge count to --edges-per-operator. About 2% of
operators are mutated (replaced by another real operator row). idx stays 0..n-1, every edge has
both ends in its graph, scopes (subgraph paths) are shifted with their block. Graph ids are
sha256(seed, index), so they are unique and the run is deterministic for a given --seed and input.

Memory stays flat: tables are streamed through pyarrow ParquetWriter in ~500k-row batches.
The result is cached: a folder whose manifest records the same parameters is reused (--force
rebuilds).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, SAMPLE_DIR, fmt, peak_rss_mb, print_table, write_json

from younger_graph.schema import CORE_TABLES, FORMAT_VERSION, KIND_INPUT, KIND_OPERATOR, KIND_OUTPUT, SCHEMAS

YOUNGER_GRAPHS = 7_600
YOUNGER_OPERATORS = 12_600_000
YOUNGER_EDGES = 16_000_000
SYNTH_VERSION = "1"
MUTATION_RATE = 0.02
WRITE_BATCH_ROWS = 500_000
MIN_GRAPH = 3
COMPRESSION = "zstd"


# -- the real graphs we sample from -------------------------------------------------------------
@dataclass
class Base:
    operators: pa.Table  # grouped by graph, idx ascending within each graph
    edges: pa.Table  # grouped by graph
    op_start: np.ndarray  # per base graph: first operator row
    op_count: np.ndarray
    edge_start: np.ndarray
    edge_count: np.ndarray
    edge_src: np.ndarray  # per edge row: local src/dst idx
    edge_dst: np.ndarray
    is_operator: np.ndarray  # per operator row: kind == operator
    operator_rows: np.ndarray  # global rows of kind == operator (mutation pool)
    scoped_rows: np.ndarray  # global rows whose scope is not empty (sorted)
    scopes: dict[int, str]  # row → scope, for scoped rows
    initializers: np.ndarray  # per base graph: num_initializers
    models: list[dict[str, Any]]  # per base graph: a model row to borrow header fields from
    fingerprint: str


def extraction_folder(source: Path, base_out: Path | None) -> Path:
    """An extraction folder for `source`: itself if it holds tables, else a cached extraction."""
    if (source / "graphs.parquet").exists():
        return source
    files = sorted(p for p in source.rglob("*.onnx") if p.is_file())
    if not files:
        raise SystemExit(f"{source} holds neither extraction tables nor .onnx files")
    digest = hashlib.sha256("\n".join(f"{p}:{p.stat().st_size}" for p in files).encode()).hexdigest()[:12]
    out = base_out or BENCH_DIR / "synth-base" / f"{source.name}-{digest}"
    if not (out / "graphs.parquet").exists():
        from younger_graph.extract import extract

        print(f"extracting {len(files)} models from {source} → {out}")
        extract([str(source)], out, workers=1)
    return out


def load_base(folder: Path) -> Base:
    graphs = pq.read_table(folder / "graphs.parquet")
    operators = pq.read_table(folder / "operators.parquet")
    edges = pq.read_table(folder / "edges.parquet")
    models = pq.read_table(folder / "models.parquet").to_pylist()
    gids = graphs.column("graph_id").to_pylist()
    order = {g: i for i, g in enumerate(gids)}

    # Group rows by graph order, idx ascending (extraction writes them that way; sort if not).
    op_graph = np.array([order[g] for g in operators.column("graph_id").to_pylist()], dtype=np.int64)
    op_idx = operators.column("idx").to_numpy().astype(np.int64)
    perm = np.lexsort((op_idx, op_graph))
    if not np.array_equal(perm, np.arange(len(perm))):
        operators, op_graph, op_idx = operators.take(perm), op_graph[perm], op_idx[perm]
    op_count = np.bincount(op_graph, minlength=len(gids))
    op_start = np.concatenate([[0], np.cumsum(op_count)[:-1]]).astype(np.int64)
    if not np.array_equal(op_idx, np.arange(len(op_idx)) - np.repeat(op_start, op_count)):
        raise SystemExit(f"{folder}: operator idx are not 0..n-1 within each graph")

    e_graph = np.array([order[g] for g in edges.column("graph_id").to_pylist()], dtype=np.int64)
    e_perm = np.argsort(e_graph, kind="stable")
    if not np.array_equal(e_perm, np.arange(len(e_perm))):
        edges, e_graph = edges.take(e_perm), e_graph[e_perm]
    edge_count = np.bincount(e_graph, minlength=len(gids))
    edge_start = np.concatenate([[0], np.cumsum(edge_count)[:-1]]).astype(np.int64)

    kinds = operators.column("kind")
    is_operator = pc.equal(kinds, KIND_OPERATOR).to_numpy(zero_copy_only=False)
    scope_col = operators.column("scope")
    scoped = np.flatnonzero(pc.fill_null(pc.not_equal(scope_col, ""), False).to_numpy(zero_copy_only=False))
    scope_values = scope_col.take(pa.array(scoped, pa.int64())).to_pylist()
    by_graph: dict[str, dict[str, Any]] = {}
    for m in models:
        if m.get("status") == "ok" and m.get("graph_id"):
            by_graph.setdefault(m["graph_id"], m)
    fingerprint = hashlib.sha256("\n".join(gids).encode()).hexdigest()[:16]
    return Base(
        operators=operators,
        edges=edges,
        op_start=op_start,
        op_count=op_count,
        edge_start=edge_start,
        edge_count=edge_count,
        edge_src=edges.column("src").to_numpy().astype(np.int64),
        edge_dst=edges.column("dst").to_numpy().astype(np.int64),
        is_operator=is_operator,
        operator_rows=np.flatnonzero(is_operator),
        scoped_rows=scoped,
        scopes=dict(zip(scoped.tolist(), scope_values)),
        initializers=graphs.column("num_initializers").to_numpy().astype(np.int64),
        models=[by_graph.get(g, {}) for g in gids],
        fingerprint=fingerprint,
    )


# -- sizes --------------------------------------------------------------------------------------
def graph_sizes(rng: np.random.Generator, graphs: int, operators: int, sigma: float, max_graph: int) -> np.ndarray:
    """Log-normal operator counts summing to about `operators` (median ≈ mean·e^(−σ²/2))."""
    mean = operators / graphs
    mu = math.log(mean) - sigma**2 / 2
    cap = max(1_000, min(max_graph, operators // 5))
    sizes = np.clip(np.exp(rng.normal(mu, sigma, graphs)), MIN_GRAPH, cap)
    sizes *= operators / sizes.sum()  # hit the total; the shape of the law is kept
    return np.clip(np.rint(sizes), MIN_GRAPH, cap).astype(np.int64)


# -- one synthetic graph ------------------------------------------------------------------------
def _shift_scope(scope: str, a: int, shift: int) -> str:
    parts = scope.split("/")
    for i, part in enumerate(parts):
        if part.isdigit():
            value = int(part)
            if value < a:
                return ""  # the enclosing node is outside the window: the rows become top level
            parts[i] = str(value + shift)
    return "/".join(parts)


def _constant(value: str, n: int) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([value])).cast(pa.string())


class GraphMaker:
    def __init__(self, base: Base, rng: np.random.Generator, edges_per_operator: float) -> None:
        self.base = base
        self.rng = rng
        self.edges_per_operator = edges_per_operator
        usable = np.flatnonzero(base.op_count >= 2)
        if not len(usable):
            raise SystemExit("the input has no graph with two or more nodes to sample from")
        self.usable = usable

    def make(self, gid: str, n: int) -> tuple[pa.Table, pa.Table, dict[str, Any], int]:
        """(operators, edges, graph row without num_models, base graph of the first block)."""
        b, rng = self.base, self.rng
        op_rows, src_parts, dst_parts, edge_rows = [], [], [], []
        scoped: list[tuple[int, str]] = []  # (new idx, new scope)
        initializers = 0.0
        offset = 0
        prev: tuple[int, int, int, int] | None = None  # (base graph, window start, new offset, length)
        first_graph = -1
        while offset < n:
            g = int(rng.choice(self.usable))
            if first_graph < 0:
                first_graph = g
            size = int(b.op_count[g])
            take = min(size, n - offset)
            a = int(rng.integers(0, size - take + 1)) if take < size else 0
            end = a + take
            start = int(b.op_start[g])
            op_rows.append(np.arange(start + a, start + end, dtype=np.int64))
            initializers += float(b.initializers[g]) * take / size
            # Scopes in the window, shifted with the block.
            lo, hi = np.searchsorted(b.scoped_rows, [start + a, start + end])
            for row in b.scoped_rows[lo:hi].tolist():
                scoped.append((row - start - a + offset, _shift_scope(b.scopes[row], a, offset - a)))
            # Edges entering the window: kept inside, re-wired from the previous block otherwise.
            es, ec = int(b.edge_start[g]), int(b.edge_count[g])
            src, dst = b.edge_src[es:es + ec], b.edge_dst[es:es + ec]
            keep = (dst >= a) & (dst < end)
            rows = np.flatnonzero(keep)
            s, d = src[rows], dst[rows] - a + offset
            inside = (s >= a) & (s < end)
            s = np.where(inside, s - a + offset, -1)
            if prev is not None and (~inside).any():
                s[~inside] = self._random_operators(prev, int((~inside).sum()))
            valid = s >= 0
            src_parts.append(s[valid])
            dst_parts.append(d[valid])
            edge_rows.append(rows[valid] + es)
            prev = (g, a, offset, take)
            offset += take

        rows = np.concatenate(op_rows)
        original_rows = rows
        mutate = np.flatnonzero(b.is_operator[rows] & (rng.random(n) < MUTATION_RATE))
        if len(mutate):
            rows = rows.copy()
            rows[mutate] = rng.choice(b.operator_rows, len(mutate))
        ops = b.operators.take(pa.array(rows, pa.int64()))
        scope = b.operators.column("scope").take(pa.array(original_rows, pa.int64()))
        if scoped:
            values = np.full(n, "", dtype=object)
            for i, text in scoped:
                values[i] = text
            scope = pa.array(values, pa.string())
        ops = ops.set_column(0, "graph_id", _constant(gid, n))
        ops = ops.set_column(1, "idx", pa.array(np.arange(n, dtype=np.int32)))
        ops = ops.set_column(ops.schema.get_field_index("scope"), "scope", scope)

        src = np.concatenate(src_parts) if src_parts else np.empty(0, np.int64)
        dst = np.concatenate(dst_parts) if dst_parts else np.empty(0, np.int64)
        erows = np.concatenate(edge_rows) if edge_rows else np.empty(0, np.int64)
        extra = round(n * self.edges_per_operator) - len(src)
        if extra > 0 and n >= 2 and len(erows):
            # Forward skip edges (residual-style), taking the other columns from real edges.
            es = rng.integers(0, n - 1, extra)
            ed = np.minimum(es + 1 + rng.geometric(0.05, extra), n - 1)
            src = np.concatenate([src, es])
            dst = np.concatenate([dst, ed])
            erows = np.concatenate([erows, rng.choice(erows, extra)])
        edges = b.edges.take(pa.array(erows, pa.int64()))
        m = len(src)
        if m and (src.min() < 0 or dst.min() < 0 or src.max() >= n or dst.max() >= n):
            raise AssertionError(f"synthetic graph {gid}: an edge leaves the graph")
        edges = edges.set_column(0, "graph_id", _constant(gid, m))
        edges = edges.set_column(1, "src", pa.array(src.astype(np.int32)))
        edges = edges.set_column(3, "dst", pa.array(dst.astype(np.int32)))
        edges = edges.set_column(edges.schema.get_field_index("scope"),
                                 "scope", _edge_scopes(edges, ops, dst))

        kinds = ops.column("kind")
        scopes = {s for _, s in scoped if s}
        graph = {
            "graph_id": gid,
            "graph_id_noattr": hashlib.sha256(f"noattr:{gid}".encode()).hexdigest()[:32],
            "num_nodes": n,
            "num_operators": int(pc.sum(pc.equal(kinds, KIND_OPERATOR)).as_py() or 0),
            "num_edges": m,
            "num_inputs": int(pc.sum(pc.equal(kinds, KIND_INPUT)).as_py() or 0),
            "num_outputs": int(pc.sum(pc.equal(kinds, KIND_OUTPUT)).as_py() or 0),
            "num_subgraphs": len(scopes),
            "num_functions": sum(1 for s in scopes if ":" in s.rsplit("/", 1)[-1]),
            "num_initializers": round(initializers),
            "num_dangling": 0,
        }
        return ops, edges, graph, first_graph

    def _random_operators(self, prev: tuple[int, int, int, int], k: int) -> np.ndarray:
        g, a, offset, take = prev
        start = int(self.base.op_start[g])
        window = np.flatnonzero(self.base.is_operator[start + a:start + a + take])
        if not len(window):
            window = np.arange(take)
        return self.rng.choice(window, k) + offset


def _edge_scopes(edges: pa.Table, ops: pa.Table, dst: np.ndarray) -> pa.Array:
    """An edge lives in the scope of the node it enters (re-wired edges may cross blocks)."""
    if not len(dst):
        return edges.column("scope")
    return ops.column("scope").take(pa.array(dst, pa.int64()))


# -- the corpus ---------------------------------------------------------------------------------
def params_for(args: argparse.Namespace, base: Base) -> dict[str, Any]:
    graphs = max(1, round(YOUNGER_GRAPHS * args.scale))
    return {
        "synth_version": SYNTH_VERSION,
        "scale": args.scale,
        "seed": args.seed,
        "graphs": graphs,
        "target_operators": max(graphs * MIN_GRAPH, round(YOUNGER_OPERATORS * args.scale)),
        "edges_per_operator": args.edges_per_operator,
        "sigma": args.sigma,
        "max_graph": args.max_graph,
        "base_fingerprint": base.fingerprint,
    }


def cached(out: Path, params: dict[str, Any]) -> dict[str, Any] | None:
    manifest = out / "manifest.json"
    if not manifest.exists() or not all((out / f"{t}.parquet").exists() for t in CORE_TABLES):
        return None
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return data if data.get("synthetic") == params else None


def build(base: Base, out: Path, params: dict[str, Any]) -> dict[str, Any]:
    rng = np.random.default_rng(params["seed"])
    sizes = graph_sizes(rng, params["graphs"], params["target_operators"], params["sigma"], params["max_graph"])
    maker = GraphMaker(base, rng, params["edges_per_operator"])
    out.mkdir(parents=True, exist_ok=True)
    tmp = {t: out / f".{t}.parquet.tmp" for t in CORE_TABLES}
    writers = {t: pq.ParquetWriter(tmp[t], SCHEMAS[t], compression=COMPRESSION) for t in ("operators", "edges")}
    buffers: dict[str, list[pa.Table]] = {"operators": [], "edges": []}
    buffered = {"operators": 0, "edges": 0}
    graph_rows: list[dict[str, Any]] = []
    model_rows: list[dict[str, Any]] = []
    totals = {"operators": 0, "edges": 0}
    seed = params["seed"]

    def flush(table: str, force: bool = False) -> None:
        if buffers[table] and (force or buffered[table] >= WRITE_BATCH_ROWS):
            writers[table].write_table(pa.concat_tables(buffers[table]))
            buffers[table], buffered[table] = [], 0

    try:
        for i, n in enumerate(sizes.tolist()):
            gid = hashlib.sha256(f"younger-graph-synth:{seed}:{i}".encode()).hexdigest()[:32]
            ops, edges, graph, first = maker.make(gid, int(n))
            for table, rows in (("operators", ops), ("edges", edges)):
                buffers[table].append(rows)
                buffered[table] += rows.num_rows
                totals[table] += rows.num_rows
                flush(table)
            copies = int(rng.choice([1, 1, 1, 1, 1, 1, 2, 2, 3]))
            graph["num_models"] = copies
            graph_rows.append(graph)
            model_rows.extend(_models(base.models[first], gid, seed, i, copies, int(n), int(base.op_count[first])))
            if (i + 1) % 500 == 0:
                print(f"  {i + 1:,}/{len(sizes):,} graphs, {totals['operators']:,} operators, "
                      f"{totals['edges']:,} edges", flush=True)
        for table in buffers:
            flush(table, force=True)
    finally:
        for writer in writers.values():
            writer.close()
    pq.write_table(pa.Table.from_pylist(graph_rows, schema=SCHEMAS["graphs"]), tmp["graphs"], compression=COMPRESSION)
    pq.write_table(pa.Table.from_pylist(model_rows, schema=SCHEMAS["models"]), tmp["models"], compression=COMPRESSION)
    for table in ("operators", "edges", "graphs", "models"):  # models last, as extraction does
        tmp[table].replace(out / f"{table}.parquet")
    counts = {"models": len(model_rows), "graphs": len(graph_rows), **totals}
    manifest = {"format_version": FORMAT_VERSION, "tables": {t: f"{t}.parquet" for t in CORE_TABLES},
                "counts": counts, "synthetic": params, "size_percentiles": _percentiles(sizes)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return manifest


def _models(template: dict[str, Any], gid: str, seed: int, i: int, copies: int, n: int,
            base_n: int) -> list[dict[str, Any]]:
    rows = []
    name = template.get("name") or "model"
    for j in range(copies):
        key = f"younger-graph-synth:{seed}:{i}:{j}"
        source = f"synthetic/{seed}/{i:06d}-{j}.onnx"
        rows.append({
            "model_id": hashlib.sha256(f"{source}\0{key}".encode()).hexdigest()[:16],
            "source": source,
            "name": f"{name}-synth{i}" + (f"-{j}" if j else ""),
            "status": "ok",
            "error": "",
            "graph_id": gid,
            "content_sha256": hashlib.sha256(key.encode()).hexdigest(),
            "ir_version": template.get("ir_version"),
            "opsets": template.get("opsets"),
            "producer": template.get("producer"),
            "num_bytes": int((template.get("num_bytes") or 0) * n / max(base_n, 1)),
            "task": template.get("task"),
            "origin": "synthetic",
            "tags": template.get("tags"),
        })
    return rows


def _percentiles(sizes: np.ndarray) -> dict[str, int]:
    return {f"p{q}": int(np.percentile(sizes, q)) for q in (10, 50, 90, 99)} | {"max": int(sizes.max()),
                                                                             "min": int(sizes.min())}


def ensure(source: Path, out: Path | None, scale: float, seed: int = 0, *, force: bool = False,
           base_out: Path | None = None, edges_per_operator: float | None = None, sigma: float = 2.0,
           max_graph: int = 400_000) -> tuple[Path, dict[str, Any], bool]:
    """Build (or reuse) a synthetic corpus; returns (folder, manifest, reused?). Used by load.py."""
    args = argparse.Namespace(
        scale=scale, seed=seed, sigma=sigma, max_graph=max_graph,
        edges_per_operator=edges_per_operator or YOUNGER_EDGES / YOUNGER_OPERATORS,
    )
    base = load_base(extraction_folder(source, base_out))
    params = params_for(args, base)
    out = out or BENCH_DIR / f"synth-scale{scale:g}-seed{seed}"
    manifest = None if force else cached(out, params)
    if manifest is not None:
        return out, manifest, True
    return out, build(base, out, params), False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="source", type=Path, default=SAMPLE_DIR,
                        help="an extraction folder, or a folder of .onnx models to extract first (default sample/)")
    parser.add_argument("--scale", type=float, help="fraction of Younger's size (default 1; --quick 0.0005)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="output folder (default .bench/synth-scale<S>-seed<N>)")
    parser.add_argument("--base-out", type=Path, help="where to extract --from when it is a model folder")
    parser.add_argument("--edges-per-operator", type=float, default=YOUNGER_EDGES / YOUNGER_OPERATORS)
    parser.add_argument("--sigma", type=float, default=2.0, help="log-normal sigma of graph sizes")
    parser.add_argument("--max-graph", type=int, default=400_000, help="largest graph, in operators")
    parser.add_argument("--force", action="store_true", help="rebuild even when a matching corpus exists")
    parser.add_argument("--quick", action="store_true", help="smoke mode: a tiny scale")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args(argv)
    scale = args.scale if args.scale is not None else (0.0005 if args.quick else 1.0)

    start = time.perf_counter()
    out, manifest, reused = ensure(args.source, args.out, scale, args.seed, force=args.force,
                                   base_out=args.base_out, edges_per_operator=args.edges_per_operator,
                                   sigma=args.sigma, max_graph=args.max_graph)
    seconds = time.perf_counter() - start
    counts = manifest["counts"]
    rows = counts["operators"] + counts["edges"]
    print_table(["table", "rows"], [[t, counts[t]] for t in ("models", "graphs", "operators", "edges")],
                title=f"synthetic corpus at scale {scale:g} (seed {args.seed}) → {out}"
                      + (" (reused)" if reused else ""))
    sizes = manifest["size_percentiles"]
    print("graph sizes (operators): " + ", ".join(f"{k} {fmt(v)}" for k, v in sizes.items()))
    print(f"{'reused in' if reused else 'built in'} {seconds:.1f} s"
          + ("" if reused else f" ({rows / seconds:,.0f} operator+edge rows/s), peak RSS {peak_rss_mb():.0f} MiB"))
    write_json(args.json, {
        "benchmark": "synth",
        "quick": args.quick,
        "out": str(out),
        "reused": reused,
        "params": manifest["synthetic"],
        "counts": counts,
        "size_percentiles": sizes,
        "seconds": seconds,
        "rows_per_s": None if reused else rows / seconds,
        "peak_rss_mb": peak_rss_mb(),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
