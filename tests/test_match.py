"""`match`: occurrences of chains and blocks, checked against an independent networkx count.

Expected occurrences come from tests/match_reference.py (networkx DiGraphMatcher monomorphisms on the
Parquet tables, attributes compared as parsed JSON), never from the store. The same patterns run on a
real LadybugDB store and, when NEO4J_URI names a server, on Neo4j, where the rows must be identical.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import onnx
import pandas as pd
import pytest
from conftest import cli_env, write_model
from match_patterns import BLOCKS, FIXTURES, residual
from match_reference import occurrences

from younger_graph.errors import UsageError
from younger_graph.extract import extract
from younger_graph.match import (
    MAX_OPERATORS,
    Pattern,
    PatternFlow,
    PatternNode,
    match,
    match_cypher,
    parse_pattern,
    pattern_from_chain,
    totals,
)
from younger_graph.store import open_store

CHAINS = ["Conv>Relu>Conv", "MatMul>Add", "Mul", "Sigmoid>Mul", "Add>Add>Add", "Reshape>Transpose>Reshape",
          "Conv>Relu>Conv>Add>Relu", "DynamicQuantizeLinear>MatMulInteger", "com.microsoft:QAttention",
          "Loop", "Gemm>Neg"]
# Blocks that must occur in the sample, so the comparison is not only between two empty results.
FOUND_IN_SAMPLE = {"residual": "torchvision_resnet18", "attention": "transformers_bert",
                   "squeeze_excite": "torchvision_efficientnet_b0", "quantized_matmul": "onnxruntime_bert_dynamic_int8"}


# -- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tables(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("match") / "tables"
    summary = extract([sample_dir], out, workers=1)
    assert summary.ok >= 30 and not summary.failed
    return out


@pytest.fixture(scope="module")
def frames(tables: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(tables / f"{t}.parquet") for t in ("models", "operators", "edges")}


@pytest.fixture(scope="module")
def embedded(tables: Path) -> Path:
    db = tables.parent / "store.db"
    with open_store(db, write=True) as store:
        store.load(tables)
    return db


@pytest.fixture(scope="module")
def store(embedded: Path):  # type: ignore[no-untyped-def]
    with open_store(embedded) as s:
        yield s


def _rows(df: pd.DataFrame) -> list[tuple[str, str, tuple[int, ...]]]:
    return [(g, s, tuple(n)) for g, s, n in zip(df["graph_id"], df["scope"], df["nodes"])]


def _block(name: str) -> Pattern:
    return parse_pattern(FIXTURES / f"{name}.onnx")


def _graph_of(frames: dict[str, pd.DataFrame], model: str) -> str:
    models = frames["models"]
    return str(models.loc[models["name"] == model, "graph_id"].iloc[0])


def random_patterns(frames: dict[str, pd.DataFrame], count: int, seed: int) -> list[Pattern]:
    """Connected blocks of 2-6 operators cut out of the sample's graphs (all their flows, exact slots; a
    third of them with slot-free flows): shapes nobody chose, cycles and parallel flows included."""
    ops, edges = frames["operators"], frames["edges"]
    rng = random.Random(seed)
    by_graph = {g: (o.set_index("idx"), edges[edges["graph_id"] == g]) for g, o in ops.groupby("graph_id")}
    out: list[Pattern] = []
    while len(out) < count:
        o, e = by_graph[rng.choice(sorted(by_graph))]
        operators = o.index[o["kind"] == "operator"].tolist()
        if not operators:
            continue
        start = int(rng.choice(operators))
        scope, chosen = o.loc[start, "scope"], [start]
        for _ in range(rng.randint(1, 5)):
            near = set(e.loc[e["src"].isin(chosen), "dst"]) | set(e.loc[e["dst"].isin(chosen), "src"])
            near = sorted(int(v) for v in near if v not in chosen and o.loc[v, "kind"] == "operator"
                          and o.loc[v, "scope"] == scope)
            if not near:
                break
            chosen.append(rng.choice(near))
        at = {v: i for i, v in enumerate(chosen)}
        inner = e[e["src"].isin(chosen) & e["dst"].isin(chosen)]
        free = rng.random() < 0.33
        flows = {PatternFlow(at[s], at[d], None if free else int(ss), None if free else int(ds))
                 for s, d, ss, ds in zip(inner["src"], inner["dst"], inner["src_slot"], inner["dst_slot"])}
        nodes = tuple(PatternNode(str(o.loc[v, "op_type"]), str(o.loc[v, "domain"])) for v in chosen)
        out.append(Pattern(nodes, tuple(sorted(flows, key=lambda f: (f.src, f.dst, f.src_slot or 0))), "random"))
    return out


# -- occurrences against networkx -----------------------------------------------------------------
@pytest.mark.parametrize("chain", CHAINS)
def test_chains_equal_networkx_monomorphisms(chain: str, store, frames) -> None:  # type: ignore[no-untyped-def]
    df = match(store, chain)
    want = occurrences(frames["operators"], frames["edges"], pattern_from_chain(chain))
    assert _rows(df) == want
    assert len(df) == len(set(_rows(df))), "one row per node mapping"


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_blocks_equal_networkx_monomorphisms(name: str, store, frames) -> None:  # type: ignore[no-untyped-def]
    pattern = _block(name)
    df = match(store, pattern)
    want = occurrences(frames["operators"], frames["edges"], pattern)
    assert _rows(df) == want
    assert _graph_of(frames, FOUND_IN_SAMPLE[name]) in set(df["graph_id"]), f"{name} must occur in the sample"


def test_random_blocks_equal_networkx_monomorphisms(store, frames) -> None:  # type: ignore[no-untyped-def]
    """The differential test that found LadybugDB 0.22 dropping rows for relationship-property predicates
    inside a multi-hop MATCH (now compared after the MATCH; see match.py)."""
    patterns = random_patterns(frames, 30, seed=14)
    for pattern in patterns:
        want = occurrences(frames["operators"], frames["edges"], pattern)
        assert _rows(match(store, pattern)) == want, (
            [n.op_type for n in pattern.nodes], [(f.src, f.dst, f.src_slot, f.dst_slot) for f in pattern.flows])
    assert sum(len(p.nodes) >= 4 for p in patterns) >= 10


def test_attributes_set_by_the_pattern_must_be_equal(store, frames, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plain = match(store, _block("residual"))
    with_3x3 = match(store, parse_pattern(write_model(residual([3, 3]), tmp_path / "r3.onnx")))
    with_5x5 = match(store, parse_pattern(write_model(residual([5, 5]), tmp_path / "r5.onnx")))
    want = occurrences(frames["operators"], frames["edges"], parse_pattern(tmp_path / "r3.onnx"))
    assert _rows(with_3x3) == want and 0 < len(with_3x3) <= len(plain)
    assert set(_rows(with_3x3)) <= set(_rows(plain))
    assert len(with_5x5) == 0


def test_parallel_flows_give_one_row_per_mapping(store) -> None:  # type: ignore[no-untyped-def]
    """DynamicQuantizeLinear feeds MatMulInteger twice (slots 0 and 2): a chain counts the pair once, the
    slot-exact block needs both flows, a block asking for a third flow finds nothing."""
    chain = match(store, "DynamicQuantizeLinear>MatMulInteger")
    block = match(store, _block("quantized_matmul"))
    assert len(chain) == len(block) > 0 and _rows(chain) == _rows(block)
    nodes = (PatternNode("DynamicQuantizeLinear", ""), PatternNode("MatMulInteger", ""))
    three = Pattern(nodes, (PatternFlow(0, 1, 0, 0), PatternFlow(0, 1, 1, 1), PatternFlow(0, 1, 2, 2)), "three")
    assert len(match(store, three)) == 0


def test_mappings_are_injective(store, frames) -> None:  # type: ignore[no-untyped-def]
    """Two pattern Convs fed by one Relu never land on the same Conv."""
    two = Pattern((PatternNode("Relu"), PatternNode("Conv"), PatternNode("Conv")),
                  (PatternFlow(0, 1), PatternFlow(0, 2)), "fork")
    df = match(store, two)
    assert len(df) > 0 and all(n[1] != n[2] for n in df["nodes"])
    assert _rows(df) == occurrences(frames["operators"], frames["edges"], two)


def test_limit_graphs_models_and_totals(store, frames) -> None:  # type: ignore[no-untyped-def]
    full = match(store, "Conv>Relu")
    first = match(store, "Conv>Relu", limit=7)
    assert _rows(first) == _rows(full)[:7]
    gid = _graph_of(frames, "torchvision_resnet18")
    only = match(store, "Conv>Relu", graphs=[gid])
    assert _rows(only) == [r for r in _rows(full) if r[0] == gid] and len(only) > 0
    models = frames["models"]
    for g, names in zip(full["graph_id"], full["models"]):
        assert names == sorted(models.loc[(models["graph_id"] == g) & (models["status"] == "ok"), "name"])
    t = totals(full)
    assert t == {"occurrences": len(full), "graphs": full["graph_id"].nunique(),
                 "models": len({m for ms in full["models"] for m in ms})}
    assert "resnet18" in " ".join(full.loc[full["graph_id"] == gid, "models"].iloc[0])


def _per_graph(rows: list[tuple[str, str, tuple[int, ...]]]) -> list[tuple[str, int]]:
    return sorted(Counter(graph_id for graph_id, _scope, _nodes in rows).items())


def test_counts_equal_networkx_per_graph(store, frames) -> None:  # type: ignore[no-untyped-def]
    """`count=True`: one row per graph, its number of networkx monomorphisms, and the same models as
    the occurrence rows; slot-exact blocks (no DISTINCT in the statement) and slot-free chains alike."""
    specs: list[object] = [*CHAINS, *(_block(name) for name in sorted(BLOCKS)), *random_patterns(frames, 10, seed=3)]
    for spec in specs:
        pattern = parse_pattern(spec) if isinstance(spec, str) else spec
        counted = match(store, pattern, count=True)
        want = _per_graph(occurrences(frames["operators"], frames["edges"], pattern))
        assert list(zip(counted["graph_id"], counted["occurrences"])) == want, pattern.describe()
        full = match(store, pattern)
        assert dict(zip(counted["graph_id"], counted["models"])) == dict(zip(full["graph_id"], full["models"]))
        assert totals(counted) == totals(full)
    assert list(match(store, "Conv>NoSuchOp", count=True).columns) == ["graph_id", "occurrences", "models"]


def test_count_limit_is_the_first_graphs(store) -> None:  # type: ignore[no-untyped-def]
    full = match(store, "Conv>Relu", count=True)
    first = match(store, "Conv>Relu", count=True, limit=2)
    assert len(full) > 2 and first.to_dict("records") == full.head(2).to_dict("records")
    text, _ = match_cypher(parse_pattern(_block("residual")), count=True)
    assert "collect(i" not in text and "count(*)" in text and "DISTINCT" not in text


def test_unknown_op_type_returns_no_rows_and_says_so(store) -> None:  # type: ignore[no-untyped-def]
    df = match(store, "Conv>NoSuchOp")
    assert len(df) == 0 and list(df.columns) == ["graph_id", "scope", "nodes", "models"]
    assert df.attrs["notes"] == ["no operator of type NoSuchOp in the store"]


def test_user_text_is_bound_never_pasted(tmp_path: Path, store) -> None:  # type: ignore[no-untyped-def]
    """An op type that reads like Cypher is a parameter value: no rows, no error, text unchanged."""
    evil = "Conv' OR 1=1 RETURN 1 //"
    model = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node(evil, ["x"], ["y"], domain="x.evil")], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, None)],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)]),
        opset_imports=[onnx.helper.make_opsetid("", 17), onnx.helper.make_opsetid("x.evil", 1)])
    pattern = parse_pattern(write_model(model, tmp_path / "evil.onnx"))
    text, params = match_cypher(pattern)
    assert evil not in text and params["op_0"] == evil and params["domain_0"] == ["x.evil"]
    assert len(match(store, pattern)) == 0


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "message"), [
    ("", "is empty"),
    (" > ", "is empty"),
    ("Conv>>Relu", "is not an operator type"),
    ("Conv>Re lu", "is not an operator type"),
    (">".join(["Relu"] * (MAX_OPERATORS + 1)), f"limited to {MAX_OPERATORS} operators"),
    ("missing.onnx", "no pattern file"),
])
def test_bad_patterns_are_usage_errors(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_pattern(spec)


def test_a_pattern_file_that_is_not_a_model(tmp_path: Path) -> None:
    bad = tmp_path / "notes.onnx"
    bad.write_text("not a model at all")
    with pytest.raises(UsageError, match="is not a model"):
        parse_pattern(bad)
    empty = onnx.helper.make_model(onnx.helper.make_graph([], "g", [], []))
    with pytest.raises(UsageError, match="is empty"):
        parse_pattern(write_model(empty, tmp_path / "empty.onnx"))


def test_views(store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="--view must be one of"):
        match(store, "Conv", view="nope")


# -- the architecture view ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def arch_frames(tables: Path, frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {"models": frames["models"], "operators": pd.read_parquet(tables / "arch_operators.parquet"),
            "edges": pd.read_parquet(tables / "arch_edges.parquet")}


def test_arch_view_equals_networkx_monomorphisms(store, arch_frames) -> None:  # type: ignore[no-untyped-def]
    """The same generated query on ArchOperator/ARCH_FLOWS, checked against networkx on arch_*.parquet,
    with blocks cut out of the view itself and op types only the view has (fused Swish, HardSwish)."""
    specs: list[object] = [*CHAINS, "Conv>HardSwish", "Swish", *random_patterns(arch_frames, 12, seed=11)]
    found = 0
    for spec in specs:
        df = match(store, spec, view="arch")
        pattern = spec if isinstance(spec, Pattern) else pattern_from_chain(str(spec))
        assert _rows(df) == occurrences(arch_frames["operators"], arch_frames["edges"], pattern), spec
        found += len(df)
    assert found, "the view must hold some of these blocks"


def _conv_identity_relu(path: Path) -> Path:
    h = onnx.helper
    nodes = [h.make_node("Conv", ["x", "w"], ["c"]), h.make_node("Identity", ["c"], ["i"]),
             h.make_node("Relu", ["i"], ["y"])]
    graph = h.make_graph(nodes, "block", [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, None),
                                          h.make_tensor_value_info("w", onnx.TensorProto.FLOAT, None)],
                         [h.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)])
    return write_model(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), path)


def test_an_onnx_pattern_is_normalised_for_the_arch_view(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A hand-written block with exporter plumbing (an Identity) finds in the architecture view what its
    plumbing-free chain finds there; in the exact view it stays as written."""
    block = _conv_identity_relu(tmp_path / "block.onnx")
    assert [n.op_type for n in parse_pattern(block).nodes] == ["Conv", "Identity", "Relu"]
    assert [n.op_type for n in parse_pattern(block, "arch").nodes] == ["Conv", "Relu"]
    arch = match(store, block, view="arch")
    assert len(arch) and _rows(arch) == _rows(match(store, "Conv>Relu", view="arch"))
    r = _cli("match", str(block), "--db", str(store.location), "--view", "arch", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)) == len(arch)


