/* Data-flow animation (lstm_ref/explore/dataflow.py, web()): chapter 2's worked step,
 * stage by stage. Every frame (indicator, equation, diagram, table) was rendered in Python;
 * this player only shows them: Play/Pause, step back, step forward, and a stage marker.
 * The diagram is drawn to fit the explorer's width (its text stays ≥ 10 px at 375 px: see
 * explore.css), and the table wraps no column, so neither widens the page.
 */
(function () {
  "use strict";
  const { el, uid } = window.LSTMExplore;
  const INTERVAL_MS = 1600;
  const TEXT_PX = 12; // the diagram's text on screen, however narrow the explorer

  /* The diagram scales with its box (viewBox 480 wide); scale its text up as the box
   * narrows, so that it stays TEXT_PX on screen down to a 300 px box (a 375 px phone). */
  function fitText(svg) {
    if (!svg || !svg.viewBox || !svg.viewBox.baseVal) return;
    const width = svg.getBoundingClientRect().width;
    if (!width) return;
    const units = (TEXT_PX * svg.viewBox.baseVal.width) / width;
    svg.style.fontSize = `${Math.min(Math.max(units, TEXT_PX), 1.6 * TEXT_PX).toFixed(2)}px`;
  }

  LSTMExplore.register("dataflow", (root, data) => {
    const frames = data.frames;
    let at = 0;
    let timer = null;

    const controlsId = uid("group");
    const controls = el("div", { class: "lstm-x-controls", role: "group",
      "aria-labelledby": controlsId }, root);
    el("span", { id: controlsId, class: "lstm-x-group-label", text: "animation:" }, controls);
    const button = (action, text, arrow, before) => {
      const b = el("button", { type: "button", "data-action": action }, controls);
      const icon = el("span", { "aria-hidden": "true", text: arrow });
      const label = el("span", { text });
      if (before) b.append(icon, " ", label); else b.append(label, " ", icon);
      return b;
    };
    const play = el("button", { type: "button", "data-action": "play", text: "Play",
      "aria-pressed": "false" }, controls);
    const back = button("back", "Step back", "\u25c0", true);
    const forward = button("forward", "Step forward", "\u25b6", false);
    const marksId = uid("group");
    const markBox = el("div", { class: "lstm-x-controls", role: "group",
      "aria-labelledby": marksId }, root);
    el("span", { id: marksId, class: "lstm-x-group-label", text: "stage:" }, markBox);
    const marks = frames.map((frame, k) => {
      const mark = el("button", { type: "button", "data-action": "goto", "data-frame": k,
        title: frame.title, "aria-label": `${frame.number}: ${frame.title}`,
        text: String(frame.number) }, markBox);
      mark.addEventListener("click", () => { stop(); go(k); });
      return mark;
    });
    const indicator = el("div", { class: "lstm-x-stage", "aria-live": "polite" }, root);
    const equation = el("code", { class: "lstm-x-equation" }, root);
    const diagram = el("div", { class: "lstm-x-diagram" }, root);
    const table = el("div", { class: "lstm-x-table" }, root);

    function go(k) {
      at = Math.min(Math.max(k, 0), frames.length - 1);
      const frame = frames[at];
      indicator.textContent = frame.indicator;
      equation.textContent = frame.equation;
      diagram.innerHTML = frame.diagram; // SVG rendered by dataflow.diagram()
      fitText(diagram.querySelector("svg"));
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
    if (window.ResizeObserver) {
      new ResizeObserver(() => fitText(diagram.querySelector("svg"))).observe(diagram);
    }
    go(0);
  });
})();
