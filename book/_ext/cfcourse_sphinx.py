"""Sphinx extension of the course book: serve MathJax from the site itself, show each coding exercise's
solution code only in its solution dropdown, and tidy the theme.

The book's formulas must render without a network connection, so MathJax 3 is taken from the
``django-static-mathjax`` wheel (a pip-installable copy of MathJax's ``es5`` build; it has no
dependencies) and copied into ``_static/mathjax`` of the built site. ``mathjax_path`` in
``_config.yml`` points at it.

A coding exercise's solution cell (the code cell with ``### BEGIN SOLUTION`` / ``### END SOLUTION``, see
:mod:`cfcourse.classroom.markup`) runs where it stands, so that the check cell after it passes, but its
code is not shown there: :func:`move_solution_code` moves it, without the marker lines, to the top of
the exercise's ``{solution}`` dropdown. Chapters need no tag for this.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)


def mathjax_source() -> Path:
    """The folder holding MathJax's ``tex-mml-chtml.js`` and its fonts and extensions."""
    try:
        import mathjax  # the django-static-mathjax distribution installs this package
    except ImportError as exc:  # pragma: no cover - listed in the book's dependencies
        raise ExtensionError("MathJax is not installed: pip install -e '.[book]' (django-static-mathjax)") from exc
    folder = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (folder / "tex-mml-chtml.js").is_file():
        raise ExtensionError(f"MathJax's tex-mml-chtml.js was not found under {folder}")
    return folder


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if (target / "tex-mml-chtml.js").is_file():
        return
    shutil.copytree(mathjax_source(), target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("sre", "*-svg*.js", "mml-svg.js"))


def set_theme_defaults(app: Sphinx, config) -> None:
    """Give the theme an explicit colour mode (an empty one logs a console error on every page)."""
    context = dict(config.html_context or {})
    context.setdefault("default_mode", "light")
    config.html_context = context


def drop_duplicate_scripts(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Jupyter Book 1.x registers sphinx-thebe's inline set-up script twice, which makes the browser
    report "Identifier 'THEBE_JS_URL' has already been declared": keep the first copy only."""
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        attributes = getattr(script, "attributes", {}) or {}
        key = (getattr(script, "filename", str(script)) or "",
               tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    scripts[:] = unique


def move_solution_code(app: Sphinx, doctree: nodes.document) -> None:
    """Show every solution cell's code (markers dropped) inside its exercise's ``{solution}`` block only.

    The cell keeps its place and its outputs; its source is taken out of the page flow. The solution
    is found by label: the ``{solution}`` whose argument is the ``:label:`` of the ``{exercise}`` above
    the cell. A solution cell outside an exercise, or an exercise without a ``{solution}`` block, is a
    warning (an error under ``-W``): its code would be shown nowhere.
    """
    from sphinx_exercise.nodes import exercise_enumerable_node, exercise_node, solution_node

    from cfcourse.classroom.markup import has_solution_markers, without_markers

    def is_code_cell(node) -> bool:
        return isinstance(node, nodes.container) and node.get("nb_element") == "cell_code"

    solutions = {node["target_label"]: node for node in doctree.findall(solution_node)}
    label = ""  # the exercise whose statement was read and whose {solution} block was not
    for node in list(doctree.findall(lambda n: isinstance(n, (exercise_node, exercise_enumerable_node, solution_node))
                                     or is_code_cell(n))):
        if isinstance(node, solution_node):
            label = "" if node.get("target_label") == label else label
            continue
        if not is_code_cell(node):
            label = node.get("label", "")
            continue
        source = next((child for child in node.children if child.get("nb_element") == "cell_code_source"), None)
        if source is None or not has_solution_markers(source.astext()):
            continue
        target = solutions.get(label)
        if target is None:
            where = (f"follows exercise '{label}', which has no {{solution}} block to show it in: add "
                     f"```{{solution}} {label}``` after the check cell" if label else
                     "is not inside an exercise: put it after its {exercise} block and before its {solution} block")
            logger.warning(f"a solution cell (code with '### BEGIN SOLUTION') {where}", location=node)
            continue
        code = without_markers(source.astext())
        literal = nodes.literal_block(code, code, language="ipython3", classes=["solution-code"])
        content = next((c for c in target.children if isinstance(c, nodes.section)), target)
        content.insert(0, literal)
        node.remove(source)
        node.attributes.pop("hide_mode", None)
        if not node.children:
            node.parent.remove(node)


def setup(app: Sphinx) -> dict:
    app.connect("doctree-read", move_solution_code)
    app.connect("config-inited", set_theme_defaults)
    app.connect("html-page-context", drop_duplicate_scripts, priority=100)
    app.connect("build-finished", copy_mathjax)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