def test_pattern_fixtures_are_current(tmp_path: Path) -> None:
    from match_patterns import write_all

    for fresh in write_all(tmp_path):
        shipped = (FIXTURES / fresh.name).read_bytes()
        assert fresh.read_bytes() == shipped, f"run python tests/match_patterns.py ({fresh.name})"


# -- the command ---------------------------------------------------------------------------------
def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "younger_graph.cli", *args], capture_output=True, text=True,
                          env=cli_env(), timeout=300)


def test_cli_formats_totals_and_explain(embedded: Path, store) -> None:  # type: ignore[no-untyped-def]
    want = match(store, "Conv>Relu>Conv")
    r = _cli("match", "Conv>Relu>Conv", "--db", str(embedded), "-f", "json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [(o["graph_id"], o["scope"], tuple(o["nodes"])) for o in rows] == _rows(want)
    assert set(rows[0]) == {"graph_id", "scope", "nodes", "models"}
    r = _cli("match", "Conv>Relu>Conv", "--db", str(embedded), "-f", "csv", "--limit", "3")
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 4, r.stdout
    assert json.loads(pd.read_csv(__import__("io").StringIO(r.stdout))["nodes"][0]) == list(want["nodes"][0])
    r = _cli("match", "Conv>Relu>Conv", "--db", str(embedded))
    t = totals(want)
    assert r.returncode == 0 and f"{t['occurrences']:,} occurrences in {t['graphs']:,} graphs" in r.stdout
    counted = match(store, "Conv>Relu>Conv", count=True)
    r = _cli("match", "Conv>Relu>Conv", "--db", str(embedded), "--count", "-f", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == counted.to_dict("records")
    r = _cli("match", "Conv>Relu>Conv", "--db", str(embedded), "--count")
    assert r.returncode == 0 and f"{t['occurrences']:,} occurrences in {t['graphs']:,} graphs" in r.stdout
    r = _cli("match", str(FIXTURES / "residual.onnx"), "--db", str(embedded), "--explain")
    assert r.returncode == 0 and r.stdout.count("MATCH (n0:Operator)") == 1
    body = [line for line in r.stdout.splitlines() if not line.startswith("//")]
    assert not any("Conv" in line or "Relu" in line for line in body), "op types are parameters"
    assert '// $op_1 = "Conv"' in r.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["Conv>Relu", "--view", "nope"], "--view must be one of"),
    (["Conv>Relu", "--limit", "0"], "--limit must be at least 1"),
    (["Conv>Relu", "--format", "xml"], "--format must be one of"),
    ([">".join(["Add"] * 13)], "limited to 12 operators"),
    (["nothing-here.onnx"], "no pattern file"),
])
def test_cli_bad_input_is_one_line(args: list[str], message: str, embedded: Path) -> None:
    r = _cli("match", *args, "--db", str(embedded))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_cli_unknown_op_type_is_a_note_not_an_error(embedded: Path) -> None:
    r = _cli("match", "Conv>Frobnicate", "--db", str(embedded), "-f", "json")
    assert r.returncode == 0 and json.loads(r.stdout) == []
    assert "no operator of type Frobnicate in the store" in r.stderr


