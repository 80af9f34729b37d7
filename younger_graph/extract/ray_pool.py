"""`extract --executor ray`: model sources as tasks on a Ray cluster (docs/scale.md).

Each task runs the local pool's per-source function (`worker.run_one`) on a batch of consecutive
sources in a Ray worker and returns their results (rows and Arrow tables) through Ray's object
store; the driver absorbs them in source order exactly as it absorbs the local pool's, so the four
tables are the same row for row whichever executor ran. Only the driver writes the tables: workers
need to read the sources, never the output folder.

Faults: Ray retries a task whose worker died (`TASK_RETRIES`); a batch that still fails is split
and each of its sources retried alone, and a source that fails alone becomes an error row naming
the cause. No source is ever silently missing.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from younger_graph.errors import ExecutorError, first_line
from younger_graph.extract.sources import Source
from younger_graph.extract.worker import failed_source, init_worker, run_one
from younger_graph.loaders.results import ModelResult

TASK_RETRIES = 3  # Ray's own retries of a task whose worker process died
BATCH_SOURCES = 16  # sources per task: amortises Ray's per-task cost over small models
BATCH_BYTES = 64 << 20  # ... and at most this many bytes of files per task
IN_FLIGHT_PER_CPU = 2  # batches submitted ahead per cluster CPU: bounds the driver's memory
LOCAL_OBJECT_STORE = 512 << 20  # a local runtime's shared memory; results are absorbed as they come
CONNECT_TIMEOUT_S = 5.0


def extract_batch(sources: list[Source], known_content: frozenset[str], infer_shapes: bool) -> list[ModelResult]:
    """A Ray task: the local pool's per-source function over consecutive sources."""
    init_worker(known_content, infer_shapes)
    return [run_one(source) for source in sources]


class RayPool:
    """A Ray session for one extraction: connects (or starts a local runtime) on entry, before anything
    is written, and shuts down on exit what it started."""

    def __init__(self, address: str | None, workers: int | None) -> None:
        # Ray's own convention: no address given means $RAY_ADDRESS when set (then no local runtime).
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.workers = workers
        self._ray: Any = None
        self._started = False

    def __enter__(self) -> RayPool:
        try:
            import ray
        except ImportError:
            raise ExecutorError("Ray is not installed: pip install 'younger-graph[ray]'") from None
        self._ray = ray
        if ray.is_initialized():  # a caller's own session (notebooks, tests): use it, leave it running
            return self
        if self.address and self.address != "auto":
            check_reachable(self.address)
        try:
            ray.init(**self._init_args())
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray runtime"
            raise ExecutorError(f"cannot start or reach {where}: {first_line(exc)}") from None
        self._started = True
        return self

    def _init_args(self) -> dict[str, Any]:
        quiet = {"log_to_driver": False, "logging_level": "ERROR"}
        if self.address:  # a cluster: its nodes decide CPUs and memory
            return {"address": self.address, **quiet}
        return {"num_cpus": self.workers or os.cpu_count() or 1, "object_store_memory": LOCAL_OBJECT_STORE,
                "include_dashboard": False, **quiet}

    def __exit__(self, *exc: object) -> None:
        if self._started:
            self._ray.shutdown()

    def results(self, tasks: list[Source], known_content: frozenset[str], infer_shapes: bool,
                costs: list[float]) -> Iterator[ModelResult]:
        """Results in source order; batches run ahead on the cluster, at most a bounded window of them."""
        ray = self._ray
        remote = ray.remote(max_retries=TASK_RETRIES)(extract_batch)
        known_ref = ray.put(known_content)
        batches = make_batches(tasks, costs)
        window = max(2, IN_FLIGHT_PER_CPU * int(ray.cluster_resources().get("CPU", 1)))
        futures: dict[int, Any] = {}
        submitted = 0
        try:
            for i, batch in enumerate(batches):
                while submitted < len(batches) and submitted < i + window:
                    futures[submitted] = remote.remote(batches[submitted], known_ref, infer_shapes)
                    submitted += 1
                yield from self._collect(futures.pop(i), batch, remote, known_ref, infer_shapes)
        finally:  # stopped early (--strict, an error): cancel what nobody will absorb
            for future in futures.values():
                ray.cancel(future, force=True)

    def _collect(self, future: Any, batch: list[Source], remote: Any, known_ref: Any,
                 infer_shapes: bool) -> list[ModelResult]:
        ray = self._ray
        try:
            return ray.get(future)
        except ray.exceptions.RayError as exc:
            if len(batch) == 1:
                return [failed_source(batch[0], f"the Ray task failed: {task_error(exc)}")]
        # A batch that failed after Ray's retries: each source alone, so one bad source fails only itself.
        singles = [remote.remote([source], known_ref, infer_shapes) for source in batch]
        out = []
        for source, single in zip(batch, singles):
            try:
                out.extend(ray.get(single))
            except ray.exceptions.RayError as exc:
                out.append(failed_source(source, f"the Ray task failed: {task_error(exc)}"))
        return out


def make_batches(tasks: list[Source], costs: list[float]) -> list[list[Source]]:
    """Consecutive sources, up to BATCH_SOURCES and BATCH_BYTES per batch; a zoo export (cost inf)
    or a file over the byte limit is a batch of its own."""
    batches: list[list[Source]] = []
    current: list[Source] = []
    size = 0.0
    for source, cost in zip(tasks, costs):
        if current and (len(current) >= BATCH_SOURCES or size + cost > BATCH_BYTES):
            batches.append(current)
            current, size = [], 0.0
        current.append(source)
        size += cost
    if current:
        batches.append(current)
    return batches


def task_error(exc: BaseException) -> str:
    """One line for a failed Ray task: worker crashes name their cause, task errors their exception."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {first_line(cause, 200)}"
    return f"{type(exc).__name__}: {first_line(exc, 200)}"


def check_reachable(address: str) -> None:
    """Fail fast (one line) when nothing listens at a cluster address: Ray itself waits a minute."""
    parsed = urlparse(address if "://" in address else f"ray://{address}")
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError:
        host, port = None, None
    if not host or not port:
        raise ExecutorError(f"bad Ray address {address!r}: expected host:port, ray://host:port or auto")
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise ExecutorError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None
