"""Find student code that changes the grading code or the libraries it compares with.

Test cells run in the same Python process as the student's cells, so a student cell could
replace a check (``check_rnn_step = lambda f: None``) or a comparison
(``np.allclose = lambda *a, **k: True``). Before a submission is run, its editable cells
are parsed (never executed) and these constructs are looked for:

* assigning to an attribute of an imported module (``np.allclose = ...``), or calling
  ``setattr``/``delattr`` on one;
* rebinding a name the test cells call (``check_*``) or any mention of lstm_ref's grading
  code (``lstm_ref.grading``, ``GradingError``, ``run_check``);
* the usual doors to the above: ``__code__``, ``__globals__``, ``__builtins__``,
  ``sys.modules``, ``builtins``, ``importlib``, ``__import__``, ``exec``, ``eval``.

A submission with any of them is not run and earns zero, with the line that triggered it
as the reason. Code that hides such a change from a parser (e.g. assembling names from
strings and calling a function found through ``vars()``) is not caught: see the README.
"""

from __future__ import annotations

import ast

import nbformat

DOORS = {
    "__code__", "__globals__", "__builtins__", "__import__", "__dict__", "__class__",
    "exec", "eval", "compile", "importlib", "builtins", "globals", "vars", "sys.modules",
}  # fmt: skip
GRADING = ("lstm_ref.grading", "GradingError", "run_check", "forbid_delegation")


def find_tampering(notebook_bytes: bytes) -> str | None:
    """The first suspicious line of a student's editable cells, or None."""
    notebook = nbformat.reads(notebook_bytes.decode("utf-8", errors="replace"), as_version=4)
    for index, cell in enumerate(notebook.cells):
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("locked") or meta.get("grade"):
            continue  # locked and test cells are restored from the source by nbgrader
        source = cell.source
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # it fails on its own
        modules = _imported_modules(tree)
        for node in ast.walk(tree):
            problem = _problem(node, modules)
            if problem:
                line = (
                    source.splitlines()[node.lineno - 1].strip() if hasattr(node, "lineno") else ""
                )
                return f"cell {index}: {problem}: `{line[:120]}`"
    return None


def _imported_modules(tree: ast.AST) -> set[str]:
    names = {"np", "numpy", "torch", "lstm_ref", "math", "scipy", "F", "nn"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {alias.asname or alias.name for alias in node.names
                      if alias.name[:1].islower() and "." not in alias.name}  # fmt: skip
    return names


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _problem(node: ast.AST, modules: set[str]) -> str | None:
    if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and _root_name(target) in modules:
                return "changes an attribute of a module"
            if isinstance(target, ast.Name) and target.id.startswith("check_"):
                return "rebinds a check function"
    if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name.startswith("check_"):
        return "defines a function named like a check"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in ("setattr", "delattr") and node.args:
            if _root_name(node.args[0]) in modules:
                return f"calls {node.func.id} on a module"
    text = ast.unparse(node) if isinstance(node, ast.Attribute | ast.Name) else ""
    if isinstance(node, ast.Name | ast.Attribute) and (
        (isinstance(node, ast.Name) and node.id in DOORS)
        or (isinstance(node, ast.Attribute) and (node.attr in DOORS or text in DOORS))
    ):
        return f"uses {text}, which can change code it does not own"
    if isinstance(node, ast.Name | ast.Attribute | ast.alias | ast.ImportFrom):
        label = node.module if isinstance(node, ast.ImportFrom) else (
            node.name if isinstance(node, ast.alias) else text)  # fmt: skip
        if label and any(word in label for word in GRADING):
            return "reaches into the course's grading code"
    return None
