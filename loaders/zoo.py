"""Export code-defined models (torchvision, timm, transformers configs) to ONNX without downloading weights.

A *zoo reference* is ``"<prefix>:<name>"``:

* ``torchvision:<name>`` -- ``torchvision.models.get_model(name, weights=None)``;
* ``timm:<name>`` -- ``timm.create_model(name, pretrained=False)``;
* ``transformers:<model_type>`` -- a small random config (hidden size 64, 2 layers, 2 heads) built locally
  with ``AutoConfig.for_model`` and the base model from ``AutoModel.from_config``.

Every model is randomly initialised under a fixed seed and exported in eval mode, so the same reference
gives the same ONNX bytes twice. torch, torchvision, timm and transformers are imported lazily: the rest
of the package works without them (``pip install younger-graph[zoo]`` brings them in).

:func:`strip_weights` turns an exported model into a structure-only file: its initializers point at an
external-data file that is never written.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import io
import logging
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from younger_graph.loaders.onnx_files import extract_model
from younger_graph.loaders.results import ModelResult, display_path, failed, model_id_for, new_row

from younger_graph.errors import ExtractionError, UsageError, first_line

if TYPE_CHECKING:  # onnx (0.5 s) and torch load on use: `extract` imports this module for zoo refs
    import onnx
    import torch

__all__ = [
    "TRANSFORMERS_MODEL_TYPES",
    "ZOO_PREFIXES",
    "export_zoo_model",
    "extract_zoo",
    "is_zoo_ref",
    "parse_zoo_ref",
    "strip_weights",
]

ZOO_PREFIXES: tuple[str, ...] = ("torchvision", "timm", "transformers")

Exporter = Literal["auto", "torchscript", "dynamo"]

# Initializers with fewer elements than this stay inline in strip_weights (shapes, scales, zero points).
_INLINE_MAX_ELEMENTS = 64

_IMAGE_SIZE = (3, 224, 224)
_DETECTION_IMAGE_SIZE = (3, 320, 320)
_VIDEO_SIZE = (3, 8, 112, 112)


# ---------------------------------------------------------------------------------------------- references


def parse_zoo_ref(ref: str) -> tuple[str, str]:
    """Split ``"prefix:name"``; raise ``ValueError`` for an unknown prefix or an empty name."""
    prefix, sep, name = ref.partition(":")
    if not sep or prefix not in ZOO_PREFIXES or not name.strip():
        prefixes = ", ".join(ZOO_PREFIXES)
        raise UsageError(f"Not a zoo reference: {ref!r}; expected '<prefix>:<name>' with prefix one of {prefixes}.")
    return prefix, name.strip()


def is_zoo_ref(s: str) -> bool:
    """True for zoo references such as ``"torchvision:resnet18"`` or ``"transformers:bert"``."""
    try:
        parse_zoo_ref(s)
    except ValueError:
        return False
    return True


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"Exporting zoo models needs {module!r}; install younger-graph[zoo] (torch, torchvision, timm, "
            "transformers, onnxscript)."
        ) from exc


# ---------------------------------------------------------------------------------------------- model specs


@dataclass
class _Spec:
    """A module ready for export: its example positional inputs and the ONNX input/output names."""

    module: torch.nn.Module
    args: tuple[Any, ...]
    input_names: list[str]
    output_names: list[str] | None = None


def _torchvision_spec(name: str) -> _Spec:
    torch = _require("torch")
    tv_models = _require("torchvision.models")
    if name not in tv_models.list_models():
        raise UsageError(f"Unknown torchvision model {name!r}; see torchvision.models.list_models().")

    def in_module(sub: str) -> bool:
        return name in tv_models.list_models(module=getattr(tv_models, sub))

    kwargs: dict[str, Any] = {"weights": None}
    if in_module("detection") or in_module("segmentation"):
        kwargs["weights_backbone"] = None  # otherwise these would download ImageNet backbone weights
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=True)
    module = tv_models.get_model(name, **kwargs)

    if in_module("detection"):
        return _Spec(module, ([torch.randn(*_DETECTION_IMAGE_SIZE)],), ["image"])
    if in_module("video"):
        return _Spec(module, (torch.randn(1, *_VIDEO_SIZE),), ["video"], ["logits"])
    if in_module("optical_flow"):
        images = (torch.randn(1, 3, 128, 128), torch.randn(1, 3, 128, 128))
        return _Spec(module, images, ["image1", "image2"])
    size = (3, 299, 299) if name == "inception_v3" else _IMAGE_SIZE
    output_names = ["out"] if in_module("segmentation") else ["logits"]
    return _Spec(module, (torch.randn(1, *size),), ["pixel_values"], output_names)


def _timm_spec(name: str) -> _Spec:
    torch = _require("torch")
    timm = _require("timm")
    if not timm.is_model(name):
        raise UsageError(f"Unknown timm model {name!r}; see timm.list_models().")
    module = timm.create_model(name, pretrained=False)
    size = tuple(getattr(module, "pretrained_cfg", {}).get("input_size", _IMAGE_SIZE))
    return _Spec(module, (torch.randn(1, *size),), ["pixel_values"], ["logits"])


_SMALL: dict[str, Any] = {
    "vocab_size": 1024,
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 128,
    "max_position_embeddings": 128,
}
_SEQ2SEQ_SMALL: dict[str, Any] = {
    "vocab_size": 1024,
    "d_model": 64,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 128,
    "decoder_ffn_dim": 128,
    "max_position_embeddings": 128,
}

# model_type -> (input kind, small config overrides). Kinds: "text" (input_ids + attention_mask),
# "seq2seq" (text + decoder_input_ids), "vision" (pixel_values).
_TRANSFORMERS: dict[str, tuple[str, dict[str, Any]]] = {
    "bert": ("text", _SMALL),
    "roberta": ("text", _SMALL),
    "electra": ("text", {**_SMALL, "embedding_size": 64}),
    "albert": ("text", {**_SMALL, "embedding_size": 32}),
    "distilbert": (
        "text",
        dict(vocab_size=1024, dim=64, n_layers=2, n_heads=2, hidden_dim=128, max_position_embeddings=128),
    ),
    "gpt2": (
        "text",
        {
            "vocab_size": 1024,
            "n_embd": 64,
            "n_layer": 2,
            "n_head": 2,
            "n_inner": 128,
            "n_positions": 128,
            "bos_token_id": 0,
            "eos_token_id": 0,
        },
    ),
    "llama": ("text", {**_SMALL, "num_key_value_heads": 2}),
    "mistral": ("text", {**_SMALL, "num_key_value_heads": 1}),
    "t5": (
        "seq2seq",
        dict(vocab_size=1024, d_model=64, d_kv=32, d_ff=128, num_layers=2, num_decoder_layers=2, num_heads=2),
    ),
    "bart": ("seq2seq", _SEQ2SEQ_SMALL),
    "vit": (
        "vision",
        dict(
            hidden_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=128,
            image_size=32,
            patch_size=8,
        ),
    ),
}
TRANSFORMERS_MODEL_TYPES: tuple[str, ...] = tuple(sorted(_TRANSFORMERS))

_SEQ_LEN = 16
_DECODER_LEN = 8


def _transformers_inputs(kind: str, vocab_size: int, image_size: int) -> dict[str, torch.Tensor]:
    torch = _require("torch")
    if kind == "vision":
        return {"pixel_values": torch.randn(1, 3, image_size, image_size)}
    input_ids = torch.randint(1, vocab_size, (1, _SEQ_LEN))
    inputs = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids)}
    if kind == "seq2seq":
        inputs["decoder_input_ids"] = input_ids[:, :_DECODER_LEN]
    return inputs


def _transformers_spec(model_type: str) -> _Spec:
    torch = _require("torch")
    transformers = _require("transformers")
    if model_type not in _TRANSFORMERS:
        supported = ", ".join(TRANSFORMERS_MODEL_TYPES)
        raise UsageError(f"Unsupported transformers model type {model_type!r}; supported: {supported}.")
    kind, overrides = _TRANSFORMERS[model_type]
    config = transformers.AutoConfig.for_model(model_type, **overrides)
    config.use_cache = False
    model = transformers.AutoModel.from_config(config, attn_implementation="eager").eval()
    inputs = _transformers_inputs(kind, overrides.get("vocab_size", 0), overrides.get("image_size", 0))
    with torch.no_grad():
        outputs = model(**inputs, return_dict=True)
    output_names = [key for key, value in outputs.items() if isinstance(value, torch.Tensor)]
    wrapper = _keyword_call_class()(model, list(inputs), output_names)
    return _Spec(wrapper, tuple(inputs.values()), list(inputs), output_names)


@functools.cache
def _keyword_call_class() -> type:
    torch = _require("torch")

    class KeywordCall(torch.nn.Module):
        """Calls a transformers model with keyword tensors; returns the named outputs as a flat tuple."""

        def __init__(self, model: torch.nn.Module, input_names: Sequence[str], output_names: Sequence[str]):
            super().__init__()
            self.model = model
            self.input_names = list(input_names)
            self.output_names = list(output_names)

        def forward(self, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
            outputs = self.model(**dict(zip(self.input_names, tensors, strict=True)), return_dict=True)
            return tuple(outputs[name] for name in self.output_names)

    return KeywordCall


_SPEC_BUILDERS = {
    "torchvision": _torchvision_spec,
    "timm": _timm_spec,
    "transformers": _transformers_spec,
}


# ---------------------------------------------------------------------------------------------- export


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence exporter warnings, progress prints and library log noise for the duration of an export."""
    noisy = [logging.getLogger(name) for name in ("torch.onnx", "onnxscript", "transformers", "timm")]
    levels = [logger.level for logger in noisy]
    try:
        for logger in noisy:
            logger.setLevel(logging.ERROR)
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(noisy, levels, strict=True):
            logger.setLevel(level)


