"""The nbgrader course export (``python3 tasks.py nbgrader``) and the real nbgrader flow on it.

The fast tests read made-up chapters and the real ones; the slow test runs nbgrader 0.9 itself, in a
course folder under pytest's tmp_path with HOME and the Jupyter folders there too: generate_assignment,
the leak search over release/, autograde of two fake students on two chapters, generate_feedback.
"""

from __future__ import annotations

import html
import os
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import nbformat
import pytest

from cfcourse.classroom import leaks, markup, nbgrader_course
from cfcourse.classroom.markup import MarkupError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import tasks  # noqa: E402

CHAPTERS = tasks.chapter_sources()
HEADER = ("---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: myst\nkernelspec:\n"
          "  display_name: Python 3\n  language: python\n  name: python3\n---\n")


def chapter(body: str) -> str:
    return HEADER + body


CODING = """
```{exercise} Write it
:label: ex-09-write

Write `f(x)`. Then run the check below.
```

```{code-cell} ipython3
%s
def f(x):
    # Hint: double it.
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
```

```{code-cell} ipython3
from cfcourse.checks import check_something

check_something(f)%s
```

```{solution} ex-09-write
:class: dropdown

Doubling is the secret answer of this exercise.
```
"""

WRITTEN = """
Some prose before.

```{exercise} Explain it
:label: ex-09-explain
Why?
```

```{solution} ex-09-explain
:class: dropdown
Because the hidden reason lives here.
```

Prose after.
"""


def nbgrader_meta(cell) -> dict:
    return dict(cell.metadata.get("nbgrader", {}))


# ---------------------------------------------------------------------------------------------
# The export, on made-up chapters
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("old_markup", [False, True], ids=["no-tag", "hide-input-tag"])
def test_a_coding_and_a_written_exercise_are_marked_for_nbgrader(old_markup):
    text = chapter("# Title\n" + CODING % (":tags: [hide-input]\n" if old_markup else "", ";" if old_markup else "")
                   + WRITTEN)
    notebook, counts = nbgrader_course.nbgrader_notebook(text, "09_test.md")
    assert counts == {"solution": 1, "check": 1, "answer": 1}
    roles = {nbgrader_meta(c).get("grade_id"): c for c in notebook.cells if nbgrader_meta(c)}
    assert sorted(roles) == ["ex-09-explain-answer", "ex-09-write-check", "ex-09-write-code"]
    code = roles["ex-09-write-code"]
    assert nbgrader_meta(code) == {"grade": False, "grade_id": "ex-09-write-code", "locked": False,
                                   "schema_version": 3, "solution": True, "task": False}
    assert "### BEGIN SOLUTION" in code.source and "tags" not in code.metadata
    check = roles["ex-09-write-check"]
    assert nbgrader_meta(check) == {"grade": True, "grade_id": "ex-09-write-check", "locked": True,
                                    "points": nbgrader_course.CHECK_POINTS, "schema_version": 3,
                                    "solution": False, "task": False}
    answer = roles["ex-09-explain-answer"]
    assert answer.cell_type == "markdown" and answer.source == "Because the hidden reason lives here."
    assert nbgrader_meta(answer)["points"] == nbgrader_course.ANSWER_POINTS and nbgrader_meta(answer)["solution"]
    # The answer cell comes right after the written question; the solution blocks are gone.
    index = notebook.cells.index(answer)
    assert notebook.cells[index - 1].source.endswith("**Exercise: Explain it**\n\nWhy?")
    assert notebook.cells[index + 1].source == "Prose after."
    others = "\n".join(c.source for c in notebook.cells if c is not answer)
    assert "{solution}" not in others and "secret answer" not in others and "hidden reason" not in others
    assert "{exercise}" not in others and "**Exercise: Write it**\n\nWrite `f(x)`." in others
    nbformat.validate(notebook)


