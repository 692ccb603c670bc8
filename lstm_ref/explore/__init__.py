"""Interactive explorers: ipywidgets 8 in Jupyter, kernel-free players in the website.

Each explorer is one module with three layers:

* pure functions computing what it shows, with :mod:`lstm_ref` (tested against its oracle);
* ``widget()``: an ipywidgets 8 widget for JupyterLab, whose callbacks recompute live;
* ``web()``: the same explorer for the website, its data precomputed during the build and
  embedded in the page (:func:`lstm_ref.explore.web.embed`), played by
  book/_static/explore/<name>.js with no kernel and no network.
"""
