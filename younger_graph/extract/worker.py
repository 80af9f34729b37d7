"""The per-source work every executor runs: one model source → one ModelResult.

The local process pool (extract/__init__.py) and the Ray executor (extract/ray_pool.py) both call
`run_one` in their worker processes after `init_worker`, so a source extracts the same way wherever
it runs (the native extraction core plugs in beneath the loaders, not here).
"""

from __future__ import annotations

from typing import Any

from younger_graph.extract.sources import Source
from younger_graph.loaders.onnx_files import default_name, extract_file, read_and_hash
from younger_graph.loaders.results import ModelResult, failed, new_row
from younger_graph.loaders.younger import extract_instance
from younger_graph.loaders.zoo import extract_zoo

# Per-process settings, sent once to each worker rather than with every task; `buffer` is the
# worker's reused read buffer (see loaders/onnx_files.read_source_bytes).
WORKER: dict[str, Any] = {"known_content": frozenset(), "infer_shapes": False, "buffer": bytearray()}


def init_worker(known_content: frozenset[str], infer_shapes: bool) -> None:
    WORKER.update(known_content=known_content, infer_shapes=infer_shapes)


def run_one(source: Source) -> ModelResult:
    if source.kind == "zoo":
        return extract_zoo(source.ref, WORKER["infer_shapes"])
    if source.kind == "younger":
        return extract_instance(source.ref)
    read = read_and_hash(source.ref, WORKER["buffer"])
    if isinstance(read.data, memoryview):  # keep the buffer, which may have grown for this file
        WORKER["buffer"] = read.data.obj
    return extract_file(source.ref, WORKER["known_content"], WORKER["infer_shapes"], read=read)


def failed_source(source: Source, message: str) -> ModelResult:
    """A source no worker could extract (its worker died, the task was lost): an error row, never a gap."""
    name = default_name(source.ref) if source.kind == "file" else source.ref
    return failed(new_row(source.ref, name), message)
