"""Pages fit their column, measured in the built book with headless Chromium, and figures are
readable on a phone.

- At 1280 px no code box and no table of any page is wider than its box or the article column
  (``scrollWidth`` against ``clientWidth``): nothing scrolls sideways on a desktop. Every page of the
  table of contents is measured, with its folded parts (solutions, dropdowns) opened: this is the
  book's rule for code width (it replaced a count of 88 columns per line of source).
- At 390 px (a phone) a table is either within the column or scrolls inside its own output box
  with its first two columns (row names and first values) visible without scrolling, and a display equation wider than the screen sits in a box that scrolls by itself and
  shows it (a shadow at the hidden side).
- Numbers pasted from another page ({glue:text}) are not bold.
- Captions are dark enough to read (contrast at least 4.5:1 against the page).
- Every figure the book build draws has its smallest text at least ``plots.MIN_TEXT_PX`` high when
  a phone shows it ``plots.PHONE_WIDTH`` px wide (the build records each figure's text through
  ``plots.record_text_size``), and so does every model diagram of ``cfcourse.diagrams``, whose
  texts never overlap.
"""

from __future__ import annotations

import json
import math

import pytest

from cfcourse import diagrams, plots
from test_book import toc_files
from test_browser import browser, site  # noqa: F401  (fixtures: the built book, served, and Chromium)

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

#: What overflows on a page: code boxes and tables wider than their box or than the article column,
#: and display equations wider than the column that do not scroll inside a box of their own.
MEASURE = """() => {
  const column = (document.querySelector('main article') || document.querySelector('main'))
                 .getBoundingClientRect();
  const shown = e => e.offsetParent !== null && !e.closest('details:not([open])');
  const longest = text => text.split('\\n').reduce((a, l) => l.length > a.length ? l : a, '').trim().slice(0, 60);
  const code = [...document.querySelectorAll('main div.highlight pre')].filter(shown);
  const tables = [...document.querySelectorAll('main table')].filter(shown);
  const maths = [...document.querySelectorAll('main mjx-container[display="true"]')].filter(shown);
  const wide = e => { const r = e.getBoundingClientRect();
                      return r.width > column.width + 1 || r.right > column.right + 1; };
  // a box that scrolls, and shows it (a shadow on the side where more is hidden)
  const scrolls = e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
                       && getComputedStyle(e).backgroundImage.includes('gradient');
  return {
    code: code.length, tables: tables.length, maths: maths.length,
    unshown_code: document.querySelectorAll('main div.highlight pre').length - code.length,
    wide_code: code.filter(e => e.scrollWidth > e.clientWidth + 1 || wide(e))
                   .map(e => `${e.scrollWidth} > ${e.clientWidth} px: ${longest(e.textContent)}`),
    wide_tables: tables.filter(t => wide(t) || t.scrollWidth > t.clientWidth + 1)
                       .map(t => `${Math.round(t.getBoundingClientRect().width)} > ${Math.round(column.width)} px: `
                                 + [...t.querySelectorAll('th')].slice(0, 4).map(h => h.textContent.trim()).join(' | ')),
    wide_maths: maths.filter(m => (wide(m) || m.scrollWidth > m.clientWidth + 1) && !scrolls(m))
                     .map(m => m.textContent.slice(0, 60)),
    // on a phone a wide table may scroll in its output box, but its first two columns (the row
    // names and the first values, what the table is there for) must show without scrolling
    hidden_columns: tables.filter(t => wide(t)).filter(t => {
        const box = t.closest('.output, .cell_output') || t.parentElement;
        const row = t.querySelector('tbody tr') || t.querySelector('tr');
        const cells = row ? [...row.children].slice(0, 2) : [];
        return !['auto', 'scroll'].includes(getComputedStyle(box).overflowX)
               || cells.some(c => c.getBoundingClientRect().right > column.right + 1); })
      .map(t => [...t.querySelectorAll('th')].slice(0, 4).map(h => h.textContent.trim()).join(' | ')),
    bold_numbers: [...document.querySelectorAll('main span.pasted-text')]
                     .filter(e => Number(getComputedStyle(e).fontWeight) >= 600
                                  && Number(getComputedStyle(e.parentElement).fontWeight) < 600)
                     .map(e => e.textContent.slice(0, 20)),
  };
}"""

#: The contrast of every figure caption's text against white (WCAG's formula).
CAPTION_CONTRAST = """() => {
  const lum = c => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(v => v / 255)
                       .map(v => v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
                     return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  return [...document.querySelectorAll('main figcaption, main figcaption *')]
    .filter(e => e.textContent.trim() && !e.closest('a.headerlink'))  // the '#' shows on hover only
    .map(e => [e.textContent.trim().slice(0, 40), 1.05 / (lum(getComputedStyle(e).color) + 0.05)]);
}"""


#: Opens every folded part of a page (closed ``<details>``, and sphinx-togglebutton's dropdowns such
#: as the exercises' solutions), so that the code they hold is measured too.
UNFOLD = """() => {
  document.querySelectorAll('main details').forEach(d => { d.open = true; });
  document.querySelectorAll('main .toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
}"""


