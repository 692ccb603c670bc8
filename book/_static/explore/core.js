/* Shared pieces of the course's explorers (book/_ext/explorers.py loads this first).
 *
 * A page holds <div class="lstm-explorer" data-explorer="KIND" role="region"> with its data
 * as JSON (lstm_ref/explore/web.py). A player registers itself with
 *     LSTMExplore.register("KIND", (root, data) => { ... });
 * and is started once per such div when the page has loaded. No network, no libraries.
 *
 * Accessibility (tests/test_accessibility.py runs axe-core on every page, light and dark):
 * every control has a visible label that is also its accessible name, button groups are
 * role="group" named by their visible label, charts are role="img" with a <title> and an
 * aria-label saying what they show and where each series ends, and every player keeps a
 * polite live text readout of its current values. Charts are drawn at the pixel width of
 * their box (redrawn when it changes), so their 12 px text is 12 px on a phone too.
 */
(function () {
  "use strict";
  const players = {};
  const SVG = "http://www.w3.org/2000/svg";
  let ids = 0;

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

  /* A page-unique id for aria-labelledby and <label for>. */
  function uid(prefix) {
    ids += 1;
    return `lstm-x-${prefix}-${ids}`;
  }

  /* Numbers as the pages print them: 3 decimals, a true minus sign. */
  function fmt(x, digits = 3) {
    return Number(x).toFixed(digits).replace("-", "\u2212");
  }

  /* 3 significant digits, exponent form below 1e-3, a true minus sign. */
  function sci(v) {
    if (v === 0) return "0";
    const text = Math.abs(v) < 1e-3 ? Number(v).toExponential(2) : Number(v).toPrecision(3);
    return text.replace(/-/g, "\u2212");
  }

  /* A range input with a <label> (its accessible name) and an <output> showing its value;
   * onInput(value) runs now and on every move. */
  function slider(parent, { name, label, min, max, step, value, onInput, show }) {
    const id = uid("slider");
    const row = el("div", { class: "lstm-x-slider" }, parent);
    el("label", { class: "lstm-x-label", for: id, text: label }, row);
    const input = el("input", { id, type: "range", min, max, step, value, "data-name": name },
      row);
    const shown = el("output", { class: "lstm-x-value", for: id }, row);
    const update = () => {
      shown.textContent = show ? show(Number(input.value)) : fmt(input.value, 2);
      if (onInput) onInput(Number(input.value));
    };
    input.addEventListener("input", update);
    update();
    return input;
  }

  /* Buttons in a role="group" named by its visible label; pressed(name) sets aria-pressed. */
  function buttonGroup(parent, label, names, pressed, onClick, attr = "data-name") {
    const id = uid("group");
    const group = el("div", { class: "lstm-x-controls", role: "group", "aria-labelledby": id },
      parent);
    el("span", { id, class: "lstm-x-group-label", text: label }, group);
    const buttons = {};
    for (const name of names) {
      buttons[name] = el("button", { type: "button", [attr]: name, text: name }, group);
      if (pressed) buttons[name].setAttribute("aria-pressed", String(pressed(name)));
      buttons[name].addEventListener("click", () => onClick(name, buttons));
    }
    return buttons;
  }

  /* Ticks at 1, 2, 2.5 or 5 times a power of ten, about `count` of them over [lo, hi]. */
  function niceTicks(lo, hi, count) {
    const raw = (hi - lo || 1) / Math.max(1, count);
    const mag = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw * (1 - 1e-9));
    const ticks = [];
    for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
      ticks.push(k === 0 ? 0 : k * step);
    }
    const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) + (step / mag === 2.5 ? 1 : 0);
    return { ticks, step, digits };
  }

  const SUPER = { "-": "\u207b", 0: "\u2070", 1: "\u00b9", 2: "\u00b2", 3: "\u00b3",
    4: "\u2074", 5: "\u2075", 6: "\u2076", 7: "\u2077", 8: "\u2078", 9: "\u2079" };
  /* 10^k as text: "1", "10", "10⁻⁵". */
  function power(k) {
    if (k === 0) return "1";
    if (k === 1) return "10";
    return "10" + String(k).split("").map((c) => SUPER[c]).join("");
  }

  /* Horizontal bars on one scale [lo, hi] with a zero line; update({name: value}) redraws.
   * With axis: true a row of ticks under the bars shows the scale. */
  function bars(parent, names, { lo = -1, hi = 1, axis = false } = {}) {
    const box = el("div", { class: "lstm-x-bars" }, parent);
    const rows = {};
    const zero = Math.min(1, Math.max(0, (0 - lo) / (hi - lo)));
    for (const name of names) {
      const row = el("div", { class: "lstm-x-bar", "data-name": name }, box);
      const id = uid("bar");
      el("span", { class: "lstm-x-label", id, text: name }, row);
      const track = el("span", { class: "lstm-x-track", "aria-hidden": "true" }, row);
      el("span", { class: "lstm-x-zero", style: `left:${100 * zero}%` }, track);
      const fill = el("span", { class: "lstm-x-fill" }, track);
      const value = el("output", { class: "lstm-x-value", "aria-labelledby": id }, row);
      rows[name] = { fill, value };
    }
    if (axis) scale(box, lo, hi);
    return {
      box,
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

  /* A tick row under bars: the scale [lo, hi] with nice ticks, aligned with the tracks. */
  function scale(parent, lo, hi) {
    const row = el("div", { class: "lstm-x-bar lstm-x-scale", "aria-hidden": "true" }, parent);
    el("span", { class: "lstm-x-label", text: "scale" }, row);
    const track = el("span", { class: "lstm-x-ticks" }, row);
    const { ticks, digits } = niceTicks(lo, hi, 4);
    for (const v of ticks) {
      const at = (100 * (v - lo)) / (hi - lo);
      el("span", { class: "lstm-x-tick", style: `left:${at}%`, text: fmt(v, digits) }, track);
    }
    el("span", {}, row);
    return row;
  }

  const DASHES = ["", "7 4", "2 3", "9 3 2 3"]; // solid, dashed, dotted, dash-dot

  /* A line chart in SVG with real axes, a legend and an accessible name.
   * update([{name, x: [...], y: [...], style}], {logY, ymin, ymax}) redraws it; `style`
   * (default: the series' index) picks colour and dash pattern, so a series keeps its look
   * when others are hidden. `title` names the chart for screen readers. */
  function lines(parent, { height = 250, title = "", xlabel = "", ylabel = "" } = {}) {
    const box = el("div", { class: "lstm-x-chart" }, parent);
    const legend = el("div", { class: "lstm-x-legend" }, box);
    const svg = el("svg:svg", { class: "lstm-x-lines", role: "img" }, box);
    const m = { left: 62, right: 14, top: 10, bottom: 42 };
    let last = null;
    let drawnWidth = 0;

    function draw(series, { logY = false, ymin = null, ymax = null } = {}) {
      last = [series, { logY, ymin, ymax }];
      const width = Math.max(220, Math.round(box.clientWidth || 520));
      drawnWidth = width;
      const w = width - m.left - m.right;
      const h = height - m.top - m.bottom;
      svg.replaceChildren();
      legend.replaceChildren();
      svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
      svg.setAttribute("width", String(width));
      svg.setAttribute("height", String(height));
      const ty = (v) => (logY ? Math.log10(Math.max(v, 1e-300)) : v);
      const xs = series.flatMap((s) => s.x);
      const ys = series.flatMap((s) => s.y.map(ty));
      let x0 = Math.min(...xs), x1 = Math.max(...xs);
      let y0 = ymin !== null ? ty(ymin) : Math.min(...ys);
      let y1 = ymax !== null ? ty(ymax) : Math.max(...ys);
      if (!series.length) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
      let yt;
      if (logY) { // whole decades, a tick every 1, 2, 5, 10 … decades
        y0 = Math.floor(y0 + 1e-9);
        y1 = Math.ceil(y1 - 1e-9);
        if (y1 <= y0) y1 = y0 + 1;
        const every = [1, 2, 5, 10, 20, 50].find((s) => (y1 - y0) / s <= Math.max(2, h / 36));
        yt = [];
        for (let k = Math.ceil(y0 / every) * every; k <= y1; k += every) yt.push(k);
      } else {
        const nice = niceTicks(y0, y1 > y0 ? y1 : y0 + 1, Math.max(2, Math.floor(h / 40)));
        y0 = Math.min(y0, nice.ticks[0]);
        y1 = Math.max(y1, nice.ticks[nice.ticks.length - 1]);
        yt = nice.ticks.map((v) => ({ v, label: fmt(v, nice.digits) }));
      }
      const px = (v) => m.left + (w * (v - x0)) / (x1 - x0 || 1);
      const py = (v) => m.top + h - (h * (Math.min(Math.max(v, y0), y1) - y0)) / (y1 - y0 || 1);
      const axes = el("svg:g", { class: "axes" }, svg);
      for (const t of yt) {
        const v = logY ? t : t.v;
        const y = py(v);
        el("svg:line", { x1: m.left, x2: m.left + w, y1: y, y2: y, class: "grid" }, axes);
        el("svg:text", { x: m.left - 6, y: y + 4, "text-anchor": "end",
          text: logY ? power(v) : t.label }, axes);
      }
      const xt = niceTicks(x0, x1, Math.max(2, Math.floor(w / 60)));
      for (const v of xt.ticks) {
        const x = px(v);
        el("svg:line", { x1: x, x2: x, y1: m.top + h, y2: m.top + h + 5, class: "tick" }, axes);
        el("svg:text", { x, y: m.top + h + 18, "text-anchor": "middle",
          text: fmt(v, xt.digits) }, axes);
      }
      el("svg:rect", { x: m.left, y: m.top, width: w, height: h, class: "frame" }, axes);
      el("svg:text", { x: m.left + w / 2, y: height - 6, "text-anchor": "middle",
        text: xlabel }, axes);
      el("svg:text", { x: 14, y: m.top + h / 2, "text-anchor": "middle",
        transform: `rotate(-90 14 ${m.top + h / 2})`, text: ylabel }, axes);
      const ends = [];
      series.forEach((s, k) => {
        const style = s.style ?? k;
        const points = s.x.map((x, j) => `${px(x).toFixed(1)},${py(ty(s.y[j])).toFixed(1)}`);
        el("svg:polyline", { points: points.join(" "), class: `series s${style}`,
          "stroke-dasharray": DASHES[style % DASHES.length], "data-name": s.name }, svg);
        const item = el("span", { class: "lstm-x-legend-item", "data-name": s.name }, legend);
        const swatch = el("svg:svg", { width: 28, height: 10, "aria-hidden": "true" }, item);
        el("svg:line", { x1: 1, x2: 27, y1: 5, y2: 5, class: `series s${style}`,
          "stroke-dasharray": DASHES[style % DASHES.length] }, swatch);
        el("span", { text: s.name }, item);
        const j = s.x.length - 1;
        ends.push(`${s.name} ${sci(s.y[j])} at ${xlabel || "x"} = ${s.x[j]}`);
      });
      const name = `${title}. ${ylabel} against ${xlabel}` +
        (logY ? " on a logarithmic axis" : "") +
        (ends.length ? `; at the end: ${ends.join(", ")}.` : "; no series shown.");
      el("svg:title", { text: name }, svg);
      svg.setAttribute("aria-label", name);
    }

    if (window.ResizeObserver) {
      new ResizeObserver(() => {
        const width = Math.round(box.clientWidth);
        if (last && width && Math.abs(width - drawnWidth) > 1) draw(...last);
      }).observe(box);
    }
    return { svg, update: draw };
  }

  function start(root) {
    if (root.dataset.started) return;
    const kind = root.dataset.explorer;
    const data = JSON.parse(root.querySelector("script.lstm-explorer-data").textContent);
    if (!players[kind]) throw new Error(`no player registered for explorer "${kind}"`);
    root.dataset.started = "true";
    const title = root.getAttribute("aria-label");
    if (title) { // a visible title that names the region
      const id = uid("title");
      el("p", { id, class: "lstm-x-title", text: title }, root);
      root.removeAttribute("aria-label");
      root.setAttribute("aria-labelledby", id);
    }
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
  window.LSTMExplore = { register, el, uid, fmt, sci, slider, buttonGroup, bars, scale, lines };
})();
