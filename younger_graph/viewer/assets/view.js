/* younger-graph view: draws one graph from the JSON in #yg-data. Shipped inside the package, inlined into
 * each page (no network). Only what is on screen is in the DOM: one SVG <g data-idx> per operator drawn;
 * when more than SVG_LIMIT operators would be on screen (a zoomed-out large graph) the operators are
 * painted on a canvas instead and clicks are hit-tested against the same positions. */
(function () {
  'use strict';
  var SVG_LIMIT = 1500, CELL = 400, NS = 'http://www.w3.org/2000/svg', COLUMN_GAP = 70, STACK_GAP = 50;
  var data = JSON.parse(document.getElementById('yg-data').textContent);
  var N = data.nodes.idx.length, H = data.node_height;
  var stage = document.getElementById('yg-stage'), canvas = document.getElementById('yg-canvas');
  var svg = document.getElementById('yg-svg'), world = document.getElementById('yg-world');
  var frameLayer = document.getElementById('yg-frames'), edgeLayer = document.getElementById('yg-edges');
  var nodeLayer = document.getElementById('yg-nodes');
  var side = document.getElementById('yg-details'), occBox = document.getElementById('yg-occurrences');
  var t0 = performance.now();

  // -- the model: positions, scopes, flows ------------------------------------------------------------
  var nodes = data.nodes, flows = data.flows, scopes = data.scopes;
  var posOfIdx = new Map();
  for (var p = 0; p < N; p++) posOfIdx.set(nodes.idx[p], p);
  var famName = data.families;
  var inFlows = [], outFlows = [];
  for (p = 0; p < N; p++) { inFlows.push([]); outFlows.push([]); }
  for (var f = 0; f < flows.src.length; f++) {
    var sp = posOfIdx.get(flows.src[f]), dp = posOfIdx.get(flows.dst[f]);
    if (sp !== undefined) outFlows[sp].push(f);
    if (dp !== undefined) inFlows[dp].push(f);
  }
  var ownerScopes = new Map(); // node position -> scope numbers it owns
  scopes.forEach(function (s, k) {
    s.expanded = s.parent < 0 || data.expanded;
    s.grid = buildGrid(s);
    if (s.owner >= 0) {
      var op = posOfIdx.get(s.owner);
      if (op !== undefined) { if (!ownerScopes.has(op)) ownerScopes.set(op, []); ownerScopes.get(op).push(k); }
    }
  });

  function buildGrid(s) {
    var cells = new Map();
    function add(key, value, into) { var c = cells.get(key); if (!c) { c = {n: [], e: []}; cells.set(key, c); } c[into].push(value); }
    s.nodes.forEach(function (p) {
      var x0 = Math.floor((nodes.x[p] - nodes.w[p] / 2) / CELL), x1 = Math.floor((nodes.x[p] + nodes.w[p] / 2) / CELL);
      var y0 = Math.floor(nodes.y[p] / CELL), y1 = Math.floor((nodes.y[p] + H) / CELL);
      for (var cx = x0; cx <= x1; cx++) for (var cy = y0; cy <= y1; cy++) add(cx + ',' + cy, p, 'n');
    });
    s.edges.forEach(function (f) {
      var pts = flows.pts[f];
      if (!pts || !pts.length) return;
      // Each segment's own box, so a long edge is found only where it passes.
      var seen = new Set();
      for (var i = 0; i + 3 < pts.length; i += 2) {
        var ax = Math.floor(Math.min(pts[i], pts[i + 2]) / CELL), bx = Math.floor(Math.max(pts[i], pts[i + 2]) / CELL);
        var ay = Math.floor(Math.min(pts[i + 1], pts[i + 3]) / CELL), by = Math.floor(Math.max(pts[i + 1], pts[i + 3]) / CELL);
        for (var cx = ax; cx <= bx; cx++) for (var cy = ay; cy <= by; cy++) {
          var key = cx + ',' + cy;
          if (!seen.has(key)) { seen.add(key); add(key, f, 'e'); }
        }
      }
    });
    return cells;
  }

  // -- composing scopes: the drawn scope at the origin, expanded bodies in a column to the right ---------
  function compose() {
    scopes.forEach(function (s) { s.visible = false; });
    function place(k, ox, oy) {
      var s = scopes[k];
      s.visible = true; s.ox = ox; s.oy = oy;
      var bottom = oy + s.h, right = ox + s.w, next = oy;
      var kids = s.children.filter(function (c) { return scopes[c].expanded; });
      kids.sort(function (a, b) { return ownerY(a) - ownerY(b) || a - b; });
      kids.forEach(function (c) {
        var cy = Math.max(oy + ownerY(c) - 20, next);
        var box = place(c, ox + s.w + COLUMN_GAP, cy);
        next = box[1] + STACK_GAP; bottom = Math.max(bottom, box[1]); right = Math.max(right, box[0]);
      });
      return [right, bottom];
    }
    var box = place(0, 0, 0);
    data.extent = {w: box[0], h: box[1]};
  }
  function ownerY(k) { var op = posOfIdx.get(scopes[k].owner); return op === undefined ? 0 : nodes.y[op]; }
  function scopeOf(p) { return nodes.scope[p]; }
  function worldX(p) { return nodes.x[p] + scopes[scopeOf(p)].ox; }
  function worldY(p) { return nodes.y[p] + scopes[scopeOf(p)].oy; }

  // -- view state -------------------------------------------------------------------------------------
  var view = {k: 1, tx: 0, ty: 0}, mode = 'svg', selected = -1, scheduled = false;
  var nodeEls = new Map(), edgeEls = new Map(), drawn = [];
  var hits = new Set(), current = new Set(), hitFlows = new Set();
  var occ = data.occurrences, occIndex = occ.map(function () { return -1; });
  occ.forEach(function (o) {
    o.found.forEach(function (nodesOf) {
      var mine = new Set();
      nodesOf.forEach(function (idx) { var q = posOfIdx.get(idx); if (q !== undefined) { hits.add(q); mine.add(idx); } });
      nodesOf.forEach(function (idx) {
        var q = posOfIdx.get(idx);
        if (q !== undefined) outFlows[q].forEach(function (f) { if (mine.has(flows.dst[f])) hitFlows.add(f); });
      });
    });
  });
  var colours = {};
  famName.forEach(function (name) {
    var probe = document.createElement('i'); probe.className = 'fam-' + name; probe.style.display = 'none';
    document.body.appendChild(probe); colours[name] = getComputedStyle(probe).backgroundColor; probe.remove();
  });

  function schedule() { if (!scheduled) { scheduled = true; requestAnimationFrame(render); } }
  function size() { return {w: stage.clientWidth || 800, h: stage.clientHeight || 600}; }
  function visibleRect(margin) {
    var s = size(), m = margin || 0;
    return {x0: (-view.tx) / view.k - m, y0: (-view.ty) / view.k - m, x1: (s.w - view.tx) / view.k + m,
            y1: (s.h - view.ty) / view.k + m};
  }

  function query(rect) {
    var ns = new Set(), es = new Set();
    scopes.forEach(function (s) {
      if (!s.visible) return;
      var x0 = Math.floor((rect.x0 - s.ox) / CELL), x1 = Math.floor((rect.x1 - s.ox) / CELL);
      var y0 = Math.floor((rect.y0 - s.oy) / CELL), y1 = Math.floor((rect.y1 - s.oy) / CELL);
      if (x1 < -1 || y1 < -1 || x0 > s.w / CELL + 1 || y0 > s.h / CELL + 1) return;
      x0 = Math.max(x0, -1); y0 = Math.max(y0, -1);
      x1 = Math.min(x1, Math.ceil(s.w / CELL) + 1); y1 = Math.min(y1, Math.ceil(s.h / CELL) + 1);
      for (var cx = x0; cx <= x1; cx++) for (var cy = y0; cy <= y1; cy++) {
        var c = s.grid.get(cx + ',' + cy);
        if (!c) continue;
        c.n.forEach(function (p) { ns.add(p); });
        c.e.forEach(function (f) { es.add(f); });
      }
    });
    return {nodes: ns, edges: es};
  }

  function render() {
    scheduled = false;
    var started = performance.now();
    world.setAttribute('transform', 'translate(' + view.tx + ',' + view.ty + ') scale(' + view.k + ')');
    var found = query(visibleRect(60 / view.k));
    if (found.nodes.size > SVG_LIMIT) renderCanvas(found); else renderSvg(found);
    drawFrames();
    stage.dataset.mode = mode;
    stage.dataset.drawn = String(drawn.length);
    var took = performance.now() - started, renders = window.ygView.timing.renders;
    renders.push(took);
    if (renders.length > 500) renders.shift();
    if (!window.ygView.timing.firstRender) {
      window.ygView.timing.firstRender = performance.now() - t0;
      stage.dataset.firstRender = window.ygView.timing.firstRender.toFixed(1);
    }
  }

  function renderSvg(found) {
    if (mode === 'canvas') { canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height); canvas.style.display = 'none'; }
    mode = 'svg';
    nodeEls.forEach(function (el, p) { if (!found.nodes.has(p)) { el.remove(); nodeEls.delete(p); } });
    edgeEls.forEach(function (el, f) { if (!found.edges.has(f)) { el.remove(); edgeEls.delete(f); } });
    found.edges.forEach(function (f) { if (!edgeEls.has(f)) { var el = edgeElement(f); if (el) { edgeLayer.appendChild(el); edgeEls.set(f, el); } } });
    found.nodes.forEach(function (p) { if (!nodeEls.has(p)) { var el = nodeElement(p); nodeLayer.appendChild(el); nodeEls.set(p, el); } });
    drawn = Array.from(nodeEls.keys()).map(function (p) { return nodes.idx[p]; });
  }

  function renderCanvas(found) {
    nodeEls.forEach(function (el) { el.remove(); }); nodeEls.clear();
    edgeEls.forEach(function (el) { el.remove(); }); edgeEls.clear();
    mode = 'canvas';
    canvas.style.display = 'block';
    var s = size(), ratio = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(s.w * ratio) || canvas.height !== Math.round(s.h * ratio)) {
      canvas.width = Math.round(s.w * ratio); canvas.height = Math.round(s.h * ratio);
    }
    var ctx = canvas.getContext('2d');
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(ratio * view.k, 0, 0, ratio * view.k, ratio * view.tx, ratio * view.ty);
    ctx.lineWidth = 1 / view.k;
    ctx.strokeStyle = '#999';
    ctx.beginPath();
    found.edges.forEach(function (f) {
      var pts = flows.pts[f], sc = scopes[flows.scope[f]];
      if (!pts || !pts.length) return;
      ctx.moveTo(pts[0] + sc.ox, pts[1] + sc.oy);
      for (var i = 2; i < pts.length; i += 2) ctx.lineTo(pts[i] + sc.ox, pts[i + 1] + sc.oy);
    });
    ctx.stroke();
    var byColour = new Map();
    found.nodes.forEach(function (p) {
      var c = colours[famName[nodes.fam[p]]];
      if (!byColour.has(c)) byColour.set(c, []);
      byColour.get(c).push(p);
    });
    byColour.forEach(function (ps, c) {
      ctx.fillStyle = c;
      ctx.beginPath();
      ps.forEach(function (p) { ctx.rect(worldX(p) - nodes.w[p] / 2, worldY(p), nodes.w[p], H); });
      ctx.fill();
    });
    var marked = [[hits, '#f5b700', 4], [current, '#ff6a00', 5]];
    if (selected >= 0) marked.push([new Set([selected]), '#000', 3]);
    marked.forEach(function (m) {
      ctx.strokeStyle = m[1]; ctx.lineWidth = Math.max(m[2], m[2] / view.k);
      ctx.beginPath();
      m[0].forEach(function (p) { if (found.nodes.has(p)) ctx.rect(worldX(p) - nodes.w[p] / 2, worldY(p), nodes.w[p], H); });
      ctx.stroke();
    });
    drawn = [];
  }

  function el(name, attrs) {
    var e = document.createElementNS(NS, name);
    for (var key in attrs) e.setAttribute(key, attrs[key]);
    return e;
  }

  function nodeElement(p) {
    var fam = famName[nodes.fam[p]], cls = 'node fam-' + fam + (nodes.kind[p] !== 'operator' ? ' io' : '');
    if (hits.has(p)) cls += ' hit';
    if (current.has(p)) cls += ' current';
    if (p === selected) cls += ' selected';
    var w = nodes.w[p];
    var g = el('g', {'class': cls, 'data-idx': nodes.idx[p], transform: 'translate(' + (worldX(p) - w / 2) + ',' + worldY(p) + ')'});
    g.appendChild(el('rect', {width: w, height: H, rx: nodes.kind[p] === 'operator' ? 4 : 12}));
    var t = el('text', {x: w / 2, y: H / 2});
    t.textContent = nodes.label[p];
    g.appendChild(t);
    var owned = ownerScopes.get(p);
    if (owned) {
      var open = owned.some(function (k) { return scopes[k].expanded; });
      var tg = el('g', {'class': 'toggle', 'data-toggle': nodes.idx[p], transform: 'translate(' + (w + 4) + ',5)'});
      tg.appendChild(el('rect', {width: 16, height: 16, rx: 3}));
      var tt = el('text', {x: 8, y: 8}); tt.textContent = open ? '\u2212' : '+';
      tg.appendChild(tt);
      var title = el('title', {}); title.textContent = (open ? 'collapse ' : 'expand ') + owned.map(function (k) { return scopes[k].scope; }).join(', ');
      tg.appendChild(title);
      g.appendChild(tg);
    }
    return g;
  }

  function edgeElement(f) {
    var pts = flows.pts[f];
    if (!pts || !pts.length) return null;
    var sc = scopes[flows.scope[f]], ox = sc.ox, oy = sc.oy;
    var d = 'M' + (pts[0] + ox) + ',' + (pts[1] + oy);
    for (var i = 2; i < pts.length; i += 2) {
      var px = pts[i - 2] + ox, py = pts[i - 1] + oy, x = pts[i] + ox, y = pts[i + 1] + oy, my = (py + y) / 2;
      d += ' C' + px + ',' + my + ' ' + x + ',' + my + ' ' + x + ',' + y;
    }
    return el('path', {'class': 'edge' + (flows.outer[f] ? ' outer' : '') + (hitFlows.has(f) ? ' hit-edge' : ''), d: d,
                       'marker-end': 'url(#yg-arrow)'});
  }

  function drawFrames() {
    while (frameLayer.firstChild) frameLayer.firstChild.remove();
    scopes.forEach(function (s, k) {
      if (!s.visible || k === 0) return;
      var g = el('g', {'class': 'frame', 'data-scope': s.scope});
      g.appendChild(el('rect', {'class': 'box', x: s.ox - 8, y: s.oy - 26, width: s.w + 16, height: s.h + 34, rx: 6}));
      var t = el('text', {x: s.ox, y: s.oy - 9, 'data-collapse': k});
      t.textContent = '\u25BE ' + s.title;
      g.appendChild(t);
      var op = posOfIdx.get(s.owner);
      if (op !== undefined && scopes[scopeOf(op)].visible) {
        var x0 = worldX(op) + nodes.w[op] / 2 + 20, y0 = worldY(op) + H / 2;
        g.appendChild(el('path', {'class': 'connector', d: 'M' + x0 + ',' + y0 + ' L' + (s.ox - 8) + ',' + (s.oy - 14)}));
      }
      frameLayer.appendChild(g);
    });
  }

  function redrawAll() {
    nodeEls.forEach(function (e) { e.remove(); }); nodeEls.clear();
    edgeEls.forEach(function (e) { e.remove(); }); edgeEls.clear();
    schedule();
  }

  // -- navigation -------------------------------------------------------------------------------------
  function fit() {
    var s = size(), e = data.extent;
    var k = Math.min(s.w / (e.w + 40), s.h / (e.h + 40), 2);
    view.k = k; view.tx = (s.w - e.w * k) / 2; view.ty = 20 * k;
    schedule();
  }
  function initialView() {
    var s = size(), e = data.extent, k = Math.min(s.w / (e.w + 40), s.h / (e.h + 40));
    if (k >= 0.45) return fit();
    // Too large to read when fitted: open at a readable scale on the top of the graph, like Netron.
    view.k = Math.max(0.45, Math.min(1, s.w / (e.w + 40)));
    view.tx = e.w * view.k < s.w ? (s.w - e.w * view.k) / 2 : s.w / 2 - topCentre() * view.k;
    view.ty = 20;
    schedule();
  }
  function topCentre() {
    var s = scopes[0], best = 0, n = 0;
    s.nodes.forEach(function (p) { if (nodes.y[p] < 200) { best += nodes.x[p]; n++; } });
    return n ? best / n : s.w / 2;
  }
  function zoomAt(factor, cx, cy) {
    var k = Math.max(0.005, Math.min(8, view.k * factor));
    view.tx = cx - (cx - view.tx) * (k / view.k); view.ty = cy - (cy - view.ty) * (k / view.k); view.k = k;
    schedule();
  }
  function centreOn(ps) {
    if (!ps.length) return;
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    ps.forEach(function (p) {
      x0 = Math.min(x0, worldX(p) - nodes.w[p] / 2); x1 = Math.max(x1, worldX(p) + nodes.w[p] / 2);
      y0 = Math.min(y0, worldY(p)); y1 = Math.max(y1, worldY(p) + H);
    });
    var s = size(), k = Math.min(1.2, s.w / (x1 - x0 + 160), s.h / (y1 - y0 + 160));
    view.k = Math.max(k, 0.05);
    view.tx = s.w / 2 - (x0 + x1) / 2 * view.k; view.ty = s.h / 2 - (y0 + y1) / 2 * view.k;
    schedule();
  }
  function reveal(p) {
    // expand every collapsed body on the way from the root to node p
    var k = scopeOf(p), changed = false;
    while (k > 0) { if (!scopes[k].expanded) { scopes[k].expanded = true; changed = true; } k = scopes[k].parent; }
    if (changed) { compose(); redrawAll(); }
  }

  var drag = null;
  stage.addEventListener('pointerdown', function (ev) {
    drag = {x: ev.clientX, y: ev.clientY, tx: view.tx, ty: view.ty, moved: false};
    stage.setPointerCapture(ev.pointerId);
  });
  stage.addEventListener('pointermove', function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) { drag.moved = true; stage.classList.add('dragging'); }
    if (drag.moved) { view.tx = drag.tx + dx; view.ty = drag.ty + dy; schedule(); }
  });
  stage.addEventListener('pointerup', function (ev) {
    var was = drag; drag = null; stage.classList.remove('dragging');
    if (was && !was.moved) click(ev);
  });
  stage.addEventListener('wheel', function (ev) {
    ev.preventDefault();
    var r = stage.getBoundingClientRect();
    zoomAt(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
  }, {passive: false});
  window.addEventListener('resize', schedule);

  function click(ev) {
    var target = document.elementFromPoint(ev.clientX, ev.clientY);
    var toggle = target && target.closest && target.closest('[data-toggle]');
    if (toggle) return toggleOwner(posOfIdx.get(Number(toggle.getAttribute('data-toggle'))));
    var collapse = target && target.closest && target.closest('[data-collapse]');
    if (collapse) { collapseScope(Number(collapse.getAttribute('data-collapse'))); return; }
    var hit = target && target.closest && target.closest('[data-idx]');
    if (hit) return select(posOfIdx.get(Number(hit.getAttribute('data-idx'))));
    if (mode === 'canvas') {
      var r = stage.getBoundingClientRect();
      var wx = (ev.clientX - r.left - view.tx) / view.k, wy = (ev.clientY - r.top - view.ty) / view.k;
      var found = query({x0: wx, y0: wy, x1: wx, y1: wy}), best = -1;
      found.nodes.forEach(function (p) {
        if (Math.abs(worldX(p) - wx) <= nodes.w[p] / 2 && wy >= worldY(p) && wy <= worldY(p) + H) best = p;
      });
      if (best >= 0) return select(best);
    }
    select(-1);
  }
  function toggleOwner(p) {
    var owned = ownerScopes.get(p) || [];
    var open = owned.some(function (k) { return scopes[k].expanded; });
    owned.forEach(function (k) { scopes[k].expanded = !open; });
    compose(); redrawAll();
  }
  function collapseScope(k) { scopes[k].expanded = false; compose(); redrawAll(); }

  // -- details ----------------------------------------------------------------------------------------
  function text(tag, content, cls) { var e = document.createElement(tag); e.textContent = content; if (cls) e.className = cls; return e; }
  function row(table, key, value) {
    var tr = document.createElement('tr'); tr.appendChild(text('td', key));
    var td = document.createElement('td');
    if (value instanceof Node) td.appendChild(value); else td.textContent = value;
    tr.appendChild(td); table.appendChild(tr);
  }
  function link(p, label) {
    var a = text('a', label); a.addEventListener('click', function () { reveal(p); select(p); centreOn([p]); }); return a;
  }
  function select(p) {
    var old = selected;
    selected = p === undefined ? -1 : p;
    [old, selected].forEach(function (q) { var e = nodeEls.get(q); if (e) e.classList.toggle('selected', q === selected); });
    if (mode === 'canvas') schedule();
    showDetails();
  }
  function showDetails() {
    side.textContent = '';
    if (selected < 0) { side.appendChild(text('p', 'Click an operator to see its attributes, initializers and slots.', 'empty')); return; }
    var p = selected, t = document.createElement('table');
    side.appendChild(text('h2', nodes.op[p] + '  #' + nodes.idx[p]));
    row(t, 'kind', nodes.kind[p]); row(t, 'domain', nodes.domain[p] || '(default)');
    row(t, 'name', nodes.name[p] || ''); row(t, 'scope', scopes[scopeOf(p)].scope || '(main graph)');
    side.appendChild(t);
    var attrs = JSON.parse(nodes.attrs[p] || '{}'), keys = Object.keys(attrs);
    side.appendChild(text('h2', 'attributes'));
    if (!keys.length) side.appendChild(text('p', 'none', 'empty'));
    else { t = document.createElement('table'); keys.forEach(function (k) { row(t, k, JSON.stringify(attrs[k])); }); side.appendChild(t); }
    var inits = JSON.parse(nodes.inits[p] || '{}'), slots = Object.keys(inits);
    side.appendChild(text('h2', 'initializers'));
    if (!slots.length) side.appendChild(text('p', 'none', 'empty'));
    else {
      t = document.createElement('table');
      slots.forEach(function (s) { var v = inits[s]; row(t, 'input ' + s, v.dtype + ' ' + JSON.stringify(v.shape) + (v.sparse ? ' (sparse)' : '')); });
      side.appendChild(t);
    }
    side.appendChild(text('h2', 'inputs'));
    t = document.createElement('table');
    inFlows[p].slice().sort(function (a, b) { return flows.dst_slot[a] - flows.dst_slot[b]; }).forEach(function (f) {
      var q = posOfIdx.get(flows.src[f]), span = document.createElement('span');
      span.appendChild(link(q, nodes.op[q] + ' #' + nodes.idx[q]));
      span.appendChild(document.createTextNode(' out ' + flows.src_slot[f] + tensorText(f)));
      row(t, 'slot ' + flows.dst_slot[f], span);
    });
    if (!t.childNodes.length) side.appendChild(text('p', 'none', 'empty')); else side.appendChild(t);
    side.appendChild(text('h2', 'outputs'));
    t = document.createElement('table');
    outFlows[p].slice().sort(function (a, b) { return flows.src_slot[a] - flows.src_slot[b]; }).forEach(function (f) {
      var q = posOfIdx.get(flows.dst[f]), span = document.createElement('span');
      span.appendChild(link(q, nodes.op[q] + ' #' + nodes.idx[q]));
      span.appendChild(document.createTextNode(' in ' + flows.dst_slot[f] + tensorText(f)));
      row(t, 'slot ' + flows.src_slot[f], span);
    });
    if (!t.childNodes.length) side.appendChild(text('p', 'none', 'empty')); else side.appendChild(t);
  }
  function tensorText(f) {
    var parts = [flows.tensor[f], flows.dtype[f], flows.shape[f]].filter(function (x) { return x; });
    return parts.length ? ' \u2014 ' + parts.join(' ') : '';
  }

  // -- occurrences ------------------------------------------------------------------------------------
  function showOccurrence(i, k) {
    var o = occ[i];
    if (!o || !o.found.length) return;
    k = ((k % o.found.length) + o.found.length) % o.found.length;
    occIndex[i] = k;
    current.forEach(function (p) { var e = nodeEls.get(p); if (e) e.classList.remove('current'); });
    current = new Set();
    var ps = [];
    o.found[k].forEach(function (idx) { var p = posOfIdx.get(idx); if (p !== undefined) { current.add(p); ps.push(p); } });
    ps.forEach(reveal);
    current.forEach(function (p) { var e = nodeEls.get(p); if (e) e.classList.add('current'); });
    var list = occBox.querySelectorAll('ol')[i];
    if (list) {
      list.querySelectorAll('li').forEach(function (li, j) { li.classList.toggle('current', j === k); });
      var item = list.children[k]; if (item && item.scrollIntoView) item.scrollIntoView({block: 'nearest'});
    }
    var label = occBox.querySelectorAll('.yg-occ-pos')[i];
    if (label) label.textContent = (k + 1) + ' / ' + o.found.length;
    centreOn(ps);
  }
  function buildOccurrences() {
    occBox.textContent = '';
    if (!occ.length) return;
    occ.forEach(function (o, i) {
      occBox.appendChild(text('h2', o.pattern));
      occBox.appendChild(text('p', o.found.length + ' occurrences in this graph' + (o.elsewhere ? ' (' + o.elsewhere + ' outside the drawn scope)' : '')));
      if (!o.found.length) return;
      var nav = document.createElement('div'); nav.className = 'yg-occ-nav';
      var prev = text('button', '\u25C0'), next = text('button', '\u25B6'), pos = text('span', '\u2013 / ' + o.found.length, 'yg-occ-pos');
      prev.addEventListener('click', function () { showOccurrence(i, occIndex[i] - 1); });
      next.addEventListener('click', function () { showOccurrence(i, occIndex[i] + 1); });
      nav.appendChild(prev); nav.appendChild(pos); nav.appendChild(next); occBox.appendChild(nav);
      var ol = document.createElement('ol'); ol.className = 'yg-occ-list';
      o.found.forEach(function (ids, k) {
        var li = text('li', ids.map(function (idx) { return '#' + idx; }).join(' '));
        li.addEventListener('click', function () { showOccurrence(i, k); });
        ol.appendChild(li);
      });
      occBox.appendChild(ol);
    });
  }

  document.getElementById('yg-fit').addEventListener('click', fit);
  document.getElementById('yg-zoom-in').addEventListener('click', function () { var s = size(); zoomAt(1.25, s.w / 2, s.h / 2); });
  document.getElementById('yg-zoom-out').addEventListener('click', function () { var s = size(); zoomAt(0.8, s.w / 2, s.h / 2); });

  window.ygView = {
    timing: {renders: []},
    drawn: function () { return drawn.slice(); },
    mode: function () { return mode; },
    total: N,
    select: function (idx) { var p = posOfIdx.get(idx); if (p !== undefined) { reveal(p); select(p); centreOn([p]); } },
    showOccurrence: showOccurrence,
    fit: fit,
    pan: function (dx, dy) { view.tx += dx; view.ty += dy; schedule(); },
    zoom: function (factor) { var s = size(); zoomAt(factor, s.w / 2, s.h / 2); },
    toggle: function (idx) { toggleOwner(posOfIdx.get(idx)); },
    renderNow: function () { scheduled = false; render(); return drawn.length; },
    view: view
  };

  compose();
  buildOccurrences();
  showDetails();
  initialView();
})();
