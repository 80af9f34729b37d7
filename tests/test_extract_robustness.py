"""Batch extraction never stops for a bad file, resumes after crashes, and is worker-count independent."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pyarrow.parquet as pq
import pytest
from conftest import make_model, tensor_vi, write_model
from onnx import TensorProto
from onnx import helper as oh
from younger_graph.loaders.onnx_files import extract_file

from younger_graph.extract import StrictError, extract
from younger_graph.schema import TABLE_NAMES
from younger_graph.tables import TableDir

FLOAT = TensorProto.FLOAT


# -- corpora ------------------------------------------------------------------------------------
def _chain(ops: list[str], width: int = 4) -> onnx.ModelProto:
    nodes, prev = [], "x"
    for k, op in enumerate(ops):
        out = "y" if k == len(ops) - 1 else f"h{k}"
        nodes.append(oh.make_node(op, [prev], [out], name=f"{op}_{k}"))
        prev = out
    return make_model(nodes, [tensor_vi("x", FLOAT, [1, width])], [tensor_vi("y", FLOAT, [1, width])])


def _dense(seed: int, size: int = 64) -> onnx.ModelProto:
    w = onnx.numpy_helper.from_array(np.random.default_rng(seed).normal(size=(size, size)).astype(np.float32), "W")
    nodes = [oh.make_node("MatMul", ["x", "W"], ["h"]), oh.make_node("Relu", ["h"], ["y"])]
    return make_model(nodes, [tensor_vi("x", FLOAT, [1, size])], ["y"], [w])


def good_models() -> dict[str, onnx.ModelProto]:
    return {
        "a_relu.onnx": _chain(["Relu"]),
        "b_chain.onnx": _chain(["Relu", "Neg", "Sigmoid"]),
        "c_dense.onnx": _dense(0),
        "d_tanh.onnx": _chain(["Tanh", "Abs"]),
    }


def write_good(folder: Path) -> list[Path]:
    return [write_model(m, folder / name) for name, m in good_models().items()]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(message_type, name: str, payload: bytes) -> bytes:
    """A length-delimited field in wire format: appending it to a serialized message sets it."""
    number = message_type.DESCRIPTOR.fields_by_name[name].number
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def nested_if_bytes(depth: int) -> bytes:
    """If inside If `depth` levels deep, serialized directly (protobuf refuses to *build* it in memory)."""
    def leaf(name: str) -> onnx.GraphProto:
        return oh.make_graph([oh.make_node("Identity", ["x"], [name])], name, [], [tensor_vi(name)])

    inner = leaf(f"y{depth}").SerializeToString()
    for d in range(depth - 1, -1, -1):
        node = oh.make_node("If", ["c"], [f"y{d}"], else_branch=leaf(f"e{d}"))
        then = onnx.AttributeProto(name="then_branch", type=onnx.AttributeProto.GRAPH).SerializeToString()
        node_bytes = node.SerializeToString() + _field(onnx.NodeProto, "attribute",
                                                       then + _field(onnx.AttributeProto, "g", inner))
        outputs = [tensor_vi(f"y{d}")]
        if d:
            inner = oh.make_graph([], f"g{d}", [], outputs).SerializeToString() + _field(
                onnx.GraphProto, "node", node_bytes)
    main = oh.make_graph([], "main", [tensor_vi("c", TensorProto.BOOL, []), tensor_vi("x")], outputs)
    model = oh.make_model(main, opset_imports=[oh.make_opsetid("", 17)])
    model.ClearField("graph")
    return model.SerializeToString() + _field(
        onnx.ModelProto, "graph", main.SerializeToString() + _field(onnx.GraphProto, "node", node_bytes))


def huge_attribute_model() -> onnx.ModelProto:
    node = oh.make_node("Custom", ["x"], ["y"], name="huge", domain="com.example",
                        text="α" * (5 * 1024 * 1024 // 2), many=list(range(2_000_000)))
    return make_model([node], ["x"], ["y"], domains=["com.example"])


def cyclic_model() -> onnx.ModelProto:
    nodes = [oh.make_node("Add", ["x", "b"], ["a"], name="A"), oh.make_node("Relu", ["a"], ["b"], name="B")]
    return make_model(nodes, ["x"], ["a"])


def write_bad(folder: Path) -> dict[str, str]:
    """Bad files → a word their error must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.onnx").write_bytes(b"")
    (folder / "random.onnx").write_bytes(random.Random(0).randbytes(4096))
    whole = _dense(1, 96).SerializeToString()
    (folder / "truncated.onnx").write_bytes(whole[: len(whole) // 2])
    os.symlink("loop.onnx", folder / "loop.onnx")
    os.symlink("no-such-target.onnx", folder / "dangling.onnx")
    write_model(cyclic_model(), folder / "cyclic.onnx")
    (folder / "deep80.onnx").write_bytes(nested_if_bytes(80))
    (folder / "nograph.onnx").write_bytes(onnx.ModelProto(ir_version=8, producer_name="x").SerializeToString())
    write_model(make_model([], [], []), folder / "emptygraph.onnx")
    (folder / "linked_dir").mkdir()
    os.symlink("linked_dir", folder / "dirlink.onnx")
    return {
        "empty.onnx": "empty",
        "random.onnx": "not a valid ONNX protobuf",
        "truncated.onnx": "not a valid ONNX protobuf",
        "loop.onnx": "symbolic link loop",
        "dangling.onnx": "does not exist",
        "cyclic.onnx": "cycle",
        "deep80.onnx": "nest",
        "nograph.onnx": "no ONNX graph",
        "emptygraph.onnx": "empty",
        "dirlink.onnx": "directory",
    }


def rows(out: Path, table: str) -> list[dict]:
    return pq.read_table(out / f"{table}.parquet").to_pylist()


def all_rows(out: Path) -> dict[str, list[dict]]:
    return {t: rows(out, t) for t in TABLE_NAMES}


# -- a batch of good and bad files --------------------------------------------------------------
def test_bad_files_become_error_rows_and_the_batch_goes_on(tmp_path, tmp_out):
    corpus = tmp_path / "corpus"
    good = write_good(corpus)
    bad = write_bad(corpus)
    write_model(huge_attribute_model(), corpus / "huge.onnx")
    (corpus / "deep30.onnx").write_bytes(nested_if_bytes(30))
    (corpus / "x.onnx").mkdir()  # a directory named like a model is walked (empty here), not read
    summary = extract([corpus], tmp_out, workers=2)

    models = {Path(m["source"]).name: m for m in rows(tmp_out, "models")}
    assert set(models) == {p.name for p in good} | set(bad) | {"huge.onnx", "deep30.onnx"}
    for name, word in bad.items():
        m = models[name]
        assert m["status"] == "error", name
        assert word in m["error"], (name, m["error"])
        assert "\n" not in m["error"] and "Traceback" not in m["error"], m["error"]
        assert len(m["error"]) < 200 and m["graph_id"] is None
    for name in [p.name for p in good] + ["huge.onnx", "deep30.onnx"]:
        assert models[name]["status"] == "ok", (name, models[name]["error"])
        assert models[name]["error"] == ""
    n_good = len(good) + 2
    assert (summary.ok, summary.failed, summary.duplicates) == (n_good, len(bad), 0)
    assert sorted(summary.errors) == sorted((m["source"], m["error"]) for m in models.values()
                                            if m["status"] == "error")
    assert len(rows(tmp_out, "graphs")) == n_good
    counts = json.loads((tmp_out / "manifest.json").read_text())["counts"]
    assert counts["models"] == len(models) and counts["graphs"] == n_good
    assert not (tmp_out / ".parts").exists()

    # the huge attribute is stored bounded, and its size is still visible
    huge_gid = models["huge.onnx"]["graph_id"]
    huge = next(o for o in rows(tmp_out, "operators") if o["graph_id"] == huge_gid and o["name"] == "huge")
    assert len(huge["attrs"]) < 5000
    attrs = json.loads(huge["attrs"])
    assert attrs["many"]["len"] == 2_000_000
    assert str(5 * 1024 * 1024) in attrs["text"]
    # 30 levels of If: every level's operator is there, under ever longer scopes
    deep_gid = models["deep30.onnx"]["graph_id"]
    deep_ops = [o for o in rows(tmp_out, "operators") if o["graph_id"] == deep_gid]
    assert sum(o["op_type"] == "If" for o in deep_ops) == 30
    assert max(o["scope"].count("then_branch") for o in deep_ops) == 30


def test_a_directory_or_missing_path_named_explicitly(tmp_path, tmp_out):
    (tmp_path / "x.onnx").mkdir()
    result = extract_file(str(tmp_path / "x.onnx"))
    assert result.row["status"] == "error" and "directory" in result.row["error"]
    write_model(_chain(["Relu"]), tmp_path / "x.onnx" / "inside.onnx")
    summary = extract([tmp_path / "x.onnx", tmp_path / "missing.onnx"], tmp_out, workers=1)
    assert (summary.ok, summary.failed) == (1, 1)
    assert [Path(m["source"]).name for m in rows(tmp_out, "models")] == ["inside.onnx", "missing.onnx"]


_PIPE_RUN = """
import json, sys
from younger_graph.extract import extract
s = extract([sys.argv[1]], sys.argv[2], workers=1)
print(json.dumps([s.ok, s.failed, s.errors]))
"""


def test_a_named_pipe_is_an_error_not_a_hang(tmp_path, tmp_out):
    corpus = tmp_path / "corpus"
    write_good(corpus)
    os.mkfifo(corpus / "pipe.onnx")  # opening it for reading would wait for a writer forever
    # in a subprocess with a deadline, so a regression fails instead of hanging the test session
    proc = subprocess.run([sys.executable, "-c", _PIPE_RUN, str(corpus), str(tmp_out)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    ok, failed, errors = json.loads(proc.stdout)
    assert (ok, failed) == (4, 1)
    assert errors[0][0].endswith("pipe.onnx") and "not a regular file" in errors[0][1]


def test_a_single_path_given_as_a_string(tmp_path, tmp_out):
    path = write_model(_chain(["Relu"]), tmp_path / "single.onnx")
    summary = extract(str(path), tmp_out, workers=1)
    assert (summary.ok, summary.failed) == (1, 0)
    assert extract(path, tmp_path / "again", workers=1).ok == 1


def test_strict_stops_at_the_first_bad_file_and_keeps_what_was_done(tmp_path, tmp_out):
    good = write_good(tmp_path / "good")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"")
    sources = [good[0], good[1], bad, good[2], good[3]]
    with pytest.raises(StrictError, match="empty"):
        extract(sources, tmp_out, workers=1, strict=True)
    models = rows(tmp_out, "models")
    assert [Path(m["source"]).name for m in models if m["status"] == "ok"] == [good[0].name, good[1].name]
    assert len(rows(tmp_out, "graphs")) == 2
    assert not (tmp_out / ".parts").exists()
    # the next (non-strict) run completes the rest
    summary = extract(sources, tmp_out, workers=1)
    assert (summary.ok, summary.failed, summary.skipped) == (2, 1, 2)
    assert len(rows(tmp_out, "graphs")) == 4


def test_strict_with_workers_keeps_order(tmp_path, tmp_out):
    good = write_good(tmp_path / "good")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01")
    with pytest.raises(StrictError):
        extract([good[0], bad, *good[1:]], tmp_out, workers=2, strict=True)
    ok = [Path(m["source"]).name for m in rows(tmp_out, "models") if m["status"] == "ok"]
    assert ok == [good[0].name]


# -- resume -------------------------------------------------------------------------------------
def test_rerun_skips_everything_and_changes_nothing(tmp_path, tmp_out):
    corpus = tmp_path / "corpus"
    write_good(corpus)
    first = extract([corpus], tmp_out, workers=1)
    assert (first.ok, first.skipped) == (4, 0)
    before = all_rows(tmp_out)
    again = extract([corpus], tmp_out, workers=1)
    assert (again.ok, again.failed, again.skipped, again.new_graphs) == (0, 0, 4, 0)
    assert all_rows(tmp_out) == before

    write_model(_chain(["Exp", "Log"]), corpus / "e_new.onnx")
    third = extract([corpus], tmp_out, workers=1)
    assert (third.ok, third.skipped, third.new_graphs) == (1, 4, 1)
    after = all_rows(tmp_out)
    assert after["models"][:4] == before["models"]
    assert Path(after["models"][4]["source"]).name == "e_new.onnx"
    assert len(after["graphs"]) == 5


def test_rerun_retries_failures_without_duplicating_rows(tmp_path, tmp_out):
    corpus = tmp_path / "corpus"
    write_good(corpus)
    (corpus / "zz_bad.onnx").write_bytes(b"")
    extract([corpus], tmp_out, workers=1)
    again = extract([corpus], tmp_out, workers=1)
    assert (again.ok, again.failed, again.skipped) == (0, 1, 4)
    models = rows(tmp_out, "models")
    assert len(models) == 5
    # the file is fixed: the next run extracts it, and its row says ok
    write_model(_chain(["Softsign"]), corpus / "zz_bad.onnx")
    fixed = extract([corpus], tmp_out, workers=1)
    assert (fixed.ok, fixed.failed) == (1, 0)
    latest = [m for m in rows(tmp_out, "models") if m["source"].endswith("zz_bad.onnx")]
    assert [m["status"] for m in latest][-1] == "ok"


def _part_from(tmp_path: Path, sources: list[Path], name: str) -> dict[str, object]:
    """The four tables of a separate, finished extraction of `sources` (to replay as a part)."""
    out = tmp_path / name
    extract(sources, out, workers=1)
    return {t: pq.read_table(out / f"{t}.parquet") for t in TABLE_NAMES}


def test_leftover_parts_are_merged_by_the_next_run(tmp_path, tmp_out):
    corpus_a, corpus_b = tmp_path / "a", tmp_path / "b"
    good = write_good(corpus_a)
    extra = [write_model(_chain(["Exp"]), corpus_b / "e.onnx"), write_model(_chain(["Log"]), corpus_b / "f.onnx"),
             write_model(good_models()["b_chain.onnx"], corpus_b / "dup_of_b.onnx")]
    clean = tmp_path / "clean"
    extract([corpus_a, corpus_b], clean, workers=1)

    extract([corpus_a], tmp_out, workers=1)
    part = _part_from(tmp_path, [corpus_b], "side")
    TableDir(tmp_out).write_part(*(part[t] for t in TABLE_NAMES))  # a batch that was never merged
    (tmp_out / ".parts" / "tmp-000042").mkdir()  # a part whose writer died before its rename
    (tmp_out / ".parts" / "tmp-000042" / "models.parquet").write_bytes(b"garbage")
    (tmp_out / ".merge-tmp").mkdir()  # a merge that died half way
    (tmp_out / ".merge-tmp" / "models.parquet").write_bytes(b"garbage")

    summary = extract([corpus_a, corpus_b], tmp_out, workers=1)
    assert (summary.ok, summary.skipped) == (0, len(good) + len(extra))
    assert all_rows(tmp_out) == all_rows(clean)
    assert not (tmp_out / ".parts").exists() and not (tmp_out / ".merge-tmp").exists()
    graphs = {g["graph_id"]: g["num_models"] for g in rows(tmp_out, "graphs")}
    dup = next(m for m in rows(tmp_out, "models") if m["source"].endswith("dup_of_b.onnx"))
    assert graphs[dup["graph_id"]] == 2


def test_crash_between_table_replacements_in_a_merge(tmp_path, tmp_out):
    corpus_a = tmp_path / "a"
    write_good(corpus_a)
    extra = [write_model(_chain(["Exp"]), tmp_path / "b" / "e.onnx")]
    extract([corpus_a], tmp_out, workers=1)
    part = _part_from(tmp_path, extra, "side")
    TableDir(tmp_out).write_part(*(part[t] for t in TABLE_NAMES))
    done = tmp_path / "done"
    shutil.copytree(tmp_out, done)
    TableDir(done).finalize()
    # the merge of tmp_out died after replacing operators and edges, before graphs and models
    for t in ("operators", "edges"):
        shutil.copy(done / f"{t}.parquet", tmp_out / f"{t}.parquet")
    TableDir(tmp_out).finalize()
    assert all_rows(tmp_out) == all_rows(done)
    assert len(rows(tmp_out, "graphs")) == 5


_KILLED_RUN = """
import os, signal, sys
import younger_graph.extract as ex
ex.FLUSH_MODELS = 1  # one part per model, so the kill lands between committed parts
kill_at = int(sys.argv[3])
def on_progress(done, total, result):
    if done == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
ex.extract([sys.argv[1]], sys.argv[2], workers=1, on_progress=on_progress)
"""


def test_sigkill_mid_run_then_resume(tmp_path, tmp_out):
    corpus = tmp_path / "corpus"
    write_good(corpus)
    for k, ops in enumerate((["Exp"], ["Log"], ["Sin", "Cos"], ["Floor"])):
        write_model(_chain(ops), corpus / f"e{k}.onnx")
    clean = tmp_path / "clean"
    extract([corpus], clean, workers=1)

    proc = subprocess.run([sys.executable, "-c", _KILLED_RUN, str(corpus), str(tmp_out), "5"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert len(TableDir(tmp_out).complete_parts()) == 4  # the 5th model was in flight
    assert not (tmp_out / "models.parquet").exists()  # nothing merged yet (no empty tables either)

    summary = extract([corpus], tmp_out, workers=1)
    assert (summary.ok, summary.skipped) == (4, 4)
    assert all_rows(tmp_out) == all_rows(clean)


# -- determinism and dedup ----------------------------------------------------------------------
def test_one_worker_and_two_workers_give_identical_tables(tmp_path):
    corpus = tmp_path / "corpus"
    write_good(corpus)
    write_bad(corpus / "bad")
    for k in range(6):
        write_model(_dense(k, 8 + k), corpus / "more" / f"dense{k}.onnx")
    write_model(good_models()["a_relu.onnx"], corpus / "more" / "copy_of_a.onnx")
    one, two = tmp_path / "one", tmp_path / "two"
    s1 = extract([corpus], one, workers=1)
    s2 = extract([corpus], two, workers=2)
    assert (s1.ok, s1.failed, s1.duplicates) == (s2.ok, s2.failed, s2.duplicates)
    assert s1.duplicates == 1
    assert all_rows(one) == all_rows(two)


def test_same_model_under_two_paths_is_one_graph_with_two_models(tmp_path, tmp_out):
    model = _dense(3)
    p1 = write_model(model, tmp_path / "x" / "first.onnx")
    p2 = write_model(model, tmp_path / "y" / "second.onnx")
    summary = extract([p1, p2], tmp_out, workers=1)
    assert (summary.ok, summary.duplicates, summary.new_graphs) == (2, 1, 1)
    models, graphs = rows(tmp_out, "models"), rows(tmp_out, "graphs")
    assert len(models) == 2 and len({m["model_id"] for m in models}) == 2
    assert len(graphs) == 1 and graphs[0]["num_models"] == 2
    assert {m["graph_id"] for m in models} == {graphs[0]["graph_id"]}
    assert len({o["graph_id"] for o in rows(tmp_out, "operators")}) == 1

    # a third copy in a later run: a new model row without re-extraction, counted on the same graph
    p3 = write_model(model, tmp_path / "z" / "third.onnx")
    later = extract([p1, p2, p3], tmp_out, workers=1)
    assert (later.ok, later.skipped, later.duplicates) == (1, 2, 1)
    models = rows(tmp_out, "models")
    third = next(m for m in models if m["source"] == str(p3))
    assert third["graph_id"] == graphs[0]["graph_id"] and third["ir_version"] == models[0]["ir_version"]
    assert rows(tmp_out, "graphs")[0]["num_models"] == 3

    # the same path named twice is one source
    again = extract([p1, p1], tmp_path / "twice", workers=1)
    assert again.ok == 1


# -- metadata sidecars --------------------------------------------------------------------------
def _meta_corpus(tmp_path: Path) -> list[Path]:
    return [write_model(m, tmp_path / "models" / name) for name, m in list(good_models().items())[:3]]


def _check_meta(out: Path) -> None:
    by_file = {Path(m["source"]).name: m for m in rows(out, "models")}
    a, b, c = by_file["a_relu.onnx"], by_file["b_chain.onnx"], by_file["c_dense.onnx"]
    assert (a["name"], a["task"], a["origin"], a["tags"]) == ("Relu net", "toy", "huggingface", "tiny;relu")
    assert a["license"] == "mit" and a["meta_status"] == "frozen"
    assert (b["name"], b["origin"], b["license"]) == ("b_chain", "github", "apache-2.0")
    assert b["task"] is None
    # no sidecar row: defaults, extra columns empty
    assert (c["name"], c["origin"], c["license"], c["status"]) == ("c_dense", None, None, "ok")


def test_metadata_csv(tmp_path, tmp_out):
    _meta_corpus(tmp_path)
    meta = tmp_path / "meta.csv"
    meta.write_text(
        "file,name,task,source,tags,license,status\n"
        "a_relu.onnx,Relu net,toy,huggingface,tiny;relu,mit,frozen\n"
        "b_chain,,,github,,apache-2.0,\n",
        encoding="utf-8",
    )
    extract([tmp_path / "models"], tmp_out, workers=1, meta=meta)
    _check_meta(tmp_out)


def test_metadata_json_list_and_keyed(tmp_path):
    _meta_corpus(tmp_path)
    entries = {
        "a_relu.onnx": {"name": "Relu net", "task": "toy", "source": "huggingface", "tags": "tiny;relu",
                        "license": "mit", "status": "frozen"},
        str(tmp_path / "models" / "b_chain.onnx"): {"source": "github", "license": "apache-2.0"},
    }
    keyed = tmp_path / "keyed.json"
    keyed.write_text(json.dumps(entries), encoding="utf-8")
    extract([tmp_path / "models"], tmp_path / "out_keyed", workers=1, meta=keyed)
    _check_meta(tmp_path / "out_keyed")

    listed = tmp_path / "listed.json"
    listed.write_text(json.dumps([{"path": k, **v} for k, v in entries.items()]), encoding="utf-8")
    extract([tmp_path / "models"], tmp_path / "out_list", workers=1, meta=listed)
    _check_meta(tmp_path / "out_list")


def test_metadata_source_column_equal_to_the_path_is_not_an_origin(tmp_path, tmp_out):
    paths = _meta_corpus(tmp_path)
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps([{"source": str(paths[0]), "task": "toy"}]), encoding="utf-8")
    extract(paths, tmp_out, workers=1, meta=meta)
    first = rows(tmp_out, "models")[0]
    assert (first["task"], first["origin"]) == ("toy", None)
