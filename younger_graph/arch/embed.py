"""Graph embeddings for similarity: Weisfeiler-Lehman subtree features over the architecture view.

`embed(views)` turns graphs (as `ArchView`s, or any node tokens + flows) into unit vectors of
`DIM` floats whose dot product is their cosine similarity (`EMBED_VERSION`, docs/arch.md):

1. every node gets a token: its op_type (`domain:op_type` outside the default domain), `Input` or
   `Output`; a Conv also carries its kernel size and whether it is grouped (depthwise and 1x1
   convolutions are different layers, the rest of the attributes are not compared);
2. `ROUNDS` rounds of WL refinement over the flows, all graphs at once (vectorised, one disjoint
   union): a node's new label mixes its label with the multiset of its producers' labels and the
   multiset of its consumers' labels (wrapping sums of SplitMix64-mixed values, like the hash);
3. each round's labels are counted per graph into `DIM // (ROUNDS + 1)` buckets (feature hashing:
   no vocabulary, so embeddings are computed graph by graph, at load, and never go stale when
   graphs are added), log(1 + count) scaled, normalised per round and weighted by `ROUND_WEIGHTS`
   (round 0 is the operator histogram, later rounds ever larger neighbourhoods);
4. the concatenation is normalised to unit length. Counts are non-negative, so scores lie in 0..1.

The choice (rounds, weights, tokens) was measured on the exporter-twin and model-family
benchmark (benchmarks/similarity.py, benchmarks/README.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from younger_graph.arch.view import ArchView

EMBED_VERSION = "yg-wl-embed-1"
ROUNDS = 3
DIM = 256
ROUND_WEIGHTS = (1.0, 1.0, 1.0, 1.0)

_U64 = np.uint64
_C1, _C2, _C3 = _U64(0x9E3779B97F4A7C15), _U64(0xBF58476D1CE4E5B9), _U64(0x94D049BB133111EB)
_SALT_IN, _SALT_OUT = _U64(0x51), _U64(0x52)


def mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, vectorised over uint64 (arithmetic wraps)."""
    x = x + _C1
    x ^= x >> _U64(30)
    x *= _C2
    x ^= x >> _U64(27)
    x *= _C3
    x ^= x >> _U64(31)
    return x


def token_ints(tokens: Sequence[str]) -> np.ndarray:
    """Token text → uint64 (BLAKE2b-8, little endian), each distinct token hashed once."""
    ints: dict[str, int] = {}
    for t in set(tokens):
        ints[t] = int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little")
    return np.fromiter(map(ints.__getitem__, tokens), dtype=np.uint64, count=len(tokens))


def node_token(op_type: str, domain: str, attrs: dict[str, Any] | None) -> str:
    """The WL starting label of one node (module docstring, step 1)."""
    token = op_type if not domain else f"{domain}:{op_type}"
    if op_type in ("Conv", "ConvTranspose") and attrs:
        kernel = attrs.get("kernel_shape")
        grouped = isinstance(attrs.get("group"), int) and attrs["group"] > 1
        if isinstance(kernel, list):
            token += "/k" + "x".join(str(k) for k in kernel)
        if grouped:
            token += "/g"
    return token


def view_tokens(view: ArchView) -> list[str]:
    import json

    parsed: dict[str, dict[str, Any]] = {}
    out = []
    for op, domain, attrs in zip(view.op_type, view.domain, view.attrs):
        a = None
        if op in ("Conv", "ConvTranspose") and attrs != "{}":
            a = parsed.get(attrs)
            if a is None:
                a = parsed[attrs] = json.loads(attrs)
        out.append(node_token(op, domain, a))
    return out


