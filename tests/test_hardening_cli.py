"""The command line under hostile conditions (issue #11): errors without optional packages, full
disks behind stdout and --out, parameters out of range, and what people read (inspect, graphs_with_path)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cli_env, make_model, write_model
from onnx import helper as oh

from younger_graph.extract import extract
from younger_graph.store import open_store

# The CLI with `click` made unimportable: the plain install (typer without click) must still print
# its errors as one line. A None entry in sys.modules makes `import click` raise ImportError.
_WITHOUT_CLICK = """
import sys
sys.modules["click"] = None
sys.argv = ["younger-graph", *sys.argv[1:]]
from younger_graph.cli import main
main()
"""

# Writes past a file-size limit fail (EFBIG) instead of killing the process: a full disk, portably.
_LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.argv = ["younger-graph", *sys.argv[2:]]
from younger_graph.cli import main
main()
"""


def run(*args: str, stdout=subprocess.PIPE) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "younger_graph.cli", *args], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, env=cli_env(), timeout=300)


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    return [line for line in proc.stderr.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    relu = make_model([oh.make_node("Conv", ["x", "w"], ["h"]), oh.make_node("Relu", ["h"], ["y"])],
                      ["x", "w"], ["y"])
    for name in ("a", "b"):
        write_model(relu, folder / "m" / f"{name}.onnx")
    write_model(make_model([oh.make_node("Neg", ["x"], ["y"])], ["x"], ["y"]), folder / "m" / "c.onnx")
    extract([folder / "m"], folder / "t", workers=1)
    with open_store(folder / "store.db", write=True) as store:
        store.load(folder / "t")
    return folder / "store.db"


# -- D1: errors on an install without optional packages ---------------------------------------------
def test_errors_are_one_line_without_click(tmp_path: Path) -> None:
    def without_click(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", _WITHOUT_CLICK, *args], capture_output=True, text=True,
                              env=cli_env(), timeout=300)

    proc = without_click("query", "overview", "--db", str(tmp_path / "nonexistent.db"))
    assert proc.returncode == 2 and len(error_lines(proc)) == 1, proc.stderr
    proc = without_click("queries", "--format", "xml")
    assert proc.returncode == 2 and len(error_lines(proc)) == 1, proc.stderr
    proc = without_click("query", "--no-such-option")
    assert proc.returncode == 2 and len(error_lines(proc)) >= 1, proc.stderr
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    write_model(make_model([oh.make_node("Relu", ["x"], ["y"])], ["x"], ["y"]), tmp_path / "good.onnx")
    proc = without_click("extract", str(tmp_path / "bad.onnx"), str(tmp_path / "good.onnx"), "--out",
                         str(tmp_path / "out"), "-j", "1")
    assert proc.returncode == 1, proc.stderr
    error_lines(proc)
    assert "1 ok, 1 failed" in proc.stdout


# -- D10: a full disk behind stdout and --out ----------------------------------------------------------
def test_query_into_a_full_disk_is_an_error(db: Path) -> None:
    with open("/dev/full", "w") as full:
        proc = run("query", "op_histogram", "--db", str(db), "-f", "csv", stdout=full)
    assert proc.returncode != 0
    lines = error_lines(proc)
    assert len(lines) == 1 and "No space left" in lines[0], proc.stderr


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_query_redirected_into_a_file_that_fills_up_is_an_error(db: Path, tmp_path: Path, fmt: str) -> None:
    big = "MATCH (o:Operator) UNWIND range(1, 2000) AS k RETURN o.op_type AS t, k"
    with open(tmp_path / "result.txt", "wb") as redirected:  # `query ... > result.txt` on a full disk
        proc = subprocess.run([sys.executable, "-c", _LIMITED, "4096", "query", big, "--db", str(db), "-f", fmt],
                              stdout=redirected, stderr=subprocess.PIPE, text=True, env=cli_env(), timeout=300)
    lines = error_lines(proc)
    assert proc.returncode != 0 and len(lines) == 1 and "File too large" in lines[0], proc.stderr


def test_out_files_on_a_full_disk_are_never_partial(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    out.write_text("the previous result\n")
    big = "MATCH (o:Operator) UNWIND range(1, 2000) AS k RETURN o.op_type AS t, k"
    proc = subprocess.run([sys.executable, "-c", _LIMITED, "4096", "query", big, "--db", str(db), "-f", "json",
                           "--out", str(out)], capture_output=True, text=True, env=cli_env(), timeout=300)
    assert proc.returncode != 0 and len(error_lines(proc)) == 1, proc.stderr
    assert out.read_text() == "the previous result\n"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]  # no temporary file left behind

    report, plots = tmp_path / "report.html", tmp_path / "plots"
    proc = subprocess.run([sys.executable, "-c", _LIMITED, "4096", "stats", "--db", str(db), "--report", str(report),
                           "--plots", str(plots)], capture_output=True, text=True, env=cli_env(), timeout=300)
    assert proc.returncode != 0 and len(error_lines(proc)) == 1, proc.stderr
    assert not report.exists()
    assert all(p.stat().st_size > 0 and not p.name.endswith(".partial") for p in plots.glob("*")), \
        sorted(p.name for p in plots.glob("*"))


# -- D12: parameters, inspect, graphs_with_path -----------------------------------------------------------
def test_an_integer_parameter_out_of_range_is_a_clear_error(db: Path) -> None:
    proc = run("query", "op_histogram", "--param", "top=99999999999999999999", "--db", str(db))
    lines = error_lines(proc)
    assert proc.returncode == 2 and len(lines) == 1
    assert "parameter top must be between" in lines[0], lines


def test_inspect_labels_never_run_into_their_values(tmp_path: Path) -> None:
    init = oh.make_tensor("w", 1, [2], [1.0, 2.0])
    model = make_model([oh.make_node("Add", ["x", "w"], ["y"])], ["x"], ["y"], [init])
    write_model(model, tmp_path / "m.onnx")
    proc = run("inspect", str(tmp_path / "m.onnx"))
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.startswith("num_")]
    assert ["num_initializers", "1"] in rows, proc.stdout
    assert all(len(r) == 2 for r in rows), rows


def test_graphs_with_path_names_the_models(db: Path) -> None:
    with open_store(db) as store:
        df = store.query("graphs_with_path", ops=["Conv", "Relu"])
    assert list(df.columns) == ["graph_id", "occurrences", "models"]
    assert len(df) == 1 and sorted(df["models"][0]) == ["a", "b"]
