"""The student version: stubs instead of solutions, nothing of the solutions anywhere in its output."""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from cfcourse.classroom import leaks, markup

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import tasks  # noqa: E402

CHAPTERS = tasks.chapter_sources()


# ---------------------------------------------------------------------------------------------
# The transformation itself, on small made-up cells
# ---------------------------------------------------------------------------------------------


def test_stub_replaces_solution_and_keeps_hint_and_signature():
    source = (
        "def my_rmse(y_true, y_pred):\n"
        '    """RMSE."""\n'
        "    # Hint: square, mean, root.\n"
        "    ### BEGIN SOLUTION\n"
        "    diff = y_true - y_pred\n"
        "    return (diff ** 2).mean() ** 0.5\n"
        "    ### END SOLUTION\n"
    )
    stubbed, removed = markup.stub_code(source)
    assert "BEGIN SOLUTION" not in stubbed and "diff" not in stubbed
    assert "    raise NotImplementedError('Exercise not done yet. Hint: square, mean, root.')" in stubbed
    assert stubbed.startswith("def my_rmse(y_true, y_pred):")
    assert removed == ["    diff = y_true - y_pred", "    return (diff ** 2).mean() ** 0.5"]
    namespace: dict = {}
    exec(stubbed, namespace)
    with pytest.raises(NotImplementedError, match="square, mean, root"):
        namespace["my_rmse"](1, 2)


def test_unbalanced_markers_are_errors():
    with pytest.raises(ValueError, match="without a matching"):
        markup.stub_code("### BEGIN SOLUTION\nx = 1\n", "ch, cell 3")
    with pytest.raises(ValueError, match="without a '### BEGIN SOLUTION'"):
        markup.stub_code("x = 1\n### END SOLUTION\n")


def test_solution_directives_are_removed_with_their_body():
    text = (
        "Intro.\n\n```{exercise} Why?\n:label: ex-1\nExplain.\n```\n\n"
        "```{solution} ex-1\n:class: dropdown\nBecause the secret answer is 42.\n```\n\n"
        "::::{solution} ex-2\nColon fenced secret.\n::::\nAfter.\n"
    )
    kept, removed = markup.strip_solution_directives(text)
    assert "secret" not in kept and "Explain." in kept and "After." in kept
    assert "Because the secret answer is 42." in removed and "Colon fenced secret." in removed


# ---------------------------------------------------------------------------------------------
# The real chapters
# ---------------------------------------------------------------------------------------------


def is_stub_line(line: str) -> bool:
    return "raise NotImplementedError(" in line and "Exercise not done yet" in line


@functools.lru_cache(maxsize=None)
def student_version(chapter: Path):
    return markup.student_notebook(chapter.read_text(encoding="utf-8"), chapter.name)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_chapter_has_exercises_with_solutions_and_a_coding_one(chapter):
    text = chapter.read_text(encoding="utf-8")
    n_exercises = text.count("```{exercise}")
    assert 3 <= n_exercises <= 6, f"{chapter.name} has {n_exercises} exercises; the course wants 3 to 6"
    assert text.count("```{solution}") >= n_exercises, f"{chapter.name}: every exercise needs a solution"
    assert markup.SOLUTION_BEGIN in text, f"{chapter.name} has no coding exercise with nbgrader markers"
    assert "from cfcourse.checks import" in text, f"{chapter.name}: a coding exercise must call its check"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_filled_stubs_give_back_the_instructor_notebook(chapter):
    """Putting the removed solution lines back where the stubs are gives exactly the instructor's code,
    which the nbval run of the chapter executes and checks."""
    instructor = jupytext.reads(chapter.read_text(encoding="utf-8"), fmt="md:myst")
    student, removed = student_version(chapter)
    assert len(student.cells) == len([c for c in instructor.cells])
    for s_cell, i_cell in zip(student.cells, instructor.cells):
        if s_cell.cell_type != "code":
            continue
        if not any(is_stub_line(line) for line in s_cell.source.split("\n")):
            assert s_cell.source == i_cell.source
            continue
        filled = []
        solution_lines = i_cell.source.split("\n")
        position = 0
        for line in s_cell.source.split("\n"):
            if not is_stub_line(line):
                filled.append(line)
                continue
            indent = line[: len(line) - len(line.lstrip())]
            start = solution_lines.index(indent + markup.SOLUTION_BEGIN, position)
            end = solution_lines.index(indent + markup.SOLUTION_END, start)
            assert all(line in removed for line in solution_lines[start + 1:end])
            filled += solution_lines[start:end + 1]
            position = end + 1
        assert "\n".join(filled) == i_cell.source


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_notebook_has_no_solution(chapter):
    student, removed = student_version(chapter)
    raw = nbformat.writes(student)
    assert markup.SOLUTION_BEGIN not in raw and markup.SOLUTION_END not in raw
    assert "{solution}" not in raw
    sources = leaks.normalise_text("\n".join(cell.source for cell in student.cells))
    needles = leaks.solution_needles(leaks.forbidden_lines(removed, jupytext.writes(student, fmt="md:myst")))
    assert needles, f"{chapter.name}: its solutions have distinctive text to search for"
    leaked = [needle for needle in needles if needle in sources]
    assert not leaked, f"solution text left in the student notebook: {leaked[:5]}"