def _export_torchscript(spec: _Spec, path: Path, opset: int | None) -> None:
    torch = _require("torch")
    torch.onnx.export(
        spec.module,
        spec.args,
        str(path),
        dynamo=False,
        opset_version=opset,
        input_names=spec.input_names,
        output_names=spec.output_names,
        do_constant_folding=True,
    )


def _export_dynamo(spec: _Spec, path: Path, opset: int | None) -> None:
    torch = _require("torch")
    _require("onnxscript")
    program = torch.onnx.export(
        spec.module,
        spec.args,
        dynamo=True,
        opset_version=opset,
        input_names=spec.input_names,
        output_names=spec.output_names,
        verbose=False,
    )
    program.save(str(path), external_data=True)


def _export(spec: _Spec, opset: int | None, exporter: Exporter) -> onnx.ModelProto:
    """Export ``spec`` into a temporary directory and load it back with its weights inside."""
    import onnx

    order = ("torchscript", "dynamo") if exporter == "auto" else (exporter,)
    functions = {"torchscript": _export_torchscript, "dynamo": _export_dynamo}
    errors: list[str] = []
    for name in order:
        with tempfile.TemporaryDirectory(prefix="younger-zoo-") as tmp:
            path = Path(tmp) / "model.onnx"
            try:
                with _quiet():
                    functions[name](spec, path, opset)
            except Exception as exc:
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
                continue
            return onnx.load(str(path), load_external_data=True)
    raise ExtractionError("ONNX export failed: " + " | ".join(errors))


