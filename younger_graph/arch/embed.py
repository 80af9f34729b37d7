"""Graph embeddings for similarity: Weisfeiler-Lehman subtree features over the architecture view.

`embed(views)` turns graphs (as `ArchView`s, or any node tokens + flows) into unit vectors of
`DIM` floats whose dot product is their cosine similarity (`EMBED_VERSION`, docs/arch.md):

1. every node gets two tokens. Its *structure* token is its op_type (`domain:op_type` outside the
   default domain; `Input`, `Output`), and for a convolution its kernel size and whether it is
   grouped (depthwise and 1x1 convolutions are different layers). Its *width* token adds the width
   of its weight (a Conv's output channels, a MatMul's output features, an embedding's dimension,
   a normalisation's size): what tells resnet18 from resnet50 or two sizes of one family apart;
2. WL refinement over the flows, all graphs at once (vectorised over one disjoint union): a node's
   new label mixes its label with the multiset of its producers' labels and the multiset of its
   consumers' labels (wrapping sums of SplitMix64-mixed values, like the architecture hash);
   `ROUNDS` rounds over structure tokens, `WIDTH_ROUNDS` over width tokens;
3. each round's labels are counted per graph into a block of buckets (feature hashing: no
   vocabulary, so a graph's embedding depends on it alone: computed at load, never stale when
   graphs are added), log(1 + count) scaled, each block normalised and weighted (`WEIGHTS`);
4. the concatenation is normalised to unit length. Counts are non-negative, so scores lie in 0..1.

The rounds, blocks and weights were chosen on the exporter-twin and model-family benchmark
(benchmarks/similarity.py; figures in benchmarks/README.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from younger_graph.hashing import mix

if TYPE_CHECKING:
    from younger_graph.arch.view import ArchView

EMBED_VERSION = "yg-wl-embed-1"
ROUNDS = 3  # structure rounds (after round 0)
WIDTH_ROUNDS = 1
STRUCTURE_BLOCK = 48  # buckets per structure round
WIDTH_BLOCK = 32  # buckets per width round
DIM = (ROUNDS + 1) * STRUCTURE_BLOCK + (WIDTH_ROUNDS + 1) * WIDTH_BLOCK  # 256
WEIGHTS = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)  # structure rounds 0..3, width rounds 0..1

CONV_OPS = frozenset({"Conv", "ConvTranspose"})
# Where an operator's width is read: (input slot of the weight, axis of the shape).
WIDTH_OF: dict[str, tuple[str, int]] = {
    "Conv": ("1", 0), "ConvTranspose": ("1", 1), "MatMul": ("1", -1), "Gemm": ("1", -1), "Gather": ("0", -1),
    "LayerNormalization": ("1", -1), "RMSNormalization": ("1", -1), "BatchNormalization": ("1", 0),
    "InstanceNormalization": ("1", 0), "GroupNormalization": ("1", 0), "LSTM": ("1", 1), "GRU": ("1", 1),
    "RNN": ("1", 1), "Embedding": ("0", -1),
}

_U64 = np.uint64
_C3 = _U64(0x94D049BB133111EB)  # SplitMix64's last multiplier, to combine the two directions
_SALT_IN, _SALT_OUT = _U64(0x51), _U64(0x52)


def token_ints(tokens: Sequence[str]) -> np.ndarray:
    """Token text → uint64 (BLAKE2b-8, little endian), each distinct token hashed once."""
    ints: dict[str, int] = {}
    for t in set(tokens):
        ints[t] = int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
    return np.fromiter(map(ints.__getitem__, tokens), dtype=np.uint64, count=len(tokens))


def node_tokens(op_type: str, domain: str, attrs: dict[str, Any] | None,
                inits: dict[str, Any] | None) -> tuple[str, str]:
    """(structure token, width token) of one node (module docstring, step 1)."""
    token = op_type if not domain or domain == "ai.onnx" else f"{domain}:{op_type}"
    if op_type in CONV_OPS and attrs:
        kernel = attrs.get("kernel_shape")
        if isinstance(kernel, list):
            token += "/k" + "x".join(str(k) for k in kernel)
        if isinstance(attrs.get("group"), int) and attrs["group"] > 1:
            token += "/g"
    width = ""
    where = WIDTH_OF.get(op_type)
    if where and inits:
        summary = inits.get(where[0])
        shape = summary.get("shape") if isinstance(summary, dict) else None
        if isinstance(shape, list) and shape and len(shape) > max(where[1], -where[1] - 1):
            width = f"/w{shape[where[1]]}"
    return token, token + width


class Tokenizer:
    """Tokens of many nodes, parsing each distinct attrs / initializers JSON text once."""

    def __init__(self) -> None:
        self._json: dict[str, Any] = {}
        self._tokens: dict[tuple[str, str, str, str], tuple[str, str]] = {}

    def _parse(self, text: str | None) -> Any:
        if not text or text == "{}":
            return None
        found = self._json.get(text)
        if found is None:
            found = self._json[text] = json.loads(text)
        return found

    def tokens(self, op_type: str, domain: str, attrs: str | None, inits: str | None) -> tuple[str, str]:
        attrs = attrs if op_type in CONV_OPS else ""
        inits = inits if op_type in WIDTH_OF else ""
        key = (op_type, domain or "", attrs or "", inits or "")
        found = self._tokens.get(key)
        if found is None:
            found = self._tokens[key] = node_tokens(op_type, domain or "", self._parse(attrs), self._parse(inits))
        return found


def _distinct_rows(table: Any) -> tuple[list[tuple[str, str, str, str]], np.ndarray]:
    """The distinct (op_type, domain, attrs, initializers) rows of an Arrow table (nulls as '') and,
    for every row, the index of its distinct row: dictionary codes combined and factorised by hashing
    (numpy / pandas), never a Python object per row."""
    import pandas as pd
    import pyarrow.compute as pc

    codes, values = [], []
    for name in ("op_type", "domain", "attrs", "initializers"):
        encoded = pc.dictionary_encode(pc.fill_null(table.column(name), "")).combine_chunks()
        codes.append(encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64))
        values.append(encoded.dictionary.to_pylist())
    inverse = codes[0]
    for code, dictionary in zip(codes[1:], values[1:]):  # each product < rows x dictionary size: no overflow
        inverse = pd.factorize(inverse * len(dictionary) + code)[0].astype(np.int64)
    one_row = np.empty(int(inverse.max()) + 1, dtype=np.int64)
    one_row[inverse] = np.arange(len(inverse), dtype=np.int64)  # any row of each distinct key will do
    rows = [tuple(v[i] for v, i in zip(values, picked)) for picked in zip(*(c[one_row].tolist() for c in codes))]
    return rows, inverse


def _distinct_tokens(table: Any, tokenizer: Tokenizer | None) -> tuple[list[str], list[str], np.ndarray]:
    tok = tokenizer or Tokenizer()
    rows, inverse = _distinct_rows(table)
    pairs = [tok.tokens(*row) for row in rows]
    return [p[0] for p in pairs], [p[1] for p in pairs], inverse


def table_tokens(table: Any, tokenizer: Tokenizer | None = None) -> tuple[list[str], list[str]]:
    """(structure, width) tokens of every row of an Arrow table with op_type, domain, attrs and
    initializers columns: computed once per distinct row, not per row."""
    if table.num_rows == 0:
        return [], []
    structure, width, inverse = _distinct_tokens(table, tokenizer)
    return [structure[i] for i in inverse.tolist()], [width[i] for i in inverse.tolist()]


def table_token_ints(table: Any, tokenizer: Tokenizer | None = None) -> tuple[np.ndarray, np.ndarray]:
    """`token_ints` of `table_tokens`, without a Python string per row: each distinct row's tokens
    hashed once, spread to the rows by numpy indexing."""
    if table.num_rows == 0:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    structure, width, inverse = _distinct_tokens(table, tokenizer)
    return token_ints(structure)[inverse], token_ints(width)[inverse]


def view_tokens(view: ArchView, tokenizer: Tokenizer | None = None) -> tuple[list[str], list[str]]:
    tok = tokenizer or Tokenizer()
    pairs = [tok.tokens(*row) for row in zip(view.op_type, view.domain, view.attrs, view.initializers)]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def _blocks(h: np.ndarray, graph_of: np.ndarray, graphs: int, width: int, weight: float) -> np.ndarray:
    bucket = (h % _U64(width)).astype(np.int64)
    counts = np.bincount(graph_of * width + bucket, minlength=graphs * width).reshape(graphs, width)
    block = np.log1p(counts.astype(np.float64))
    norms = np.linalg.norm(block, axis=1, keepdims=True)
    np.divide(block, norms, out=block, where=norms > 0)
    return block * weight


def _refine(h: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    incoming = np.zeros(len(h), dtype=np.uint64)
    outgoing = np.zeros(len(h), dtype=np.uint64)
    np.add.at(incoming, dst, mix(h[src] ^ _SALT_IN))
    np.add.at(outgoing, src, mix(h[dst] ^ _SALT_OUT))
    return mix(h ^ mix(incoming + _SALT_IN) ^ (mix(outgoing + _SALT_OUT) * _C3))


def embed_arrays(tokens: Sequence[str], width_tokens: Sequence[str] | None, src: np.ndarray, dst: np.ndarray,
                 graph_of: np.ndarray, graphs: int, **options: Any) -> np.ndarray:
    """Embeddings [graphs, dim] (float32, unit rows; zero rows for empty graphs) of a disjoint union:
    node i belongs to graph graph_of[i]; src/dst are flows in union numbering. Without width tokens
    (None) only the structure blocks are filled."""
    widths = None if width_tokens is None else token_ints(width_tokens)
    return embed_hashed(token_ints(tokens), widths, src, dst, graph_of, graphs, **options)


def embed_hashed(h: np.ndarray, hw: np.ndarray | None, src: np.ndarray, dst: np.ndarray, graph_of: np.ndarray,
                 graphs: int, *, rounds: int = ROUNDS, width_rounds: int = WIDTH_ROUNDS,
                 weights: Sequence[float] = WEIGHTS) -> np.ndarray:
    """`embed_arrays` of tokens already hashed by `token_ints` (uint64 arrays). Nodes may come in any
    order: the result depends on the flows and on which graph each node is in, not on node order."""
    dim = (rounds + 1) * STRUCTURE_BLOCK + (width_rounds + 1) * WIDTH_BLOCK
    out = np.zeros((graphs, dim), dtype=np.float64)
    if len(h) == 0:
        return out.astype(np.float32)
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    graph_of = np.asarray(graph_of, dtype=np.int64)
    for r in range(rounds + 1):
        if r:
            h = _refine(h, src, dst)
        out[:, r * STRUCTURE_BLOCK:(r + 1) * STRUCTURE_BLOCK] = _blocks(h, graph_of, graphs, STRUCTURE_BLOCK,
                                                                         weights[r])
    if hw is not None:
        h = hw
        base = (rounds + 1) * STRUCTURE_BLOCK
        for r in range(width_rounds + 1):
            if r:
                h = _refine(h, src, dst)
            out[:, base + r * WIDTH_BLOCK:base + (r + 1) * WIDTH_BLOCK] = _blocks(
                h, graph_of, graphs, WIDTH_BLOCK, weights[rounds + 1 + r])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out.astype(np.float32)


def embed_tables(graph_ids: Sequence[str], operators: dict[str, Any], edges: dict[str, Any],
                 **options: Any) -> np.ndarray:
    """Embeddings of graphs given as their rows: `operators[gid]` / `edges[gid]` are Arrow tables
    with the columns of operators.parquet / edges.parquet (or of the architecture view's tables; a
    graph without edges may be missing from `edges`)."""
    import pyarrow as pa

    present = [(i, gid) for i, gid in enumerate(graph_ids) if gid in operators]
    if not present:
        return embed_arrays([], [], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                            len(graph_ids), **options)
    columns = ["op_type", "domain", "attrs", "initializers"]
    nodes = pa.concat_tables([operators[gid].select(columns) for _, gid in present])
    tokens, widths = table_token_ints(nodes)
    sizes = np.array([operators[gid].num_rows for _, gid in present], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    graph_of = np.repeat(np.array([i for i, _ in present], dtype=np.int64), sizes)
    src, dst = [], []
    for (_, gid), offset in zip(present, offsets.tolist()):
        e = edges.get(gid)
        if e is not None and e.num_rows:
            src.append(e.column("src").to_numpy().astype(np.int64) + offset)
            dst.append(e.column("dst").to_numpy().astype(np.int64) + offset)
    return embed_hashed(tokens, widths, _cat(src), _cat(dst), graph_of, len(graph_ids), **options)


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def embed(views: Sequence[ArchView], **options: Any) -> np.ndarray:
    """Embeddings of these graphs, one unit row each (module docstring)."""
    tok = Tokenizer()
    tokens: list[str] = []
    widths: list[str] = []
    src, dst, graph_of = [], [], []
    offset = 0
    for i, view in enumerate(views):
        structure, width = view_tokens(view, tok)
        tokens.extend(structure)
        widths.extend(width)
        src.append(view.src + offset)
        dst.append(view.dst + offset)
        graph_of.append(np.full(view.num_nodes, i, dtype=np.int64))
        offset += view.num_nodes
    return embed_arrays(tokens, widths, _cat(src), _cat(dst), _cat(graph_of), len(views), **options)


__all__ = ["DIM", "EMBED_VERSION", "ROUNDS", "WIDTH_ROUNDS", "Tokenizer", "embed", "embed_arrays", "embed_hashed",
           "embed_tables", "node_tokens", "table_token_ints", "table_tokens", "token_ints", "view_tokens"]
