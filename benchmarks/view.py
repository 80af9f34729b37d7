"""`view` pages in a real browser: how long a large graph takes to appear, and whether panning stays fluid.

Usage:
    python benchmarks/view.py [--db PATH] [--operators 18000] [--quick] [--json out.json]

Pages are written with `yg.view_graph` from an embedded store (--db; default: the store benchmarks/
match.py built, else the shipped sample loaded into .bench/) and opened in headless Chromium (the
system browser, through Playwright). Measured per page, in the same browser run:

* write_s: building the page in Python (reading the graph, the layout, the JSON);
* first_render_ms: from navigation start to the end of the page's first drawing (HTML and JSON parsed,
  positions indexed, what is on screen drawn), as the page itself records it;
* pan: 60 pointer moves of a drag at the opening zoom (SVG) and fitted (all of it: canvas), with the
  duration of every redraw (`ygView.timing.renders`) and the intervals between animation frames;
* baseline: the same drag on an empty page (frame intervals of a browser with nothing to draw) and on a
  small graph; frame intervals are reported as ratios to the empty page's.

The large graph is the store's graph closest to --operators (default 18,000, the largest held-out
Younger graphs). Nothing here is a test: figures go to the README.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import BENCH_DIR, SAMPLE_DIR, machine, print_table, ratio, write_json

EMPTY = "<!DOCTYPE html><html><body style='margin:0'><div id=s style='width:100vw;height:100vh'></div></body></html>"


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def drag(page: Any, moves: int = 60) -> dict[str, Any]:
    """A drag across the page with the frame intervals and redraw durations it caused."""
    page.evaluate("""() => { window.__frames = []; window.__stop = false;
        const tick = t => { window.__frames.push(t); if (!window.__stop) requestAnimationFrame(tick); };
        requestAnimationFrame(tick);
        if (window.ygView) window.ygView.timing.renders.length = 0; }""")
    page.mouse.move(700, 450)
    page.mouse.down()
    for i in range(moves):
        page.mouse.move(700 - 6 * i, 450 - 4 * i)
    page.mouse.up()
    page.wait_for_timeout(200)
    frames = page.evaluate("() => { window.__stop = true; return window.__frames; }")
    renders = page.evaluate("() => window.ygView ? window.ygView.timing.renders.slice() : []")
    intervals = [b - a for a, b in itertools.pairwise(frames)]
    return {"frame_median_ms": statistics.median(intervals) if intervals else None,
            "frame_p95_ms": _percentile(intervals, 95), "frame_max_ms": max(intervals) if intervals else None,
            "render_median_ms": statistics.median(renders) if renders else None,
            "render_p95_ms": _percentile(renders, 95), "renders": len(renders), "frames": len(intervals)}


def measure(browser: Any, path: Path) -> dict[str, Any]:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    start = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_function("window.ygView && window.ygView.timing.firstRender > 0", timeout=120_000)
    wall = time.perf_counter() - start
    first = page.evaluate("() => performance.now()") - 0  # page clock: navigation start is 0
    info = page.evaluate("() => ({first: ygView.timing.firstRender, total: ygView.total, mode: ygView.mode(), "
                         "drawn: ygView.drawn().length, dom: document.querySelectorAll('[data-idx]').length})")
    opening = drag(page)
    opening["mode"] = page.evaluate("ygView.mode()")
    page.evaluate("ygView.fit()")
    page.evaluate("ygView.renderNow()")
    fitted = drag(page)
    fitted["mode"] = page.evaluate("ygView.mode()")
    page.close()
    return {"nodes": info["total"], "opening_mode": info["mode"], "drawn_at_opening": info["drawn"],
            "dom_at_opening": info["dom"], "script_first_render_ms": info["first"],
            "first_render_ms": first, "load_wall_s": wall, "pan_opening": opening, "pan_fitted": fitted,
            "requests": len([r for r in requests if r != path.as_uri()])}


def empty_baseline(browser: Any, folder: Path) -> dict[str, Any]:
    path = folder / "empty.html"
    path.write_text(EMPTY, encoding="utf-8")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(path.as_uri())
    result = drag(page)
    page.close()
    return result


def pick(store: Any, operators: int) -> str:
    df = store.run("MATCH (g:Graph) RETURN g.graph_id AS graph_id, g.num_operators AS n")
    df["gap"] = (df["n"] - operators).abs()
    return str(df.sort_values(["gap", "graph_id"]).iloc[0]["graph_id"])


def default_db() -> Path:
    found = sorted(BENCH_DIR.glob("match-synth-scale*.db"), key=lambda p: p.stat().st_size, reverse=True)
    if found:
        return found[0]
    db = BENCH_DIR / "view-sample.db"
    if not db.exists():
        from younger_graph.extract import extract
        from younger_graph.store import open_store

        tables = BENCH_DIR / "view-sample-tables"
        extract([SAMPLE_DIR], tables, workers=1)
        with open_store(db, write=True) as store:
            store.load(tables)
    return db


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, help="embedded store to draw from")
    parser.add_argument("--operators", type=int, default=18_000, help="size of the large graph to draw")
    parser.add_argument("--quick", action="store_true", help="smoke mode: a ~3,000-operator graph")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    import younger_graph as yg
    from younger_graph.store import open_store

    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if exe is None:
        print("chromium not found; nothing measured")
        return 1
    db = args.db or default_db()
    operators = 3_000 if args.quick else args.operators
    work = Path(tempfile.mkdtemp(prefix="yg-view-bench-"))
    pages: dict[str, Path] = {}
    built: dict[str, Any] = {}
    with open_store(db) as store:
        for label, size in (("small", 100), ("large", operators)):
            gid = pick(store, size)
            start = time.perf_counter()
            view = yg.view_graph(store, gid, highlight="Conv>Relu")
            pages[label] = view.save(work / f"{label}.html")
            built[label] = {"graph_id": gid, "write_s": time.perf_counter() - start,
                            "page_mb": pages[label].stat().st_size / 2**20}
            print(f"{label}: graph {gid}, {len(view.payload['nodes']['idx']):,} nodes, page "
                  f"{built[label]['page_mb']:.1f} MiB written in {built[label]['write_s']:.2f} s", flush=True)
    result: dict[str, Any] = {"benchmark": "view", "quick": args.quick, "machine": machine(), "db": str(db),
                              "pages": built}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        result["empty"] = empty_baseline(browser, work)
        for label, path in pages.items():
            result["pages"][label].update(measure(browser, path))
        browser.close()
    shutil.rmtree(work, ignore_errors=True)
    base = result["empty"]["frame_median_ms"]
    rows = [["empty page", "-", "-", "-", "-", "-", base, result["empty"]["frame_p95_ms"], 1.0]]
    for label in ("small", "large"):
        r = result["pages"][label]
        for when in ("opening", "fitted"):
            pan = r[f"pan_{when}"]
            pan["frame_over_empty"] = ratio(pan["frame_median_ms"], base)
            rows.append([f"{label} ({r['nodes']:,} nodes), {when}", pan["mode"], r["write_s"], r["first_render_ms"],
                         pan["render_median_ms"], pan["render_p95_ms"], pan["frame_median_ms"], pan["frame_p95_ms"],
                         pan["frame_over_empty"]])
    print_table(["page", "mode", "write s", "first render ms", "redraw ms", "redraw p95", "frame ms", "frame p95",
                 "frame / empty"], rows, "view pages in headless Chromium")
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