def test_exporting_twice_writes_the_same_files(tmp_path):
    source = tmp_path / "09_test.md"
    source.write_text(chapter(CODING % ("", "") + WRITTEN), encoding="utf-8")
    (tmp_path / "10_no_exercise.md").write_text(chapter("# No exercise here\n"), encoding="utf-8")
    course = tmp_path / "course"
    chapters = [source, tmp_path / "10_no_exercise.md"]
    [assignment] = nbgrader_course.export_course(chapters, course, "/data/ml", log=lambda m: None)
    assert (assignment.name, assignment.checks, assignment.answers, assignment.points) == ("09_test", 1, 1, 2)
    written = {p.relative_to(course).as_posix(): p.read_bytes() for p in course.rglob("*") if p.is_file()}
    assert sorted(written) == ["nbgrader_config.py", "source/09_test/09_test.ipynb"]
    assert "os.environ.setdefault(\"CFCOURSE_DATA\", '/data/ml')" in written["nbgrader_config.py"].decode()
    (course / "gradebook.db").write_bytes(b"grades")  # the teacher's things stay as they are
    nbgrader_course.export_course(chapters, course, "/data/ml", log=lambda m: None)
    assert {p.relative_to(course).as_posix(): p.read_bytes() for p in course.rglob("*") if p.is_file()} == {
        **written, "gradebook.db": b"grades"}


def test_an_edited_config_is_kept(tmp_path):
    source = tmp_path / "09_test.md"
    source.write_text(chapter(CODING % ("", "")), encoding="utf-8")
    config = tmp_path / "course" / "nbgrader_config.py"
    config.parent.mkdir()
    config.write_text("c = get_config()\nc.CourseDirectory.course_id = 'mine'\n", encoding="utf-8")
    said = []
    nbgrader_course.export_course([source], tmp_path / "course", None, log=said.append)
    assert config.read_text(encoding="utf-8") == "c = get_config()\nc.CourseDirectory.course_id = 'mine'\n"
    assert any("kept your own" in line for line in said)


@pytest.mark.parametrize("body, message", [
    ("```{exercise} No label\nWhy?\n```\n", "has no ':label:' line"),
    ("```{code-cell} ipython3\ndef f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n```\n",
     "must come after the {exercise} block"),
    ("```{exercise} A\n:label: ex-a\nDo.\n```\n\n```{code-cell} ipython3\ncheck_a(f)\n```\n",
     "must come after the solution cell"),
    ("```{exercise} A\n:label: ex-a\nDo.\n```\n\n```{code-cell} ipython3\n### BEGIN SOLUTION\nx = 1\n"
     "### END SOLUTION\n```\n\n```{solution} ex-a\nx is 1.\n```\n", "has no check cell"),
    ("```{exercise} A\n:label: ex-a\nDo.\n```\n\n```{code-cell} ipython3\n### BEGIN SOLUTION\nx = 1\n```\n",
     "without a matching"),
    ("```{exercise} A\n:label: ex-a\nDo.\n```\n\n```{solution-start} ex-a\n```\nx\n```{solution-end}\n```\n",
     "gated solutions"),
    ("```{exercise} A\n:label: ex-a\nDo.\n```\n\n```{solution} ex-b\nNo.\n```\n", "answers no exercise"),
    ("```{exercise} A\n:label: ex-a\nDo.\n```\n\n```{exercise} B\n:label: ex-a\nDo.\n```\n", "used twice"),
])
def test_markup_errors_are_explained_and_nothing_is_written(tmp_path, body, message):
    source = tmp_path / "09_bad.md"
    source.write_text(chapter(body), encoding="utf-8")
    with pytest.raises(MarkupError, match=message) as info:
        nbgrader_course.export_course([source], tmp_path / "course", None, log=lambda m: None)
    assert "09_bad.md" in str(info.value)
    assert not (tmp_path / "course").exists()


def test_the_command_refuses_unknown_arguments():
    with pytest.raises(SystemExit, match="the only option is --course DIR"):
        tasks.nbgrader(["--cours", "x"])


def test_clean_keeps_a_course_with_grades(tmp_path, monkeypatch):
    monkeypatch.setattr(tasks, "ROOT", tmp_path)
    (tmp_path / "notebooks").mkdir()
    for path in ("_build/html/index.html", "_build/nbgrader/gradebook.db", "_build/nbgrader/source/a/a.ipynb"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    tasks.clean([])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "_build/nbgrader/gradebook.db", "_build/nbgrader/source/a/a.ipynb"]
    (tmp_path / "_build/nbgrader/gradebook.db").unlink()
    tasks.clean([])
    assert not (tmp_path / "_build").exists()