def test_leak_search_sees_through_rendering():
    """Curly quotes, rendered maths, roles and links do not hide a solution line from the search."""
    line = "It's the {glue:md}`rmse` -- \"shrunk\" mean of $x_i$, see [the post](https://example.org) for more."
    html = ("<p>It\u2019s the <span>0.86</span> \u2013 \u201cshrunk\u201d mean of <span class='math'>\\(x_i\\)"
            "</span>, see <a href='https://example.org'>the post</a> for more.</p>")
    folder = ROOT / "_build" / "leak-search-test"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        (folder / "page.html").write_text(html, encoding="utf-8")
        found = leaks.find_solution_leaks(folder, [line])
        assert found and all("page.html" in f for f in found)
        (folder / "page.html").write_text("<p>Nothing to see.</p>", encoding="utf-8")
        assert leaks.find_solution_leaks(folder, [line]) == []
    finally:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


def test_gated_solutions_are_refused():
    with pytest.raises(ValueError, match="gated solutions"):
        markup.strip_solution_directives("```{solution-start} ex-1\n```\nsecret\n```{solution-end}\n```\n")


@pytest.fixture(scope="session")
def student_build(tmp_path_factory) -> Path:
    """``python3 tasks.py student`` into a temporary folder, once per test session, keeping the notebooks
    as its book build executed them (``student-executed/``): the student's stubs run once, there."""
    out = tmp_path_factory.mktemp("student-build") / "student"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks, "BIN", Path(sys.executable).parent)
        tasks.student([], out=out, keep_executed=True)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_student_stubs_raise_not_implemented(chapter, student_build):
    """Run the student notebook: every stub raises NotImplementedError (directly, or through its check,
    which turns it into a readable message), and nothing else fails. The student build runs it (as a
    student's Jupyter would: every cell, errors kept): this reads the notebook it executed."""
    student, _ = student_version(chapter)
    executed = nbformat.read(student_build.parent / "student-executed" / f"{chapter.stem}.ipynb", as_version=4)
    ran = [c.source for c in executed.cells if c.cell_type == "code"]
    assert ran == [c.source for c in student.cells if c.cell_type == "code"], \
        f"{chapter.name}: the student build executed other code than the student notebook"
    outputs = iter([c.get("outputs", []) for c in executed.cells if c.cell_type == "code"])
    for cell in student.cells:
        if cell.cell_type == "code":
            cell.outputs = next(outputs)
    assert any(cell.get("outputs") for cell in student.cells if cell.cell_type == "code"), "nothing ran"
    stub_indices = [i for i, c in enumerate(student.cells)
                    if c.cell_type == "code" and any(is_stub_line(line) for line in c.source.split("\n"))]
    assert stub_indices, f"{chapter.name} has no stub"
    errors = {i: o for i, c in enumerate(student.cells) if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"}
    for i in stub_indices:
        following = [j for j in errors if i <= j <= i + 2]
        assert following, f"{chapter.name}: the stub in cell {i} raised nothing (neither it nor its check)"
        error = errors[following[0]]
        assert error["ename"] in {"NotImplementedError", "CheckFailed"}, error["ename"]
        assert "NotImplementedError" in error["ename"] + error["evalue"]
    unexpected = [i for i in errors if not any(s <= i <= s + 2 for s in stub_indices)]
    assert not unexpected, f"{chapter.name}: cells {unexpected} fail for other reasons: " + "; ".join(
        f"{errors[i]['ename']}: {errors[i]['evalue'][:200]}" for i in unexpected)


@pytest.mark.slow
def test_student_build_command_leaves_no_solution_anywhere(student_build):
    out = student_build
    names = sorted(p.name for p in (out / "notebooks").glob("*.ipynb"))
    assert names == sorted(f"{c.stem}.ipynb" for c in CHAPTERS)
    html = out / "html"
    for chapter in CHAPTERS:
        page = html / "notebooks" / f"{chapter.stem}.html"
        assert page.is_file()
        text = page.read_text(encoding="utf-8")
        assert "NotImplementedError" in text, "the student page shows the stub"
        assert "_sources/" not in text and ".ipynb\"" not in text, "no downloadable sources in the student site"
    assert not (html / "_sources").exists()
    assert not (html / "book" / "instructors.html").exists()
    forbidden = json.loads((out.parent / "student-forbidden.json").read_text(encoding="utf-8"))
    assert forbidden, "the solutions have distinctive lines to search for"
    assert leaks.find_solution_leaks(out, forbidden) == []


def test_instructor_page_describes_every_check():
    from cfcourse.checks import all_checks

    page = (ROOT / "book" / "instructors.md").read_text(encoding="utf-8")
    missing = [name for name in all_checks() if f"`{name}(" not in page]
    assert not missing, f"book/instructors.md does not describe {missing}"
    assert "python3 tasks.py student" in page
