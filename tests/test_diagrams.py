"""The static LSTM diagram names every quantity of the step, in text large enough to read."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from lstm_ref.diagrams import lstm_cell_diagram  # noqa: E402


def test_the_diagram_labels_every_state_gate_and_input():
    fig = lstm_cell_diagram()
    texts = [t.get_text() for t in fig.axes[0].texts]
    for label in ("$c_{t-1}$", "$c_t$", "$h_{t-1}$", "$h_t$", "$x_t$"):
        assert texts.count(label) == 1, label
    for block in "ifgo":
        assert f"${block}_t$" in texts, block
    for meaning in ("forget", "input", "candidate", "output"):
        assert meaning in texts, meaning
    assert texts.count(r"$\tanh$") == 2 and texts.count(r"$\sigma$") == 3
    plt.close(fig)


def test_no_text_is_smaller_than_10_px_in_the_page_column():
    """The site renders the figure at 100 dpi and scales it into a column about 690 px
    wide; every label must still be at least 10 px tall there."""
    fig = lstm_cell_diagram()
    scale = 690 / (fig.get_figwidth() * 100)  # image pixels → column pixels
    sizes_px = [t.get_fontsize() * 100 / 72 * scale for t in fig.axes[0].texts]
    assert min(sizes_px) >= 10
    plt.close(fig)


def test_the_diagram_draws_on_given_axes():
    fig, ax = plt.subplots()
    assert lstm_cell_diagram(ax) is fig
    assert len(ax.patches) > 10
    plt.close(fig)
