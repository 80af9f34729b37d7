"""ONNX model files → a models row (+ the graph when it extracts). Runs inside worker processes.

Reading (with the OS trouble a path can bring: directories, FIFOs, loops, missing files), hashing,
parsing without tensor payloads (younger_graph.walk.lean) and walking (younger_graph.walk). Nothing
here raises for a bad model: every failure becomes `status="error"` with one sentence.
"""

from __future__ import annotations

import errno
import hashlib
import mmap
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from younger_graph.loaders.results import ModelResult, display_path, failed, model_id_for, new_row

from younger_graph.canonical import dumps
from younger_graph.errors import ExtractionError
from younger_graph.walk import native
from younger_graph.walk.lean import lean_model_bytes

if TYPE_CHECKING:  # onnx costs 0.5 s to import: only the Python walker needs it, not the native path
    import onnx
from younger_graph.walk.text import text

GENERIC_STEMS = ("model", "model_quantized", "graph", "network")


def default_name(source: str) -> str:
    """File stem; for generic stems (hub layouts such as <name>/model.onnx) the folder name too."""
    path = source.rstrip("/")
    base = os.path.basename(path) or source
    stem = base[:-5] if base.lower().endswith(".onnx") else base
    parent = os.path.basename(os.path.dirname(path))
    return f"{parent}/{stem}" if stem.lower() in GENERIC_STEMS and parent else stem


Buffer = bytearray | mmap.mmap


def new_buffer(size: int) -> Buffer:
    """Anonymous memory for file bytes: unlike bytearray(size) it is not zero-filled up front (with
    the GIL held), its pages come in as the read fills them."""
    return mmap.mmap(-1, size) if size else bytearray()


def read_source_bytes(path: str, buffer: Buffer | None = None) -> bytes | memoryview:
    """Read a model file, turning OS trouble into one clear sentence (ExtractionError).

    With `buffer` the bytes land in it (a view is returned): a buffer reused from file to file
    saves faulting fresh memory in for every file, a third of the cost of reading a big model."""
    try:
        if os.path.isdir(path):
            raise ExtractionError("is a directory, not an ONNX file")
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block the batch forever
            raise ExtractionError("is not a regular file (a pipe, socket or device)")
        with open(path, "rb", buffering=0) as fh:
            return fh.read() if buffer is None else _read_into(fh, buffer)
    except ExtractionError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ExtractionError("is a symbolic link loop") from None
        if exc.errno == errno.ENOENT:
            raise ExtractionError("does not exist") from None
        raise ExtractionError(f"cannot be read ({exc.strerror or exc})") from None


def _read_into(fh: Any, buffer: Buffer) -> bytes | memoryview:
    size = os.fstat(fh.fileno()).st_size
    if len(buffer) < size:  # a bigger one (the returned view's .obj), not a resize: views may be alive
        buffer = new_buffer(size)
    view = memoryview(buffer)
    got = 0
    while got < size:  # one read() returns at most ~2 GiB
        n = fh.readinto(view[got:size])
        if not n:  # the file shrank since fstat
            break
        got += n
    more = fh.read()  # the file grew since fstat: nothing may be lost
    return view[:got] if not more else bytes(view[:got]) + more


def parse_model(data: bytes | memoryview, keep_tensor_data: bool = False) -> onnx.ModelProto:
    """Parse a model file's bytes. Tensor payloads are left out (lean.py) unless `keep_tensor_data`:
    extraction reads dtypes and shapes only. A file the lean path cannot vouch for, or whose lean
    bytes do not parse, is parsed whole, so errors read exactly as protobuf reports them."""
    import onnx
    from google.protobuf.message import DecodeError

    parse_errors = (DecodeError, RuntimeError, ValueError)
    if not data:
        raise ExtractionError("is empty (0 bytes)")
    if not keep_tensor_data:
        lean = lean_model_bytes(data)
        if lean is not None:
            model = onnx.ModelProto()
            try:
                model.ParseFromString(lean)
                return model
            except parse_errors:
                pass
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except parse_errors as exc:
        if "depth" in str(exc).lower():  # protobuf stops at 100 nested messages (~32 levels of subgraphs)
            raise ExtractionError("nests subgraphs deeper than the protobuf parser allows") from None
        raise ExtractionError(f"is not a valid ONNX protobuf ({str(exc).strip() or type(exc).__name__})") from None
    return model


def _maybe_infer_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    import onnx

    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=False)
    except Exception:  # inference is best effort: declared shapes remain
        return model


