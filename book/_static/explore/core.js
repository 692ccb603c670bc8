/* Shared pieces of the course's explorers (book/_ext/explorers.py loads this first).
 *
 * A page holds <div class="lstm-explorer" data-explorer="KIND"> with its data as JSON
 * (lstm_ref/explore/web.py). A player registers itself with
 *     LSTMExplore.register("KIND", (root, data) => { ... });
 * and is started once per such div when the page has loaded. No network, no libraries.
 */
(function () {
  "use strict";
  const players = {};
  const SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs, parent) {
    const node = tag.startsWith("svg:")
      ? document.createElementNS(SVG, tag.slice(4))
      : document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    }
    if (parent) parent.appendChild(node);
    return node;
  }

  /* Numbers as the pages print them: 3 decimals, a true minus sign. */
  function fmt(x, digits = 3) {
    return Number(x).toFixed(digits).replace("-", "\u2212");
  }

  /* A labelled range input; onInput(value) runs now and on every move. */
  function slider(parent, { name, label, min, max, step, value, onInput }) {
    const row = el("label", { class: "lstm-x-slider" }, parent);
    el("span", { class: "lstm-x-label", text: label }, row);
    const input = el("input", { type: "range", min, max, step, value, "data-name": name }, row);
    const shown = el("output", { class: "lstm-x-value" }, row);
    const update = () => {
      shown.textContent = fmt(input.value, 2);
      if (onInput) onInput(Number(input.value));
    };
    input.addEventListener("input", update);
    update();
    return input;
  }

  /* Horizontal bars on [lo, hi] with a zero line; update({name: value}) redraws them. */
  function bars(parent, names, { lo = -1, hi = 1 } = {}) {
    const box = el("div", { class: "lstm-x-bars" }, parent);
    const rows = {};
    for (const name of names) {
      const row = el("div", { class: "lstm-x-bar", "data-name": name }, box);
      el("span", { class: "lstm-x-label", text: name }, row);
      const track = el("span", { class: "lstm-x-track" }, row);
      const fill = el("span", { class: "lstm-x-fill" }, track);
      const value = el("output", { class: "lstm-x-value" }, row);
      rows[name] = { fill, value };
    }
    const zero = (0 - lo) / (hi - lo);
    return {
      update(values) {
        for (const [name, v] of Object.entries(values)) {
          const row = rows[name];
          if (!row) continue;
          const at = Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
          row.fill.style.left = `${100 * Math.min(at, zero)}%`;
          row.fill.style.width = `${100 * Math.abs(at - zero)}%`;
          row.fill.classList.toggle("negative", v < 0);
          row.value.textContent = fmt(v);
          row.value.dataset.value = String(v);
        }
      },
    };
  }

  /* A line chart in SVG: update([{name, x: [...], y: [...]}], {logY}) redraws it. */
  function lines(parent, { width = 520, height = 260, xlabel = "", ylabel = "" } = {}) {
    const svg = el("svg:svg", { class: "lstm-x-lines", viewBox: `0 0 ${width} ${height}`,
      role: "img" }, parent);
    const m = { left: 56, right: 110, top: 12, bottom: 40 };
    const w = width - m.left - m.right;
    const h = height - m.top - m.bottom;
    return {
      update(series, { logY = false, ymin = null, ymax = null } = {}) {
        svg.replaceChildren();
        const ty = (v) => (logY ? Math.log10(Math.max(v, 1e-300)) : v);
        const xs = series.flatMap((s) => s.x);
        const ys = series.flatMap((s) => s.y.map(ty));
        const x0 = Math.min(...xs), x1 = Math.max(...xs);
        const y0 = ymin !== null ? ty(ymin) : Math.min(...ys);
        const y1 = ymax !== null ? ty(ymax) : Math.max(...ys);
        const px = (v) => m.left + (w * (v - x0)) / (x1 - x0 || 1);
        const py = (v) => m.top + h - (h * (Math.min(Math.max(ty(v), y0), y1) - y0)) / (y1 - y0 || 1);
        el("svg:rect", { x: m.left, y: m.top, width: w, height: h, class: "frame" }, svg);
        for (const [v, anchor] of [[x0, "start"], [x1, "end"]]) {
          el("svg:text", { x: px(v), y: m.top + h + 14, "text-anchor": anchor, text: fmt(v, 0) }, svg);
        }
        for (const v of [y0, y1]) {
          const label = logY ? `1e${fmt(v, 0)}` : fmt(v, 2);
          el("svg:text", { x: m.left - 4, y: m.top + h - (h * (v - y0)) / (y1 - y0 || 1) + 4,
            "text-anchor": "end", text: label }, svg);
        }
        el("svg:text", { x: m.left + w / 2, y: height - 6, "text-anchor": "middle", text: xlabel }, svg);
        el("svg:text", { x: 12, y: m.top + h / 2, "text-anchor": "middle",
          transform: `rotate(-90 12 ${m.top + h / 2})`, text: ylabel }, svg);
        series.forEach((s, k) => {
          const points = s.x.map((x, j) => `${px(x).toFixed(1)},${py(s.y[j]).toFixed(1)}`);
          el("svg:polyline", { points: points.join(" "), class: `series s${k}`,
            "data-name": s.name }, svg);
          const last = s.y.length - 1;
          el("svg:text", { x: m.left + w + 6, y: py(s.y[last]) + 4, class: `series-label s${k}`,
            text: s.name }, svg);
        });
      },
    };
  }

  function start(root) {
    if (root.dataset.started) return;
    const kind = root.dataset.explorer;
    const data = JSON.parse(root.querySelector("script.lstm-explorer-data").textContent);
    if (!players[kind]) throw new Error(`no player registered for explorer "${kind}"`);
    root.dataset.started = "true";
    players[kind](root, data);
    root.dataset.ready = "true"; // tests wait for this
  }

  function register(kind, init) {
    players[kind] = init;
    if (document.readyState !== "loading") startAll();
  }

  function startAll() {
    for (const root of document.querySelectorAll("div.lstm-explorer")) {
      if (players[root.dataset.explorer]) start(root);
    }
  }

  document.addEventListener("DOMContentLoaded", startAll);
  window.LSTMExplore = { register, el, fmt, slider, bars, lines };
})();
