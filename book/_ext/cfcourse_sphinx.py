"""Sphinx extension of the course book: serve MathJax from the site itself, tidy the theme, show
solution code only in its dropdown, point the launch buttons at the published notebooks, and draw
figures for high-DPI screens.

- The book's formulas must render without a network connection, so MathJax 3 is taken from the
  ``django-static-mathjax`` wheel (a pip-installable copy of MathJax's ``es5`` build; it has no
  dependencies) and copied into ``_static/mathjax`` of the built site. ``mathjax_path`` in
  ``_config.yml`` points at it.
- The Colab and Binder buttons open the ``.ipynb`` that ``python3 tasks.py publish`` writes and the
  GitHub workflow pushes to the branch ``cfcourse_notebooks_branch`` of the repository named once,
  in ``repository.url`` of ``_config.yml`` (see :func:`launch_urls`).
- Every notebook the build executes runs in a kernel whose inline figures are 2x PNGs (shown at
  their 1x size, so crisp on high-DPI screens) in the book's figure style (:data:`KERNEL_CONFIG`):
  chapters need no set-up cell for it.
- While the chapters execute, the models of the results page are trained (or read from the cache) in
  another process, and the results page is read last: :func:`compute_results`. Spark's class archive
  is written the same way, for the Spark chapter's first run: :func:`write_spark_classes`.
- A coding exercise's solution cell (the code cell with ``### BEGIN SOLUTION`` / ``### END
  SOLUTION``, see :mod:`cfcourse.classroom.markup`) runs where it stands, so that the check cell after
  it passes, but its code is not shown there: :func:`move_solution_code` moves it, without the marker
  lines, to the top of the exercise's ``{solution}`` dropdown. Chapters need no tag for this.
- ``static/cfcourse.css`` makes outputs wrap instead of scrolling sideways; ``static/favicon.svg``
  is the site's icon.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

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


STATIC = Path(__file__).resolve().parent / "static"

# The IPython kernel configuration of every notebook the book build executes. "retina" makes the
# inline backend save PNGs at twice the figure's dpi and tell the page to show them at 1x size.
# The rc values are the book's figure style, cfcourse.plots.STYLE: text large enough to read when a
# figure is scaled down to a 390-px phone screen (figures are at most 5.2 inches wide, see
# tests/test_notebooks.py), and a hook that records each drawn figure's smallest text in the file
# named by CFCOURSE_FIGURE_TEXT_LOG (tests/test_page_fit.py reads it).
KERNEL_CONFIG = """\
# Written by book/_ext/cfcourse_sphinx.py for the book build; do not edit.
from cfcourse.plots import STYLE
c.InlineBackend.figure_formats = {"retina"}
c.InlineBackend.rc = dict(STYLE)
c.HistoryManager.enabled = False
"""


def configure_kernels(app: Sphinx, config) -> None:
    """Give the kernels that execute the notebooks the book's figure settings (:data:`KERNEL_CONFIG`).

    The kernels inherit the build's environment, so an IPython directory of the build's own
    (``<build folder>/.ipython``) set in ``IPYTHONDIR`` reaches every one of them, whoever runs
    the build (``tasks.py``, the tests, ``jupyter-book`` by hand).
    """
    profile = Path(app.outdir).parent / ".ipython" / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(KERNEL_CONFIG, encoding="utf-8")
    os.environ["IPYTHONDIR"] = str(profile.parent)
    # Each executed figure's smallest text, one JSON line per drawing (cfcourse.plots.record_text_size).
    from cfcourse.plots import TEXT_LOG

    os.environ[TEXT_LOG] = str(Path(app.outdir).parent / "figure-text.jsonl")
    # Where myst-nb keeps each page's glued values (<build folder>/jupyter_execute), for the pages
    # that read what another page glued (cfcourse.book.glued_numbers: the results page's figure).
    from cfcourse.book import GLUE_DIR

    os.environ[GLUE_DIR] = str((Path(app.outdir).parent / "jupyter_execute").resolve())


def add_static_files(app: Sphinx, config) -> None:
    """Serve the extension's stylesheet and favicon, and use them."""
    config.html_static_path = [*config.html_static_path, str(STATIC)]
    if not config.html_favicon:
        config.html_favicon = str(STATIC / "favicon.svg")
    app.add_css_file("cfcourse.css")


