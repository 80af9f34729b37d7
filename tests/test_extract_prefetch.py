"""The read-ahead thread yields exactly what reading each file in turn gives, in order, and stops cleanly."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from younger_graph.loaders.onnx_files import read_and_hash

from younger_graph.extract import prefetch


def _files(tmp_path):
    sizes = [10, 0, 5000, 3_000_000, 1]
    paths = []
    for k, size in enumerate(sizes):
        path = tmp_path / f"f{k}.onnx"
        path.write_bytes(bytes((k + i) % 251 for i in range(size)))
        paths.append(str(path))
    (tmp_path / "dir.onnx").mkdir()
    return [*paths, str(tmp_path / "missing.onnx"), str(tmp_path / "dir.onnx")]


def test_reads_in_order_with_hashes_and_errors(tmp_path):
    paths = _files(tmp_path)
    with prefetch.Prefetcher(paths) as reads:
        got = []
        for read in reads:
            got.append((bytes(read.data), read.sha256, str(read.error) if read.error else None))
            read.release()
    want = []
    for path in paths:
        plain = read_and_hash(path)
        want.append((bytes(plain.data), plain.sha256, str(plain.error) if plain.error else None))
    assert got == want
    assert got[3][1] == hashlib.sha256(Path(paths[3]).read_bytes()).hexdigest()


def test_a_file_bigger_than_the_buffer_is_read_whole(tmp_path, monkeypatch):
    paths = _files(tmp_path)
    monkeypatch.setattr(prefetch, "_largest_file", lambda _paths: 16)  # as if files grew after the stat
    with prefetch.Prefetcher(paths) as reads:
        sizes = []
        for read in reads:
            sizes.append(len(read.data))
            read.release()
    assert sizes == [10, 0, 5000, 3_000_000, 1, 0, 0]


def test_stopping_early_does_not_hang(tmp_path):
    paths = _files(tmp_path) * 3
    with prefetch.Prefetcher(paths) as reads:
        first = next(iter(reads))
        assert first.sha256 is not None  # not released: the thread waits for the buffer, then stops


def test_a_failure_in_the_thread_reaches_the_consumer(tmp_path, monkeypatch):
    def broken(path, buffer=None):
        raise RuntimeError("bug")

    monkeypatch.setattr(prefetch, "read_and_hash", broken)
    with pytest.raises(RuntimeError, match="bug"), prefetch.Prefetcher(_files(tmp_path)) as reads:
        list(reads)
