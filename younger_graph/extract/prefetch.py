"""Read and hash the next model files in a background thread while this one is extracted.

Reading a file and its sha256 (`content_sha256`) are most of the per-byte cost of extraction on
weight-carrying models (the parse skips the weights, see lean.py), and both release the GIL: a
thread does them for the next file while the main thread parses and walks the current one. Files
are read into one reused buffer, sized once for the largest file (a fresh one per file would fault
its memory in every time), and handed back by `FileBytes.release()` as soon as the main thread has
parsed the bytes, which is early: the walk and the tables come after.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType

from younger_graph.loaders.onnx_files import Buffer, FileBytes, new_buffer, read_and_hash

_DONE = object()


class Prefetcher:
    """`for read in Prefetcher(paths)` yields `read_and_hash(path)` for each path, in order."""

    def __init__(self, paths: Sequence[str]) -> None:
        self._paths = list(paths)
        self._ready: queue.Queue[FileBytes | BaseException | object] = queue.Queue()
        self._free: queue.Queue[Buffer] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="younger-graph-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._free.put(new_buffer(_largest_file(self._paths)))
            for path in self._paths:
                buffer = self._next_free()
                if buffer is None:
                    return
                read = read_and_hash(path, buffer)
                data = read.data
                # A file bigger than the buffer came in a new one: keep that one from now on.
                read.release = self._releaser(data.obj if isinstance(data, memoryview) else buffer)
                self._ready.put(read)
            self._ready.put(_DONE)
        except BaseException as exc:  # a bug here must not leave the consumer waiting forever
            self._ready.put(exc)

    def _next_free(self) -> Buffer | None:
        while not self._stop.is_set():
            try:
                return self._free.get(timeout=0.1)
            except queue.Empty:
                continue
        return None

    def _releaser(self, buffer: Buffer) -> Callable[[], None]:
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._free.put(buffer)

        return release

    def __iter__(self) -> Iterator[FileBytes]:
        while True:
            item = self._ready.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, FileBytes)
            yield item

    def close(self) -> None:
        """Stop reading ahead (the consumer gave up early: --strict, an interrupt). The thread ends
        after the file it is reading, on its own (a daemon: it never delays the exit)."""
        self._stop.set()

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _largest_file(paths: Sequence[str]) -> int:
    largest = 0
    for path in paths:
        try:
            largest = max(largest, os.stat(path).st_size)
        except OSError:  # reported when the file is read
            continue
    return largest