def embed_arrays(tokens: Sequence[str], src: np.ndarray, dst: np.ndarray, graph_of: np.ndarray, graphs: int,
                 *, rounds: int = ROUNDS, dim: int = DIM,
                 weights: Sequence[float] = ROUND_WEIGHTS) -> np.ndarray:
    """Embeddings [graphs, dim] (float32, unit rows; zero rows for empty graphs) of a disjoint union:
    node i belongs to graph graph_of[i]; src/dst are flows in union numbering."""
    n = len(tokens)
    width = dim // (rounds + 1)
    out = np.zeros((graphs, (rounds + 1) * width), dtype=np.float64)
    if n == 0:
        return np.zeros((graphs, dim), dtype=np.float32)
    h = token_ints(tokens)
    src = np.asarray(src, dtype=np.int64)
    dst = np.asarray(dst, dtype=np.int64)
    graph_of = np.asarray(graph_of, dtype=np.int64)
    for r in range(rounds + 1):
        if r:
            incoming = np.zeros(n, dtype=np.uint64)
            outgoing = np.zeros(n, dtype=np.uint64)
            np.add.at(incoming, dst, mix(h[src] ^ _SALT_IN))
            np.add.at(outgoing, src, mix(h[dst] ^ _SALT_OUT))
            h = mix(h ^ mix(incoming + _SALT_IN) ^ (mix(outgoing + _SALT_OUT) * _C3))
        bucket = (h % _U64(width)).astype(np.int64)
        counts = np.bincount(graph_of * width + bucket, minlength=graphs * width).reshape(graphs, width)
        block = np.log1p(counts.astype(np.float64))
        norms = np.linalg.norm(block, axis=1, keepdims=True)
        np.divide(block, norms, out=block, where=norms > 0)
        out[:, r * width:(r + 1) * width] = block * weights[r]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    full = np.zeros((graphs, dim), dtype=np.float32)
    full[:, :out.shape[1]] = out
    return full


def embed_tables(graph_ids: Sequence[str], operators: dict[str, Any], edges: dict[str, Any],
                 **options: Any) -> np.ndarray:
    """Embeddings of exact graphs: `operators[gid]` / `edges[gid]` are each graph's rows of
    operators.parquet / edges.parquet (Arrow tables; a graph without edges may be missing)."""
    import json

    tokens: list[str] = []
    src, dst, graph_of = [], [], []
    offset = 0
    parsed: dict[str, Any] = {}
    for i, gid in enumerate(graph_ids):
        ops = operators.get(gid)
        if ops is None:
            continue
        cols = ops.select(["op_type", "domain", "attrs"]).to_pydict()
        for op, domain, attrs in zip(cols["op_type"], cols["domain"], cols["attrs"]):
            a = None
            if op in ("Conv", "ConvTranspose") and attrs and attrs != "{}":
                a = parsed.get(attrs)
                if a is None:
                    a = parsed[attrs] = json.loads(attrs)
            tokens.append(node_token(op, "" if domain == "ai.onnx" else domain, a))
        e = edges.get(gid)
        if e is not None and e.num_rows:
            src.append(e.column("src").to_numpy().astype(np.int64) + offset)
            dst.append(e.column("dst").to_numpy().astype(np.int64) + offset)
        graph_of.append(np.full(ops.num_rows, i, dtype=np.int64))
        offset += ops.num_rows
    if not graph_of:
        return np.zeros((len(graph_ids), options.get("dim", DIM)), dtype=np.float32)
    return embed_arrays(tokens, _cat(src), _cat(dst), _cat(graph_of), len(graph_ids), **options)


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def embed(views: Sequence[ArchView], **options: Any) -> np.ndarray:
    """Embeddings of these graphs, one unit row each (module docstring)."""
    tokens: list[str] = []
    src, dst, graph_of = [], [], []
    offset = 0
    for i, view in enumerate(views):
        tokens.extend(view_tokens(view))
        src.append(view.src + offset)
        dst.append(view.dst + offset)
        graph_of.append(np.full(view.num_nodes, i, dtype=np.int64))
        offset += view.num_nodes
    if not views:
        return np.zeros((0, options.get("dim", DIM)), dtype=np.float32)
    return embed_arrays(tokens, np.concatenate(src), np.concatenate(dst), np.concatenate(graph_of), len(views),
                        **options)


__all__ = ["DIM", "EMBED_VERSION", "ROUNDS", "embed", "embed_arrays", "embed_tables", "mix", "node_token", "token_ints",
           "view_tokens"]
