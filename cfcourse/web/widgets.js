/* cfcourse widgets: "rate a few movies" (data-widget="recommend") and the explorable map
 * (data-widget="map"). The project's own code, no library, nothing loaded from elsewhere.
 * The data is the JSON written by cfcourse.widgets.export_movies; the arithmetic is that of
 * cfcourse.new_user.fit_new_user (rating model) and cfcourse.explore.cosine_neighbours, and
 * tests/test_widgets_browser.py checks it against them. */
(function () {
  "use strict";
  if (window.cfcourseWidgets) { window.cfcourseWidgets.init(); return; }

  var SVG = "http://www.w3.org/2000/svg";
  var COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf"];
  var cache = {};

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function svgEl(tag, attrs) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  var uid = 0;
  function newId(prefix) { uid += 1; return prefix + "-" + uid; }

  /* ---------------------------------------------------------------------------------------
   * The data: vectors and biases back to numbers, norms, a search index
   * ------------------------------------------------------------------------------------- */

  function load(id) {
    if (cache[id]) return cache[id];
    var node = document.getElementById(id);
    if (!node) return null;
    var raw = JSON.parse(node.textContent);
    var n = raw.ids.length, d = raw.dim;
    var vs = Math.pow(10, raw.vectorDigits), bs = Math.pow(10, raw.biasDigits);
    var V = new Float64Array(n * d), B = new Float64Array(n), norms = new Float64Array(n);
    for (var i = 0; i < n; i++) {
      var s = 0;
      for (var k = 0; k < d; k++) { var x = raw.vectors[i * d + k] / vs; V[i * d + k] = x; s += x * x; }
      norms[i] = Math.sqrt(s);
      B[i] = raw.bias[i] / bs;
    }
    var byId = {};
    raw.ids.forEach(function (m, j) { byId[m] = j; });
    var lower = raw.titles.map(function (t) { return t.toLowerCase(); });
    var data = { raw: raw, n: n, d: d, V: V, B: B, norms: norms, byId: byId, lower: lower,
                 lo: raw.scale[0], hi: raw.scale[1], l2: raw.l2, bs: bs };
    cache[id] = data;
    return data;
  }

  /* Titles containing the query (case-insensitive), the most rated first. */
  function search(data, query, limit) {
    var q = query.trim().toLowerCase();
    if (!q) return [];
    var found = [];
    for (var i = 0; i < data.n; i++) if (data.lower[i].indexOf(q) >= 0) found.push(i);
    found.sort(function (a, b) { return data.raw.counts[b] - data.raw.counts[a] || a - b; });
    return found.slice(0, limit);
  }

  function genresOf(data, i) {
    return data.raw.genres[i].map(function (g) { return data.raw.genreNames[g]; }).join(", ") || "no genre";
  }

  /* ---------------------------------------------------------------------------------------
   * The new user's fold-in (cfcourse.new_user.fit_new_user, rating model): minimise
   *   sum_i (lo + (hi - lo) sigma(m_i.u + b + b_i) - r_i)^2 + l2 (|u|^2 + b^2)
   * over theta = (u, b), by Newton's method with a line search from zero (Gauss-Newton steps
   * where the Hessian is not positive definite), to a gradient of ~1e-12.
   * ------------------------------------------------------------------------------------- */

  function cholesky(A, n) {  // lower-triangular L with A = L L^T, or null
    var L = new Float64Array(n * n);
    for (var i = 0; i < n; i++) {
      for (var j = 0; j <= i; j++) {
        var s = A[i * n + j];
        for (var k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
        if (i === j) { if (!(s > 0)) return null; L[i * n + i] = Math.sqrt(s); }
        else L[i * n + j] = s / L[j * n + j];
      }
    }
    return L;
  }

  function solve(L, b, n) {
    var y = new Float64Array(n), x = new Float64Array(n);
    for (var i = 0; i < n; i++) { var s = b[i]; for (var k = 0; k < i; k++) s -= L[i * n + k] * y[k]; y[i] = s / L[i * n + i]; }
    for (var i2 = n - 1; i2 >= 0; i2--) { var t = y[i2]; for (var k2 = i2 + 1; k2 < n; k2++) t -= L[k2 * n + i2] * x[k2]; x[i2] = t / L[i2 * n + i2]; }
    return x;
  }

  function foldIn(data, rows, ratings) {
    var d = data.d, p = d + 1, n = rows.length, lo = data.lo, span = data.hi - data.lo, l2 = data.l2;
    var X = rows.map(function (r) {
      var x = new Float64Array(p);
      for (var k = 0; k < d; k++) x[k] = data.V[r * d + k];
      x[d] = 1;
      return x;
    });
    var bm = rows.map(function (r) { return data.B[r]; });

    function evaluate(theta) {
      var f = 0, g = new Float64Array(n), h = new Float64Array(n), hgn = new Float64Array(n);
      for (var i = 0; i < n; i++) {
        var z = bm[i];
        for (var k = 0; k < p; k++) z += X[i][k] * theta[k];
        var sig = 1 / (1 + Math.exp(-z)), ds = sig * (1 - sig);
        var e = lo + span * sig - ratings[i];
        f += e * e;
        g[i] = 2 * e * span * ds;
        hgn[i] = 2 * span * span * ds * ds;
        h[i] = hgn[i] + 2 * e * span * ds * (1 - 2 * sig);
      }
      var grad = new Float64Array(p);
      for (var k2 = 0; k2 < p; k2++) {
        f += l2 * theta[k2] * theta[k2];
        var s = 2 * l2 * theta[k2];
        for (var i2 = 0; i2 < n; i2++) s += X[i2][k2] * g[i2];
        grad[k2] = s;
      }
      return { f: f, g: g, h: h, hgn: hgn, grad: grad };
    }

    function hessian(weights) {
      var H = new Float64Array(p * p);
      for (var a = 0; a < p; a++) {
        for (var b = 0; b <= a; b++) {
          var s = 0;
          for (var i = 0; i < n; i++) s += X[i][a] * weights[i] * X[i][b];
          H[a * p + b] = s; H[b * p + a] = s;
        }
        H[a * p + a] += 2 * l2;
      }
      return H;
    }

    var theta = new Float64Array(p), state = evaluate(theta);
    for (var iter = 0; iter < 200; iter++) {
      var gmax = 0;
      for (var k = 0; k < p; k++) gmax = Math.max(gmax, Math.abs(state.grad[k]));
      if (gmax < 1e-12) break;
      var L = cholesky(hessian(state.h), p) || cholesky(hessian(state.hgn), p);
      var minus = state.grad.map(function (v) { return -v; });
      var step = solve(L, minus, p), slope = 0;
      for (var k3 = 0; k3 < p; k3++) slope += step[k3] * state.grad[k3];
      if (!(slope < 0)) { step = minus; slope = -gmax * gmax; }
      var t = 1, next = null, trial = null;
      while (t > 1e-12) {
        trial = theta.map(function (v, j) { return v + t * step[j]; });
        next = evaluate(trial);
        if (next.f <= state.f + 1e-4 * t * slope) break;
        t /= 2;
      }
      if (t <= 1e-12) break;  // no further decrease within floating point: converged
      theta = trial; state = next;
    }
    // At the optimum (u, b) = sum_i a_i (m_i, 1) with a_i = -g_i / (2 l2).
    var a = Array.prototype.map.call(state.g, function (gi) { return -gi / (2 * l2); });
    return { u: theta.subarray(0, d), b: theta[d], a: a };
  }

  function scoreAll(data, user) {
    var d = data.d, scores = new Float64Array(data.n);
    for (var j = 0; j < data.n; j++) {
      var s = data.B[j] + user.b;
      for (var k = 0; k < d; k++) s += data.V[j * d + k] * user.u[k];
      scores[j] = s;
    }
    return scores;
  }

  function dot(data, i, j) {
    var d = data.d, s = 0;
    for (var k = 0; k < d; k++) s += data.V[i * d + k] * data.V[j * d + k];
    return s;
  }

  function recommend(data, profile, k) {
    var rows = profile.map(function (p) { return p.row; });
    var ratings = profile.map(function (p) { return p.rating; });
    var user = foldIn(data, rows, ratings), scores = scoreAll(data, user);
    var seen = {};
    rows.forEach(function (r) { seen[r] = true; });
    var order = [];
    for (var j = 0; j < data.n; j++) if (!seen[j]) order.push(j);
    order.sort(function (x, y) { return scores[y] - scores[x] || x - y; });
    var top = order.slice(0, k).map(function (j) {
      var terms = rows.map(function (r, i) { return { row: r, term: user.a[i] * (dot(data, j, r) + 1) }; });
      return { row: j, score: scores[j], bias: data.B[j], terms: terms,
               rating: data.lo + (data.hi - data.lo) / (1 + Math.exp(-scores[j])) };
    });
    return { user: user, top: top };
  }

  /* Cosine neighbours in the full embedding space (cfcourse.explore.cosine_neighbours). */
  function neighbours(data, i, k) {
    var sims = [];
    for (var j = 0; j < data.n; j++) {
      if (j === i || data.norms[j] === 0) continue;
      sims.push({ row: j, sim: dot(data, i, j) / (data.norms[i] * data.norms[j]) });
    }
    sims.sort(function (x, y) { return y.sim - x.sim || x.row - y.row; });
    return sims.slice(0, k);
  }

  function fmt(x, digits) {
    var s = x.toFixed(digits);
    return (x >= 0 ? "+" : "\u2212") + s.replace("-", "");
  }

  function stars(r) { return r.toFixed(1) + "\u2605"; }

  /* ---------------------------------------------------------------------------------------
   * A title box with suggestions (a combobox): type, arrows to move, Enter or click to pick
   * ------------------------------------------------------------------------------------- */

  function titleBox(data, labelText, onPick) {
    var inputId = newId("cfw-title"), listId = newId("cfw-options");
    var input = el("input", { id: inputId, type: "text", autocomplete: "off", role: "combobox",
                              "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": listId,
                              placeholder: "part of a title, e.g. toy story", className: "cfw-input" });
    var list = el("ul", { id: listId, role: "listbox", className: "cfw-options", hidden: "" });
    var wrap = el("div", { className: "cfw-field cfw-titlebox" },
                  [el("label", { "for": inputId, text: labelText }), input, list]);
    var rows = [], active = -1, picked = null;

    function render() {
      list.innerHTML = "";
      rows.forEach(function (r, n) {
        var option = el("li", { role: "option", id: listId + "-" + n, "data-movie-id": String(data.raw.ids[r]),
                                "aria-selected": n === active ? "true" : "false",
                                text: data.raw.titles[r] });
        option.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(n); });
        list.appendChild(option);
      });
      var open = rows.length > 0;
      if (open) list.removeAttribute("hidden"); else list.setAttribute("hidden", "");
      input.setAttribute("aria-expanded", open ? "true" : "false");
      if (active >= 0) input.setAttribute("aria-activedescendant", listId + "-" + active);
      else input.removeAttribute("aria-activedescendant");
    }

    function choose(n) {
      picked = rows[n];
      input.value = data.raw.titles[picked];
      rows = []; active = -1; render();
      onPick(picked, false);
    }

    input.addEventListener("input", function () {
      picked = null;
      rows = search(data, input.value, 8);
      active = rows.length ? 0 : -1;
      render();
    });
    input.addEventListener("keydown", function (ev) {
      if (ev.key === "ArrowDown" && rows.length) { active = (active + 1) % rows.length; render(); ev.preventDefault(); }
      else if (ev.key === "ArrowUp" && rows.length) { active = (active - 1 + rows.length) % rows.length; render(); ev.preventDefault(); }
      else if (ev.key === "Escape") { rows = []; active = -1; render(); }
      else if (ev.key === "Enter" && rows.length && active >= 0) { ev.preventDefault(); choose(active); }
    });
    input.addEventListener("blur", function () { rows = []; active = -1; render(); });

    return {
      node: wrap, input: input,
      picked: function () { return picked; },
      /* The movie to use on submit: the picked one, else the only or first match; null if none. */
      resolve: function () {
        if (picked !== null) return picked;
        var found = search(data, input.value, 1);
        return found.length ? found[0] : null;
      },
      reset: function () { picked = null; input.value = ""; rows = []; active = -1; render(); }
    };
  }

  /* ---------------------------------------------------------------------------------------
   * A map: SVG dots, labelled films, tooltips, highlights
   * ------------------------------------------------------------------------------------- */

  /* The map's layouts: the first two principal components, and t-SNE where the data has it. */
  function layouts(data) {
    var raw = data.raw, all = [{ key: "pca", name: "PCA", coords: raw.pca, scale: data.bs,
                                 label: "The movies on their first two principal components" }];
    if (raw.tsne) all.push({ key: "tsne", name: "t-SNE", coords: raw.tsne, scale: Math.pow(10, raw.tsneDigits),
                             label: "The movies on a t-SNE map of their vectors (cosine distances)" });
    return all;
  }

  function makeMap(data, options) {
    var raw = data.raw, n = data.n;
    var xs = new Array(n), ys = new Array(n), minX, maxX, minY, maxY, w, h, r;
    var svg = svgEl("svg", { role: "img", preserveAspectRatio: "xMidYMid meet" });
    svg.setAttribute("class", "cfw-svg");
    /* Positions of the dots for one layout ({coords, scale, label}), and the frame around them. */
    function frame(layout) {
      for (var i = 0; i < n; i++) { xs[i] = layout.coords[2 * i] / layout.scale; ys[i] = -layout.coords[2 * i + 1] / layout.scale; }
      var pad = 0.04;
      minX = Math.min.apply(null, xs); maxX = Math.max.apply(null, xs);
      minY = Math.min.apply(null, ys); maxY = Math.max.apply(null, ys);
      w = maxX - minX; h = maxY - minY;
      minX -= pad * w; maxX += pad * w; minY -= pad * h; maxY += pad * h; w = maxX - minX; h = maxY - minY;
      r = 0.006 * Math.max(w, h);
      svg.setAttribute("viewBox", [minX, minY, w, h].join(" "));
      svg.setAttribute("aria-label", options.label || layout.label);
    }
    frame(options.layout || layouts(data)[0]);
    var dots = [];
    for (var j = 0; j < n; j++) {
      var c = svgEl("circle", { cx: xs[j], cy: ys[j], r: r, fill: COLOURS[raw.main[j] % 10], "data-row": j,
                                "data-movie-id": raw.ids[j], "class": "cfw-dot" });
      svg.appendChild(c);
      dots.push(c);
    }
    var overlay = svgEl("g", { "class": "cfw-overlay" });
    svg.appendChild(overlay);
    var labelGroup = svgEl("g", { "class": "cfw-labels" });
    svg.appendChild(labelGroup);
    var fontSize = 0.03 * Math.max(w, h);  // until the map is on the page and its width is known
    function label(j, text, cls) {
      var right = xs[j] > minX + 0.55 * w;  // labels on the right half end at their dot
      var t = svgEl("text", { x: xs[j] + (right ? -1.5 : 1.5) * r, y: ys[j] - 1.5 * r, "font-size": fontSize,
                              "text-anchor": right ? "end" : "start", "class": cls || "cfw-label" });
      t.textContent = text;
      labelGroup.appendChild(t);
    }
    function baseLabels() { raw.labels.forEach(function (j) { label(j, raw.titles[j].replace(/ \(\d{4}\)$/, "")); }); }
    baseLabels();
    var box = el("div", { className: "cfw-mapbox" }, []);
    box.appendChild(svg);
    var tip = el("div", { className: "cfw-tip", role: "status", hidden: "" });
    box.appendChild(tip);

    function showTip(j, evX, evY) {
      tip.innerHTML = "";
      tip.appendChild(el("strong", { text: raw.titles[j] }));
      tip.appendChild(el("span", { text: genresOf(data, j) }));
      tip.appendChild(el("span", { text: raw.counts[j] + " training ratings" }));
      tip.removeAttribute("hidden");
      tip.setAttribute("data-movie-id", String(raw.ids[j]));
      var rect = box.getBoundingClientRect();
      var left = Math.min(Math.max(evX - rect.left + 10, 0), Math.max(rect.width - 220, 0));
      tip.style.left = left + "px";
      tip.style.top = Math.max(evY - rect.top + 10, 0) + "px";
    }
    function hideTip() { tip.setAttribute("hidden", ""); }
    /* The dot nearest the pointer, within 12 screen pixels (dots are small on a phone), or -1. */
    function rowAt(ev) {
      var m = svg.getScreenCTM();
      if (!m) return -1;
      var x = (ev.clientX - m.e) / m.a, y = (ev.clientY - m.f) / m.d, reach = 12 / m.a;
      var best = -1, bestD = reach * reach;
      for (var j = 0; j < n; j++) {
        var dx = xs[j] - x, dy = ys[j] - y, dd = dx * dx + dy * dy;
        if (dd <= bestD) { best = j; bestD = dd; }
      }
      return best;
    }
    svg.addEventListener("pointermove", function (ev) {
      var j = rowAt(ev);
      if (j >= 0) showTip(j, ev.clientX, ev.clientY); else hideTip();
    });
    svg.addEventListener("pointerleave", hideTip);
    svg.addEventListener("click", function (ev) {
      var j = rowAt(ev);
      if (j >= 0) { showTip(j, ev.clientX, ev.clientY); if (options.onPick) options.onPick(j); }
    });

    /* Labels of about 12 screen pixels whatever the map's width (called once it is on the page). */
    function resize() {
      var shown = svg.getBoundingClientRect().width;
      if (!(shown > 0)) return;
      fontSize = 12 * w / shown;
      Array.prototype.forEach.call(labelGroup.childNodes, function (t) {
        t.setAttribute("font-size", t.getAttribute("class") === "cfw-you-label" ? 1.2 * fontSize : fontSize);
      });
    }
    window.addEventListener("resize", resize);

    var api = {
      node: box, dots: dots, xs: xs, ys: ys, r: r, resize: resize,
      /* Move every dot to another layout; the rings and extra labels go (the caller redraws them). */
      setLayout: function (layout) {
        frame(layout);
        api.r = r;
        dots.forEach(function (c, k) { c.setAttribute("cx", xs[k]); c.setAttribute("cy", ys[k]); c.setAttribute("r", r); });
        overlay.innerHTML = "";
        labelGroup.innerHTML = "";
        baseLabels();
        hideTip();
        resize();
      },
      mark: function (rows, cls) {  // ring the given rows
        rows.forEach(function (j) {
          overlay.appendChild(svgEl("circle", { cx: xs[j], cy: ys[j], r: 2.2 * r, "class": cls }));
        });
      },
      label: label,
      clear: function () { overlay.innerHTML = ""; while (labelGroup.childNodes.length > raw.labels.length) labelGroup.removeChild(labelGroup.lastChild); },
      point: function (x, y, text) {  // a marker at map coordinates (clamped to the frame)
        var cx = Math.min(Math.max(x, minX + r), maxX - r), cy = Math.min(Math.max(-y, minY + r), maxY - r);
        overlay.appendChild(svgEl("line", { x1: 0, y1: 0, x2: cx, y2: cy, "class": "cfw-arrow", "stroke-width": r / 2 }));
        overlay.appendChild(svgEl("circle", { cx: cx, cy: cy, r: 3 * r, "class": "cfw-you" }));
        var t = svgEl("text", { x: cx + 3.5 * r, y: cy + r, "font-size": fontSize * 1.2, "class": "cfw-you-label" });
        t.textContent = text;
        labelGroup.appendChild(t);
      },
      filter: function (genre) {  // -1: all
        dots.forEach(function (c, j) {
          var on = genre < 0 || raw.genres[j].indexOf(genre) >= 0;
          c.setAttribute("class", on ? "cfw-dot" : "cfw-dot cfw-faded");
        });
      }
    };
    return api;
  }

  /* ---------------------------------------------------------------------------------------
   * The recommend widget
   * ------------------------------------------------------------------------------------- */

  var HALF_STARS = [5, 4.5, 4, 3.5, 3, 2.5, 2, 1.5, 1, 0.5];

  function initRecommend(root, data) {
    var raw = data.raw, profile = [];
    root.innerHTML = "";
    var presets = el("div", { className: "cfw-presets", role: "group", "aria-label": "Ready-made profiles" },
                     [el("span", { text: "Start from: " })]);
    Object.keys(raw.profiles).forEach(function (name) {
      var b = el("button", { type: "button", "data-profile": name, text: name, className: "cfw-button" });
      b.addEventListener("click", function () {
        profile = raw.profiles[name].map(function (p) { return { row: data.byId[p[0]], rating: p[1] }; });
        update("Profile \u201c" + name + "\u201d: " + profile.length + " ratings.");
      });
      presets.appendChild(b);
    });
    var clearAll = el("button", { type: "button", className: "cfw-button cfw-clear", text: "Clear all" });
    clearAll.addEventListener("click", function () { profile = []; update("All ratings removed."); });
    presets.appendChild(clearAll);

    var form = el("form", { className: "cfw-form" });
    var box = titleBox(data, "Movie", function () {});
    var ratingId = newId("cfw-rating");
    var ratingSelect = el("select", { id: ratingId, className: "cfw-select" });
    HALF_STARS.forEach(function (v) {
      var o = el("option", { value: String(v), text: v.toFixed(1) + " stars" });
      if (v === 4) o.selected = true;
      ratingSelect.appendChild(o);
    });
    ratingSelect.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") { ev.preventDefault(); form.requestSubmit ? form.requestSubmit() : add.click(); }
    });
    var add = el("button", { type: "submit", className: "cfw-button cfw-add", text: "Add rating" });
    form.appendChild(box.node);
    form.appendChild(el("div", { className: "cfw-field" }, [el("label", { "for": ratingId, text: "Your rating" }), ratingSelect]));
    form.appendChild(add);
    var message = el("p", { className: "cfw-message", role: "status", "aria-live": "polite" });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var query = box.input.value.trim();
      if (!query) { update("Type part of a title first."); box.input.focus(); return; }
      var row = box.resolve();
      if (row === null) {
        update("No movie matches \u201c" + query + "\u201d among the " + data.n + " movies with at least " +
               raw.minRatings + " training ratings. Try another part of the title.");
        return;
      }
      var rating = Number(ratingSelect.value);
      profile = profile.filter(function (p) { return p.row !== row; });
      profile.push({ row: row, rating: rating });
      box.reset();
      box.input.focus();
      update("Added " + raw.titles[row] + ", " + rating.toFixed(1) + " stars.");
    });

    var ratedHead = el("h4", { text: "Your ratings" });
    var rated = el("ul", { className: "cfw-rated" });
    var listHead = el("h4", { text: "Your top 10" });
    var list = el("ol", { className: "cfw-top" });
    var mapHead = el("h4", { text: "Where you land on the map" });
    var map = makeMap(data, { layout: layouts(data)[0], label: "The movies on their first two principal components, with your position" });
    var note = el("p", { className: "cfw-note" });
    var left = el("div", { className: "cfw-col" }, [ratedHead, rated, listHead, list]);
    var right = el("div", { className: "cfw-col" }, [mapHead, map.node, note]);
    root.appendChild(presets);
    root.appendChild(form);
    root.appendChild(message);
    root.appendChild(el("div", { className: "cfw-cols" }, [left, right]));
    map.resize();

    function update(text) {
      message.textContent = text || "";
      rated.innerHTML = "";
      list.innerHTML = "";
      map.clear();
      root.setAttribute("data-n-ratings", String(profile.length));
      if (!profile.length) {
        rated.appendChild(el("li", { className: "cfw-empty", text: "No ratings yet: add a movie above, or start from a ready-made profile." }));
        list.appendChild(el("li", { className: "cfw-empty", text: "Your recommendations appear here once you have rated a movie." }));
        note.textContent = "";
        root.setAttribute("data-state", "empty");
        return;
      }
      profile.forEach(function (p) {
        var remove = el("button", { type: "button", className: "cfw-remove", text: "Remove",
                                    "aria-label": "Remove " + raw.titles[p.row] });
        remove.addEventListener("click", function () {
          profile = profile.filter(function (q) { return q.row !== p.row; });
          update("Removed " + raw.titles[p.row] + ".");
          var next = rated.querySelector("button.cfw-remove");
          (next || box.input).focus();
        });
        rated.appendChild(el("li", { "data-movie-id": String(raw.ids[p.row]), "data-rating": String(p.rating) },
                             [el("span", { text: raw.titles[p.row] + " " }), el("span", { className: "cfw-stars", text: stars(p.rating) }), el("span", { text: " " }), remove]));
      });
      var result = recommend(data, profile, 10);
      result.top.forEach(function (item) {
        var ranked = item.terms.slice().sort(function (x, y) { return y.term - x.term; });
        var pushed = ranked.filter(function (t) { return t.term > 0; }).slice(0, 2);
        var why = pushed.length ? "because you rated " + pushed.map(function (t) { return raw.titles[t.row]; }).join(" and ")
                                : "mostly its own bias: well liked by everyone";
        var table = el("table", { className: "cfw-terms" });
        table.appendChild(el("tr", {}, [el("td", { text: "the movie's own bias" }), el("td", { text: fmt(item.bias, 2) })]));
        ranked.forEach(function (t) {
          table.appendChild(el("tr", { "data-movie-id": String(raw.ids[t.row]), "data-term": String(t.term) },
                               [el("td", { text: raw.titles[t.row] }), el("td", { text: fmt(t.term, 2) })]));
        });
        table.appendChild(el("tr", { className: "cfw-sum" }, [el("td", { text: "score" }), el("td", { text: fmt(item.score, 2) })]));
        var details = el("details", {}, [el("summary", { text: "the arithmetic" }), table]);
        list.appendChild(el("li", { "data-movie-id": String(raw.ids[item.row]), "data-score": String(item.score),
                                    "data-bias": String(item.bias) },
                            [el("span", { className: "cfw-title", text: raw.titles[item.row] }),
                             el("span", { className: "cfw-stars", text: " " + stars(item.rating) }),
                             el("span", { className: "cfw-why", text: why }), details]));
      });
      // The map: rated movies ringed, recommendations ringed, the user's vector on the same axes.
      map.mark(profile.map(function (p) { return p.row; }), "cfw-ring-rated");
      map.mark(result.top.map(function (t) { return t.row; }), "cfw-ring-top");
      var px = 0, py = 0, d = data.d, axes = raw.pcaAxes;
      for (var k = 0; k < d; k++) { px += axes[k] / data.bs * result.user.u[k]; py += axes[d + k] / data.bs * result.user.u[k]; }
      map.point(px, py, "you");
      root.setAttribute("data-you", px.toFixed(4) + "," + py.toFixed(4));
      note.textContent = "Blue rings: the movies you rated; orange rings: your top 10. The line points from " +
        "the centre of the map along your vector projected on the same two axes: the movies in that direction " +
        "are the ones these two axes score highest for you.";
      root.setAttribute("data-state", "ready");
    }
    update("");
    root.setAttribute("data-ready-ms", String(Math.round(performance.now())));
    root.setAttribute("data-ready", "true");
  }

  /* ---------------------------------------------------------------------------------------
   * The map widget
   * ------------------------------------------------------------------------------------- */

  function initMap(root, data) {
    var raw = data.raw;
    root.innerHTML = "";
    var controls = el("form", { className: "cfw-form" });
    controls.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var row = box.resolve();
      if (row === null) { message.textContent = "No movie matches \u201c" + box.input.value.trim() + "\u201d among the " + data.n + " movies of the map."; return; }
      select(row);
    });
    var box = titleBox(data, "Find a movie", function (row) { select(row); });
    var genreId = newId("cfw-genre");
    var genre = el("select", { id: genreId, className: "cfw-select" }, [el("option", { value: "-1", text: "all genres" })]);
    raw.genreNames.forEach(function (g, i) { genre.appendChild(el("option", { value: String(i), text: g })); });
    controls.appendChild(box.node);
    controls.appendChild(el("div", { className: "cfw-field" }, [el("label", { "for": genreId, text: "Genre" }), genre]));
    var message = el("p", { className: "cfw-message", role: "status", "aria-live": "polite",
                            text: "Point at (or tap) a dot to see its title; find a movie to see its ten nearest neighbours." });
    var maps = layouts(data), selected = -1;
    var map = makeMap(data, { layout: maps[0], onPick: function (j) { select(j); } });
    /* PCA or t-SNE: two radio buttons (arrow keys move between them), the dots move, a selection stays. */
    var switcher = null;
    if (maps.length > 1) {
      var group = newId("cfw-layout");
      switcher = el("fieldset", { className: "cfw-layouts" }, [el("legend", { text: "Map" })]);
      maps.forEach(function (layout, i) {
        var id = newId("cfw-layout-" + layout.key);
        var input = el("input", { type: "radio", name: group, id: id, value: layout.key });
        if (i === 0) input.checked = true;
        input.addEventListener("change", function () {
          if (!input.checked) return;
          map.setLayout(layout);
          root.setAttribute("data-layout", layout.key);
          if (selected >= 0) select(selected);
        });
        switcher.appendChild(el("label", { "for": id, className: "cfw-radio" }, [input, document.createTextNode(" " + layout.name)]));
      });
      controls.appendChild(switcher);
    }
    root.setAttribute("data-layout", maps[0].key);
    var legend = el("p", { className: "cfw-legend" });
    raw.mainNames.forEach(function (g, i) {
      legend.appendChild(el("span", { className: "cfw-key", style: "background:" + COLOURS[i % 10] }));
      legend.appendChild(el("span", { text: g + " " }));
    });
    var near = el("ol", { className: "cfw-near" });
    root.appendChild(controls);
    root.appendChild(message);
    root.appendChild(map.node);
    root.appendChild(legend);
    root.appendChild(el("h4", { text: "Nearest neighbours (cosine similarity of the full vectors)" }));
    root.appendChild(near);
    map.resize();
    genre.addEventListener("change", function () { map.filter(Number(genre.value)); });

    function select(row) {
      selected = row;
      map.clear();
      near.innerHTML = "";
      var found = neighbours(data, row, 10);
      map.mark(found.map(function (f) { return f.row; }), "cfw-ring-top");
      map.mark([row], "cfw-ring-rated");
      map.label(row, raw.titles[row], "cfw-label cfw-label-picked");
      found.forEach(function (f) {
        near.appendChild(el("li", { "data-movie-id": String(raw.ids[f.row]), "data-similarity": String(f.sim) },
                            [el("span", { text: raw.titles[f.row] }), el("span", { className: "cfw-stars", text: " " + f.sim.toFixed(2) })]));
      });
      message.textContent = raw.titles[row] + " (" + genresOf(data, row) + ", " + raw.counts[row] +
        " training ratings): its ten nearest neighbours are ringed in orange.";
      root.setAttribute("data-selected", String(raw.ids[row]));
    }
    root.setAttribute("data-ready-ms", String(Math.round(performance.now())));
    root.setAttribute("data-ready", "true");
  }

  function init() {
    var start = performance.now();
    var roots = document.querySelectorAll("[data-widget][data-payload]:not([data-ready])");
    Array.prototype.forEach.call(roots, function (root) {
      var data = load(root.getAttribute("data-payload"));
      if (!data) {
        root.textContent = "The data of this widget was not found: run the cell that exports it first.";
        return;
      }
      var kind = root.getAttribute("data-widget");
      if (kind === "recommend") initRecommend(root, data);
      else if (kind === "map") initMap(root, data);
      // the widget's own start-up time (reading the data, drawing), and when it was ready
      root.setAttribute("data-init-ms", String(Math.round(performance.now() - start)));
    });
  }

  window.cfcourseWidgets = { init: init, foldIn: foldIn, recommend: recommend, neighbours: neighbours, load: load };
  // The roots come before this script in the page: start at once, without waiting for the rest of
  // the page; roots further down are started by their own copy of the script, or at DOMContentLoaded.
  init();
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
})();