def test_the_instructor_page_gives_the_two_commands():
    page = (ROOT / "book" / "instructors.md").read_text(encoding="utf-8")
    assert "python3 tasks.py nbgrader" in page and "nbgrader generate_assignment 01_data" in page
    assert "CFCOURSE_DATA" in page and "nbgrader autograde" in page and "nbgrader generate_feedback" in page


# ---------------------------------------------------------------------------------------------
# The real chapters
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_exercise_of_a_chapter_is_graded(path):
    text = path.read_text(encoding="utf-8")
    notebook, counts = nbgrader_course.nbgrader_notebook(text, path.name)
    _, exercises = markup.chapter_pieces(jupytext.reads(text, fmt="md:myst"), path.name)
    ids = [nbgrader_meta(c)["grade_id"] for c in notebook.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids)), "grade ids are unique"
    for exercise in exercises.values():
        mine = [i for i in ids if i.startswith(exercise.label + "-")]
        if exercise.coding:
            assert f"{exercise.label}-code" in mine and f"{exercise.label}-check" in mine
        else:
            assert mine == [f"{exercise.label}-answer"]
    assert counts["check"] >= 1 and counts["answer"] == sum(not e.coding for e in exercises.values())
    # Solution text is left only in the cells nbgrader clears: solution regions and answer cells.
    kept = "\n".join(c.source for c in notebook.cells if not nbgrader_meta(c).get("solution"))
    assert "{solution}" not in kept and markup.SOLUTION_BEGIN not in kept
    checks = [c for c in notebook.cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"]
    assert all(not c.source.rstrip().endswith(";") for c in checks), "checks print their line and return None"


# ---------------------------------------------------------------------------------------------
# The real flow, with nbgrader itself
# ---------------------------------------------------------------------------------------------

ASSIGNMENTS = ["01_data", "02_svd"]  # the two chapters whose notebooks run fastest
MISTAKES = {  # one typical mistake per chapter: (grade id of the solution cell, code, words of its check's message)
    "01_data": ("ex-01-dense-index-code",
                "def my_dense_index(ids):\n    uniques, index = np.unique(ids, return_inverse=True)\n"
                "    return index + 1, uniques\n", "must start at 0"),
    "02_svd": ("ex-02-cosine-code",
               "def my_cosine(a, b):\n    return np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1)\n",
               "normalise only one of the two vectors"),
}


def nbgrader_env(home: Path) -> dict[str, str]:
    """The environment nbgrader runs in: everything it or its kernels write stays under ``home``.

    The data folder is taken out of the environment: the exported nbgrader_config.py must pass it on.
    """
    env = tasks._env()
    for name in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(home / name.lower())
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "JUPYTER_PATH",
                 "JUPYTER_CONFIG_PATH", "CFCOURSE_DATA"):
        env.pop(name, None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # nbgrader runs `alembic` by name
    return env


def run_nbgrader(course: Path, env: dict, *args: str) -> float:
    start = time.perf_counter()
    result = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), *args], cwd=course, env=env,
                            capture_output=True, text=True, timeout=900)
    took = time.perf_counter() - start
    assert result.returncode == 0, (f"nbgrader {' '.join(args)} failed:\n{result.stdout[-3000:]}\n"
                                    f"{result.stderr[-5000:]}")
    assert "[ERROR]" not in result.stderr and "| ERROR]" not in result.stderr, result.stderr[-5000:]
    print(f"nbgrader {' '.join(args)}: {took:.1f} s")
    return took


