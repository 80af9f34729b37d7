"""Differential test: random mutations of real models (bit flips, byte changes, truncations,
splices, deletions, duplications, insertions) give the same result on both sides: protobuf and the
native reader accept and refuse the same bytes with the same texts, and what they accept extracts
to the same tables.

The Python side is the walker with the decided bad-input behaviour applied around it (see
native_compare.py): mutated strings are often not UTF-8. YG_MUTATIONS=<n> runs more mutations
(default 3000), YG_MUTATION_SEED=<n> another seed (the run is reproducible)."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from conftest import BACKEND_DATA, make_model, tensor_vi
from native_compare import differences, native_bytes, python_bytes
from onnx import TensorProto
from onnx import helper as oh

REPO = Path(__file__).resolve().parent.parent
MUTATIONS = int(os.environ.get("YG_MUTATIONS", "3000"))
MAX_SEED_BYTES = 64 * 1024


def _seeds() -> list[tuple[str, bytes]]:
    from test_native_parity import EDGE_CASES

    seeds = []
    for path in sorted((REPO / "sample").glob("*.onnx")):
        data = path.read_bytes()
        if len(data) <= MAX_SEED_BYTES:
            seeds.append((path.name, data))
    if BACKEND_DATA.is_dir():
        backend = sorted(BACKEND_DATA.rglob("*.onnx"))
        for path in backend[:: max(1, len(backend) // 60)]:
            data = path.read_bytes()
            if len(data) <= MAX_SEED_BYTES:
                seeds.append((path.parent.name, data))
    for name, model in sorted(EDGE_CASES.items()):
        data = model.SerializeToString()
        if len(data) <= MAX_SEED_BYTES:
            seeds.append((name, data))
    fn = oh.make_function("f", "Fn", ["a"], ["c"], [oh.make_node("Relu", ["a"], ["c"])], [oh.make_opsetid("", 17)])
    seeds.append(
        (
            "function",
            make_model(
                [oh.make_node("Fn", ["x"], ["y"], domain="f")],
                [tensor_vi("x", TensorProto.FLOAT, [1, "n"])],
                ["y"],
                domains=["f"],
                functions=[fn],
            ).SerializeToString(),
        )
    )
    return seeds


SPECIAL = [
    0x00,
    0x01,
    0x02,
    0x03,
    0x04,
    0x05,
    0x06,
    0x07,
    0x08,
    0x0A,
    0x0B,
    0x0C,
    0x12,
    0x1A,
    0x22,
    0x3A,
    0x7F,
    0x80,
    0xFF,
    0xC3,
    0xE2,
    0xED,
    0xF0,
]


def mutate(data: bytes, donor: bytes, rng: random.Random) -> tuple[str, bytes]:
    b = bytearray(data)
    n = len(b)
    kind = rng.choice(["flip", "flip", "set", "truncate", "splice", "delete", "duplicate", "insert", "multi"])
    if n == 0:
        return "insert", bytes(rng.randbytes(rng.randint(1, 8)))
    if kind == "flip":
        i = rng.randrange(n)
        b[i] ^= 1 << rng.randrange(8)
    elif kind == "set":
        b[rng.randrange(n)] = rng.choice(SPECIAL) if rng.random() < 0.7 else rng.randrange(256)
    elif kind == "truncate":
        b = b[: rng.randrange(n)]
    elif kind == "splice":
        i = rng.randrange(n)
        j = rng.randrange(len(donor)) if donor else 0
        b[i : i + rng.randint(0, 16)] = donor[j : j + rng.randint(1, 64)]
    elif kind == "delete":
        i = rng.randrange(n)
        del b[i : i + rng.randint(1, 16)]
    elif kind == "duplicate":
        i = rng.randrange(n)
        chunk = b[i : i + rng.randint(1, 64)]
        j = rng.randrange(n)
        b[j:j] = chunk
    elif kind == "insert":
        i = rng.randrange(n + 1)
        b[i:i] = bytes(rng.choice(SPECIAL) for _ in range(rng.randint(1, 6)))
    else:
        for _ in range(rng.randint(2, 5)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    return kind, bytes(b)


def test_random_mutations_give_the_same_result():
    seeds = _seeds()
    assert len(seeds) >= 40
    rng = random.Random(int(os.environ.get("YG_MUTATION_SEED", "20240601")))
    outcomes = {"ok": 0, "error": 0}
    failures = []
    for k in range(MUTATIONS):
        name, data = seeds[k % len(seeds)]
        donor = seeds[rng.randrange(len(seeds))][1]
        kind, mutated = mutate(data, donor, rng)
        try:
            py = python_bytes(mutated)
        except RecursionError:
            continue
        nat = native_bytes(mutated)
        outcomes["ok" if nat.error is None else "error"] += 1
        diff = differences(py, nat)
        if diff:
            failures.append(f"#{k} {name} {kind}: {diff[:2]}")
            if len(failures) >= 5:
                break
    assert not failures, "\n".join(failures)
    # both kinds of outcome were exercised
    assert outcomes["ok"] > MUTATIONS // 10 and outcomes["error"] > MUTATIONS // 10, outcomes


@pytest.mark.parametrize("seed", range(3))
def test_mutations_of_the_wire_structure(seed):
    """Mutations aimed at tags and lengths: every byte of a small model, set to each special value."""
    data = make_model(
        [oh.make_node("Relu", ["x"], ["y"], name="r", alpha=0.5)], [tensor_vi("x", TensorProto.FLOAT, [1, "n"])], ["y"]
    ).SerializeToString()
    rng = random.Random(seed)
    positions = list(range(len(data)))
    rng.shuffle(positions)
    failures = []
    for i in positions[: len(positions) // 3 + 1]:
        for value in SPECIAL:
            mutated = data[:i] + bytes([value]) + data[i + 1 :]
            diff = differences(python_bytes(mutated), native_bytes(mutated))
            if diff:
                failures.append(f"byte {i} = {value:#x}: {diff[:2]}")
    assert not failures, "\n".join(failures[:5])
