"""Sphinx extension of the course book: serve MathJax from the site itself, and tidy the theme.

The book's formulas must render without a network connection, so MathJax 3 is taken from the
``django-static-mathjax`` wheel (a pip-installable copy of MathJax's ``es5`` build; it has no
dependencies) and copied into ``_static/mathjax`` of the built site. ``mathjax_path`` in
``_config.yml`` points at it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError


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


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", set_theme_defaults)
    app.connect("html-page-context", drop_duplicate_scripts, priority=100)
    app.connect("build-finished", copy_mathjax)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
