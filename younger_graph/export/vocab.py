
"""Operator tokens, vocabularies and splits shared by every export (numpy/pyarrow only).

Token of a node: `op_type|domain|attrs` (view `attrs`, attrs = the canonical attribute JSON with
subgraph references replaced by the word `subgraph`, as the architecture hash sees them) or
`op_type|domain` (view `noattrs`). Input/output nodes are `Input|` / `Output|` plus `{}`.

A vocabulary numbers tokens by descending frequency (node occurrences) in the split it is built
from, ties by token; indices 0 and 1 are reserved for `<unk>` (tokens rarer than `min_count` and
tokens never seen) and `<mask>` (hidden nodes, e.g. the boundary nodes of the `operator` task).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from younger_graph import atomic
from younger_graph.errors import UsageError

VIEWS = ("attrs", "noattrs")
UNK, MASK = "<unk>", "<mask>"
SPECIALS = (UNK, MASK)
UNK_INDEX, MASK_INDEX = 0, 1
SPLITS = ("train", "val", "test")
VOCAB_FORMAT = "younger-graph-vocab/1"


def check_view(view: str) -> str:
    if view not in VIEWS:
        raise UsageError(f"--vocab must be one of {', '.join(VIEWS)}, not {view!r}")
    return view


def canonical_attrs(attrs: str) -> str:
    """The canonical attribute JSON with subgraph references (`{"graph": "<scope>"}`, which hold node
    indices) replaced by "subgraph", so equal operators give equal tokens in every graph."""
    if not attrs:
        return "{}"
    if '"graph"' not in attrs:
        return attrs
    try:
        value = json.loads(attrs)
    except ValueError:
        return attrs
    if not isinstance(value, dict):
        return attrs

    def is_ref(v: Any) -> bool:
        return isinstance(v, dict) and set(v) == {"graph"}

    out = {}
    for k, v in value.items():
        if is_ref(v) or (isinstance(v, list) and v and all(map(is_ref, v))):
            out[k] = "subgraph"
        else:
            out[k] = v
    from younger_graph.canonical import dumps

    return dumps(out)


class TokenTable:
    """Distinct tokens in first-seen order; `encode` turns columns into int32 codes into `tokens`."""

    def __init__(self, view: str) -> None:
        self.view = check_view(view)
        self.tokens: list[str] = []
        self._index: dict[str, int] = {}
        self._raw: dict[str, int] = {}  # joined raw text → code (before canonicalisation)

    def code(self, token: str) -> int:
        code = self._index.get(token)
        if code is None:
            code = self._index[token] = len(self.tokens)
            self.tokens.append(token)
        return code

    def encode(self, op_type: Any, domain: Any, attrs: Any = None) -> np.ndarray:
        """Codes of the nodes whose columns are given (pyarrow arrays or sequences of str)."""
        parts = [filled_strings(op_type), filled_strings(domain)]
        if self.view == "attrs":
            parts.append(filled_strings(attrs, "{}"))
        if len(parts[0]) == 0:
            return np.zeros(0, dtype=np.int32)
        joined = pc.binary_join_element_wise(*parts, "|")
        encoded = pc.dictionary_encode(joined).combine_chunks() if isinstance(joined, pa.ChunkedArray) else \
            pc.dictionary_encode(joined)
        lookup = np.empty(len(encoded.dictionary), dtype=np.int32)
        for i, raw in enumerate(encoded.dictionary.to_pylist()):
            code = self._raw.get(raw)
            if code is None:
                code = self._raw[raw] = self.code(self._canonical(raw))
            lookup[i] = code
        return lookup[encoded.indices.to_numpy(zero_copy_only=False)]

    def _canonical(self, raw: str) -> str:
        if self.view != "attrs":
            return raw
        op_type, domain, attrs = raw.split("|", 2)
        return f"{op_type}|{domain}|{canonical_attrs(attrs)}"


def filled_strings(values: Any, fill: str = "") -> pa.Array:
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(
        [None if v is None else str(v) for v in values], pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.string():
        arr = arr.cast(pa.string())
    return pc.fill_null(arr, fill)


@dataclass
class Vocab:
    view: str
    min_count: int
    tokens: list[str]  # index → token; tokens[0:2] = SPECIALS
    counts: list[int]  # occurrences in the split the vocabulary was built from (<unk>: the rare ones)
    built_on: str = "train"

    @property
    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def as_json(self) -> dict[str, Any]:
        return {"format": VOCAB_FORMAT, "view": self.view, "min_count": self.min_count, "built_on": self.built_on,
                "specials": list(SPECIALS), "size": len(self.tokens), "tokens": self.tokens, "counts": self.counts}

    def save(self, path: Path) -> None:
        atomic.write_text(path, json.dumps(self.as_json(), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(d["view"], d["min_count"], d["tokens"], d["counts"], d.get("built_on", "train"))


def build_vocab(tokens: Sequence[str], counts: np.ndarray, view: str, min_count: int = 1,
                built_on: str = "train") -> tuple[Vocab, np.ndarray]:
    """Vocabulary from token counts (counts[i] = occurrences of tokens[i]) and the code → index map.

    Tokens with count >= max(min_count, 1) get indices 2.. by descending count, ties by token;
    every other code maps to <unk> (0).
    """
    counts = np.asarray(counts, dtype=np.int64)
    keep = [i for i in range(len(tokens)) if counts[i] >= max(min_count, 1)]
    keep.sort(key=lambda i: (-int(counts[i]), tokens[i]))
    mapping = np.full(len(tokens), UNK_INDEX, dtype=np.int64)
    mapping[np.asarray(keep, dtype=np.int64)] = np.arange(len(SPECIALS), len(SPECIALS) + len(keep))
    rare = int(counts.sum() - counts[np.asarray(keep, dtype=np.int64)].sum()) if len(tokens) else 0
    vocab = Vocab(view, min_count, [*SPECIALS, *(tokens[i] for i in keep)],
                  [rare, 0, *(int(counts[i]) for i in keep)], built_on)
    return vocab, mapping


def parse_split(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in str(text).split(":"))
    except ValueError:
        parts = ()
    if len(parts) != 3 or min(parts) < 0 or sum(parts) <= 0:
        raise UsageError(f"--split expects three non-negative ratios train:val:test such as 8:1:1, not {text!r}")
    return parts  # type: ignore[return-value]


def split_labels(n: int, ratios: Sequence[float], seed: int) -> np.ndarray:
    """Split of n items (given in sorted-key order): 0 train, 1 val, 2 test.

    The items are permuted with numpy's Generator(PCG64(seed)); the first round(n·r_train/Σr) of the
    permutation are train, up to round(n·(r_train+r_val)/Σr) val, the rest test.
    """
    perm = np.random.Generator(np.random.PCG64(seed)).permutation(n)
    rank = np.empty(n, dtype=np.int64)
    rank[perm] = np.arange(n)
    cuts = np.rint(np.cumsum(ratios)[:2] / float(sum(ratios)) * n).astype(np.int64)
    return np.searchsorted(cuts, rank, side="right").astype(np.int8)
