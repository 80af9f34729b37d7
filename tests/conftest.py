"""Shared, generic fixtures: temporary output folders and real model corpora."""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import onnx
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:  # lets tests import helper modules such as onnx_recount
    sys.path.insert(0, str(TESTS_DIR))

BACKEND_DATA = Path(onnx.__file__).resolve().parent / "backend" / "test" / "data"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """On CI every part a test needs is installed, so a skip means a missing part: report it as a
    failure (xfail stays what it is)."""
    outcome = yield
    report = outcome.get_result()
    from neo4j_env import on_ci

    if report.skipped and not hasattr(report, "wasxfail") and on_ci():
        report.outcome = "failed"
        report.longrepr = f"skipped on CI, where every part must be present: {report.longrepr}"


def _onnx_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.onnx") if p.is_file())


@pytest.fixture
def tmp_out(tmp_path: Path) -> Path:
    """A fresh, not yet existing extraction folder."""
    return tmp_path / "out"


@pytest.fixture(scope="session")
def onnx_backend_models() -> list[Path]:
    """The .onnx files shipped inside the installed onnx package (onnx/backend/test/data)."""
    files = _onnx_files(BACKEND_DATA) if BACKEND_DATA.is_dir() else []
    if not files:
        pytest.skip(f"the installed onnx package ships no backend test models under {BACKEND_DATA}")
    return files


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The repository's sample/ corpus; tests that need it skip while it is absent or empty."""
    folder = REPO_ROOT / "sample"
    if not folder.is_dir() or not _onnx_files(folder):
        pytest.skip("sample/ is absent or holds no .onnx files")
    return folder


@pytest.fixture(scope="session")
def sample_models(sample_dir: Path) -> list[Path]:
    return _onnx_files(sample_dir)


def native_core():  # type: ignore[no-untyped-def]
    """The native extraction core (younger_graph.walk._native), or skip the module's tests locally;
    on CI (env CI set) the core must be built: a missing one fails."""
    try:
        from younger_graph.walk import _native
    except ImportError:
        from neo4j_env import on_ci

        reason = "the native extension is not built (pip install -e . with a Rust toolchain)"
        if on_ci():
            pytest.fail(f"{reason}; on CI it must be", pytrace=False)
        pytest.skip(reason, allow_module_level=True)
    return _native


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for CLI subprocesses: no colour codes, no debug switch from the caller."""
    env = {k: v for k, v in os.environ.items() if k != "YOUNGER_GRAPH_DEBUG"}
    env.update(NO_COLOR="1", TERM="dumb", COLUMNS="200", **extra)
    return env


# -- helpers for building and extracting models in tests (plain functions, not fixtures) ----------
def tensor_vi(name: str, elem_type: int = onnx.TensorProto.FLOAT, shape=None) -> onnx.ValueInfoProto:
    return onnx.helper.make_tensor_value_info(name, elem_type, shape)


def _as_vi(v) -> onnx.ValueInfoProto:
    return v if isinstance(v, onnx.ValueInfoProto) else tensor_vi(v)


def make_model(nodes, inputs, outputs, initializers=(), *, opset: int = 17, domains=(), functions=(),
               ir_version: int | None = None, name: str = "g", **graph_kwargs) -> onnx.ModelProto:
    """A model from nodes; inputs/outputs given as names (float, unknown shape) or ValueInfoProtos."""
    graph = onnx.helper.make_graph(
        list(nodes), name, [_as_vi(v) for v in inputs], [_as_vi(v) for v in outputs], list(initializers),
        **graph_kwargs,
    )
    opsets = [onnx.helper.make_opsetid("", opset), *(onnx.helper.make_opsetid(d, 1) for d in domains)]
    model = onnx.helper.make_model(graph, opset_imports=opsets, functions=list(functions))
    if ir_version is not None:
        model.ir_version = ir_version
    return model


def write_model(model: onnx.ModelProto, path: Path) -> Path:
    """Serialize without onnx.save's external-data handling (some test models point at missing files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture(scope="session")
def zoo_export():
    """`zoo_export(ref, seed=0)` → ModelProto, exported once per session (skips without torch)."""
    pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    from younger_graph.loaders.zoo import export_zoo_model

    cache: dict[tuple[str, int], onnx.ModelProto] = {}

    def get(ref: str, seed: int = 0) -> onnx.ModelProto:
        if (ref, seed) not in cache:
            cache[(ref, seed)] = export_zoo_model(ref, seed=seed)
        return cache[(ref, seed)]

    return get
