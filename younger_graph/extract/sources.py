"""What the user names on the command line → an ordered list of model sources, plus metadata.

A source is an `.onnx` file, a directory (searched recursively, in sorted order, never following
directory symlinks, so loops cannot trap the walk), a zoo reference (`torchvision:resnet18`), or a
Younger release instance folder (see loaders/younger.py).
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from younger_graph.errors import UsageError
from younger_graph.loaders import younger, zoo

MODEL_SUFFIXES = (".onnx",)
KEY_COLUMNS = ("file", "path", "ref", "model", "source")
LOOKUP_ONLY = ("file", "path")  # key columns that only match rows to models (never model columns)


@dataclass(frozen=True)
class Source:
    kind: str  # "file" | "zoo" | "younger"
    ref: str


def is_zoo_ref(text: str) -> bool:
    """A zoo reference such as torchvision:resnet18 (an existing path of that name wins)."""
    return zoo.is_zoo_ref(text) and not os.path.exists(text)


def _is_model_file(name: str) -> bool:
    return name.lower().endswith(MODEL_SUFFIXES)


def _younger_kind(path: str) -> str | None:
    return "younger" if younger.is_younger_instance(path) else None


def _walk(root: str) -> list[Source]:
    found: list[Source] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        if _younger_kind(dirpath):
            found.append(Source("younger", dirpath))
            dirnames.clear()
            continue
        # Directories named *.onnx are walked (they are directories); symlinks named *.onnx are
        # kept as files so a dangling or looping link becomes a per-file error, not a silent skip.
        found.extend(Source("file", os.path.join(dirpath, f)) for f in sorted(filenames) if _is_model_file(f))
        found.extend(
            Source("file", os.path.join(dirpath, d))
            for d in dirnames
            if _is_model_file(d) and os.path.islink(os.path.join(dirpath, d))
        )
    return found


def expand_sources(sources: Any) -> list[Source]:
    """Expand names in the order given; a source named twice is extracted once."""
    out: list[Source] = []
    if isinstance(sources, (str, os.PathLike)):  # one path, not an iterable of one-letter names
        sources = [sources]
    for text in sources:
        text = str(text)
        if is_zoo_ref(text):
            out.append(Source("zoo", text))
        elif os.path.isdir(text) and not os.path.islink(text):
            out.extend(_walk(text))
        else:  # files, missing paths and broken links all become per-file results
            out.append(Source("file", text))
    return list(dict.fromkeys(out))


def load_metadata(path: str | Path) -> dict[str, dict[str, Any]]:
    """A CSV or JSON (list of objects, or object keyed by source) sidecar → lookup by key."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"metadata file {path} does not exist")
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        # Keyed form: the key identifies the model even when the object has its own "source" column
        # (where the model came from, e.g. huggingface); "file" is a lookup-only column.
        rows = [{**v, "file": k} for k, v in data.items()] if isinstance(data, dict) else list(data)
    else:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    lookup: dict[str, dict[str, Any]] = {}
    for row in rows:
        for key in KEY_COLUMNS:
            value = row.get(key)
            if value:
                lookup.setdefault(str(value), row)
                lookup.setdefault(os.path.basename(str(value)), row)
    return lookup


def metadata_for(lookup: dict[str, dict[str, Any]], source: Source) -> dict[str, Any]:
    for key in (source.ref, os.path.basename(source.ref.rstrip("/")), Path(source.ref).stem):
        row = lookup.get(key)
        if row is not None:
            # (a CSV row longer than its header puts the extra cells under None: not a column)
            return {k: v for k, v in row.items() if k is not None and k not in LOOKUP_ONLY and v not in (None, "")}
    return {}
