"""Similarity: exporter twins, model families, query and embedding speed (issue 13).

Usage:
    python benchmarks/similarity.py [--json out.json] [--corpus DIR] [--speed-tables DIR] [--quick]

Quality, on the corpus of `similarity_corpus.py` (36 torchvision/timm/transformers models, each
exported by TorchScript and by dynamo, some also at opset 13, dynamically quantised and
onnxruntime-optimised; families set by hand in that script). The corpus is extracted and loaded
into a fresh embedded store (the load computes the architecture view and the embeddings), then:

* exporter twins: for each model, is the dynamo export's nearest stored graph (`Store.nearest`,
  what `similar` runs) its TorchScript twin? And do both have the same `graph_id_arch`?
* family retrieval: for every graph (every export and variant), the nearest graph among those of
  other models: precision@1 of "same family" (queries whose family has one model only are left
  out), for our architecture-view embedding, our exact-view embedding and the plain baseline of
  the issue measured in the same run: 2-round WL label counts over the exact graph (op_type labels,
  exact counts, no hashing), log(1 + count), cosine. Also the same with dynamo exports as queries
  and TorchScript exports as candidates (a model exported differently from the corpus).

Speed, on the Younger-scale synthetic tables of `synth.py` (`--speed-tables`, default
.bench/synth-1; `--quick`: scale 0.01) loaded into an embedded store: `similar` per query once the
index is read (median over queries, and the one-off index read), and `embed --force` over the whole
store (every embedding recomputed from the stored graphs), CPU and wall seconds.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, machine, print_table, target_row, write_json

CORPUS = BENCH_DIR / "similarity" / "models"
WORK = BENCH_DIR / "similarity"


# -- the corpus -----------------------------------------------------------------------------------
def load_corpus(corpus: Path, work: Path) -> tuple[Any, list[dict[str, str]]]:
    """Extract the corpus (cached) and load it into a fresh embedded store; (store path, rows)."""
    import younger_graph as yg

    meta = corpus / "meta.csv"
    if not meta.exists():
        raise SystemExit(f"{meta} is missing: run `python benchmarks/similarity_corpus.py` first")
    with open(meta, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    tables = work / "tables"
    shutil.rmtree(tables, ignore_errors=True)  # fresh: graph_id_arch is computed at extraction
    start = time.perf_counter()
    yg.extract([str(corpus)], tables, meta=meta, workers=2)
    print(f"extracted {len(rows)} exports in {time.perf_counter() - start:.1f} s")
    db = work / "store.db"
    for path in (db, Path(f"{db}.wal")):
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    start = time.perf_counter()
    with yg.open(str(db), write=True) as store:
        store.load(tables)
    print(f"loaded {len(rows)} exports in {time.perf_counter() - start:.1f} s")
    return db, rows


def graph_ids(tables: Path, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The meta rows of the exports that extracted, each with its graph_id."""
    import pyarrow.parquet as pq

    models = pq.read_table(tables / "models.parquet").to_pylist()
    by_file = {Path(m["source"]).name: m for m in models if m["status"] == "ok"}
    out = []
    for r in rows:
        m = by_file.get(r["file"])
        if m is not None:
            out.append({**r, "graph_id": m["graph_id"]})
    return out