def test_cli_missing_store_is_one_line(tmp_path: Path) -> None:
    r = _cli("match", "Conv", "--db", str(tmp_path / "none.db"))
    assert r.returncode == 2 and "no database at" in r.stderr and len(r.stderr.strip().splitlines()) == 1


# -- both backends -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def neo4j_store(tables: Path):  # type: ignore[no-untyped-def]
    from neo4j_env import loaded_store

    yield from loaded_store(tables)


@pytest.mark.neo4j
def test_identical_rows_on_neo4j(neo4j_store, store, frames) -> None:  # type: ignore[no-untyped-def]
    specs: list[object] = [*CHAINS, *(_block(name) for name in sorted(BLOCKS)), *random_patterns(frames, 12, seed=7)]
    for spec in specs:
        a, b = match(store, spec), match(neo4j_store, spec)
        assert a.to_dict("records") == b.to_dict("records"), spec
    assert match(neo4j_store, "Conv>Relu", limit=5).to_dict("records") == \
        match(store, "Conv>Relu", limit=5).to_dict("records")
    for spec in ("Conv>Relu>Conv", "MatMul>Add", "Conv>HardSwish", _block("attention")):
        assert match(store, spec, view="arch").to_dict("records") == \
            match(neo4j_store, spec, view="arch").to_dict("records"), spec
    for spec in specs:
        assert match(store, spec, count=True).to_dict("records") == \
            match(neo4j_store, spec, count=True).to_dict("records"), spec
    assert match(store, "Conv>Relu", count=True, limit=3).to_dict("records") == \
        match(neo4j_store, "Conv>Relu", count=True, limit=3).to_dict("records")
    some = sorted(set(match(store, "Conv>Relu")["graph_id"]))[:3]
    assert match(neo4j_store, _block("residual"), graphs=some).to_dict("records") == \
        match(store, _block("residual"), graphs=some).to_dict("records")


