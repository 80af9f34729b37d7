"""Extraction under hostile input (issue #11): invalid UTF-8 anywhere in a model or in its file
name, models that expand past the node budget, nodes without an op_type, workers killed from
outside, and a disk that fills up. Every case: the file gets its own row, the batch goes on."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import onnx
import pyarrow.parquet as pq
import pytest
from conftest import cli_env, make_model, tensor_vi, write_model
from onnx import AttributeProto, TensorProto
from onnx import helper as oh
from younger_graph.loaders.onnx_files import extract_file, parse_model

from younger_graph.extract import extract

FLOAT = TensorProto.FLOAT
REPO = Path(__file__).resolve().parent.parent


def rows(out: Path, table: str) -> list[dict]:
    return pq.read_table(out / f"{table}.parquet").to_pylist()


def by_name(out: Path) -> dict[str, dict]:
    return {Path(m["source"]).name: m for m in rows(out, "models")}


# -- invalid UTF-8 in any string of a model (D2) -----------------------------------------------------
# Each token is a placeholder in one kind of string field; a variant of the model replaces it (every
# occurrence, same length, so the protobuf stays valid) with bytes that are not UTF-8.
TOKENS = {
    "node name": b"ZNODENAME",
    "op_type": b"ZOPTYPE",
    "domain (node and opset)": b"ZDOMAIN",
    "graph input name": b"ZINPUT",
    "tensor name": b"ZTENSOR",  # a node's output, another's input, a value_info
    "graph output name": b"ZOUTPUT",
    "attribute name": b"ZATTRNAME",
    "producer name": b"ZPRODUCER",
    "producer version": b"ZPVERSION",
    "dim_param": b"ZDIMPARAM",
    "function name": b"ZFUNC",
    "function domain": b"ZFDOM",
    "function formal input": b"ZFORMAL",
    "function body tensor": b"ZFBODY",
    "attribute reference (ref_attr_name)": b"ZREFATTR",
    "initializer name": b"ZINIT",
    "sparse initializer name": b"ZSPARSE",
    "subgraph tensor": b"ZSUBTENSOR",
}
NOT_HASHED = {"node name", "graph input name", "tensor name",
             "graph output name", "producer name", "producer version", "dim_param", "function formal input",
             "function body tensor", "initializer name", "sparse initializer name", "subgraph tensor"}


def token_model() -> onnx.ModelProto:
    """One model holding every token once (as a name, a type, a domain...)."""
    t = {k: v.decode() for k, v in TOKENS.items()}
    ref = AttributeProto(name="alpha", ref_attr_name=t["attribute reference (ref_attr_name)"],
                         type=AttributeProto.FLOAT)
    body = oh.make_node("LeakyRelu", [t["function formal input"]], [t["function body tensor"]])
    body.attribute.append(ref)
    tail = oh.make_node("Identity", [t["function body tensor"]], ["fy"])
    function = oh.make_function(t["function domain"], t["function name"], [t["function formal input"]], ["fy"],
                                [body, tail], [oh.make_opsetid("", 17)], attributes=["a"])
    then = oh.make_graph([oh.make_node("Neg", [t["tensor name"]],
                                       [t["subgraph tensor"]])],
                         "then", [], [tensor_vi(t["subgraph tensor"])])
    other = oh.make_graph([oh.make_node("Abs", [t["tensor name"]],
                                        ["e"])], "else", [], [tensor_vi("e")])
    sparse = oh.make_sparse_tensor(
        oh.make_tensor(t["sparse initializer name"], FLOAT, [2], [1.0, 2.0]),
        oh.make_tensor("idx", TensorProto.INT64, [2], [0, 3]), [4])
    nodes = [
        oh.make_node("Add", [t["graph input name"], t["initializer name"]], ["s"], name=t["node name"]),
        oh.make_node("Mul", ["s", t["sparse initializer name"]], [t["tensor name"]]),
        oh.make_node(t["op_type"], [t["tensor name"]], ["c"],
                     domain=t["domain (node and opset)"], **{t["attribute name"]: 3}),
        oh.make_node(t["function name"], ["c"], ["f"], domain=t["function domain"], a=0.5),
        oh.make_node("If", ["cond"], ["branch"], then_branch=then, else_branch=other),
        oh.make_node("Sum", ["f", "branch"], [t["graph output name"]]),
    ]
    graph = oh.make_graph(
        nodes, "g",
        [tensor_vi(t["graph input name"], FLOAT, [t["dim_param"], 4]), tensor_vi("cond", TensorProto.BOOL, [])],
        [tensor_vi(t["graph output name"])],
        [oh.make_tensor(t["initializer name"], FLOAT, [4], [0.0] * 4)],
        value_info=[tensor_vi(t["tensor name"], FLOAT, [1, 4])],
        sparse_initializer=[sparse],
    )
    opsets = [oh.make_opsetid("", 17), oh.make_opsetid(t["domain (node and opset)"], 1),
              oh.make_opsetid(t["function domain"], 1)]
    model = oh.make_model(graph, opset_imports=opsets, functions=[function])
    model.producer_name, model.producer_version = t["producer name"], t["producer version"]
    return model


def broken(token: bytes) -> tuple[bytes, str]:
    """The token with its second byte made invalid UTF-8 (same length), and its escaped spelling."""
    return token[:1] + b"\xff" + token[2:], token[:1].decode() + "\\xff" + token[2:].decode()


def every_string(out: Path) -> str:
    cells = []
    for table in ("models", "operators", "edges"):
        for row in rows(out, table):
            cells.extend(str(v) for v in row.values() if v is not None)
    return "\n".join(cells)


def test_invalid_utf8_in_any_string_extracts_ok_with_the_bytes_escaped(tmp_path, tmp_out):
    clean = token_model().SerializeToString()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "0000_clean.onnx").write_bytes(clean)
    expected = {}
    for k, (field, token) in enumerate(TOKENS.items(), 1):
        assert clean.count(token) >= 1, field
        bad, escaped = broken(token)
        name = f"{k:04d}.onnx"
        (corpus / name).write_bytes(clean.replace(token, bad))
        expected[name] = (field, escaped)
    write_model(make_model([oh.make_node("Relu", ["x"], ["y"])], ["x"], ["y"]), corpus / "9999_after.onnx")

    summary = extract([corpus], tmp_out, workers=1)
    models = by_name(tmp_out)
    assert summary.failed == 0, summary.errors
    assert models["9999_after.onnx"]["status"] == "ok"  # the batch went on to the end
    reference = models["0000_clean.onnx"]
    for name, (field, _) in expected.items():
        m = models[name]
        assert m["status"] == "ok" and m["error"] == "", (field, m["error"])
        if field in NOT_HASHED:  # names and shapes never reach the hash
            assert m["graph_id"] == reference["graph_id"], field
        else:
            assert m["graph_id"] != reference["graph_id"], field

    # every escaped spelling is stored somewhere (initializer names are not stored: that they still
    # resolve shows in the equal graph_id); one extraction per variant, read back
    for name, (field, escaped) in expected.items():
        if field in ("initializer name", "sparse initializer name"):
            continue
        out = tmp_path / f"one-{name}"
        extract([corpus / name], out, workers=1)
        stored = every_string(out)
        assert escaped in stored or json.dumps(escaped)[1:-1] in stored, field  # plain, or inside JSON


def test_escaping_is_backslashreplace_and_valid_utf8_is_untouched(tmp_path):
    model = make_model([oh.make_node("Relu", ["x"], ["y"], name="naïve→✓")], ["x"], ["y"])
    data = model.SerializeToString()
    # a truncated 3-byte sequence, a lone continuation byte and an overlong encoding, inside the name
    bad = data.replace("naïve→✓".encode(), b"na\xc3\xafve\xe2\x86!\x80\xc0\xaf")
    assert len(bad) == len(data)
    (tmp_path / "v.onnx").write_bytes(bad)
    result = extract_file(str(tmp_path / "v.onnx"))
    assert result.ok, result.row["error"]
    name = result.graph.operators.column("name").to_pylist()[1]
    assert name == b"na\xc3\xafve\xe2\x86!\x80\xc0\xaf".decode("utf-8", "backslashreplace")
    assert name == "naïve\\xe2\\x86!\\x80\\xc0\\xaf"
    (tmp_path / "ok.onnx").write_bytes(data)
    assert extract_file(str(tmp_path / "ok.onnx")).graph.operators.column("name").to_pylist()[1] == "naïve→✓"


def test_a_file_name_that_is_not_utf8_is_its_own_row_and_the_batch_goes_on(tmp_path, tmp_out):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    relu = make_model([oh.make_node("Relu", ["x"], ["y"])], ["x"], ["y"])
    neg = make_model([oh.make_node("Neg", ["x"], ["y"])], ["x"], ["y"])
    bad_name = os.fsdecode(b"b\xffd.onnx")  # surrogate-escaped, as os.listdir returns it
    write_model(relu, corpus / "a.onnx")
    write_model(neg, corpus / bad_name)
    write_model(relu, corpus / "c.onnx")
    (corpus / os.fsdecode(b"e\xfe.onnx")).write_bytes(b"not a model")

    summary = extract([corpus], tmp_out, workers=2)
    models = by_name(tmp_out)
    assert set(models) == {"a.onnx", "b\\xffd.onnx", "c.onnx", "e\\xfe.onnx"}
    assert models["b\\xffd.onnx"]["status"] == "ok" and models["b\\xffd.onnx"]["name"] == "b\\xffd"
    assert models["c.onnx"]["status"] == "ok"
    assert models["e\\xfe.onnx"]["status"] == "error"
    assert models["e\\xfe.onnx"]["error"].startswith("e\\xfe.onnx is not a valid ONNX protobuf")
    assert (summary.ok, summary.failed) == (3, 1)
    # a second run skips what is there: the escaped source is how the file is known
    again = extract([corpus], tmp_out, workers=1)
    assert (again.ok, again.skipped) == (0, 3)

    # the CLI prints such names without crashing (hash, inspect, extract's error list)
    script = [sys.executable, "-m", "younger_graph.cli"]
    env = cli_env()
    proc = subprocess.run([*script, "hash", os.fsencode(corpus / bad_name)], capture_output=True, env=env)
    assert proc.returncode == 0 and proc.stdout.decode().endswith("b\\xffd.onnx\n"), proc.stderr
    proc = subprocess.run([*script, "inspect", os.fsencode(corpus / bad_name)], capture_output=True, env=env)
    assert proc.returncode == 0 and b"b\\xffd.onnx" in proc.stdout, proc.stderr
    proc = subprocess.run([*script, "extract", os.fsencode(corpus), "--out", os.fsencode(tmp_path / "o2")],
                          capture_output=True, env=env)
    assert proc.returncode == 1 and b"Traceback" not in proc.stderr, proc.stderr
    assert b"e\\xfe.onnx is not a valid ONNX protobuf" in proc.stderr


# -- empty op_type (D12) ---------------------------------------------------------------------------
def test_a_node_without_op_type_fails_its_model(tmp_path, tmp_out):
    main = make_model([oh.make_node("", ["x"], ["y"])], ["x"], ["y"])
    body = oh.make_function("local", "F", ["a"], ["b"], [oh.make_node("", ["a"], ["b"])], [oh.make_opsetid("", 17)])
    inner = make_model([oh.make_node("F", ["x"], ["y"], domain="local")], ["x"], ["y"], domains=["local"],
                       functions=[body])
    then = oh.make_graph([oh.make_node("", ["x"], ["t"])], "t", [], [tensor_vi("t")])
    nested = make_model([oh.make_node("If", ["c"], ["y"], then_branch=then, else_branch=then)],
                        [tensor_vi("c", TensorProto.BOOL, []), "x"], ["y"])
    for name, model in (("main", main), ("function", inner), ("subgraph", nested)):
        write_model(model, tmp_path / "c" / f"{name}.onnx")
    write_model(make_model([oh.make_node("Relu", ["x"], ["y"])], ["x"], ["y"]), tmp_path / "c" / "z.onnx")
    extract([tmp_path / "c"], tmp_out, workers=1)
    models = by_name(tmp_out)
    for name in ("main", "function", "subgraph"):
        m = models[f"{name}.onnx"]
        assert m["status"] == "error" and m["graph_id"] is None, name
        assert m["error"] == f"{name}.onnx has a node without an op_type, which ONNX does not allow"
    assert models["z.onnx"]["status"] == "ok"
    assert not [o for o in rows(tmp_out, "operators") if o["op_type"] == ""]


# -- the node budget (D5) ---------------------------------------------------------------------------
def doubling_functions(levels: int) -> onnx.ModelProto:
    """f0 = Relu; f(k) calls f(k-1) twice: the main graph's one call expands to 3 * 2**levels operators
    from a file of a few KB."""
    opset = [oh.make_opsetid("", 17), oh.make_opsetid("local", 1)]
    functions = [oh.make_function("local", "f0", ["x"], ["y"], [oh.make_node("Relu", ["x"], ["y"])], opset)]
    for k in range(1, levels + 1):
        nodes = [oh.make_node(f"f{k - 1}", ["x"], ["h"], domain="local"),
                 oh.make_node(f"f{k - 1}", ["h"], ["y"], domain="local")]
        functions.append(oh.make_function("local", f"f{k}", ["x"], ["y"], nodes, opset))
    return make_model([oh.make_node(f"f{levels}", ["x"], ["y"], domain="local")], ["x"], ["y"],
                      domains=["local"], functions=functions)


def recursive_functions() -> onnx.ModelProto:
    opset = [oh.make_opsetid("", 17), oh.make_opsetid("local", 1)]
    ping = oh.make_function("local", "ping", ["x"], ["y"], [oh.make_node("pong", ["x"], ["y"], domain="local")], opset)
    pong = oh.make_function("local", "pong", ["x"], ["y"], [oh.make_node("Relu", ["x"], ["h"]),
                                                            oh.make_node("ping", ["h"], ["y"], domain="local")], opset)
    return make_model([oh.make_node("ping", ["x"], ["y"], domain="local")], ["x"], ["y"], domains=["local"],
                      functions=[ping, pong])


_BUDGET_RUN = """
import json, os, resource, sys
limit = int(os.environ.get("YG_TEST_AS_MB", "1536")) << 20
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # a runaway walk fails here, not the machine
from younger_graph.extract import extract
summary = extract(sys.argv[1:-1], sys.argv[-1], workers=1)
print(json.dumps(summary.as_dict()))
"""


def test_a_model_expanding_past_the_budget_fails_quickly_and_alone(tmp_path, tmp_out):
    corpus = tmp_path / "c"
    bomb = write_model(doubling_functions(20), corpus / "bomb.onnx")  # 3.1M operators once expanded
    assert bomb.stat().st_size < 3000
    loop = write_model(recursive_functions(), corpus / "loop.onnx")
    fine = write_model(doubling_functions(6), corpus / "fine.onnx")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _BUDGET_RUN, str(bomb), str(loop), str(fine), str(tmp_out)],
                          capture_output=True, text=True, timeout=300, env=cli_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert time.monotonic() - start < 60
    models = by_name(tmp_out)
    assert models["bomb.onnx"]["error"] == ("bomb.onnx has more than 2,000,000 nodes once function bodies and "
                                            "subgraphs are expanded (the limit per model)")
    assert models["loop.onnx"]["error"] == "loop.onnx function calls are nested deeper than 64 levels"
    assert models["fine.onnx"]["status"] == "ok"
    fine_graph = rows(tmp_out, "graphs")[0]
    assert fine_graph["num_operators"] == 1 + (3 * 2 ** 6 - 2)  # the call itself + its expansion


def flat_model_bytes(nodes: int) -> bytes:
    """A model whose main graph holds `nodes` Identity operators and nothing else, serialized directly
    (12 bytes a node; building 2M NodeProtos in Python would take minutes)."""
    node = onnx.NodeProto(op_type="Identity").SerializeToString()
    graph = (b"\x0a" + bytes([len(node)]) + node) * nodes
    header = onnx.ModelProto(ir_version=8, opset_import=[oh.make_opsetid("", 17)]).SerializeToString()
    return header + b"\x3a" + _varint(len(graph)) + graph  # ModelProto.graph is field 7


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


@pytest.mark.slow
def test_the_budget_holds_without_functions_too(tmp_path, tmp_out):
    from younger_graph.walk.onnx_walker import expanded_node_count, too_many_nodes

    limit = flat_model_bytes(2_000_000)
    assert expanded_node_count(parse_model(limit)) == 2_000_000  # the limit itself is allowed
    with pytest.raises(type(too_many_nodes())):
        expanded_node_count(parse_model(flat_model_bytes(2_000_001)))
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "flat.onnx").write_bytes(flat_model_bytes(2_000_001))  # 24 MB, no functions
    write_model(make_model([oh.make_node("Relu", ["x"], ["y"])], ["x"], ["y"]), tmp_path / "c" / "z.onnx")
    proc = subprocess.run([sys.executable, "-c", _BUDGET_RUN, str(tmp_path / "c"), str(tmp_out)],
                          capture_output=True, text=True, timeout=300, env=cli_env(YG_TEST_AS_MB="3072"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    models = by_name(tmp_out)
    assert models["flat.onnx"]["error"].startswith("flat.onnx has more than 2,000,000 nodes")
    assert models["z.onnx"]["status"] == "ok"


def test_the_count_is_the_number_of_nodes_the_walk_makes(sample_models, onnx_backend_models):
    from younger_graph.walk.onnx_walker import expanded_node_count
    from younger_graph.walk.scopes import MAX_NODES

    checked = 0
    for path in [*sample_models, *onnx_backend_models[:150]]:
        result = extract_file(str(path))
        if not result.ok:
            continue
        model = parse_model(path.read_bytes())
        assert expanded_node_count(model) == result.graph.graph_row["num_nodes"], path
        checked += 1
    assert checked > 100
    model = doubling_functions(12)
    assert expanded_node_count(model) == 1 + 1 + 1 + (3 * 2 ** 12 - 2)  # input, output, the call, its body
    assert MAX_NODES == 2_000_000


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


class RssKiller:
    """A user-space OOM killer (what earlyoom does): SIGKILLs any descendant of `pid` whose resident
    memory passes `limit_mb`, until stopped. Returns the pids it killed."""

    def __init__(self, pid: int, limit_mb: float) -> None:
        self.pid, self.limit, self.killed = pid, limit_mb, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            todo = list(_children(self.pid))
            while todo:
                child = todo.pop()
                todo.extend(_children(child))
                if _rss_mb(child) > self.limit:
                    try:
                        os.kill(child, signal.SIGKILL)
                        self.killed.append(child)
                    except ProcessLookupError:
                        pass
            time.sleep(0.02)

    def stop(self) -> list[int]:
        self._stop.set()
        self._thread.join()
        return self.killed


_KILL_RUN = """
import json, sys
from younger_graph.extract import extract
summary = extract(sys.argv[1], sys.argv[2], workers=2)
print(json.dumps(summary.as_dict()))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs /proc to find and watch the workers")
@pytest.mark.slow
def test_a_worker_killed_by_the_oom_killer_fails_its_file_and_the_batch_goes_on(tmp_path, tmp_out):
    corpus = tmp_path / "c"
    for k in range(12):
        write_model(make_model([oh.make_node("Relu", ["x"], [f"h{j}"]) for j in range(k + 1)]
                               + [oh.make_node("Sum", [f"h{j}" for j in range(k + 1)], ["y"])], ["x"], ["y"]),
                    corpus / f"m{k:02d}.onnx")
    write_model(doubling_functions(17), corpus / "m05_greedy.onnx")  # ~400k operators: far past 400 MB
    # Worker processes are the Python walker's parallelism (the native core runs threads in-process).
    proc = subprocess.Popen([sys.executable, "-c", _KILL_RUN, str(corpus), str(tmp_out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=cli_env(YOUNGER_GRAPH_NATIVE="0"))
    killer = RssKiller(proc.pid, limit_mb=400)
    try:
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        killed = killer.stop()
    assert proc.returncode == 0, stderr[-3000:]
    assert len(killed) >= 2  # in the pool, then again alone
    summary = json.loads(stdout)
    assert (summary["ok"], summary["failed"]) == (12, 1)
    models = by_name(tmp_out)
    assert list(models) == sorted(models)  # source order kept across the pool restarts
    greedy = models["m05_greedy.onnx"]
    assert greedy["status"] == "error"
    assert greedy["error"] == "m05_greedy.onnx the worker extracting it was killed (out of memory?)"
    assert greedy["content_sha256"] is not None
    assert all(m["status"] == "ok" for n, m in models.items() if n != "m05_greedy.onnx")
    assert len(rows(tmp_out, "graphs")) == 12


# -- a full disk (D9) -------------------------------------------------------------------------------
_LIMITED_RUN = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails with EFBIG, like a full disk
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.argv = ["younger-graph", *sys.argv[2:]]
from younger_graph.cli import main
main()
"""


def run_limited(limit: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _LIMITED_RUN, str(limit), *args], capture_output=True, text=True,
                          timeout=300, env=cli_env())


def test_extract_onto_a_full_disk_leaves_nothing_that_load_accepts(tmp_path, sample_dir):
    out = tmp_path / "out"
    proc = run_limited(20_000, "extract", str(sample_dir), "--out", str(out), "-j", "1")
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error:") and "Traceback" not in proc.stderr, proc.stderr
    assert not (out / "manifest.json").exists()
    assert not any((out / f"{t}.parquet").exists() for t in ("models", "graphs", "operators", "edges"))
    load = subprocess.run([sys.executable, "-m", "younger_graph.cli", "load", str(out), "--db",
                           str(tmp_path / "db")], capture_output=True, text=True, env=cli_env(), timeout=120)
    assert load.returncode != 0 and "Traceback" not in load.stderr
    # with room again, the same command completes the folder
    proc = subprocess.run([sys.executable, "-m", "younger_graph.cli", "extract", str(sample_dir), "--out",
                           str(out), "-j", "1"], capture_output=True, text=True, env=cli_env(), timeout=300)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["models"] == len(list(sample_dir.glob("*.onnx")))


_KILLED_AT_START = """
import os, signal, sys
from younger_graph.extract import extract
def die(done, total, result):
    os.kill(os.getpid(), signal.SIGKILL)  # killed once the run has opened its folder, before any model
extract([sys.argv[1]], sys.argv[2], workers=1, on_progress=die)
"""


def test_a_fresh_extraction_killed_early_leaves_no_empty_tables(tmp_path):
    out = tmp_path / "out"
    model = write_model(make_model([oh.make_node("Relu", ["x"], ["y"])], ["x"], ["y"]), tmp_path / "m.onnx")
    proc = subprocess.run([sys.executable, "-c", _KILLED_AT_START, str(model), str(out)], env=cli_env(), timeout=120)
    assert proc.returncode == -signal.SIGKILL
    # nothing was extracted: no tables, no manifest (they would say "0 models" and load would accept them)
    assert not (out / "manifest.json").exists()
    assert not any((out / f"{t}.parquet").exists() for t in ("models", "graphs", "operators", "edges"))