def export_zoo_model(
    ref: str,
    opset: int | None = None,
    *,
    seed: int = 0,
    exporter: Exporter = "auto",
) -> onnx.ModelProto:
    """Build the model named by ``ref`` with random weights and return it as an ONNX ``ModelProto``.

    ``opset`` defaults to the exporter's own default. ``seed`` seeds both initialisation and the example
    inputs, so equal arguments give equal bytes. ``exporter="auto"`` uses the TorchScript-based exporter
    (fast, handles scripted control flow and detection models) and falls back to the dynamo exporter.
    """
    prefix, name = parse_zoo_ref(ref)
    torch = _require("torch")
    torch.manual_seed(seed)
    with _quiet():
        spec = _SPEC_BUILDERS[prefix](name)
    spec.module.eval()
    with torch.no_grad():
        model = _export(spec, opset, exporter)
    model.doc_string = f"younger-graph zoo export of {ref} (random weights, seed {seed})"
    return model


# ---------------------------------------------------------------------------------------------- weights


def _graphs(graph: onnx.GraphProto) -> Iterator[onnx.GraphProto]:
    """``graph`` and every subgraph (If/Loop/Scan bodies) nested in it."""
    import onnx

    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for sub in attr.graphs:
                    yield from _graphs(sub)


def _element_count(tensor: onnx.TensorProto) -> int:
    count = 1
    for dim in tensor.dims:
        count *= dim
    return count


