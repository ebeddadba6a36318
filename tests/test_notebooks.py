"""Every notebook page of the book reads well, whoever wrote it.

Each test runs over the notebook pages that ``_toc.yml`` lists (``tasks.notebook_pages()``), so a new
chapter is held to the same rules without any change here:

- (code fits the page: measured in the browser, tests/test_page_fit.py, on every page at 1280 px);
- every figure is a numbered figure: a caption, a name the prose references with ``{numref}``, and
  alt text that says what it shows (myst-nb cell metadata ``mystnb: figure: {caption, name}`` and
  ``mystnb: image: {alt}``);
- figures are at most ``plots.MAX_WIDTH`` inches wide and never put panels side by side (they must
  stay readable on a 390-px phone);
- visible code never uses a name defined only in a hidden cell: each page still runs with its hidden
  cells removed (slow);
- every cell ran, in order, without an error (nbval's check, read from the book build where a run
  builds the book; slow);
- in the built book: figures are numbered, described and drawn at twice their size (crisp on high-DPI
  screens) or as SVG (the model diagrams), outputs are formatted for reading, and movie titles in the prose read naturally (slow).
"""

from __future__ import annotations

import html as html_lib
import inspect
import re
from pathlib import Path

import jupytext
import pytest

import tasks
from cfcourse import explore, plots
from test_book import ROOT

PAGES = tasks.notebook_pages()
#: Cells the reader does not see: their code must not define what visible code uses.
HIDDEN = {"remove-cell", "remove-input"}
FIGURE_NAME = re.compile(r"fig-[a-z0-9]+(?:-[a-z0-9]+)*")


def read(page: str):
    return jupytext.read(ROOT / f"{page}.md")


def code_cells(page: str):
    return [cell for cell in read(page).cells if cell.cell_type == "code"]


def prose(page: str) -> str:
    return "\n".join(cell.source for cell in read(page).cells if cell.cell_type == "markdown")


def figure_cells(page: str):
    return [cell for cell in code_cells(page) if "figure" in cell.metadata.get("mystnb", {})]


def test_the_rules_apply_to_every_chapter():
    chapters = [page for page in PAGES if page.startswith("notebooks/")]
    assert len(chapters) == len(list((ROOT / "notebooks").glob("*.md")))


@pytest.mark.parametrize("page", PAGES)
def test_figures_have_a_caption_a_name_the_prose_references_and_alt_text(page):
    text = prose(page)
    for cell in figure_cells(page):
        options = cell.metadata["mystnb"]
        figure, alt = options["figure"], str(options.get("image", {}).get("alt", "")).strip()
        name, caption = str(figure.get("name", "")), str(figure.get("caption", "")).strip()
        where = f"{page}, figure {name or '(no name)'}"
        assert FIGURE_NAME.fullmatch(name), f"{where}: name it fig-NN-what (lower case, dashes)"
        assert len(caption.split()) >= 5 and caption.endswith("."), f"{where}: a caption is a sentence"
        assert len(alt.split()) >= 15, f"{where}: alt text must describe what the figure shows"
        assert alt != caption and not re.search(r"\.(png|svg|jpe?g)\b", alt), f"{where}: alt text is not a file"
        assert f"{{numref}}`{name}`" in text, f"{where}: the prose must reference it with {{numref}}`{name}`"


def test_figure_names_are_unique_across_the_book():
    names = [cell.metadata["mystnb"]["figure"].get("name") for page in PAGES for cell in figure_cells(page)]
    assert len(names) == len(set(names)), f"figure names used twice: {sorted(n for n in names if names.count(n) > 1)}"