def _evaluate_in_order(browser, site, page_path: str, viewport: dict, scripts: list[str]) -> list:  # noqa: F811
    """Open ``page_path`` in a fresh context at ``viewport`` (a phone's touch screen under 600 px), wait
    for its formulas to be typeset, and return the results of ``scripts``, run one after the other on
    that one load (:data:`UNFOLD` among them opens the folded parts for the scripts after it)."""
    phone = viewport["width"] < 600
    context = browser.new_context(viewport=viewport, is_mobile=phone, has_touch=phone)
    try:
        page = context.new_page()
        page.goto(f"{site}/{page_path}.html", wait_until="networkidle")
        if page.eval_on_selector_all("main .math", "els => els.length"):
            page.wait_for_function("() => document.querySelectorAll('main mjx-container').length > 0",
                                   timeout=15000)
        return [page.evaluate(script) for script in scripts]
    finally:
        context.close()


def _evaluate(browser, site, page_path: str, viewport: dict, script: str, unfold: bool = False):  # noqa: F811
    """``script``'s result on ``page_path`` freshly opened at ``viewport``, its folded parts opened if
    ``unfold``."""
    return _evaluate_in_order(browser, site, page_path, viewport, [UNFOLD, script] if unfold else [script])[-1]


#: (site, page) → the desktop readings of a page: both tests at 1280 px read one load of it.
_DESKTOP_READINGS: dict[tuple[str, str], dict] = {}


def _desktop_readings(browser, site, page_path: str) -> dict:  # noqa: F811
    """The captions' contrasts (as the page opens) and :data:`MEASURE` (then, with its folded parts
    opened) from one load of ``page_path`` at 1280 px, kept for the other test that reads them."""
    key = (site, page_path)
    if key not in _DESKTOP_READINGS:
        captions, _, measure = _evaluate_in_order(browser, site, page_path, DESKTOP,
                                                  [CAPTION_CONTRAST, UNFOLD, MEASURE])
        _DESKTOP_READINGS[key] = {"captions": captions, "measure": measure}
    return _DESKTOP_READINGS[key]


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("page_path", toc_files())
def test_nothing_scrolls_sideways_at_1280px(browser, site, page_path):  # noqa: F811
    found = _desktop_readings(browser, site, page_path)["measure"]
    assert found["unshown_code"] == 0, f"{page_path}: {found['unshown_code']} code boxes stay folded, unmeasured"
    assert found["wide_code"] == [], (f"{page_path}: {len(found['wide_code'])} of {found['code']} code boxes "
                                      f"scroll sideways at 1280 px:\n" + "\n".join(found["wide_code"]))
    assert found["wide_tables"] == [], (f"{page_path}: {len(found['wide_tables'])} of {found['tables']} tables are "
                                        f"wider than the column at 1280 px:\n" + "\n".join(found["wide_tables"]))
    assert found["wide_maths"] == [], f"{page_path}: equations wider than the column: {found['wide_maths']}"
    assert found["bold_numbers"] == [], f"{page_path}: pasted numbers shown in bold: {found['bold_numbers']}"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("page_path", toc_files())
def test_tables_show_their_first_columns_and_equations_fit_a_390px_phone(browser, site, page_path):  # noqa: F811
    found = _evaluate(browser, site, page_path, PHONE, MEASURE)
    assert found["hidden_columns"] == [], (f"{page_path}: tables whose first two columns do not show on a 390-px "
                                           f"phone without scrolling:\n" + "\n".join(found["hidden_columns"]))
    assert found["wide_maths"] == [], (f"{page_path}: display equations wider than a phone that do not scroll in "
                                       f"a box of their own: {found['wide_maths']}")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("page_path", [p for p in toc_files() if p.startswith("notebooks/")])
def test_captions_are_dark_enough_to_read(browser, site, page_path):  # noqa: F811
    contrasts = _desktop_readings(browser, site, page_path)["captions"]
    assert contrasts, f"{page_path} has no figure caption"
    faint = [(text, round(ratio, 2)) for text, ratio in contrasts if ratio < 4.5]
    assert faint == [], f"{page_path}: captions under 4.5:1 contrast: {faint}"


@pytest.mark.slow
def test_every_figure_of_the_book_has_text_of_at_least_9px_on_a_phone(site):  # noqa: F811
    """The book build records each drawn figure's smallest text (plots.record_text_size)."""
    from test_book import build_once

    log = build_once().parent / "figure-text.jsonl"
    assert log.is_file(), f"the book build wrote no {log.name}: is plots.STYLE's figure hook in the kernels?"
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(records) >= 20, f"only {len(records)} figures were recorded"
    small = [r for r in records if r["smallest_px"] is not None and r["smallest_px"] < plots.MIN_TEXT_PX]
    assert small == [], ("figure text under 9 px on a 360-px-wide phone (use fontsize 'small' or larger): "
                         + "; ".join(f"{r['title'] or r['text']!r}: {r['smallest_px']} px" for r in small))