def _raw_bytes(tensor: onnx.TensorProto) -> bytes:
    from onnx import numpy_helper

    if tensor.HasField("raw_data"):
        return tensor.raw_data
    return numpy_helper.from_array(numpy_helper.to_array(tensor)).raw_data


def _externalise(tensor: onnx.TensorProto, location: str, offset: int) -> int:
    """Point ``tensor`` at ``location[offset:]`` and drop its payload; return the payload length."""
    import onnx
    from onnx import external_data_helper

    raw = _raw_bytes(tensor)
    typed_fields = ("float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data")
    for name in typed_fields:
        tensor.ClearField(name)
    tensor.raw_data = raw  # set_external_data requires raw_data to be present
    external_data_helper.set_external_data(tensor, location, offset=offset, length=len(raw))
    tensor.ClearField("raw_data")
    tensor.data_location = onnx.TensorProto.EXTERNAL
    return len(raw)


def strip_weights(model: onnx.ModelProto, location: str = "weights.bin") -> onnx.ModelProto:
    """Return a copy of ``model`` whose initializers live in external data at ``location`` -- never written.

    Names, dtypes and dims of every initializer (subgraphs included) are kept, so the graph structure is
    intact and ``onnx.load(path, load_external_data=False)`` reads the saved file. Initializers with
    fewer than 64 elements stay inline; string tensors and already-external ones are left alone.
    ``onnx.checker.check_model`` rejects the result (it looks for ``location``): check before stripping.
    """
    import onnx

    stripped = onnx.ModelProto()
    stripped.CopyFrom(model)
    offset = 0
    for graph in _graphs(stripped.graph):
        for tensor in graph.initializer:
            if (
                tensor.data_location == onnx.TensorProto.EXTERNAL
                or tensor.data_type == onnx.TensorProto.STRING
                or _element_count(tensor) < _INLINE_MAX_ELEMENTS
            ):
                continue
            offset += _externalise(tensor, location, offset)
    return stripped


def extract_zoo(ref: str, infer_shapes: bool = False) -> ModelResult:
    """A zoo reference exported (randomly initialised, fixed seed) and extracted → its row and graph."""
    shown = display_path(ref)  # a ref typed on a command line may hold bytes that are not UTF-8
    row = new_row(shown, shown)
    row["origin"] = shown.split(":", 1)[0]
    try:
        model = export_zoo_model(ref)
    except Exception as exc:  # export failures of third-party code come in every shape
        return failed(row, f"{shown} could not be exported: {first_line(exc)}")
    data = model.SerializeToString()
    row["content_sha256"] = hashlib.sha256(data).hexdigest()
    row["num_bytes"] = len(data)
    row["model_id"] = model_id_for(shown, row["content_sha256"])
    return extract_model(model, row, infer_shapes)