# --------------------------------------------------------------------------------------
# Launch buttons
# --------------------------------------------------------------------------------------


def github_repository(url: str) -> tuple[str, str]:
    """``(owner, name)`` of a ``https://github.com/owner/name`` repository URL."""
    parts = url.rstrip("/").removesuffix(".git").split("github.com/", 1)
    if len(parts) != 2 or parts[1].count("/") != 1 or not all(parts[1].split("/")):
        raise ExtensionError(f"repository.url in _config.yml must look like https://github.com/OWNER/NAME, "
                             f"got {url!r}")
    owner, name = parts[1].split("/")
    return owner, name


def launch_urls(repository_url: str, notebooks_branch: str, pagename: str,
                binderhub_url: str = "https://mybinder.org", colab_url: str = "https://colab.research.google.com",
                interface: str = "jupyterlab") -> dict[str, str]:
    """The Binder and Colab links of one page: both open ``<pagename>.ipynb`` on ``notebooks_branch``.

    That branch holds what ``python3 tasks.py publish`` writes (one ``.ipynb`` per notebook page, at
    the page's path, with a first cell that sets up Colab) and the workflow pushes.
    """
    owner, name = github_repository(repository_url)
    path = quote(f"{pagename}.ipynb")
    ui = {"classic": "tree", "jupyterlab": "lab/tree"}[interface]
    return {
        "Binder": f"{binderhub_url.rstrip('/')}/v2/gh/{owner}/{name}/{quote(notebooks_branch)}?urlpath={ui}/{path}",
        "Colab": f"{colab_url.rstrip('/')}/github/{owner}/{name}/blob/{quote(notebooks_branch)}/{path}",
    }


def point_launch_buttons(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Rewrite sphinx-book-theme's Binder and Colab links (which point at files that are never
    committed) to the published notebooks of :func:`launch_urls`."""
    groups = [b for b in context.get("header_buttons", []) if b.get("label") == "launch-buttons"]
    if not groups:
        return
    options = app.config.html_theme_options
    launch = options.get("launch_buttons", {})
    urls = launch_urls(options["repository_url"], app.config.cfcourse_notebooks_branch, pagename,
                       launch.get("binderhub_url") or "https://mybinder.org",
                       launch.get("colab_url") or "https://colab.research.google.com",
                       launch.get("notebook_interface", "classic"))
    for group in groups:
        for button in group["buttons"]:
            if button.get("text") in urls:
                button["url"] = urls[button["text"]]


def compute_results(app: Sphinx, env, docnames: list[str]) -> None:
    """Train what the results page reports while the chapters execute (``cfcourse.benchmark.book_results``).

    The page itself only reads the table, so it runs in seconds like every other notebook; the
    training (minutes) happens in a separate process, started here in the background, once per
    change of the code, and is kept in the cfcourse cache for the next builds (the tests' build, the
    student build: a lock in ``book_results`` makes two builds at once train it only once). The
    results page is moved to the end of the pages to read, so the chapters execute while the
    models train; :func:`wait_for_results` waits for the training just before the page runs.
    """
    page = app.config.cfcourse_results_page
    if page not in docnames:
        return
    docnames.remove(page)
    docnames.append(page)  # Sphinx reads the pages in this list's order
    command = [sys.executable, "-m", "cfcourse.benchmark", "--book"]
    print(f"cfcourse: {' '.join(command[1:])} in the background (the results page's models; cached after "
          "the first run)", flush=True)
    app._cfcourse_results = subprocess.Popen(command)  # type: ignore[attr-defined]


def wait_for_results(app: Sphinx, docname: str, source: list[str]) -> None:
    """Before the results page is read (and executed), wait for :func:`compute_results`' training."""
    process = getattr(app, "_cfcourse_results", None)
    if docname != app.config.cfcourse_results_page or process is None:
        return
    if process.wait() != 0:
        raise ExtensionError("the results page's benchmark failed: run python3 tasks.py bench --book to see why")


