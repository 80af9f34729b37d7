"""`view`: graph pages opened in a real headless Chromium (Playwright driving the system browser).

What a person would check: the page renders with no network request, every operator drawn is one
element with its `data-idx`, the highlighted operators are exactly the occurrences (counted
independently with networkx on the tables), clicking an operator shows its attributes, bodies collapse,
and a large graph stays drawable (canvas above the SVG limit, clicks still hit the right operator). A
screenshot of a ResNet block with the residual pattern highlighted is written under the test's tmp folder
(`resnet_block.png`, path printed; docs/view-resnet-block.png is a copy made the same way).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import onnx
import pandas as pd
import pytest
from conftest import cli_env, write_model
from match_patterns import FIXTURES
from match_reference import occurrences

import younger_graph as yg
from younger_graph.errors import UsageError
from younger_graph.extract import extract
from younger_graph.match import parse_pattern
from younger_graph.store import open_store

SAMPLE_MODELS = ("torchvision_resnet18.onnx", "scripted_loop_with_branch.onnx", "transformers_bert.onnx")
BIG_BLOCKS = 1400  # 3 operators each: a 4,200-operator graph, past the page's SVG limit when fitted


def big_model(blocks: int = BIG_BLOCKS) -> onnx.ModelProto:
    """A tall graph: `blocks` times Relu → Sigmoid → Add(Relu, Sigmoid)."""
    h = onnx.helper
    nodes, prev = [], "x"
    for i in range(blocks):
        nodes += [h.make_node("Relu", [prev], [f"r{i}"]), h.make_node("Sigmoid", [f"r{i}"], [f"s{i}"]),
                  h.make_node("Add", [f"r{i}", f"s{i}"], [f"a{i}"])]
        prev = f"a{i}"
    graph = h.make_graph(nodes, "big", [h.make_tensor_value_info("x", onnx.TensorProto.FLOAT, None)],
                         [h.make_tensor_value_info(prev, onnx.TensorProto.FLOAT, None)])
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def corpus(sample_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("view")
    models = root / "models"
    models.mkdir()
    for name in SAMPLE_MODELS:
        shutil.copy(sample_dir / name, models / name)
    write_model(big_model(), models / "big_chain.onnx")
    summary = extract([models], root / "tables", workers=1)
    assert summary.ok == len(SAMPLE_MODELS) + 1
    with open_store(root / "store.db", write=True) as store:
        store.load(root / "tables")
    return root


@pytest.fixture(scope="module")
def frames(corpus: Path) -> dict[str, pd.DataFrame]:
    return {t: pd.read_parquet(corpus / "tables" / f"{t}.parquet") for t in ("models", "operators", "edges")}


def _graph(frames: dict[str, pd.DataFrame], model: str) -> str:
    m = frames["models"]
    return str(m.loc[m["name"] == model, "graph_id"].iloc[0])


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    from neo4j_env import on_ci

    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if on_ci():
            pytest.fail("playwright is not installed (it is in the test extra)", pytrace=False)
        pytest.skip("playwright is not installed: pip install -e '.[test]'")
    if exe is None:
        if on_ci():
            pytest.fail("chromium is not installed (scripts/test installs it on CI)", pytrace=False)
        pytest.skip("chromium not found (apt-get install -y chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu",
                                                          "--disable-background-networking"])
        yield b
        b.close()


class Opened:
    """A page in the browser with every request and script error it caused recorded."""

    def __init__(self, browser, path: Path, width: int = 1400, height: int = 900) -> None:  # type: ignore[no-untyped-def]
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(path.as_uri())
        self.page.wait_for_function("window.ygView && window.ygView.timing.firstRender > 0")
        self.url = path.as_uri()

    def js(self, code: str):  # type: ignore[no-untyped-def]
        return self.page.evaluate(code)

    def settle(self) -> None:
        self.js("ygView.renderNow()")

    def dom_idx(self, selector: str = "[data-idx]") -> list[int]:
        return sorted(self.js(f"Array.from(document.querySelectorAll('{selector}'), e => +e.dataset.idx)"))

    def close(self) -> None:
        assert self.errors == [], self.errors
        assert self.requests == [self.url], f"the page made network requests: {self.requests}"
        self.page.close()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "younger_graph.cli", *args], capture_output=True, text=True,
                          env=cli_env(), timeout=300)


# -- a ResNet with its residual blocks highlighted ------------------------------------------------
@pytest.fixture(scope="module")
def resnet_page(corpus: Path) -> Path:
    out = corpus / "resnet18.html"
    r = _cli("view", "torchvision_resnet18", "--db", str(corpus / "store.db"), "--out", str(out),
             "--highlight", str(FIXTURES / "residual.onnx"), "--highlight", "Conv>Relu")
    assert r.returncode == 0, r.stderr
    assert "4 occurrences of residual.onnx" in r.stderr, r.stderr
    return out


def test_page_draws_every_node_once_and_highlights_the_occurrences(resnet_page: Path, browser, frames,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    gid = _graph(frames, "torchvision_resnet18")
    ops = frames["operators"][frames["operators"]["graph_id"] == gid]
    page = Opened(browser, resnet_page)
    page.js("ygView.fit()")
    page.settle()
    assert page.js("ygView.mode()") == "svg"
    drawn = sorted(page.js("ygView.drawn()"))
    assert page.dom_idx() == drawn == sorted(ops["idx"].tolist()), "every node once, each with its data-idx"
    assert len(page.dom_idx("[data-idx].node")) == len(ops)
    want = set()
    for pattern in (parse_pattern(FIXTURES / "residual.onnx"), parse_pattern("Conv>Relu")):
        found = [o for o in occurrences(frames["operators"], frames["edges"], pattern) if o[0] == gid]
        assert found
        want |= {i for _, _, nodes in found for i in nodes}
    assert set(page.dom_idx("[data-idx].hit")) == want
    # Step to the residual pattern's second occurrence: exactly its operators are current.
    residual = [o[2] for o in occurrences(frames["operators"], frames["edges"],
                                          parse_pattern(FIXTURES / "residual.onnx")) if o[0] == gid]
    page.page.locator(".yg-occ-nav").first.locator("button").nth(1).click()
    page.page.locator(".yg-occ-nav").first.locator("button").nth(1).click()
    page.settle()
    assert page.dom_idx("[data-idx].current") == sorted(residual[1])
    shot = tmp_path / "resnet_block.png"
    page.page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")
    assert shot.stat().st_size > 20_000
    page.close()


def test_clicking_an_operator_shows_its_attributes_and_slots(resnet_page: Path, browser, frames) -> None:  # type: ignore[no-untyped-def]
    gid = _graph(frames, "torchvision_resnet18")
    ops = frames["operators"][frames["operators"]["graph_id"] == gid].set_index("idx")
    conv = int(ops.index[(ops["op_type"] == "Conv") & ops["attrs"].str.contains("kernel_shape")][3])
    page = Opened(browser, resnet_page)
    page.js(f"ygView.select({conv})")  # centre it on screen, then click it like a person would
    page.js("ygView.select(-1)")
    page.settle()
    page.page.locator(f"[data-idx='{conv}'] > rect").click()
    details = page.page.locator("#yg-details").inner_text()
    attrs = json.loads(ops.loc[conv, "attrs"])
    assert page.page.locator("#yg-details h2").first.text_content() == f"Conv  #{conv}"
    for name, value in attrs.items():
        assert name in details and json.dumps(value, separators=(",", ":")) in details, (name, details)
    inits = json.loads(ops.loc[conv, "initializers"])
    for slot, info in inits.items():
        assert f"input {slot}" in details and json.dumps(info["shape"], separators=(",", ":")) in details
    edges = frames["edges"]
    producers = edges[(edges["graph_id"] == gid) & (edges["dst"] == conv)]
    for src, ds in zip(producers["src"], producers["dst_slot"]):
        assert f"slot {ds}" in details and f"#{src}" in details
    assert page.page.locator(f"[data-idx='{conv}']").get_attribute("class").split().count("selected") == 1
    page.close()


# -- subgraph bodies and scopes --------------------------------------------------------------------
def test_bodies_collapse_and_expand(corpus: Path, browser, frames) -> None:  # type: ignore[no-untyped-def]
    gid = _graph(frames, "scripted_loop_with_branch")
    ops = frames["operators"][frames["operators"]["graph_id"] == gid]
    with open_store(corpus / "store.db") as store:
        view = yg.view_graph(store, gid)
    out = view.save(corpus / "loop.html")
    page = Opened(browser, out)
    page.js("ygView.fit()")
    page.settle()
    assert page.dom_idx() == sorted(ops["idx"].tolist())
    loop = int(ops.loc[(ops["op_type"] == "Loop") & (ops["scope"] == ""), "idx"].iloc[0])
    page.page.locator(f"[data-toggle='{loop}']").click()
    page.js("ygView.fit()")
    page.settle()
    assert page.dom_idx() == sorted(ops.loc[ops["scope"] == "", "idx"].tolist()), "the body and what it nests hide"
    page.page.locator(f"[data-toggle='{loop}']").click()
    page.js("ygView.fit()")
    page.settle()
    assert page.dom_idx() == sorted(ops["idx"].tolist())
    assert page.page.locator(".frame").count() == len(set(ops["scope"])) - 1
    page.close()


def test_scope_draws_one_body(corpus: Path, browser, frames) -> None:  # type: ignore[no-untyped-def]
    gid = _graph(frames, "scripted_loop_with_branch")
    ops = frames["operators"][frames["operators"]["graph_id"] == gid]
    body = sorted(s for s in set(ops["scope"]) if s and s.count("/") == 1)[0]
    out = corpus / "body.html"
    r = _cli("view", gid, "--db", str(corpus / "store.db"), "--out", str(out), "--scope", body)
    assert r.returncode == 0, r.stderr
    page = Opened(browser, out)
    page.js("ygView.fit()")
    page.settle()
    inside = ops["scope"].map(lambda s: s == body or s.startswith(body + "/"))
    assert page.dom_idx() == sorted(ops.loc[inside, "idx"].tolist())
    page.close()


# -- a large graph ----------------------------------------------------------------------------------
def test_large_graph_switches_to_canvas_and_clicks_still_hit(corpus: Path, browser, frames) -> None:  # type: ignore[no-untyped-def]
    gid = _graph(frames, "big_chain")
    n = int((frames["operators"]["graph_id"] == gid).sum())
    with open_store(corpus / "store.db") as store:
        out = yg.view_graph(store, "big_chain", highlight="Relu>Sigmoid>Add").save(corpus / "big.html")
    page = Opened(browser, out, 1200, 800)
    assert page.js("ygView.total") == n
    first = page.js("ygView.mode()")
    assert page.dom_idx() == sorted(page.js("ygView.drawn()")) and 0 < len(page.dom_idx()) < n, first
    page.js("ygView.fit()")
    page.settle()
    assert page.js("ygView.mode()") == "canvas" and page.dom_idx() == [] == page.js("ygView.drawn()")
    # A click on the canvas selects the operator under the pointer (same positions as the SVG).
    target = int(frames["operators"].loc[(frames["operators"]["graph_id"] == gid)
                                         & (frames["operators"]["op_type"] == "Sigmoid"), "idx"].iloc[700])
    page.js("ygView.zoom(30)")  # the canvas still, but a node is big enough to aim at
    page.settle()
    point = page.js(f"""(() => {{ const d = JSON.parse(document.getElementById('yg-data').textContent);
        const p = d.nodes.idx.indexOf({target}); const v = ygView.view;
        const r = document.getElementById('yg-stage').getBoundingClientRect();
        const x = r.left + v.tx + d.nodes.x[p] * v.k, y = r.top + v.ty + (d.nodes.y[p] + 13) * v.k;
        v.tx += r.width / 2 - (x - r.left); v.ty += r.height / 2 - (y - r.top); ygView.renderNow();
        return [r.left + r.width / 2, r.top + r.height / 2]; }})()""")
    page.page.mouse.click(point[0], point[1])
    assert page.page.locator("#yg-details h2").first.text_content() == f"Sigmoid  #{target}"
    page.js(f"ygView.select({target})")
    page.settle()
    assert page.js("ygView.mode()") == "svg" and target in page.dom_idx("[data-idx].selected")
    page.close()


# -- the stats report links to pages --------------------------------------------------------------
def test_stats_report_links_graph_and_path_pages(corpus: Path, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import re

    report = tmp_path / "report.html"
    r = _cli("stats", "--db", str(corpus / "store.db"), "--report", str(report), "-f", "json")
    assert r.returncode == 0, r.stderr
    text = report.read_text()
    section = text[text.index("<section id=explore>"):]
    hrefs = re.findall(r"href='([^']+)'", section)
    assert len(hrefs) >= 5 and all((tmp_path / h).is_file() for h in hrefs), hrefs
    assert all(h.startswith("report.views/") for h in hrefs)
    assert "Largest graphs" in section and "Top 3-operator paths" in section
    largest = re.search(r"<h3>Largest graphs</h3><table><tbody><tr><td class=l><a href='([^']+)'>([^<]+)</a>", section)
    assert largest and largest.group(2) == "big_chain"
    path_href, chain = re.search(r"<a href='(report\.views/path-[^']+)'>([^<]+)</a>", section).groups()
    chain = chain.replace("&gt;", ">")
    page = Opened(browser, tmp_path / path_href)
    occurrences_here = page.js("JSON.parse(document.getElementById('yg-data').textContent).occurrences")
    assert occurrences_here[0]["pattern"] == chain and occurrences_here[0]["found"]
    page.js("ygView.showOccurrence(0, 0)")
    page.settle()
    assert page.dom_idx("[data-idx].current") == sorted(occurrences_here[0]["found"][0])
    page.close()


# -- the library and bad input ----------------------------------------------------------------------
def test_library_object_for_notebooks(corpus: Path, sample_dir: Path) -> None:
    with open_store(corpus / "store.db") as store:
        by_file = yg.view_graph(store, str(sample_dir / "torchvision_resnet18.onnx"))
        by_name = yg.view_graph(store, "torchvision_resnet18", highlight=[FIXTURES / "residual.onnx"])
    assert by_file.graph_id == by_name.graph_id
    html = by_name._repr_html_()
    assert html.startswith("<iframe srcdoc=") and "yg-data" in html
    assert len(by_name.occurrences["residual.onnx: 5 operators (Relu, Conv, Relu, Conv, Add), 5 flows"]) == 4
    page = by_name.html()
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "") and "https://" not in page


@pytest.mark.parametrize(("args", "message"), [
    (["no-such-model"], "is not in the store"),
    (["torchvision_resnet18", "--scope", "99/body"], "has no scope"),
    (["torchvision_resnet18", "--highlight", "Conv>>Relu"], "is not an operator type"),
])
def test_bad_targets_are_one_line_errors(corpus: Path, tmp_path: Path, args: list[str], message: str) -> None:
    r = _cli("view", *args, "--db", str(corpus / "store.db"), "--out", str(tmp_path / "x.html"))
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "x.html").exists()


def test_a_model_file_not_in_the_store(corpus: Path, tmp_path: Path) -> None:
    other = write_model(big_model(3), tmp_path / "small.onnx")
    with open_store(corpus / "store.db") as store, pytest.raises(UsageError, match="is not in the store"):
        yg.view_graph(store, str(other))
