/* Memory explorer (lstm_ref/explore/memory.py, web()): a forget-gate bias slider and an RNN
 * weight slider; the held value s_t / s_0 and the gradient ∂s_T/∂s_{T-k}, LSTM beside RNN.
 *
 * Nothing is computed here: Python measured a frame for every slider position
 * (data.lstm.value[j], data.lstm.grad[j] for b_f = data.forget_biases[j]; likewise the RNN
 * for w = data.rnn_weights[j]) and this player shows the frame the slider points at.
 * tests/test_explore_memory.py checks the shown numbers against lstm_ref.
 */
(function () {
  "use strict";
  const { el, fmt, sci, slider, buttonGroup, lines } = window.LSTMExplore;
  const FLOOR = 1e-16; // smallest value on the log axis

  /* The index of the grid value nearest to v (the grid is evenly spaced). */
  function nearest(grid, v) {
    const step = (grid[grid.length - 1] - grid[0]) / (grid.length - 1);
    return Math.min(grid.length - 1, Math.max(0, Math.round((v - grid[0]) / step)));
  }

  LSTMExplore.register("memory", (root, data) => {
    const biases = data.forget_biases, weights = data.rnn_weights;
    const state = { bias: nearest(biases, 2), weight: nearest(weights, 1), log: true };
    const range = (grid) => ({ min: grid[0], max: grid[grid.length - 1],
      step: (grid[grid.length - 1] - grid[0]) / (grid.length - 1) });

    const panel = el("div", { class: "lstm-x-sliders" }, root);
    const logButton = buttonGroup(root, "axis:", ["log scale"], () => true, () => {
      state.log = !state.log;
      logButton.setAttribute("aria-pressed", String(state.log));
      update();
    })["log scale"];
    logButton.dataset.name = "log";
    const readout = el("p", { class: "lstm-x-readout", "aria-live": "polite" }, root);
    const charts = el("div", { class: "lstm-x-charts" }, root);
    const valueChart = lines(el("div", {}, charts), { height: 240,
      title: "What is left of the held value after t steps", xlabel: "step t",
      ylabel: "held value sₜ/s₀" });
    const gradChart = lines(el("div", {}, charts), { height: 240,
      title: "Gradient that reaches k steps back", xlabel: "lag k",
      ylabel: "∂s_T/∂s_(T−k)" });
    const out = {};
    const show = (name, label) => {
      el("span", { text: `${label} ` }, readout);
      out[name] = el("output", { "data-name": name }, readout);
      el("span", { text: "  " }, readout);
    };

    function update() {
      const j = state.bias, r = state.weight, T = data.steps;
      const steps = data.lstm.value[j].map((_, t) => t);
      const f = 1 / (1 + Math.exp(-biases[j]));
      const shown = {
        f, lstm_value: data.lstm.value[j][T], lstm_grad: data.lstm.grad[j][T],
        rnn_value: data.rnn.value[r][T], rnn_grad: data.rnn.grad[r][T],
      };
      for (const [name, v] of Object.entries(shown)) {
        out[name].textContent = name === "f" ? fmt(v) : sci(v);
        out[name].dataset.value = String(v);
      }
      root.dataset.forgetBias = String(biases[j]);
      root.dataset.rnnWeight = String(weights[r]);
      const axis = state.log ? { logY: true, ymin: FLOOR } : { ymin: 0 };
      const clip = (ys) => (state.log ? ys.map((v) => Math.max(v, FLOOR)) : ys);
      for (const [chart, what] of [[valueChart, "value"], [gradChart, "grad"]]) {
        chart.update([
          { name: "LSTM", x: steps, y: clip(data.lstm[what][j]) },
          { name: "RNN", x: steps, y: clip(data.rnn[what][r]) },
        ], axis);
      }
    }

    show("f", "f = σ(b_f) =");
    el("span", { text: `· after T = ${data.steps} steps:` }, readout);
    el("br", {}, readout);
    show("lstm_value", "LSTM c_T/c_0 =");
    show("lstm_grad", "∂c_T/∂c_0 =");
    el("br", {}, readout);
    show("rnn_value", "RNN h_T/h_0 =");
    show("rnn_grad", "∂h_T/∂h_0 =");
    slider(panel, { name: "forget_bias", label: "forget bias b_f", ...range(biases),
      value: biases[state.bias], onInput: (v) => { state.bias = nearest(biases, v); update(); } });
    slider(panel, { name: "rnn_weight", label: "RNN weight w", ...range(weights),
      value: weights[state.weight], onInput: (v) => { state.weight = nearest(weights, v); update(); } });
    update();
  });
})();