# -- the baseline ---------------------------------------------------------------------------------
def baseline_vectors(tables: Path, ids: list[str]) -> dict[str, dict[int, float]]:
    """The issue's plain baseline: 2-round WL label counts over the exact graph (op_type labels,
    in- and out-neighbour label multisets, exact counts), log(1 + count), unit length; sparse."""
    import pyarrow.parquet as pq

    ops = pq.read_table(tables / "operators.parquet", columns=["graph_id", "idx", "op_type"]).to_pandas()
    edges = pq.read_table(tables / "edges.parquet", columns=["graph_id", "src", "dst"]).to_pandas()
    wanted = set(ids)
    out = {}
    edge_groups = {g: f for g, f in edges.groupby("graph_id", sort=False)}
    for gid, o in ops.groupby("graph_id", sort=False):
        if gid not in wanted:
            continue
        o = o.sort_values("idx")
        labels = [hash(("0", t)) for t in o["op_type"]]
        e = edge_groups.get(gid)
        src = e["src"].tolist() if e is not None else []
        dst = e["dst"].tolist() if e is not None else []
        counts: Counter[int] = Counter(labels)
        for _ in range(2):
            ins: list[list[int]] = [[] for _ in labels]
            outs: list[list[int]] = [[] for _ in labels]
            for a, b in zip(src, dst):
                outs[a].append(labels[b])
                ins[b].append(labels[a])
            labels = [hash((lab, tuple(sorted(i)), tuple(sorted(x)))) for lab, i, x in zip(labels, ins, outs)]
            counts.update(labels)
        vec = {k: float(np.log1p(c)) for k, c in counts.items()}
        norm = float(np.sqrt(sum(v * v for v in vec.values()))) or 1.0
        out[gid] = {k: v / norm for k, v in vec.items()}
    return out