def submit(course: Path, assignment: str, student: str, mistake: tuple[str, str, str] | None) -> None:
    """A student's submission: the released notebook with every solution cell and answer cell filled in.

    Without a mistake it is the instructor's code (in chapter 1 with a warning added: stderr output must not
    cost points); with one, that solution cell holds the mistaken code instead."""
    release = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    source = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    solutions = {nbgrader_meta(c)["grade_id"]: markup.without_markers(c.source)
                 for c in source.cells if nbgrader_meta(c).get("solution") and c.cell_type == "code"}
    for cell in release.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("solution"):
            continue
        if cell.cell_type == "markdown":
            cell.source = f"{student}'s answer to {meta['grade_id']}."
        elif mistake and meta["grade_id"] == mistake[0]:
            cell.source = mistake[1]
        else:
            cell.source = solutions[meta["grade_id"]]
            if assignment == "01_data" and not mistake:  # right, but noisy: a warning on stderr in the check cell
                cell.source = cell.source.replace("    # Hint:", "    import warnings\n"
                                                  "    warnings.warn('a harmless warning')\n    # Hint:", 1)
                assert "harmless" in cell.source
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    nbformat.write(release, folder / f"{assignment}.ipynb")


@pytest.mark.slow
def test_real_nbgrader_flow(tmp_path):
    from nbgrader.api import Gradebook

    course, home = tmp_path / "course", tmp_path / "home"
    data = os.environ.get("CFCOURSE_DATA")
    nbgrader_course.export_course(CHAPTERS, course, data, log=print)
    env = nbgrader_env(home)
    times = {}
    for assignment in ASSIGNMENTS:
        times[f"generate_assignment {assignment}"] = run_nbgrader(course, env, "generate_assignment", assignment)
    # The course's leak search finds nothing of the solutions in what students get (and finds them in source/).
    forbidden = leaks.chapter_solution_lines(CHAPTERS)
    assert leaks.find_solution_leaks(course / "release", forbidden) == []
    assert leaks.find_solution_leaks(course / "source", forbidden), "the search finds the solutions in source/"

    for assignment in ASSIGNMENTS:
        submit(course, assignment, "ada", None)
        submit(course, assignment, "bob", MISTAKES[assignment])
        times[f"autograde {assignment}"] = run_nbgrader(course, env, "autograde", assignment)
        times[f"generate_feedback {assignment}"] = run_nbgrader(course, env, "generate_feedback", assignment)

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for assignment in ASSIGNMENTS:
            mistaken_check = MISTAKES[assignment][0].removesuffix("-code") + "-check"
            ada = {g.name: (g.score, g.max_score) for g in gradebook.find_submission_notebook(
                assignment, assignment, "ada").grades}
            bob = {g.name: (g.score, g.max_score) for g in gradebook.find_submission_notebook(
                assignment, assignment, "bob").grades}
            checks = [name for name in ada if name.endswith("-check")]
            assert mistaken_check in checks and len(checks) >= 1
            for name in checks:
                assert ada[name] == (ada[name][1], ada[name][1]) and ada[name][1] > 0, f"ada, {name}: {ada[name]}"
                expected = 0 if name == mistaken_check else bob[name][1]
                assert bob[name] == (expected, bob[name][1]), f"bob, {name}: {bob[name]}"
            print(assignment, "ada", gradebook.find_submission(assignment, "ada").code_score, "bob",
                  gradebook.find_submission(assignment, "bob").code_score, "of",
                  gradebook.find_submission(assignment, "ada").max_code_score, "autograded points")

    for assignment in ASSIGNMENTS:
        # Every passing check printed its ✔ line once, and no check cell wrote to stderr or returned a value.
        # (chapter 1's warning was dropped before scoring, by the IgnorePattern of nbgrader_config.py).
        graded = nbformat.read(course / "autograded" / "ada" / assignment / f"{assignment}.ipynb", as_version=4)
        for cell in graded.cells:
            if nbgrader_meta(cell).get("grade") and cell.cell_type == "code":
                assert [(o.output_type, o.get("name")) for o in cell.outputs] == [("stream", "stdout")]
                assert cell.outputs[0].text.count("✔") == 1
        feedback = html.unescape((course / "feedback" / "bob" / assignment / f"{assignment}.html").read_text(
            encoding="utf-8"))
        assert "CheckFailed" in feedback and MISTAKES[assignment][2] in feedback
        assert "CheckFailed" not in html.unescape(
            (course / "feedback" / "ada" / assignment / f"{assignment}.html").read_text(encoding="utf-8"))
    print("; ".join(f"{step}: {took:.0f} s" for step, took in times.items()))