@pytest.mark.parametrize("page", PAGES)
def test_figures_fit_a_phone(page):
    """Narrow figures, and panels stacked rather than side by side."""
    for n, cell in enumerate(code_cells(page)):
        for width in re.findall(r"figsize\s*=\s*\(\s*([\d.]+)\s*,", cell.source):
            assert float(width) <= plots.MAX_WIDTH, (
                f"{page}, cell {n}: a figure {width} inches wide (at most {plots.MAX_WIDTH}) shrinks to "
                "unreadable text on a phone")
        grids = re.findall(r"subplots\(\s*(\d+)\s*,\s*(\d+)", cell.source)
        columns = [int(c) for _, c in grids] + [int(c) for c in re.findall(r"ncols\s*=\s*(\d+)", cell.source)]
        assert all(c <= 1 for c in columns), f"{page}, cell {n}: stack panels vertically (subplots(n, 1))"


def test_package_figures_fit_a_phone():
    assert plots.FIGSIZE[0] <= plots.MAX_WIDTH
    import cfcourse

    for path in Path(cfcourse.__file__).parent.rglob("*.py"):
        for width in re.findall(r"figsize\s*=\s*\(\s*([\d.]+)\s*,", path.read_text(encoding="utf-8")):
            assert float(width) <= plots.MAX_WIDTH, f"{path.name}: a figure {width} inches wide"


def test_one_threshold_for_reading_movies():
    """The movies the book reads one by one have more than 20 ratings, said the same way everywhere."""
    assert explore.MIN_RATINGS == 21
    assert inspect.signature(explore.extreme_movies).parameters["min_ratings"].default == explore.MIN_RATINGS
    other = re.compile(r"(at least|or more)\s+(20|twenty)\b|\b(20|twenty)\s+(or more|and more)", re.I)
    for page in PAGES:
        found = other.findall(prose(page))
        assert not found, f"{page}: say 'more than 20 ratings' (explore.MIN_RATINGS), not {found}"


