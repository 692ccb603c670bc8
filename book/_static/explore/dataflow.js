/* Data-flow animation (lstm_ref/explore/dataflow.py, web()): chapter 2's worked step,
 * stage by stage. Every frame (indicator, equation, diagram, table) was rendered in Python;
 * this player only shows them: Play/Pause, step back, step forward, and a stage marker.
 */
(function () {
  "use strict";
  const { el } = window.LSTMExplore;
  const INTERVAL_MS = 1600;

  LSTMExplore.register("dataflow", (root, data) => {
    const frames = data.frames;
    let at = 0;
    let timer = null;

    const controls = el("div", { class: "lstm-x-controls" }, root);
    const play = el("button", { type: "button", "data-action": "play", text: "Play" }, controls);
    const back = el("button", { type: "button", "data-action": "back", text: "◀ Step" }, controls);
    const forward = el("button", { type: "button", "data-action": "forward", text: "Step ▶" },
      controls);
    const marks = frames.map((frame, k) => {
      const mark = el("button", { type: "button", "data-action": "goto", "data-frame": k,
        title: frame.title, text: String(frame.number) }, controls);
      mark.addEventListener("click", () => { stop(); go(k); });
      return mark;
    });
    const indicator = el("div", { class: "lstm-x-stage", "aria-live": "polite",
      style: "font-weight:bold;margin:0.3rem 0" }, root);
    const equation = el("code", { class: "lstm-x-equation" }, root);
    const diagram = el("div", { class: "lstm-x-diagram", style: "margin:0.4rem 0" }, root);
    const table = el("div", { class: "lstm-x-table", style: "overflow-x:auto" }, root);

    function go(k) {
      at = Math.min(Math.max(k, 0), frames.length - 1);
      const frame = frames[at];
      indicator.textContent = frame.indicator;
      equation.textContent = frame.equation;
      diagram.innerHTML = frame.diagram; // SVG rendered by dataflow.diagram()
      table.innerHTML = frame.table; // HTML rendered by dataflow.table_html()
      marks.forEach((mark, j) => mark.setAttribute("aria-pressed", String(j === at)));
      root.dataset.frame = String(at);
      root.dataset.stage = frame.stage;
    }

    function stop() {
      clearInterval(timer);
      timer = null;
      play.textContent = "Play";
      play.setAttribute("aria-pressed", "false");
    }

    play.addEventListener("click", () => {
      if (timer) return stop();
      if (at === frames.length - 1) go(0); // replay from the start
      play.textContent = "Pause";
      play.setAttribute("aria-pressed", "true");
      timer = setInterval(() => (at < frames.length - 1 ? go(at + 1) : stop()), INTERVAL_MS);
    });
    back.addEventListener("click", () => { stop(); go(at - 1); });
    forward.addEventListener("click", () => { stop(); go(at + 1); });
    go(0);
  });
})();
