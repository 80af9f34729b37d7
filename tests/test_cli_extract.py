"""The `younger-graph` console script, run as a real subprocess: extract, inspect, hash."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import onnx
import pyarrow.parquet as pq
import pytest
from conftest import cli_env, make_model, tensor_vi, write_model
from onnx import TensorProto
from onnx import helper as oh
from onnx_recount import recount
from younger_graph.loaders.onnx_files import extract_file


def _console_script() -> list[str]:
    beside = Path(sys.executable).with_name("younger-graph")
    found = str(beside) if beside.exists() else shutil.which("younger-graph")
    return [found] if found else [sys.executable, "-m", "younger_graph.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*_console_script(), *args], capture_output=True, text=True, env=cli_env(),
                          cwd=cwd, timeout=180)


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


SUMMARY = re.compile(r"(\d+) ok, (\d+) failed, (\d+) duplicates")



def _models(folder: Path) -> list[Path]:
    relu = make_model([oh.make_node("Relu", ["x"], ["h"]), oh.make_node("Mul", ["h", "h"], ["y"])],
                      [tensor_vi("x", TensorProto.FLOAT, [1, 4])], ["y"])
    sub = make_model([oh.make_node("Split", ["x"], ["a", "b"], axis=0, num_outputs=2),
                      oh.make_node("Sub", ["b", "a"], ["y"])], ["x"], ["y"], opset=18)
    return [write_model(relu, folder / "relu.onnx"), write_model(sub, folder / "sub.onnx")]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    _models(tmp_path / "corpus")
    return tmp_path / "corpus"


# -- extract ------------------------------------------------------------------------------------
def test_extract_all_ok_exits_0(corpus: Path, tmp_out: Path):
    proc = run("extract", str(corpus), "--out", str(tmp_out), "-j", "1")
    assert proc.returncode == 0, proc.stderr
    assert SUMMARY.search(proc.stdout).groups() == ("2", "0", "0")
    assert pq.read_table(tmp_out / "models.parquet").num_rows == 2
    assert "Traceback" not in proc.stderr


def _with_a_bad_file(corpus: Path) -> None:
    (corpus / "broken.onnx").write_bytes(b"\x08\x07garbage that is not protobuf\xff\xff")
    write_model(onnx.load(str(corpus / "relu.onnx")), corpus / "relu_copy.onnx")


def test_extract_with_failures_reports_them(corpus: Path, tmp_out: Path):
    _with_a_bad_file(corpus)
    proc = run("extract", str(corpus), "--out", str(tmp_out), "-j", "2")
    assert SUMMARY.search(proc.stdout).groups() == ("3", "1", "1")
    errors = [line for line in lines(proc.stderr) if "broken.onnx" in line]
    assert len(errors) == 1 and "error" in errors[0]
    assert "Traceback" not in proc.stderr
    models = pq.read_table(tmp_out / "models.parquet").to_pylist()
    assert sorted(m["status"] for m in models) == ["error", "ok", "ok", "ok"]


def test_extract_with_failures_exits_1(corpus: Path, tmp_out: Path):
    _with_a_bad_file(corpus)
    assert run("extract", str(corpus), "--out", str(tmp_out)).returncode == 1


def test_extract_json_summary(corpus: Path, tmp_out: Path):
    (corpus / "empty.onnx").write_bytes(b"")
    proc = run("extract", str(corpus), "--out", str(tmp_out), "--format", "json", "-j", "1")
    summary = json.loads(proc.stdout)
    assert (summary["ok"], summary["failed"], summary["duplicates"]) == (2, 1, 0)
    assert summary["errors"][0]["source"].endswith("empty.onnx")
    assert summary["tables"]["models"] == 3


def test_extract_strict_stops_with_exit_1(corpus: Path, tmp_out: Path):
    bad = corpus / "a_first_and_bad.onnx"
    bad.write_bytes(b"")
    proc = run("extract", str(bad), str(corpus), "--out", str(tmp_out), "--strict", "-j", "1")
    assert proc.returncode == 1
    assert "strict" in proc.stderr and "Traceback" not in proc.stderr


def test_missing_out_is_a_one_line_usage_error(corpus: Path):
    proc = run("extract", str(corpus))
    assert proc.returncode == 2
    assert len(lines(proc.stderr)) == 1, proc.stderr
    assert "out" in proc.stderr.lower() and "Traceback" not in proc.stderr


def test_internal_error_is_one_line_unless_debug(corpus: Path, tmp_path: Path):
    meta_is_a_directory = tmp_path / "meta.csv"
    meta_is_a_directory.mkdir()
    plain = run("extract", str(corpus), "--out", str(tmp_path / "o1"), "--meta", str(meta_is_a_directory))
    assert plain.returncode == 2
    assert len(lines(plain.stderr)) == 1 and "Traceback" not in plain.stderr
    debug = run("--debug", "extract", str(corpus), "--out", str(tmp_path / "o2"), "--meta",
                str(meta_is_a_directory))
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr
    assert "IsADirectoryError" in debug.stderr


# -- inspect and hash ---------------------------------------------------------------------------
def test_inspect_shows_op_types_and_graph_id(corpus: Path):
    model = corpus / "relu.onnx"
    proc = run("inspect", str(model))
    assert proc.returncode == 0, proc.stderr
    graph_id = extract_file(str(model)).row["graph_id"]
    assert graph_id in proc.stdout
    for op in ("Relu", "Mul"):
        assert re.search(rf"\b{op}\b", proc.stdout)


def test_inspect_json(corpus: Path):
    model = corpus / "sub.onnx"
    proc = run("inspect", str(model), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {"source", "graph_id", "graph_id_noattr", "num_operators", "num_edges", "num_inputs",
            "num_outputs", "op_types", "scopes", "opsets", "ir_version"} <= set(data)
    rc = recount(onnx.load(str(model)))
    assert data["op_types"] == {op: n for (_, op), n in rc.op_types.items()}
    assert (data["num_operators"], data["num_edges"]) == (rc.operators, rc.edges)
    assert re.fullmatch(r"[0-9a-f]{32}", data["graph_id"])


def test_hash_prints_one_line_per_model_matching_inspect(corpus: Path):
    a, b = corpus / "relu.onnx", corpus / "sub.onnx"
    proc = run("hash", str(a), str(b))
    assert proc.returncode == 0, proc.stderr
    out = lines(proc.stdout)
    assert len(out) == 2
    inspected = json.loads(run("inspect", str(a), "--format", "json").stdout)
    for line, path in zip(out, (a, b)):
        m = re.fullmatch(r"([0-9a-f]{32})  (.+)", line)
        assert m, line
        assert m.group(2) == str(path)
        assert m.group(1) == extract_file(str(path)).row["graph_id"]
    assert out[0].split()[0] == inspected["graph_id"]
    assert out[0].split()[0] != out[1].split()[0]
    noattr = lines(run("hash", "--noattr", str(a)).stdout)[0].split()[0]
    assert noattr == inspected["graph_id_noattr"] != inspected["graph_id"]


def test_hash_of_a_bad_file_prints_an_error_line(corpus: Path, tmp_path: Path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"")
    proc = run("hash", str(corpus / "relu.onnx"), str(bad))
    assert len(lines(proc.stdout)) == 1 and lines(proc.stdout)[0].endswith("relu.onnx")
    errors = lines(proc.stderr)
    assert len(errors) == 1 and "bad.onnx" in errors[0] and "empty" in errors[0]
    assert "Traceback" not in proc.stderr


def test_hash_of_a_bad_file_exits_1(tmp_path: Path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"")
    assert run("hash", str(bad)).returncode == 1


def test_inspect_of_a_bad_file_is_one_error_line(tmp_path: Path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00" * 10)
    proc = run("inspect", str(bad))
    assert proc.returncode != 0
    assert len(lines(proc.stderr)) == 1 and "bad.onnx" in proc.stderr and "Traceback" not in proc.stderr
