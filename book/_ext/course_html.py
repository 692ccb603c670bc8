"""Small fixes to the HTML that Jupyter Book 1's theme stack emits, so pages load with a
clean browser console (tests/test_site.py checks every page).

* sphinx-thebe and sphinx-togglebutton register inline scripts that Sphinx 7 emits twice;
  the second ``const THEBE_JS_URL`` is a SyntaxError. Keep the first copy of each.
* pydata-sphinx-theme logs "Got invalid theme mode" on a first visit (empty localStorage).
  Start every new reader in light mode: the figures are drawn on white.
"""

THEME_MODE = (
    'if (!localStorage.getItem("mode")) { localStorage.setItem("mode", "light"); }'
    ' document.documentElement.dataset.mode = localStorage.getItem("mode");'
)


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        attributes = sorted(getattr(script, "attributes", {}).items())
        filename = getattr(script, "filename", script) or ""  # inline: None or ""
        key = (filename, repr(attributes))  # the copies differ in priority only
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.add_js_file(None, body=THEME_MODE, priority=1)  # before the theme's own scripts
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
