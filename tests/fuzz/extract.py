"""Coverage-guided fuzzing of extraction (atheris + libFuzzer), on real seed models.

    python -m tests.fuzz.extract --seconds 600 [--rss-mb 3072] [--timeout 30] [--out .fuzz] [--jobs 1]

Each input is the bytes of a model file, taken through the path `younger-graph extract` takes for
one file (`loaders.onnx_files.extract_file`: read, sha256, parse without tensor payloads, count the
expanded nodes, walk, hash, the Arrow tables) and then into a models table as the batch would
(`tables.models_from_rows`). Extraction must never raise: a bad model is a row with
`status=error`. So any exception escaping it is a finding, and so are an input that runs longer than
`--timeout` seconds (a hang) and a process that grows past `--rss-mb` (memory over budget).

Seeds: the shipped sample/ models and the ONNX backend test models (`model.onnx` of the installed
onnx package), those of at most `--max-len` bytes. Mutations: half libFuzzer's byte-level ones,
half the protobuf-aware ones of tests/fuzz/mutate.py (parse, change as hostile files do, serialize).

Findings are written to `--out` (crash-*, timeout-*, oom-* files: replay one with
`python -m tests.fuzz.extract --replay FILE`). The exit status is libFuzzer's: 0 when the time ran
out without a finding. The last line printed is a summary with the number of executions.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
if str(REPO) not in sys.path:  # `tests.fuzz.mutate`, however this module was imported
    sys.path.insert(0, str(REPO))


def check_one(data: bytes) -> None:
    """Extract `data` as one model file would be: raises only on a defect (never for a bad model)."""
    from younger_graph.loaders.onnx_files import FileBytes, extract_file

    from younger_graph.tables import models_from_rows

    read = FileBytes(data, hashlib.sha256(data).hexdigest())
    result = extract_file("fuzz/input.onnx", read=read)
    row = result.row
    if row["status"] not in ("ok", "error"):
        raise AssertionError(f"status {row['status']!r}")
    if row["status"] == "error":
        if result.graph is not None or not row["error"] or "\n" in row["error"]:
            raise AssertionError(f"a failed row must have one line of error and no graph: {row['error']!r}")
    else:
        graph = result.graph
        if graph is None or graph.graph_id != row["graph_id"]:
            raise AssertionError("an ok row must carry its graph")
        graph.operators.validate(full=True)
        graph.edges.validate(full=True)
        n = graph.operators.num_rows
        src, dst = graph.edges.column("src").to_pylist(), graph.edges.column("dst").to_pylist()
        if any(not 0 <= i < n for i in src + dst):
            raise AssertionError("an edge names a node that does not exist")
    models_from_rows([row]).validate(full=True)


def seeds(max_len: int) -> list[Path]:
    import onnx

    backend = Path(onnx.__file__).resolve().parent / "backend" / "test" / "data"
    found = sorted((REPO / "sample").glob("*.onnx")) + sorted(backend.rglob("model.onnx"))
    return [p for p in found if p.stat().st_size <= max_len]


def _custom_mutator(atheris):  # type: ignore[no-untyped-def]
    from tests.fuzz.mutate import mutate_model

    def mutator(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if rng.random() < 0.5:
            try:
                mutated = mutate_model(data, rng, max_size)
            except Exception:
                mutated = None
            if mutated is not None:
                return mutated
        return atheris.Mutate(data, max_size)

    return mutator


def run(args: argparse.Namespace) -> int:
    import atheris

    with atheris.instrument_imports(include=["younger_graph"]):
        import younger_graph.loaders.onnx_files

        import younger_graph.tables
        import younger_graph.walk.onnx_walker  # noqa: F401

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    corpus = Path(tempfile.mkdtemp(prefix="yg-fuzz-corpus-"))
    for path in seeds(args.max_len):
        shutil.copyfile(path, corpus / hashlib.sha1(str(path).encode()).hexdigest())
    libfuzzer = [sys.argv[0], str(corpus), f"-max_total_time={args.seconds}", f"-timeout={args.timeout}",
                 f"-rss_limit_mb={args.rss_mb}", f"-malloc_limit_mb={args.rss_mb}", f"-max_len={args.max_len}",
                 f"-artifact_prefix={out}/", f"-seed={args.seed}", "-print_final_stats=1"]
    if args.jobs > 1:
        libfuzzer += [f"-fork={args.jobs}", "-ignore_crashes=0"]
    print(f"fuzzing extraction for {args.seconds} s on {len(list(corpus.iterdir()))} seeds "
          f"(memory budget {args.rss_mb} MiB, {args.timeout} s per input); findings go to {out}", flush=True)
    atheris.Setup(libfuzzer, check_one, custom_mutator=_custom_mutator(atheris))
    atheris.Fuzz()  # exits the process: 0 when the time ran out, non-zero on a finding
    return 0


def replay(path: str) -> int:
    check_one(Path(path).read_bytes())
    print(f"{path}: extracted without an uncaught error")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.extract", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="how long to fuzz (libFuzzer -max_total_time)")
    parser.add_argument("--rss-mb", type=int, default=3072, help="memory budget of the process, MiB")
    parser.add_argument("--timeout", type=int, default=30, help="seconds one input may take")
    parser.add_argument("--max-len", type=int, default=256 * 1024, help="largest input, bytes (seeds too)")
    parser.add_argument("--out", default=os.environ.get("YG_FUZZ_OUT", ".fuzz"), help="where findings go")
    parser.add_argument("--seed", type=int, default=1, help="libFuzzer's random seed")
    parser.add_argument("--jobs", type=int, default=1, help="fuzzing processes (libFuzzer -fork)")
    parser.add_argument("--replay", help="run one input (a finding) instead of fuzzing")
    args = parser.parse_args(argv)
    if args.replay:
        return replay(args.replay)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