# -- real zoo exports ----------------------------------------------------------------------------
@pytest.mark.zoo
@pytest.mark.slow
def test_zoo_exports_equal_networkx(zoo_export, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Fresh exports (bottleneck ResNet, MobileNetV3 with hard-sigmoid squeeze-excite, ViT attention)."""
    refs = ["torchvision:resnet50", "torchvision:mobilenet_v3_large", "transformers:vit"]
    folder = tmp_path / "models"
    for ref in refs:
        write_model(zoo_export(ref), folder / f"{ref.replace(':', '_')}.onnx")
    out = tmp_path / "tables"
    assert extract([folder], out, workers=1).ok == len(refs)
    frames = {t: pd.read_parquet(out / f"{t}.parquet") for t in ("operators", "edges")}
    with open_store(tmp_path / "zoo.db", write=True) as s:
        s.load(out)
        bottleneck = pattern_from_chain("Conv>Relu>Conv>Relu>Conv>Add>Relu")
        hard_se = pattern_from_chain("GlobalAveragePool>Conv>Relu>Conv>HardSigmoid>Mul")
        for pattern in [bottleneck, hard_se, _block("attention"), _block("residual"), *random_patterns(
                {"operators": frames["operators"], "edges": frames["edges"]}, 10, seed=3)]:
            df = match(s, pattern)
            assert _rows(df) == occurrences(frames["operators"], frames["edges"], pattern), pattern.describe()
        assert len(match(s, bottleneck)) >= 10 and len(match(s, hard_se)) >= 5
