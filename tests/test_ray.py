"""`extract --executor ray` on a real local multi-process Ray (ray.init(num_cpus=2)): same tables as the
local executor row for row, resumable, a killed worker's files retried, a task that keeps failing
reported as error rows, an unreachable cluster refused before anything is written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import cli_env

from younger_graph.extract import extract
from younger_graph.extract.sources import Source

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("models", "graphs", "operators", "edges")


@pytest.fixture(scope="module")
def ray_session():
    """One local Ray runtime for the module (starting one costs 20-40 s here); extract() uses it."""
    ray.init(num_cpus=2, object_store_memory=96 << 20, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory, onnx_backend_models: list[Path]) -> list[str]:
    """The sample, some backend models and a broken file (a failure is a row on both executors)."""
    bad = tmp_path_factory.mktemp("bad") / "broken.onnx"
    bad.write_bytes(b"not a model")
    return [str(ROOT / "sample"), *map(str, onnx_backend_models[:40]), str(bad)]


def _same_tables(a: Path, b: Path) -> None:
    for table in TABLES:
        left, right = pq.read_table(a / f"{table}.parquet"), pq.read_table(b / f"{table}.parquet")
        assert left.num_rows == right.num_rows, table
        assert left.equals(right), table


def test_ray_writes_the_same_tables_as_local_and_resumes(ray_session, sources: list[str], tmp_path: Path) -> None:
    local = extract(sources, tmp_path / "local", workers=2)
    remote = extract(sources, tmp_path / "ray", workers=2, executor="ray")
    assert (remote.ok, remote.failed, remote.duplicates, remote.new_graphs) == \
        (local.ok, local.failed, local.duplicates, local.new_graphs)
    assert local.failed == 1 and local.ok > 60
    _same_tables(tmp_path / "local", tmp_path / "ray")
    again = extract(sources, tmp_path / "ray", workers=2, executor="ray")  # resumable: nothing new
    assert again.ok == 0 and again.new_graphs == 0 and again.skipped == local.ok
    _same_tables(tmp_path / "local", tmp_path / "ray")


def _worker_pids() -> list[int]:
    """Ray workers running our task (Ray titles a busy worker `ray::<function>`)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if cmdline.startswith(b"ray::extract_batch"):
                pids.append(int(entry))
    return pids


def _kill_one_worker(done: threading.Event, killed: list[int]) -> None:
    while not done.is_set() and not killed:
        for pid in _worker_pids():
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            break
        time.sleep(0.005)


def test_a_worker_killed_mid_task_is_retried(ray_session, sample_models: list[Path], tmp_path: Path) -> None:
    files = [str(p) for p in sample_models[:16]]  # one batch: about a second of work in one worker
    extract(files, tmp_path / "local", workers=1)
    for attempt in range(3):  # the kill must land while the task runs; a fast task may finish first
        killed: list[int] = []
        done = threading.Event()
        thread = threading.Thread(target=_kill_one_worker, args=(done, killed))
        thread.start()
        try:
            summary = extract(files, tmp_path / f"ray{attempt}", executor="ray")
        finally:
            done.set()
            thread.join()
        if killed:
            assert summary.failed == 0
            _same_tables(tmp_path / "local", tmp_path / f"ray{attempt}")
            return
    pytest.fail("no Ray worker was caught running the task in 3 attempts")


def _die(_sources: list[Source], _known: frozenset[str], _infer: bool) -> list:  # a task whose worker dies
    os._exit(1)


def test_a_task_that_keeps_failing_is_reported_per_source(ray_session) -> None:
    from younger_graph.extract.ray_pool import RayPool

    pool = RayPool(None, 2)
    pool._ray = ray
    crash = ray.remote(max_retries=0)(_die)
    batch = [Source("file", "/models/a.onnx"), Source("file", "/models/b.onnx")]
    results = pool._collect(crash.remote(batch, frozenset(), False), batch, crash, ray.put(frozenset()), False)
    assert [r.row["source"] for r in results] == ["/models/a.onnx", "/models/b.onnx"]
    assert all(r.row["status"] == "error" and "the Ray task failed" in r.row["error"] for r in results)


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "younger_graph.cli", *args], capture_output=True, text=True,
                          env=cli_env(**env), timeout=120)


def test_an_unreachable_cluster_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = _cli("extract", str(ROOT / "sample"), "--out", str(out), "--executor", "ray", "--address", "127.0.0.1:9")
    assert r.returncode == 2
    assert "cannot reach the Ray cluster at 127.0.0.1:9" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()
    r = _cli("extract", str(ROOT / "sample"), "--out", str(out), "--executor", "ray", RAY_ADDRESS="127.0.0.1:9")
    assert r.returncode == 2 and "cannot reach the Ray cluster at 127.0.0.1:9" in r.stderr  # Ray's own variable
    assert not out.exists()


@pytest.mark.parametrize(("args", "message"), [
    (("--executor", "spark"), "--executor must be one of local, ray"),
    (("--address", "127.0.0.1:6379"), "--address needs --executor ray"),
    (("--executor", "ray", "--address", "nowhere"), "bad Ray address"),
])
def test_bad_executor_options(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    out = tmp_path / "out"
    r = _cli("extract", str(ROOT / "sample"), "--out", str(out), *args)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert not out.exists()