def stop_results(app: Sphinx, exception) -> None:
    """A build that ends before the results page was read (an error) does not leave the training running."""
    process = getattr(app, "_cfcourse_results", None)
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait()


def write_spark_classes(app: Sphinx, env, docnames: list[str]) -> None:
    """Where a page to execute starts Spark, write Spark's class archive in the background first
    (``python -m cfcourse.spark --class-archive``, see ``cfcourse.spark.write_class_archive``): the
    Spark chapter, read after the others, then starts from it instead of writing it (a speed-up only:
    nothing fails if it cannot)."""
    if not any("start_session(" in Path(env.doc2path(name)).read_text(encoding="utf-8", errors="replace")
               for name in docnames if Path(env.doc2path(name)).suffix == ".md"):
        return
    command = [sys.executable, "-m", "cfcourse.spark", "--class-archive"]
    app._cfcourse_spark_classes = subprocess.Popen(  # type: ignore[attr-defined]
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for_spark_classes(app: Sphinx, exception) -> None:
    """The class archive's Spark job ends with the build (it takes seconds; it is stopped after 5 minutes)."""
    process = getattr(app, "_cfcourse_spark_classes", None)
    if process is None:
        return
    try:
        process.wait(timeout=300)
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait()


# --------------------------------------------------------------------------------------
# Bibliography: author-year labels in the list, as in the text
# --------------------------------------------------------------------------------------


def author_year_label(entry) -> str:
    """``Keydana, 2018``; ``Harper and Konstan, 2015``; ``Koren et al., 2009``; ``Google, 2024``."""
    import codecs

    import latexcodec  # noqa: F401  (registers the "ulatex" codec; a dependency of pybtex)

    def plain(text: str) -> str:  # J\"arvelin -> Järvelin, {Google} -> Google
        return codecs.decode(text, "ulatex").replace("{", "").replace("}", "")

    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [plain(" ".join(person.last_names)) for person in people]
    if not names:
        who = plain(entry.fields.get("title", entry.key))
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


def bibliography_style():
    """The pybtex style of the book's bibliography (``bibtex_default_style: cfcourse_author_year``):
    pybtex's ``unsrt`` entries, sorted by author and year, labelled :func:`author_year_label` (with
    a, b, ... when two entries would get the same label)."""
    from pybtex.style.formatting.unsrt import Style as Unsrt
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            labels = [author_year_label(entry) for entry in sorted_entries]
            seen: dict[str, int] = {}
            for label in labels:
                if labels.count(label) == 1:
                    yield label
                else:
                    seen[label] = seen.get(label, 0) + 1
                    yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]

    class AuthorYear(Unsrt):
        default_label_style = AuthorYearLabels
        default_sorting_style = "author_year_title"

    return AuthorYear


def setup(app: Sphinx) -> dict:
    from pybtex.plugin import register_plugin

    register_plugin("pybtex.style.formatting", "cfcourse_author_year", bibliography_style(), force=True)
    app.add_config_value("cfcourse_notebooks_branch", "notebooks", "html", types=[str])
    app.add_config_value("cfcourse_results_page", "book/results", "env", types=[str])
    app.setup_extension("cfcourse_execution")  # two notebooks executed at a time (its own module)
    app.connect("env-before-read-docs", compute_results)
    app.connect("source-read", wait_for_results)
    app.connect("build-finished", stop_results)
    app.connect("env-before-read-docs", write_spark_classes)
    app.connect("build-finished", wait_for_spark_classes)
    app.connect("doctree-read", move_solution_code)
    app.connect("config-inited", set_theme_defaults)
    app.connect("config-inited", configure_kernels)
    app.connect("config-inited", add_static_files)
    app.connect("html-page-context", drop_duplicate_scripts, priority=100)
    app.connect("html-page-context", point_launch_buttons, priority=600)
    app.connect("build-finished", copy_mathjax)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
