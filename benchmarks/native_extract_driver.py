"""A minimal `extract` on the native core, for benchmarks/extract_native.py (the CLI wiring is the
integrator's): sources → files → `younger_graph.walk._native.extract_paths` on N Rust threads → the
four Parquet tables, with the same rows, order, dedup by graph_id and batching as
`younger_graph.extract.extract` (which the benchmark checks by comparing the tables).

Usage: python benchmarks/native_extract_driver.py SRC... --out DIR [-j N]

Start-up is kept out of the per-file path: no onnx import, one thread pool for the whole run, and
the pool starts on the first files before the heavy imports (pyarrow, numpy, the table writer), so
reading, hashing and walking overlap the interpreter's start-up.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time


def expand(sources: list[str]) -> list[str]:
    """Files named, or found (sorted, *.onnx, no directory symlinks) under directories named."""
    out: list[str] = []
    for text in sources:
        if os.path.isdir(text) and not os.path.islink(text):
            for dirpath, dirnames, filenames in os.walk(text, followlinks=False):
                dirnames.sort()
                out.extend(os.path.join(dirpath, f) for f in sorted(filenames) if f.lower().endswith(".onnx"))
                out.extend(
                    os.path.join(dirpath, d)
                    for d in dirnames
                    if d.lower().endswith(".onnx") and os.path.islink(os.path.join(dirpath, d))
                )
        else:
            out.append(text)
    return list(dict.fromkeys(out))


GENERIC_STEMS = ("model", "model_quantized", "graph", "network")


def default_name(source: str) -> str:
    path = source.rstrip("/")
    base = os.path.basename(path) or source
    stem = base[:-5] if base.lower().endswith(".onnx") else base
    parent = os.path.basename(os.path.dirname(path))
    return f"{parent}/{stem}" if stem.lower() in GENERIC_STEMS and parent else stem


def model_id_for(source: str, content_sha256: str | None) -> str:
    return hashlib.sha256(f"{source}\0{content_sha256 or ''}".encode()).hexdigest()[:16]


FLUSH_MODELS = 256
FLUSH_ROWS = 1_000_000
COMPRESSION = "zstd"
# Results the pool may hold ahead of the consumer (per thread): enough to keep it busy while the
# main thread imports pyarrow; a result holds a graph's columns, never the file's bytes.
WINDOW_PER_THREAD = 64


def run(sources: list[str], out: str, threads: int) -> tuple[int, int]:
    """Extract `sources` into a fresh folder `out`. Operators and edges stream into their Parquet
    files batch by batch (bounded memory); models and graphs are written at the end. (The CLI's
    TableDir also keeps crash-safe parts, which costs a Parquet round trip per batch and the
    pyarrow.compute import; a fresh folder needs neither to hold the same tables.)"""
    from younger_graph.walk import _native  # light: pyarrow is imported once results are converted

    paths = expand(sources)
    results = _native.extract_paths(paths, threads, window=WINDOW_PER_THREAD * max(threads, 1))

    import json
    from pathlib import Path

    import pyarrow as pa
    import pyarrow.parquet as pq

    from younger_graph import __version__, arrays
    from younger_graph.hashing import HASH_VERSION
    from younger_graph.metrics import entropy_bits
    from younger_graph.schema import FORMAT_VERSION, SCHEMAS, TABLE_NAMES

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    writers = {
        t: pq.ParquetWriter(folder / f"{t}.parquet", SCHEMAS[t], compression=COMPRESSION)
        for t in ("operators", "edges")
    }
    seen: set[str] = set()
    models: list[dict] = []
    graphs: list[dict] = []
    pending: dict[str, list] = {"operators": [], "edges": []}
    counts = {t: 0 for t in TABLE_NAMES}
    rows = ok = failed = 0

    def flush() -> None:
        for t, batches in pending.items():
            if batches:
                writers[t].write_table(pa.Table.from_batches(batches, SCHEMAS[t]))
                batches.clear()

    for path, (sha, size, (header, error, graph, op_batch, edge_batch)) in zip(paths, results):
        if error is not None and header is not None:  # walker errors start with the file's name too
            error = f"{os.path.basename(path)} {error}"
        row = {
            "model_id": model_id_for(path, sha),
            "source": path,
            "name": default_name(path),
            "status": "ok" if error is None else "error",
            "error": error or "",
            "graph_id": None,
            "content_sha256": sha,
            "ir_version": None,
            "opsets": None,
            "producer": None,
            "num_bytes": size,
            "task": None,
            "origin": None,
            "tags": None,
        }
        if header is not None:
            row.update(header)
        models.append(row)
        if error is not None:
            failed += 1
            continue
        ok += 1
        gid = graph["graph_id"]
        row["graph_id"] = gid
        if gid in seen:
            continue
        seen.add(gid)
        graph["op_type_entropy"] = entropy_bits(graph.pop("op_type_counts"))
        graphs.append(graph)
        pending["operators"].append(op_batch)
        pending["edges"].append(edge_batch)
        counts["operators"] += op_batch.num_rows
        counts["edges"] += edge_batch.num_rows
        rows += op_batch.num_rows + edge_batch.num_rows
        if len(pending["operators"]) >= FLUSH_MODELS or rows >= FLUSH_ROWS:
            flush()
            rows = 0
    flush()
    for writer in writers.values():
        writer.close()
    per_graph: dict[str, int] = {}
    for m in models:
        if m["status"] == "ok":
            per_graph[m["graph_id"]] = per_graph.get(m["graph_id"], 0) + 1
    for g in graphs:
        g["num_models"] = per_graph[g["graph_id"]]
    pq.write_table(
        arrays.table_from_rows(graphs, SCHEMAS["graphs"]), folder / "graphs.parquet", compression=COMPRESSION
    )
    pq.write_table(
        arrays.table_from_rows(models, SCHEMAS["models"]), folder / "models.parquet", compression=COMPRESSION
    )
    counts["models"], counts["graphs"] = len(models), len(graphs)
    manifest = {
        "format_version": FORMAT_VERSION,
        "hash_version": HASH_VERSION,
        "younger_graph_version": __version__,
        "tables": {t: f"{t}.parquet" for t in TABLE_NAMES},
        "counts": counts,
        "metadata_columns": {},  # the driver takes no --meta
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return ok, failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sources", nargs="*")
    parser.add_argument("--out", required=True)
    parser.add_argument("-j", "--workers", type=int, default=1)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    ok, failed = run(args.sources, args.out, args.workers)
    print(f"{ok} ok, {failed} failed in {time.perf_counter() - start:.2f} s")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
