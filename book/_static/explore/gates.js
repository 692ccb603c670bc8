/* Gate explorer (lstm_ref/explore/gates.py, web()): sliders for x_t, h_{t-1}, c_{t-1} and
 * each gate's weight w_k and bias b_k; bars of the gates (PyTorch's order i, f, g, o) and of
 * the new states, each group on one scale; an LSTM/GRU switch; a live text readout.
 *
 * The scalar cell is evaluated here, from the sliders and the fixed recurrent weights u_k
 * that Python embedded (b_hh = 0). tests/test_explore_gates.py checks these numbers against
 * lstm_ref's cells at several slider positions.
 *   LSTM  a_k = w_k x + u_k h + b_k;  i, f, o = σ(a);  g = tanh(a_g)
 *         c' = f c + i g;  h' = o tanh(c')
 *   GRU   r = σ(w_r x + b_r + u_r h);  z = σ(w_z x + b_z + u_z h)
 *         n = tanh(w_n x + b_n + r (u_n h));  h' = (1 - z) n + z h
 */
(function () {
  "use strict";
  const { el, uid, fmt, slider, buttonGroup, bars, scale } = window.LSTMExplore;
  const sigmoid = (a) => 1 / (1 + Math.exp(-a));

  const cells = {
    LSTM(v, u) {
      const a = (k) => v[`w_${k}`] * v.x + u[k] * v.h_prev + v[`b_${k}`];
      const i = sigmoid(a("i")), f = sigmoid(a("f")), g = Math.tanh(a("g")), o = sigmoid(a("o"));
      const c = f * v.c_prev + i * g; // c_t = f_t c_{t-1} + i_t g_t
      return { i, f, g, o, c, h: o * Math.tanh(c) }; // h_t = o_t tanh(c_t)
    },
    GRU(v, u) {
      const r = sigmoid(v.w_r * v.x + v.b_r + u.r * v.h_prev);
      const z = sigmoid(v.w_z * v.x + v.b_z + u.z * v.h_prev);
      const n = Math.tanh(v.w_n * v.x + v.b_n + r * (u.n * v.h_prev)); // r after u_n h
      return { r, z, n, h: (1 - z) * n + z * v.h_prev }; // h_t = (1 - z) n + z h_{t-1}
    },
  };

  /* One scale per group: the gates and the candidate on [−1, 1], the states cₜ and hₜ
   * together on theirs (data: each output's range), so bars in a group compare. */
  const GROUPS = { gates: "gates and candidate", states: "new states" };

  LSTMExplore.register("gates", (root, data) => {
    const modes = Object.keys(data.modes);
    let mode = modes[0];
    const values = {};
    const inputs = {}; // slider name -> range input (x and h_prev shared by both modes)
    const rows = {}; // output name -> {box, bar}
    const groups = {}; // group -> {box, rows}

    const switches = buttonGroup(root, "cell:", modes, null, (m) => show(m), "data-mode");
    const panel = el("div", { class: "lstm-x-sliders" }, root);
    const out = el("div", { class: "lstm-x-outputs" }, root);
    const readout = el("p", { class: "lstm-x-readout lstm-x-sr", "aria-live": "polite" }, root);

    for (const m of modes) {
      for (const s of data.modes[m].sliders) {
        if (inputs[s.name]) continue;
        inputs[s.name] = slider(panel, { ...s, onInput: (v) => { values[s.name] = v; update(); } });
      }
      for (const o of data.modes[m].outputs) {
        if (rows[o.name]) continue;
        const group = o.group || "gates";
        if (!groups[group]) {
          const id = uid("bars");
          const box = el("div", { class: "lstm-x-group", role: "group", "aria-labelledby": id,
            "data-group": group }, out);
          el("p", { id, class: "lstm-x-caption", text: `${GROUPS[group] || group}, on one ` +
            `scale from ${fmt(o.range[0], 0)} to ${fmt(o.range[1], 0)}:` }, box);
          const list = el("div", {}, box);
          scale(box, o.range[0], o.range[1]);
          groups[group] = { box, list, range: o.range };
        }
        const box = el("div", { "data-output": o.name }, groups[group].list);
        rows[o.name] = { box, group, bar: bars(box, [o.label], { lo: o.range[0], hi: o.range[1] }) };
      }
    }

    function update() {
      if (!rows.h) return; // still building
      const spec = data.modes[mode];
      const result = cells[mode](values, spec.recurrent);
      for (const o of spec.outputs) rows[o.name].bar.update({ [o.label]: result[o.name] });
      readout.textContent = `${mode}: ` +
        spec.outputs.map((o) => `${o.label} ${fmt(result[o.name])}`).join(", ");
      root.dataset.mode = mode;
    }

    function show(m) {
      mode = m;
      const spec = data.modes[m];
      const names = new Set(spec.sliders.map((s) => s.name));
      for (const [name, input] of Object.entries(inputs)) {
        input.closest(".lstm-x-slider").style.display = names.has(name) ? "" : "none";
      }
      const outputs = spec.outputs.map((o) => o.name);
      for (const [name, row] of Object.entries(rows)) {
        row.box.style.display = outputs.includes(name) ? "" : "none";
      }
      for (const name of outputs) groups[rows[name].group].list.appendChild(rows[name].box);
      for (const [k, button] of Object.entries(switches)) {
        button.setAttribute("aria-pressed", String(k === m));
      }
      update();
    }

    show(mode);
  });
})();
