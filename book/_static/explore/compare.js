/* Comparison explorer (lstm_ref/explore/compare.py, web()): retention against lag and
 * parameter counts for RNN, GRU, LSTM and BiLSTM.
 *
 * Nothing is computed here. data.retention[init][model][k] is the measured relative
 * gradient at lag k; data.params[model][a][b] the parameters of the real layer with hidden
 * size data.hidden_sizes[a] and input size data.input_sizes[b]. Buttons toggle models,
 * pick the LSTMs' initialisation and the axis; sliders pick the lag and the sizes. The
 * chart's retention was measured at one hidden size (data.hidden) and says so; the size
 * sliders set the parameter counts.
 * tests/test_explore_compare.py checks the shown numbers against lstm_ref.
 */
(function () {
  "use strict";
  const { el, sci, slider, buttonGroup, bars, lines } = window.LSTMExplore;
  const FLOOR = 1e-25;

  function nearest(grid, v) {
    let best = 0;
    grid.forEach((g, k) => { if (Math.abs(g - v) < Math.abs(grid[best] - v)) best = k; });
    return best;
  }

  /* A slider over evenly spaced integers, its shown value an integer. */
  function intSlider(parent, options) {
    return slider(parent, { ...options, show: (v) => String(v) });
  }

  LSTMExplore.register("compare", (root, data) => {
    const models = data.models;
    const state = { shown: new Set(models), init: data.inits[0], log: true, lag: 10,
      hidden: nearest(data.hidden_sizes, 128), input: nearest(data.input_sizes, 32) };

    buttonGroup(root, "models:", models, () => true, (name, buttons) => {
      if (state.shown.has(name)) state.shown.delete(name); else state.shown.add(name);
      buttons[name].setAttribute("aria-pressed", String(state.shown.has(name)));
      update();
    });
    buttonGroup(root, "LSTMs:", data.inits, (n) => n === state.init, (name, buttons) => {
      state.init = name;
      for (const [n, b] of Object.entries(buttons)) b.setAttribute("aria-pressed", String(n === name));
      update();
    });
    buttonGroup(root, "axis:", ["log scale"], () => true, (name, buttons) => {
      state.log = !state.log;
      buttons[name].setAttribute("aria-pressed", String(state.log));
      update();
    });
    // Retention was measured for layers of data.hidden units only: the size sliders
    // below change the parameter counts, not this chart, and the caption says so.
    el("p", { class: "lstm-x-caption", text: `Retention, measured at hidden size ` +
      `${data.hidden} (input size 1) for every model; the size sliders below set the ` +
      `parameter counts only.` }, root);
    const chartBox = el("div", { "data-chart": "retention" }, root);
    const chart = lines(chartBox, { title: `Retention against lag, hidden size ${data.hidden}`,
      xlabel: "lag k", ylabel: "retention" });
    const sliders = el("div", { class: "lstm-x-sliders" }, root);
    const table = el("div", { class: "lstm-x-table", "data-table": "retention",
      "aria-live": "polite" }, root);
    const countBox = el("div", { "data-chart": "params" }, root);
    const countTitle = el("p", { class: "lstm-x-caption" }, countBox);
    const sizes = el("div", { class: "lstm-x-sliders" }, countBox);
    const hi = Math.max(...models.map((m) => Math.max(...data.params[m].flat())));
    const countBars = bars(countBox, models, { lo: 0, hi });

    function update() {
      const shown = models.filter((m) => state.shown.has(m));
      const curves = data.retention[state.init];
      const lags = curves[models[0]].map((_, k) => k);
      const clip = (ys) => (state.log ? ys.map((v) => Math.max(v, FLOOR)) : ys);
      chart.update(shown.map((m) => ({ name: m, x: lags, y: clip(curves[m]),
        style: models.indexOf(m) })), state.log ? { logY: true } : { ymin: 0 });
      table.replaceChildren();
      el("p", { text: `retention at lag ${state.lag} (${state.init}):` }, table);
      for (const m of shown) {
        const row = el("div", { "data-model": m }, table);
        el("span", { text: `${m}: ` }, row);
        const v = curves[m][state.lag];
        el("output", { "data-value": String(v), text: sci(v) }, row);
      }
      const d = data.hidden_sizes[state.hidden], n = data.input_sizes[state.input];
      countTitle.textContent = `Parameters, sum(p.numel()) of each layer at hidden size ` +
        `d = ${d} and input size m = ${n}, on one scale from 0 to ${hi.toLocaleString("en-US")}:`;
      const counts = {};
      for (const m of models) counts[m] = data.params[m][state.hidden][state.input];
      countBars.update(counts);
      for (const m of models) {
        const bar = countBox.querySelector(`.lstm-x-bar[data-name="${m}"]`);
        bar.style.display = state.shown.has(m) ? "" : "none";
        bar.querySelector("output").textContent = counts[m].toLocaleString("en-US");
      }
      root.dataset.hiddenSize = String(d);
      root.dataset.inputSize = String(n);
    }

    const lastLag = data.retention[state.init][models[0]].length - 1;
    intSlider(sliders, { name: "lag", label: "lag k", min: 0, max: lastLag, step: 1,
      value: state.lag, onInput: (v) => { state.lag = v; update(); } });
    const sizeSlider = (name, label, grid, key) => intSlider(sizes, { name, label,
      min: grid[0], max: grid[grid.length - 1], step: grid[1] - grid[0], value: grid[state[key]],
      onInput: (v) => { state[key] = nearest(grid, v); update(); } });
    sizeSlider("hidden_size", "hidden size d", data.hidden_sizes, "hidden");
    sizeSlider("input_size", "input size m", data.input_sizes, "input");
    update();
  });
})();
