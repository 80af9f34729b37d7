"""Worker processes whose death fails one model, never the batch.

A worker killed from outside (the kernel's OOM killer, SIGKILL) breaks a `ProcessPoolExecutor`:
every task still pending fails with `BrokenProcessPool`, and nothing says which one the dead
worker was running. So each worker marks, in memory shared with the parent, the tasks it starts
and finishes. After a break:

- results that arrived before it are kept;
- tasks started but not finished were in flight in some worker (the killed one among them, the
  others stopped by the pool's shutdown): each runs again alone, in a fresh one-worker pool; one
  that kills its worker again gets `killed(task)`, the file's own failed row;
- every other task goes to a fresh pool, and the batch goes on.

Results come back in task order, whatever order they were submitted in (`order`).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from younger_graph.errors import YoungerGraphError

T = TypeVar("T")
R = TypeVar("R")

_STARTED, _FINISHED = 1, 2
_MARKS: dict[str, Any] = {"marks": None}  # this worker's view of the shared task marks


def _init(marks: Any, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
    _MARKS["marks"] = marks
    initializer(*initargs)


def _tracked(fn: Callable[[T], R], i: int, task: T) -> R:
    marks = _MARKS["marks"]
    marks[i] = _STARTED
    try:
        return fn(task)
    finally:
        marks[i] = _FINISHED


def ordered_results(tasks: Sequence[T], order: Sequence[int], workers: int, fn: Callable[[T], R],
                    initializer: Callable[..., None], initargs: tuple[Any, ...],
                    killed: Callable[[T], R]) -> Iterator[R]:
    """fn(task) for every task in worker processes, yielded in task order (see the module docstring).
    Tasks are submitted in `order`; `killed(task)` is the result of a task that kills its worker twice."""
    ready: dict[int, R] = {}
    todo = list(order)
    next_i = 0
    fruitless = 0  # breaks in a row in which no worker had started anything
    while next_i < len(tasks):
        if next_i in ready:
            yield ready.pop(next_i)
            next_i += 1
            continue
        marks = multiprocessing.RawArray("b", len(tasks))
        pool = ProcessPoolExecutor(workers, initializer=_init, initargs=(marks, initializer, initargs))
        futures: dict[int, Future[R]] = {}
        broken = False
        try:
            for i in todo:
                futures[i] = pool.submit(_tracked, fn, i, tasks[i])
        except BrokenProcessPool:  # a worker died before every task was even handed over
            broken = True
        try:
            while not broken and next_i < len(tasks):
                if next_i in ready:
                    result = ready.pop(next_i)
                else:
                    try:
                        result = futures[next_i].result()
                    except BrokenProcessPool:
                        broken = True
                        break
                    del futures[next_i]
                yield result
                next_i += 1
        finally:  # stopped early (--strict, an error) or broken: do not wait for tasks nobody will absorb
            pool.shutdown(wait=True, cancel_futures=True)
        if broken:
            todo = _after_break(futures, marks, todo, ready)
            suspects = [i for i in todo if marks[i] == _STARTED]
            fruitless = 0 if suspects or any(marks) else fruitless + 1
            if fruitless >= 3:
                raise YoungerGraphError("worker processes keep dying before they start a model; "
                                        "try --workers 1")
            for i in suspects:
                ready[i] = _alone(fn, tasks[i], initializer, initargs, killed)
            todo = [i for i in todo if i not in ready]


def _after_break(futures: dict[int, Future[Any]], marks: Any, todo: list[int], ready: dict[int, Any]) -> list[int]:
    """Keep the results that arrived before the break; return what still has to run, in order."""
    left = []
    for i in todo:
        future = futures.get(i)
        if future is None:  # yielded already
            continue
        if future.done() and not future.cancelled() and future.exception() is None:
            ready[i] = future.result()
        else:
            left.append(i)
    return left


def _alone(fn: Callable[[T], R], task: T, initializer: Callable[..., None], initargs: tuple[Any, ...],
           killed: Callable[[T], R]) -> R:
    """Run one task in a pool of its own: if its worker dies again, the task is what kills it."""
    with ProcessPoolExecutor(1, initializer=initializer, initargs=initargs) as solo:
        try:
            return solo.submit(fn, task).result()
        except BrokenProcessPool:
            return killed(task)