def sparse_cosine(a: dict[int, float], b: dict[int, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(k, 0.0) for k, v in a.items())


# -- quality --------------------------------------------------------------------------------------
def dense_scores(store: Any, ids: list[str], view: str) -> np.ndarray:
    found, vectors = store.embeddings(view, ids)
    pos = {g: i for i, g in enumerate(found)}
    matrix = np.stack([vectors[pos[g]] for g in ids])
    return matrix @ matrix.T


def nearest_other(scores: np.ndarray, i: int, excluded: set[int], ids: list[str]) -> int:
    best, best_score = -1, -2.0
    for j in range(len(ids)):
        if j in excluded:
            continue
        s = float(scores[i, j])
        if s > best_score or (s == best_score and ids[j] < ids[best]):
            best, best_score = j, s
    return best


def family_p_at_1(scores: np.ndarray, rows: list[dict[str, str]], ids: list[str], models_of: dict[str, set[str]],
                  queries: Any = None, candidates: Any = None) -> dict[str, Any]:
    """Precision@1 of "same family": each query export's nearest graph among the candidate exports of
    other models. Queries whose family has no other model are left out (no right answer exists)."""
    pos = {g: i for i, g in enumerate(ids)}
    hits = total = 0
    for r in rows:
        if (queries and not queries(r)) or len(models_of[r["family"]]) < 2:
            continue
        allowed = {pos[t["graph_id"]] for t in rows if t["model"] != r["model"] and (not candidates or candidates(t))}
        excluded = set(range(len(ids))) - allowed
        j = nearest_other(scores, pos[r["graph_id"]], excluded, ids)
        if j < 0:
            continue
        total += 1
        hits += r["family"] in {t["family"] for t in rows if t["graph_id"] == ids[j]}
    return {"p": hits / total if total else None, "queries": total}


def quality(db: Path, rows: list[dict[str, str]], tables: Path) -> dict[str, Any]:
    import younger_graph as yg

    ids = sorted({r["graph_id"] for r in rows})
    pos = {g: i for i, g in enumerate(ids)}
    with yg.open(str(db)) as store:
        arch = dense_scores(store, ids, "arch")
        exact = dense_scores(store, ids, "exact")
        arch_ids = dict(zip(*[store.run("MATCH (g:Graph) RETURN g.graph_id AS g, g.graph_id_arch AS a")[c]
                              for c in ("g", "a")]))
        twins = []
        for r in rows:
            if r["exporter"] != "dynamo" or r["variant"] != "plain":
                continue
            twin = next((t for t in rows if t["model"] == r["model"] and t["exporter"] == "torchscript"
                         and t["variant"] == "plain"), None)
            if twin is None:
                continue
            near = store.nearest(np.stack([store.embeddings("arch", [r["graph_id"]])[1][0]]), 2, "arch")[0]
            first = next(g for g, _ in near if g != r["graph_id"])
            twins.append({"model": r["model"], "source": r["source"], "nearest_is_twin": first == twin["graph_id"],
                          "nearest": next(t["name"] for t in rows if t["graph_id"] == first),
                          "twin_score": round(float(arch[pos[r["graph_id"]], pos[twin["graph_id"]]]), 4),
                          "same_arch_hash": arch_ids[r["graph_id"]] == arch_ids[twin["graph_id"]]})
    base = baseline_vectors(tables, ids)
    base_scores = np.array([[sparse_cosine(base[a], base[b]) for b in ids] for a in ids])
    models_of = {}
    for r in rows:
        models_of.setdefault(r["family"], set()).add(r["model"])
    family = {}
    for name, scores in (("ours (arch view)", arch), ("ours (exact view)", exact), ("baseline", base_scores)):
        family[name] = {
            "p_at_1": family_p_at_1(scores, rows, ids, models_of),
            "p_at_1_plain": family_p_at_1(scores, rows, ids, models_of, queries=lambda r: r["variant"] == "plain"),
            # A model exported differently from the corpus: dynamo queries against TorchScript exports only.
            "p_at_1_cross_exporter": family_p_at_1(
                scores, rows, ids, models_of, queries=lambda r: r["exporter"] == "dynamo",
                candidates=lambda r: r["exporter"] == "torchscript"),
        }
    return {"twins": twins, "family": family, "graphs": len(ids), "exports": len(rows)}


# -- speed ----------------------------------------------------------------------------------------
def with_views(tables: Path) -> Path:
    """The synthetic tables (format 1: synth.py writes no architecture view) plus arch_operators and
    arch_edges as a format-2 extraction writes them: `<tables>-v2/`, built once (cached)."""
    import pyarrow.parquet as pq

    from younger_graph import views
    from younger_graph.schema import ARCH_EDGES_SCHEMA, ARCH_OPERATORS_SCHEMA, EDGES_SCHEMA
    from younger_graph.store.base import iter_graph_rows

    out = tables.with_name(tables.name + "-v2")
    if (out / "arch_edges.parquet").exists():
        return out
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(tables, out)
    start = time.perf_counter()
    edges = iter_graph_rows(tables, "edges")
    pending = next(edges, None)
    with pq.ParquetWriter(out / ".arch_operators.tmp", ARCH_OPERATORS_SCHEMA, compression="zstd") as ow, \
            pq.ParquetWriter(out / ".arch_edges.tmp", ARCH_EDGES_SCHEMA, compression="zstd") as ew:
        for gid, ops in iter_graph_rows(tables, "operators"):
            e = EDGES_SCHEMA.empty_table()
            if pending is not None and pending[0] == gid:
                e, pending = pending[1], next(edges, None)
            o, a = views.view_tables(gid, views.arch_of(ops, e))
            ow.write_table(o)
            ew.write_table(a)
    (out / ".arch_operators.tmp").rename(out / "arch_operators.parquet")
    (out / ".arch_edges.tmp").rename(out / "arch_edges.parquet")
    print(f"architecture views of {tables} written in {time.perf_counter() - start:.0f} s")
    return out


def speed(tables: Path, work: Path, queries: int = 50) -> dict[str, Any]:
    import younger_graph as yg

    db = work / f"speed-{tables.name}.db"
    fresh = not db.exists()
    out: dict[str, Any] = {"tables": str(tables)}
    if fresh:
        start, cpu = time.perf_counter(), time.process_time()
        with yg.open(str(db), write=True) as store:
            out["load_line"] = store.load(tables).line()
        out["load_s"] = time.perf_counter() - start
        out["load_cpu_s"] = time.process_time() - cpu
    with yg.open(str(db)) as store:
        start = time.perf_counter()
        ids, vectors = store.embeddings("arch")
        store.nearest(vectors[:1], 11, "arch")  # reads the index once
        out["index_read_s"] = time.perf_counter() - start
        out["graphs"] = len(ids)
        rng = np.random.default_rng(1234)
        picks = rng.choice(len(ids), size=min(queries, len(ids)), replace=False)
        times = []
        for i in picks.tolist():
            start = time.perf_counter()
            yg.similar(store, [ids[i]], k=10)
            times.append(time.perf_counter() - start)
        out["similar_median_ms"] = statistics.median(times) * 1000
        out["similar_p90_ms"] = float(np.percentile(times, 90)) * 1000
    with yg.open(str(db), write=True) as store:
        start, cpu = time.perf_counter(), time.process_time()
        summary = yg.embed(store, force=True)
        out["embed_s"] = time.perf_counter() - start
        out["embed_cpu_s"] = time.process_time() - cpu
        out["embed_line"] = summary.line()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", default=None)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--speed-tables", type=Path, default=BENCH_DIR / "synth-1")
    parser.add_argument("--quick", action="store_true", help="speed on the scale-0.01 synthetic tables")
    parser.add_argument("--no-speed", action="store_true")
    parser.add_argument("--no-quality", action="store_true")
    args = parser.parse_args()
    result: dict[str, Any] = {"machine": machine()}
    targets = []
    quality_wanted = not args.no_quality and not (args.quick and not (args.corpus / "meta.csv").exists())
    if not quality_wanted and not args.no_quality:
        print(f"no corpus at {args.corpus} (python benchmarks/similarity_corpus.py builds it): quality skipped")
    if quality_wanted:
        db, rows = load_corpus(args.corpus, WORK)
        rows = graph_ids(WORK / "tables", rows)
        q = quality(db, rows, WORK / "tables")
        result["quality"] = q
        print_table(["model", "source", "nearest is twin", "nearest", "twin score", "same arch hash"],
                    [[t["model"], t["source"], t["nearest_is_twin"], t["nearest"], t["twin_score"],
                      t["same_arch_hash"]] for t in q["twins"]], "exporter twins (dynamo → nearest)")
        print_table(["embedding", "P@1 all exports", "P@1 plain exports", "P@1 dynamo vs TorchScript", "queries"],
                    [[k, v["p_at_1"]["p"], v["p_at_1_plain"]["p"], v["p_at_1_cross_exporter"]["p"],
                      v["p_at_1"]["queries"]] for k, v in q["family"].items()],
                    "family retrieval (nearest graph of another model)")
        n_twins = sum(t["nearest_is_twin"] for t in q["twins"])
        same = sum(t["same_arch_hash"] for t in q["twins"])
        ours = q["family"]["ours (arch view)"]["p_at_1"]["p"]
        base = q["family"]["baseline"]["p_at_1"]["p"]
        ours_x = q["family"]["ours (arch view)"]["p_at_1_cross_exporter"]["p"]
        base_x = q["family"]["baseline"]["p_at_1_cross_exporter"]["p"]
        targets += [target_row(f"twins: nearest is twin ({n_twins} of {len(q['twins'])})",
                               n_twins / len(q["twins"]), ">=", 10 / 12),
                    [f"twins: same graph_id_arch ({same} of {len(q['twins'])})", same / len(q["twins"]), "report",
                     None],
                    target_row("family P@1 (arch view)", ours, ">=", 0.6),
                    target_row("family P@1 ours / baseline", ours / base if base else None, ">=", 1.5),
                    target_row("family P@1 ours / baseline, dynamo vs TorchScript", ours_x / base_x if base_x else None,
                               ">=", 1.5)]
    if not args.no_speed:
        tables = BENCH_DIR / "synth-0.01" if args.quick else args.speed_tables
        if args.quick and not (tables / "graphs.parquet").exists():
            subprocess.run([sys.executable, str(Path(__file__).with_name("synth.py")), "--scale", "0.01", "--out",
                            str(tables)], check=True, capture_output=True)
        if not (tables / "graphs.parquet").exists():
            raise SystemExit(f"{tables} has no tables: run `python benchmarks/synth.py --out {tables}` first")
        s = speed(with_views(tables), WORK)
        result["speed"] = s
        print_table(["measure", "value"], [[k, v] for k, v in s.items()], "speed")
        targets += [target_row("similar ms per query (median)", s["similar_median_ms"], "<=", 100),
                    target_row("embed --force s (wall)", s["embed_s"], "<=", 60)]
    print_table(["target", "value", "target", "met"], targets, "targets")
    result["targets"] = targets
    write_json(args.json, result)


if __name__ == "__main__":
    main()
