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


def mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser, vectorised (uint64 arithmetic wraps, which is what we want); the embeddings
    (arch/embed.py) mix with it too."""
    x = x + _C1
    x ^= x >> _U64(30)
    x *= _C2
    x ^= x >> _U64(27)
    x *= _C3
    x ^= x >> _U64(31)
    return x


def _label_ints(labels: Sequence[str]) -> np.ndarray:
    ints = dict.fromkeys(labels)  # each distinct label hashed once
    for s in ints:
        ints[s] = int.from_bytes(hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest(), "little")
    return np.fromiter(map(ints.__getitem__, labels), dtype=np.uint64, count=len(labels))


def _segment_sum(values: np.ndarray, targets: np.ndarray, n: int) -> np.ndarray:
    """Wrapping uint64 sum of `values` grouped by `targets` (0..n-1)."""
    out = np.zeros(n, dtype=np.uint64)
    if len(values):
        np.add.at(out, targets, values)
    return out


def _count_distinct(h: np.ndarray) -> int:
    # By sorting: np.unique (hash-based in numpy 2) is 5x slower on uint64 arrays of a few thousand.
    if len(h) < 2:
        return len(h)
    s = np.sort(h)
    return 1 + int(np.count_nonzero(s[1:] != s[:-1]))


def graph_hash(
    labels: Sequence[str],
    flows: tuple[Sequence[int], Sequence[int], Sequence[int], Sequence[int]],
    nesting: tuple[Sequence[int], Sequence[int], Sequence[str]] = ((), (), ()),
) -> str:
    """Hash of a labelled multigraph; see the module docstring for the exact algorithm."""
    return graph_hashes([labels], flows, nesting)[0]


def graph_hashes(
    label_sets: Sequence[Sequence[str]],
    flows: tuple[Sequence[int], Sequence[int], Sequence[int], Sequence[int]],
    nesting: tuple[Sequence[int], Sequence[int], Sequence[str]] = ((), (), ()),
) -> list[str]:
    """`graph_hash` of one graph under several labellings (with and without attributes), computed
    together: the copies are refined side by side as one disjoint union, so every numpy call serves
    all of them (most graphs are small, where the cost is per call, not per node). Each copy stops
    at its own round, exactly as it would alone."""
    k, n = len(label_sets), len(label_sets[0])
    src, src_slot, dst, dst_slot = (np.asarray(a, dtype=np.int64) for a in flows)
    parent, child = (np.asarray(a, dtype=np.int64) for a in nesting[:2])
    copies = np.repeat(np.arange(k, dtype=np.int64) * n, len(src))
    all_src, all_dst = np.tile(src, k) + copies, np.tile(dst, k) + copies
    copies = np.repeat(np.arange(k, dtype=np.int64) * n, len(parent))
    all_parent, all_child = np.tile(parent, k) + copies, np.tile(child, k) + copies
    h = np.concatenate([_label_ints(labels) for labels in label_sets])
    # Per-edge constants: slots (and nesting attribute names) enter every message.
    slot_in = np.tile(mix((dst_slot.astype(np.uint64) << _U64(32)) ^ src_slot.astype(np.uint64) ^ _SALT_IN), k)
    slot_out = np.tile(mix((src_slot.astype(np.uint64) << _U64(32)) ^ dst_slot.astype(np.uint64) ^ _SALT_OUT), k)
    nest = np.tile(_label_ints(nesting[2]) if len(nesting[2]) else np.zeros(0, dtype=np.uint64), k)
    total = k * n
    distinct = [_count_distinct(h[c * n:(c + 1) * n]) if n else 0 for c in range(k)]
    final: list[np.ndarray | None] = [None] * k
    # Without nesting links (most graphs) their two terms are the same constant in every round.
    no_nesting = None if len(parent) else mix(np.zeros(total, np.uint64) + _SALT_PARENT) ^ (
        mix(np.zeros(total, np.uint64) + _SALT_CHILD) * _C2)
    for _ in range(MAX_ROUNDS):
        incoming = _segment_sum(mix(h[all_src] ^ slot_in), all_dst, total)
        outgoing = _segment_sum(mix(h[all_dst] ^ slot_out), all_src, total)
        if no_nesting is None:
            from_parent = _segment_sum(mix(h[all_parent] ^ nest ^ _SALT_PARENT), all_child, total)
            from_children = _segment_sum(mix(h[all_child] ^ nest ^ _SALT_CHILD), all_parent, total)
            nesting_terms = mix(from_parent + _SALT_PARENT) ^ (mix(from_children + _SALT_CHILD) * _C2)
        else:
            nesting_terms = no_nesting
        h = mix(h ^ mix(incoming + _SALT_IN) ^ (mix(outgoing + _SALT_OUT) * _C3) ^ nesting_terms)
        for c in range(k):
            if final[c] is None:
                part = h[c * n:(c + 1) * n]
                now = _count_distinct(part)
                if now == distinct[c]:
                    final[c] = part
                distinct[c] = now
        if all(f is not None for f in final):
            break
    return [_digest(h[c * n:(c + 1) * n] if f is None else f, len(src), len(parent)) for c, f in enumerate(final)]


def _digest(h: np.ndarray, edges: int, links: int) -> str:
    digest = hashlib.sha256()
    digest.update(f"{HASH_VERSION}:{len(h)}:{edges}:{links}:".encode())
    digest.update(np.sort(h).astype("<u8").tobytes())
    return digest.hexdigest()[:32]
