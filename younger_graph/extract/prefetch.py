"""Read and hash the next model files in a background thread while this one is extracted.

Reading a file and its sha256 (`content_sha256`) are most of the per-byte cost of extraction on
weight-carrying models (the parse skips the weights, see lean.py), and both release the GIL: a
thread does them for the next file while the main thread parses and walks the current one. Files
are read into two buffers used in turn (memory: twice the largest file), each handed back by
`FileBytes.release()` once its bytes are parsed.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType

from younger_graph.extract.model_file import FileBytes, read_and_hash

BUFFERS = 2
_DONE = object()


class Prefetcher:
    """`for read in Prefetcher(paths)` yields `read_and_hash(path)` for each path, in order."""

    def __init__(self, paths: Sequence[str]) -> None:
        self._paths = list(paths)
        self._ready: queue.Queue[FileBytes | object] = queue.Queue()
        self._free: queue.Queue[bytearray] = queue.Queue()
        for _ in range(BUFFERS):
            self._free.put(bytearray())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="younger-graph-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
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

    def _next_free(self) -> bytearray | None:
        while not self._stop.is_set():
            try:
                return self._free.get(timeout=0.1)
            except queue.Empty:
                continue
        return None

    def _releaser(self, buffer: bytearray) -> Callable[[], None]:
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
