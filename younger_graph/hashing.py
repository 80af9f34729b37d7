"""The architecture hash: Weisfeiler–Lehman refinement over slot-labelled edges, in our own code.

Algorithm (version `HASH_VERSION`, documented in docs/formats.md; pinned by tests):
1. Each node's label string (kind, domain, op_type, input/output position, canonical attributes,
   initializer slots; never a name) → 64-bit integer by BLAKE2b-8 (little endian).
2. Each round, a node's new label mixes its old label with two multiset digests: over incoming flow
   edges of (dst_slot, src_slot, label of the producer) and over outgoing flow edges of (src_slot,
   dst_slot, label of the consumer); plus, for nesting, the parent operator's label (with the
   subgraph attribute's name) and the labels of the nodes nested under it. A multiset digest is the
   wrapping sum of SplitMix64-mixed items, so it is independent of edge order but counts
   multiplicity: Mul(x, x) differs from Mul(x, y), and because slots are in the items, Sub(a, b)
   differs from Sub(b, a).
3. Rounds stop when the number of distinct labels stops growing (the partition is stable) or after
   `MAX_ROUNDS`.
4. The graph hash is SHA-256 over the sorted final labels plus node and edge counts, as 32 hex
   characters.

Pure integer arithmetic in numpy: identical on every machine and every networkx version (networkx is
not used at all).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

HASH_VERSION = "yg-wl-1"
MAX_ROUNDS = 48

_U64 = np.uint64
_C1, _C2, _C3 = _U64(0x9E3779B97F4A7C15), _U64(0xBF58476D1CE4E5B9), _U64(0x94D049BB133111EB)
_SALT_IN, _SALT_OUT, _SALT_PARENT, _SALT_CHILD = (_U64(k) for k in (0x1, 0x2, 0x3, 0x4))


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, vectorised (uint64 arithmetic wraps, which is what we want)."""
    x = x + _C1
    x = (x ^ (x >> _U64(30))) * _C2
    x = (x ^ (x >> _U64(27))) * _C3
    return x ^ (x >> _U64(31))


def _label_ints(labels: Sequence[str]) -> np.ndarray:
    cache: dict[str, int] = {}
    out = np.empty(len(labels), dtype=np.uint64)
    for i, s in enumerate(labels):
        v = cache.get(s)
        if v is None:
            v = int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")
            cache[s] = v
        out[i] = v
    return out


def _segment_sum(values: np.ndarray, targets: np.ndarray, n: int) -> np.ndarray:
    """Wrapping uint64 sum of `values` grouped by `targets` (0..n-1)."""
    out = np.zeros(n, dtype=np.uint64)
    if len(values):
        np.add.at(out, targets, values)
    return out


def _count_distinct(h: np.ndarray) -> int:
    return len(np.unique(h))


def graph_hash(
    labels: Sequence[str],
    flows: tuple[Sequence[int], Sequence[int], Sequence[int], Sequence[int]],
    nesting: tuple[Sequence[int], Sequence[int], Sequence[str]] = ((), (), ()),
) -> str:
    """Hash of a labelled multigraph; see the module docstring for the exact algorithm."""
    n = len(labels)
    src, src_slot, dst, dst_slot = (np.asarray(a, dtype=np.int64) for a in flows)
    parent, child = (np.asarray(a, dtype=np.int64) for a in nesting[:2])
    h = _label_ints(labels)
    # Per-edge constants: slots (and nesting attribute names) enter every message.
    slot_in = _mix((dst_slot.astype(np.uint64) << _U64(32)) ^ src_slot.astype(np.uint64) ^ _SALT_IN)
    slot_out = _mix((src_slot.astype(np.uint64) << _U64(32)) ^ dst_slot.astype(np.uint64) ^ _SALT_OUT)
    nest = _label_ints(nesting[2]) if len(nesting[2]) else np.zeros(0, dtype=np.uint64)
    distinct = _count_distinct(h) if n else 0
    for _ in range(MAX_ROUNDS):
        incoming = _segment_sum(_mix(h[src] ^ slot_in), dst, n)
        outgoing = _segment_sum(_mix(h[dst] ^ slot_out), src, n)
        from_parent = _segment_sum(_mix(h[parent] ^ nest ^ _SALT_PARENT), child, n)
        from_children = _segment_sum(_mix(h[child] ^ nest ^ _SALT_CHILD), parent, n)
        h = _mix(h ^ _mix(incoming + _SALT_IN) ^ (_mix(outgoing + _SALT_OUT) * _C3)
                 ^ _mix(from_parent + _SALT_PARENT) ^ (_mix(from_children + _SALT_CHILD) * _C2))
        now = _count_distinct(h)
        if now == distinct:
            break
        distinct = now
    digest = hashlib.sha256()
    digest.update(f"{HASH_VERSION}:{n}:{len(src)}:{len(parent)}:".encode())
    digest.update(np.sort(h).astype("<u8").tobytes())
    return digest.hexdigest()[:32]