# --------------------------------------------------------------------------------------
# Slow: run each page without its hidden cells
# --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_page_runs_with_its_hidden_cells_removed(page):
    """Hidden cells only glue and assert: the code a reader sees runs on its own."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    notebook = read(page)
    notebook.cells = [cell for cell in notebook.cells if not HIDDEN & set(cell.metadata.get("tags", []))]
    notebook = nbformat.from_dict(notebook)
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str((ROOT / page).parent)}})
    try:
        client.execute()
    except CellExecutionError as error:
        pytest.fail(f"{page} fails without its hidden cells (visible code uses a name only a hidden cell "
                    f"defines?):\n{str(error)[-1500:]}")


# --------------------------------------------------------------------------------------
# Slow: the built book
# --------------------------------------------------------------------------------------


def _main(page_html: str) -> str:
    match = re.search(r"<main[^>]*>(.*)</main>", page_html, re.S)
    return match.group(1) if match else page_html


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_built_figures_are_numbered_described_and_crisp(page, built_book):
    html = built_book
    text = _main((html / f"{page}.html").read_text(encoding="utf-8"))
    images = re.findall(r"<img[^>]*_images/[^>]*>", text)
    figures = re.findall(r'<figure[^>]*id="([^"]+)"[^>]*>(.*?)</figure>', text, re.S)
    assert len(images) == len(figures), f"{page}: {len(images)} images but {len(figures)} numbered figures"
    for ident, body in figures:
        assert re.search(r'<span class="caption-number">Fig\. [\d.]+ </span>', body), f"{page}: #{ident} unnumbered"
        assert f'href="#{ident}"' in text, f"{page}: figure #{ident} is never referenced"
        tag = re.search(r"<img[^>]*>", body).group(0)
        alt = html_lib.unescape(re.search(r'alt="([^"]*)"', tag).group(1))
        assert len(alt.split()) >= 15 and "_images" not in alt, f"{page}: #{ident} has no real alt text"
        src = re.search(r'src="([^"]+)"', tag).group(1)
        if src.endswith(".svg"):  # a model diagram (cfcourse.diagrams): sharp at any size, shown at its own
            drawing = ((html / page).parent / src).read_text(encoding="utf-8")
            assert "<svg" in drawing, f"{page}: #{ident} is not an SVG"
            points = float(re.search(r'<svg[^>]*width="([\d.]+)pt"', drawing).group(1))
            assert points / 72 * 96 <= 560, f"{page}: #{ident} is {points} pt wide: too wide to read on a phone"
            continue
        width = re.search(r'width:\s*([\d.]+)px|width="([\d.]+)', tag)
        assert width, f"{page}: #{ident} has no display width (a 2x image must be shown at half its size)"
        shown = float(width.group(1) or width.group(2))
        pixels, _ = _png_size((html / page).parent / src)
        assert pixels == pytest.approx(2 * shown, abs=2), f"{page}: #{ident} is not drawn at 2x ({pixels} px)"
        assert shown <= 560, f"{page}: #{ident} is {shown} px wide: too wide to read on a phone"


def _executed(page: str, html: Path):
    import nbformat

    return nbformat.read(html.parent / "jupyter_execute" / f"{page}.ipynb", as_version=4)


def _outputs(notebook):
    for n, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            yield n, data.get("text/html", ""), data.get("text/plain", "") if "text/html" not in data else "", \
                output.get("text", "")


def _table_columns(table_html: str) -> list[list[str]]:
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table_html, re.S)
    cells = [[html_lib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
             for r in rows]
    cells = [r for r in cells if r]
    width = max((len(r) for r in cells), default=0)
    return [[r[i] for r in cells if len(r) == width] for i in range(width)]


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_every_cell_ran_in_the_book_build(page, built_book):
    """What nbval checks of a chapter, read from the book build's execution (the run that builds the book
    does not execute the chapters a second time for nbval, see the root conftest.py): every code cell of
    the page ran, in order, in one kernel, and none of them raised."""
    executed = _executed(page, built_book)
    cells = [cell for cell in executed.cells if cell.cell_type == "code"]
    assert [cell.source for cell in cells] == [cell.source for cell in code_cells(page)], \
        f"{page}: the book executed other code than the page's source"
    counts = [cell.get("execution_count") for cell in cells]
    if all(count is None for count in counts):  # myst-nb's cache mode writes the outputs without the counts
        ran = _cached_execution(page, built_book)
        assert [cell.source for cell in ran] == [cell.source for cell in cells], \
            f"{page}: the build's cache holds another version of the page"
        counts = [cell.get("execution_count") for cell in ran]
    assert counts == list(range(1, len(cells) + 1)), f"{page}: cells not run once each, in order: {counts}"
    errors = [(n, output.get("ename"), output.get("evalue", "")[:300]) for n, cell in enumerate(cells)
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert not errors, f"{page}: cells raised in the book build: {errors}"


def _cached_execution(page: str, html: Path) -> list:
    """The code cells of ``page`` as the build executed them, from its jupyter-cache (``_build/.jupyter_cache``)."""
    from jupyter_cache import get_cache

    cache = get_cache(str(html.parent / ".jupyter_cache"))
    wanted = Path(f"{page}.md").parts
    records = [r for r in cache.list_cache_records() if Path(r.uri).parts[-len(wanted):] == wanted]
    assert records, f"{page}: the build's cache has no execution of this page"
    notebook = cache.get_cache_bundle(max(records, key=lambda r: r.pk).pk).nb
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_outputs_are_formatted_for_reading(page, built_book):
    """No 1.055822e-14, no 0.8545361402567108, no counts as 809.0, no table cut short by pandas, no bare float."""
    problems = reading_problems(_executed(page, built_book))
    assert not problems, f"{page}:\n" + "\n".join(problems)


def reading_problems(notebook) -> list[str]:
    """What in an executed notebook's outputs is not formatted for reading (one line per problem)."""
    problems = []
    for n, html, plain, stream in _outputs(notebook):
        shown = html + plain + stream
        where = f"cell {n}"
        if re.search(r"\d\.\d+e[-+]\d+", shown):
            problems.append(f"{where}: scientific notation: round it")
        if re.search(r"\d\.\d{7,}", shown):
            problems.append(f"{where}: a number with 7 or more decimals: round it")
        for table in re.findall(r"<table.*?</table>", html, re.S):
            for column in _table_columns(table):
                if any(v.endswith("...") for v in column):
                    problems.append(f"{where}: pandas cut a cell short (use .style, or shorter text)")
                whole = [v for v in column if re.fullmatch(r"-?[\d,]+\.0", v)]
                if whole and len(whole) == len(column) and any(float(v.replace(",", "")) > 5 for v in whole):
                    problems.append(f"{where}: a column of counts shown as floats ({column[:3]})")
        if re.search(r"^.{20,}\.\.\.\s{2,}", plain, re.M):
            problems.append(f"{where}: pandas cut a cell short")
        if re.search(r"WARNING:tensorflow|retracing", shown):
            problems.append(f"{where}: TensorFlow's warnings in the output (e.g. use cfcourse.training.predict, "
                            "which builds no new tf.function per model)")
    return problems + _unrounded_results(notebook)