def test_smallest_text_px_measures_the_text_at_phone_width():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, "ten points", fontsize=10)
    px, which = plots.smallest_text_px(fig)
    assert math.isclose(px, 10 / 72 * 360 / 5.0) and which == "ten points"
    assert math.isclose(plots.check_text_size(fig), px)
    ax.text(0.1, 0.1, "eight", fontsize=8)
    with pytest.raises(ValueError, match="'eight' is 8.0 px"):
        plots.check_text_size(fig)
    fig.set_size_inches(4.0, 3.0)  # a narrower figure is scaled down less
    assert math.isclose(plots.smallest_text_px(fig)[0], 8 / 72 * 360 / 4.0)
    plt.close(fig)


def test_the_book_style_keeps_small_text_readable_at_the_widest_figure():
    import matplotlib

    with matplotlib.rc_context({k: v for k, v in plots.STYLE.items() if k != "figure.hooks"}):
        from matplotlib.font_manager import FontProperties

        small = FontProperties(size="small").get_size_in_points()
    assert small / 72 * plots.PHONE_WIDTH / plots.MAX_WIDTH >= plots.MIN_TEXT_PX


DRAWINGS = ["deep_model", "bag_softmax", "windows_gru", "causal_attention", "als_steps"]


@pytest.mark.parametrize("name", DRAWINGS)
def test_each_diagram_reads_on_a_phone_and_its_texts_never_overlap(name):
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    with matplotlib.rc_context({k: v for k, v in plots.STYLE.items() if k != "figure.hooks"}):
        ax = getattr(diagrams, name)()
        fig = ax.figure
        assert fig.get_size_inches()[0] <= plots.MAX_WIDTH
        assert plots.check_text_size(fig) >= plots.MIN_TEXT_PX
        fig.draw_without_rendering()
        renderer = fig.canvas.get_renderer()
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        boxes = [t.get_window_extent(renderer) for t in texts]
        frame = fig.bbox
        for t, b in zip(texts, boxes):
            assert frame.x0 - 1 <= b.x0 and b.x1 <= frame.x1 + 1 and frame.y0 - 1 <= b.y0 and b.y1 <= frame.y1 + 1, \
                f"{name}: {t.get_text()!r} is cut off by the figure's edge"
        clashes = [(texts[i].get_text(), texts[j].get_text()) for i in range(len(texts)) for j in range(i)
                   if boxes[i].overlaps(boxes[j])]
        assert clashes == [], f"{name}: texts overlap: {clashes}"
        plt.close(fig)


def test_diagrams_are_svg_drawn_the_same_on_every_run_and_shown_as_svg_in_a_kernel(monkeypatch):
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    from IPython.core.interactiveshell import InteractiveShell

    with matplotlib.rc_context({k: v for k, v in plots.STYLE.items() if k != "figure.hooks"}):
        ax = diagrams.causal_attention()  # outside a kernel: an open figure, as any matplotlib figure
        assert plt.fignum_exists(ax.figure.number)
        text = diagrams.svg(ax)
        assert text.lstrip().startswith("<?xml") and "<svg" in text and "<text" not in text  # text as paths
        width_pt = float(text.split('width="', 1)[1].split("pt", 1)[0])
        assert width_pt == diagrams.WIDTH * 72 and width_pt / 72 <= plots.MAX_WIDTH
        assert diagrams.svg(ax) == text, "the same diagram gives other bytes: the page would change on every build"
        plt.close(ax.figure)
        shown = []

        class Kernel:  # what a Jupyter kernel's shell has, and a plain IPython shell has not
            pass

        shell = InteractiveShell.instance()
        monkeypatch.setattr(shell, "kernel", Kernel(), raising=False)
        monkeypatch.setattr("IPython.display.display", lambda *objects, **kw: shown.extend(objects))
        ax = diagrams.als_steps()
        assert [type(o).__name__ for o in shown] == ["SVG"] and "<svg" in shown[0].data
        assert not plt.fignum_exists(ax.figure.number), "shown as SVG, the figure must not show again as a PNG"
    InteractiveShell.clear_instance()


def test_windows_gru_refuses_a_history_as_long_as_the_window():
    with pytest.raises(ValueError, match="shorter than the window"):
        diagrams.windows_gru(["a", "b", "c"], length=3)


def test_ranking_curves_draw_two_readable_panels_and_refuse_other_histories():
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    history = pd.DataFrame({"epoch": [1, 2, 3, 4], "loss": [9.0, 8.0, 7.5, 7.2], "val_hr": [0.05, 0.08, 0.09, 0.085]})
    with matplotlib.rc_context({k: v for k, v in plots.STYLE.items() if k != "figure.hooks"}):
        top, bottom = plots.ranking_curves(history, best_epoch=3)
        assert top.figure is bottom.figure and plots.check_text_size(top.figure) >= plots.MIN_TEXT_PX
        assert list(bottom.lines[0].get_ydata()) == [0.05, 0.08, 0.09, 0.085]
        plt.close(top.figure)
    with pytest.raises(ValueError, match="lacks the column"):
        plots.ranking_curves(history.drop(columns="val_hr"))