def extract_model(model: onnx.ModelProto, row: dict[str, Any], infer_shapes: bool = False,
                  label: str = "", size_hint: int | None = None) -> ModelResult:
    """Fill the row's ONNX header fields and extract the graph. `label` (a file's basename) starts
    the row's error, as it starts every other error of that file; `size_hint` is the length of the
    bytes the model was parsed from (walk.onnx_walker.model_to_builder)."""
    from younger_graph.walk.onnx_walker import model_to_builder

    row["ir_version"] = int(model.ir_version)
    row["opsets"] = dumps({text(o.domain) or "ai.onnx": int(o.version) for o in model.opset_import})
    row["producer"] = " ".join(p for p in (text(model.producer_name), text(model.producer_version)) if p)
    if infer_shapes:
        model = _maybe_infer_shapes(model)
    try:
        graph = model_to_builder(model, size_hint).finish()
    except ExtractionError as exc:
        return failed(row, f"{label} {exc}" if label else str(exc))
    except RecursionError:
        return failed(row, f"{label} subgraphs are nested too deeply to walk".lstrip())
    row["graph_id"] = graph.graph_id
    return ModelResult(row, graph)


def extract_bytes(data: bytes | memoryview, row: dict[str, Any], label: str, infer_shapes: bool = False,
                  use_native: bool | None = None, release: Callable[[], None] = lambda: None) -> ModelResult:
    """A model file's bytes → its row and graph: through the native core when it is built (and no
    shape inference is asked, which needs the whole model in protobuf), else parsed and walked in
    Python. Both give the same rows and errors (tests/test_native_parity.py). `use_native` forces
    one side (None: the native core when available)."""
    core = native.module() if use_native is not False and not infer_shapes else None
    if use_native and core is None:
        raise ExtractionError("the native extractor is not built or is switched off")
    if core is not None:
        return native_result(native.extract_bytes(core, data, label), row)
    try:
        model = parse_model(data, keep_tensor_data=infer_shapes)
    except ExtractionError as exc:
        return failed(row, f"{label} {exc}")
    release()  # the parsed model holds no reference to the bytes
    return extract_model(model, row, infer_shapes, label, len(data))


def native_result(found: native.NativeResult, row: dict[str, Any]) -> ModelResult:
    """What the native core found, as the models row (header fields, error) and graph."""
    if found.header is not None:
        row.update(ir_version=found.header["ir_version"], opsets=found.header["opsets"],
                   producer=found.header["producer"])
    if found.error is not None:
        return failed(row, found.error)
    assert found.graph is not None
    row["graph_id"] = found.graph.graph_id
    return ModelResult(row, found.graph)


def native_file_result(path: str, sha256: str | None, size: int | None, result: Any,
                       known_content: frozenset[str] = frozenset()) -> ModelResult:
    """One file the native core read, hashed and extracted itself (`native.extract_paths`): the
    row `extract_file` would write for it."""
    label = os.path.basename(path) or path
    row = new_row(path, default_name(path), sha256, size)
    if sha256 is not None and sha256 in known_content:
        return ModelResult(row, known=True)
    return native_result(native.convert(result, label), row)


@dataclass
class FileBytes:
    """A model file read and hashed (or why it could not be read). `release()` hands a reused
    buffer back to its owner once the bytes are parsed (prefetch.py)."""
    data: bytes | memoryview = b""
    sha256: str | None = None
    error: ExtractionError | MemoryError | None = None
    release: Callable[[], None] = lambda: None


def read_and_hash(path: str, buffer: Buffer | None = None) -> FileBytes:
    try:
        data = read_source_bytes(path, buffer)
        return FileBytes(data, hashlib.sha256(data).hexdigest())
    except (ExtractionError, MemoryError) as exc:
        return FileBytes(error=exc)


def extract_file(path: str, known_content: frozenset[str] = frozenset(), infer_shapes: bool = False,
                 name: str | None = None, read: FileBytes | None = None, use_native: bool | None = None) -> ModelResult:
    """One model file → its row and graph. `read`: the file already read and hashed (prefetch.py).
    The row names the file by `display_path(path)` (the path itself unless it is not valid UTF-8)."""
    shown = display_path(path)
    label = os.path.basename(shown) or shown
    row = new_row(shown, name or default_name(shown))
    read = read or read_and_hash(path)
    try:
        if read.error is not None:
            raise read.error
        row["content_sha256"] = read.sha256
        row["num_bytes"] = len(read.data)
        row["model_id"] = model_id_for(shown, row["content_sha256"])
        if row["content_sha256"] in known_content:
            return ModelResult(row, known=True)
        return extract_bytes(read.data, row, label, infer_shapes, use_native, read.release)
    except ExtractionError as exc:
        return failed(row, f"{label} {exc}")
    except MemoryError:
        return failed(row, "ran out of memory while parsing")
    finally:
        read.release()