_FLOAT = re.compile(r"(?<![\w.])-?\d+\.\d+(?:e[-+]?\d+)?")


def shown_without_rounding(source: str, plain: str) -> bool:
    """Does a cell whose last line is ``source`` show a float it never rounded?

    A bare name (``fit``) or attribute (``model.loss``) left as a cell's last expression prints the
    float's full repr: ``4.0`` on one CPU, ``4.000000000000001`` on another. What a reader sees must be
    rounded or formatted on purpose (``round(fit, 2)``, ``f"{fit:.2f}"``, ``frame.round(3)``).
    """
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return False
    last = tree.body[-1].value
    bare = isinstance(last, (ast.Name, ast.Attribute)) or (
        isinstance(last, ast.Tuple) and all(isinstance(e, (ast.Name, ast.Attribute)) for e in last.elts))
    return bare and bool(_FLOAT.search(plain))


def test_the_unrounded_float_rule_catches_a_bare_float():
    assert shown_without_rounding("fit = 2.0 * 2\nfit", "4.0")
    assert shown_without_rounding("x = y\nmodel.loss", "0.8315522")
    assert not shown_without_rounding("round(fit, 2)", "4.0")
    assert not shown_without_rounding("n\n", "610")
    assert not shown_without_rounding("frame.round(3)", "0.831")


def _unrounded_results(notebook) -> list[str]:
    """Cells of an executed notebook that show a float left as a bare last expression."""
    problems = []
    for n, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if output.get("output_type") == "execute_result" and "text/html" not in data and \
                    shown_without_rounding(cell.source, data.get("text/plain", "")):
                problems.append(f"cell {n}: a float left as the cell's last expression prints its full repr, "
                                "which differs between CPUs: round it (round(x, 2), f\"{x:.2f}\")")
    return problems


_UNNATURAL = re.compile(r"\w, (The|A|An|Le|La|Les|Il|El|Die|Der|Das)(?: \(\d{4}\))?(?=[\s.,;:)]|$)")


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_movie_titles_in_the_prose_read_naturally(page, built_book):
    text = _main((built_book / f"{page}.html").read_text(encoding="utf-8"))
    text = re.sub(r"<(pre|code|table|script|style)[^>]*>.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r'<div class="cell_output.*?</div>\s*</div>', " ", text, flags=re.S)
    sentences = [html_lib.unescape(re.sub(r"<[^>]+>", "", p)) for p in re.findall(r"<(?:p|li)>(.*?)</(?:p|li)>", text, re.S)]
    bad = [s.strip()[:120] for s in sentences if _UNNATURAL.search(s)]
    assert not bad, f"{page}: write titles as they read ('The Shawshank Redemption'): {bad}"
