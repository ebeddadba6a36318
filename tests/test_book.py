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
    return subprocess.run(command, cwd=source, env=tasks._env(), capture_output=True, text=True, timeout=1800)


@functools.lru_cache(maxsize=1)
def build_once() -> Path:
    """Build the whole book from scratch once per test session (shared with the browser tests)."""
    out = Path(tempfile.mkdtemp(prefix="cfcourse-book-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    result = build(ROOT, out)
    assert result.returncode == 0, f"book build failed:\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    assert "build succeeded" in result.stdout
    return out / "_build" / "html"


@pytest.fixture(scope="module")
def built_book() -> Path:
    return build_once()


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


@pytest.mark.slow
def test_leak_search_finds_every_solution_in_the_instructor_book(built_book: Path):
    """The student build's leak search is only worth something if it finds the solutions where they are:
    in the instructor book, every searched piece of every chapter's solutions must be found."""
    import jupytext

    sys.path.insert(0, str(ROOT))
    import tasks

    for chapter in chapter_files():
        text = (ROOT / f"{chapter}.md").read_text(encoding="utf-8")
        student, removed = tasks.student_notebook(text, chapter)
        forbidden = tasks.forbidden_lines(removed, jupytext.writes(student, fmt="md:myst"))
        needles = tasks.solution_needles(forbidden)
        page = tasks._normalise(tasks._readable_text(built_book / f"{chapter}.html"))
        missed = [needle for needle in needles if needle not in page]
        assert not missed, f"{chapter}: {len(missed)} of {len(needles)} solution pieces not found: {missed[:5]}"
