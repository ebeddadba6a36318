"""The book builds from scratch with every chapter, its figures and its computed numbers.

These tests run Jupyter Book exactly as `python3 tasks.py book` does (``--all -W --keep-going``), into a
temporary folder, so they never touch the reader's ``_build``.
"""

from __future__ import annotations

import atexit
import functools
import re
import tempfile
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            files.append(chapter["file"])
    return files


def chapter_files() -> list[str]:
    return [f for f in toc_files() if f.startswith("notebooks/")]


def build(source: Path, out: Path) -> subprocess.CompletedProcess:
    """Build ``source`` into ``out`` exactly as `python3 tasks.py book` builds the book."""
    import tasks

    command = tasks.book_command(source, out, bin_dir=Path(sys.executable).parent)
    return subprocess.run(command, cwd=source, env=tasks._env(tasks.BOOK_PROCESSES), capture_output=True, text=True, timeout=1800)


@functools.lru_cache(maxsize=1)
def build_once() -> Path:
    """Build the whole book from scratch once per test session (shared with the browser tests)."""
    out = Path(tempfile.mkdtemp(prefix="cfcourse-book-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    result = build(ROOT, out)
    assert result.returncode == 0, f"book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    assert "build succeeded" in result.stdout
    return out / "_build" / "html"


def test_every_chapter_is_in_the_toc():
    on_disk = sorted(f"notebooks/{p.stem}" for p in (ROOT / "notebooks").glob("*.md"))
    assert on_disk == sorted(chapter_files()), "every notebooks/*.md must be listed in _toc.yml, and only those"


@pytest.mark.slow
def test_book_builds_with_every_page(built_book: Path):
    assert (built_book / "index.html").is_file()
    for page in toc_files():
        html = built_book / f"{page}.html"
        assert html.is_file(), f"{page} was not rendered"


@pytest.mark.slow
@pytest.mark.parametrize("chapter", chapter_files())
def test_chapter_embeds_its_figures_and_numbers(built_book: Path, chapter: str):
    html = (built_book / f"{chapter}.html").read_text(encoding="utf-8")
    images = re.findall(r'<img[^>]+src="([^"]*_images/[^"]+\.png)"', html)
    assert images, f"{chapter} shows no figure"
    for src in images:
        image = (built_book / chapter).parent / src
        assert image.is_file() and image.stat().st_size > 1000, f"{chapter}: figure {src} is missing or empty"
        assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # No traceback, no raw glue role, no stderr box in the rendered page.
    assert "Traceback" not in html
    assert "{glue" not in html and "glue:md" not in html
    assert 'class="output stderr"' not in html


def mini_book(folder: Path, chapters: dict[str, str]) -> None:
    """A book in ``folder`` with the course's configuration and extension, and the given chapters."""
    shutil.copy(ROOT / "_config.yml", folder / "_config.yml")
    (folder / "book").mkdir()
    shutil.copy(ROOT / "book" / "references.bib", folder / "book" / "references.bib")
    shutil.copytree(ROOT / "book" / "_ext", folder / "book" / "_ext")
    (folder / "intro.md").write_text("# Intro\n\nA page.\n")
    header = (ROOT / "notebooks" / "01_data.md").read_text().split("---", 2)[1]
    for name, body in chapters.items():
        (folder / f"{name}.md").write_text(f"---{header}---\n\n# {name}\n\n{body}")
    toc = "".join(f"  - file: {name}\n" for name in chapters)
    (folder / "_toc.yml").write_text(f"format: jb-book\nroot: intro\nchapters:\n{toc}")


EXERCISE = """```{exercise} Double it
:label: ex-%(name)s

Write `f(x)`.
```

```{code-cell} ipython3
%(tags)sdef f(x):
    # Hint: multiply.
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
```

```{code-cell} ipython3
assert f(2) == 4
print("checked: f doubles")
```

%(solution)s
"""


def test_solution_code_is_shown_only_in_its_dropdown(tmp_path: Path):
    """A solution cell runs where it stands (its check passes), but its code appears only inside the
    exercise's {solution} dropdown, without the markers, with or without the old hide-input tag.
    A solution cell whose exercise has no {solution} block, or outside any exercise, fails the build and
    says why."""
    solution = "```{solution} ex-%s\n:class: dropdown\n\nDoubling works.\n```\n"
    mini_book(tmp_path, {
        "plain": EXERCISE % {"name": "plain", "tags": "", "solution": solution % "plain"},
        "tagged": EXERCISE % {"name": "tagged", "tags": ":tags: [hide-input]\n\n", "solution": solution % "tagged"},
        "orphan": EXERCISE % {"name": "orphan", "tags": "", "solution": ""},
        "misplaced": ("```{code-cell} ipython3\ndef g():\n    ### BEGIN SOLUTION\n    return 1\n"
                      "    ### END SOLUTION\n```\n")
                     + EXERCISE % {"name": "misplaced", "tags": "", "solution": solution % "misplaced"},
    })
    result = build(tmp_path, tmp_path / "out")
    assert result.returncode != 0
    assert "follows exercise 'ex-orphan', which has no {solution} block" in result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "misplaced.md" in output and "is not inside an exercise" in output
    for name in ("plain", "tagged"):
        page = (tmp_path / "out" / "_build" / "html" / f"{name}.html").read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in page and "END SOLUTION" not in page
        assert "checked: f doubles" in page, "the solution cell ran before the check"
        assert "Show code cell source" not in page
        start = page.index('<div class="solution')
        before, inside = re.sub(r"<[^>]+>", "", page[:start]), re.sub(r"<[^>]+>", "", page[start:])
        assert "return 2 * x" not in before and "# Hint: multiply." not in before
        assert inside.index("return 2 * x") < inside.index("Doubling works."), "the code opens the dropdown"


def test_a_notebook_that_raises_fails_the_build(tmp_path: Path):
    """A deliberately broken chapter makes the build fail (not just warn)."""
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    (tmp_path / "book").mkdir()
    shutil.copy(ROOT / "book" / "references.bib", tmp_path / "book" / "references.bib")
    shutil.copytree(ROOT / "book" / "_ext", tmp_path / "book" / "_ext")
    (tmp_path / "intro.md").write_text("# Intro\n\nA page.\n")
    header = (ROOT / "notebooks" / "01_data.md").read_text().split("---", 2)[1]
    (tmp_path / "broken.md").write_text(
        f"---{header}---\n\n# Broken\n\n```{{code-cell}} ipython3\nraise RuntimeError('deliberately broken')\n```\n"
    )
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: broken\n")
    result = build(tmp_path, tmp_path / "out")
    assert result.returncode != 0
    assert "deliberately broken" in result.stdout + result.stderr


def test_a_notebook_that_raises_fails_the_tests(tmp_path: Path):
    """The same deliberately broken chapter, run by nbval as the test suite runs the chapters, fails."""
    header = (ROOT / "notebooks" / "01_data.md").read_text().split("---", 2)[1]
    import jupytext

    notebook = jupytext.reads(f"---{header}---\n\n# Broken\n\n```{{code-cell}} ipython3\n"
                              "raise RuntimeError('deliberately broken')\n```\n", fmt="md:myst")
    jupytext.write(notebook, tmp_path / "broken.ipynb", fmt="ipynb")
    result = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
                             "-o", "addopts=", "--rootdir", str(tmp_path), str(tmp_path / "broken.ipynb")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "deliberately broken" in result.stdout and "1 failed" in result.stdout


def split_solution_text(page: str) -> tuple[str, str]:
    """(text outside, text inside) the {solution} blocks of an HTML page, tags removed."""
    from html.parser import HTMLParser

    class Splitter(HTMLParser):
        def __init__(self):
            super().__init__()
            self.depth = 0  # open <div>s since entering a solution block (0: outside)
            self.parts: dict[bool, list[str]] = {False: [], True: []}

        def handle_starttag(self, tag, attrs):
            if tag != "div":
                return
            if self.depth:
                self.depth += 1
            elif "solution" in (dict(attrs).get("class") or "").split():
                self.depth = 1

        def handle_endtag(self, tag):
            if tag == "div" and self.depth:
                self.depth -= 1

        def handle_data(self, data):
            self.parts[bool(self.depth)].append(data)

    splitter = Splitter()
    splitter.feed(page)
    return "".join(splitter.parts[False]), "".join(splitter.parts[True])


@pytest.mark.slow
@pytest.mark.parametrize("chapter", chapter_files())
def test_solution_code_is_only_in_the_dropdowns(built_book: Path, chapter: str):
    """In the reader's book a coding exercise's solution code is inside its solution dropdown only,
    and the solution markers never show."""
    import jupytext

    from cfcourse.classroom import markup

    page = (built_book / f"{chapter}.html").read_text(encoding="utf-8")
    assert markup.SOLUTION_BEGIN not in page and markup.SOLUTION_END not in page
    outside, inside = split_solution_text(page)
    text = (ROOT / f"{chapter}.md").read_text(encoding="utf-8")
    notebook = jupytext.reads(text, fmt="md:myst")
    kept = jupytext.writes(markup.student_notebook(text)[0], fmt="md:myst")  # what readers may see anyway
    solution_cells = [c.source for c in notebook.cells
                      if c.cell_type == "code" and markup.has_solution_markers(c.source)]
    assert solution_cells, f"{chapter} has a coding exercise"
    for source in solution_cells:
        _, removed = markup.stub_code(source)
        lines = [line.strip() for line in removed if len(line.strip()) >= 12 and line.strip() not in kept]
        assert lines
        for line in lines:
            assert line in inside, f"{chapter}: solution line not in a dropdown: {line}"
            assert line not in outside, f"{chapter}: solution line shown outside the dropdowns: {line}"


@pytest.mark.slow
def test_leak_search_finds_every_solution_in_the_instructor_book(built_book: Path):
    """The student build's leak search is only worth something if it finds the solutions where they are:
    in the instructor book, every searched piece of every chapter's solutions must be found."""
    import jupytext

    from cfcourse.classroom import leaks, markup

    for chapter in chapter_files():
        text = (ROOT / f"{chapter}.md").read_text(encoding="utf-8")
        student, removed = markup.student_notebook(text, chapter)
        forbidden = leaks.forbidden_lines(removed, jupytext.writes(student, fmt="md:myst"))
        needles = leaks.solution_needles(forbidden)
        page = leaks.normalise_text(leaks.readable_text(built_book / f"{chapter}.html"))
        missed = [needle for needle in needles if needle not in page]
        assert not missed, f"{chapter}: {len(missed)} of {len(needles)} solution pieces not found: {missed[:5]}"
