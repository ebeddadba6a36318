"""An nbgrader course folder made from the chapters: ``python3 tasks.py nbgrader [--course DIR]``.

:func:`export_course` writes ``DIR/nbgrader_config.py`` and, for every chapter with exercises, one
assignment named after the chapter's file (``01_data``, ``02_svd``, …) holding one source notebook,
``DIR/source/<assignment>/<assignment>.ipynb``. The notebook is the chapter with its exercises marked the
way nbgrader reads them (``metadata.nbgrader``, schema 3):

- each solution cell (the code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``) is a solution
  cell, ``grade_id`` ``<label>-code``; nbgrader replaces that code by a stub in the students' copy;
- each check cell is a locked, autograded test cell worth :data:`CHECK_POINTS`, ``grade_id``
  ``<label>-check``: a failing check raises ``CheckFailed`` (an ``AssertionError``), which costs its points;
- every ``{solution}`` block is removed; each written exercise is followed by a manually graded Markdown
  answer cell worth :data:`ANSWER_POINTS`, ``grade_id`` ``<label>-answer``, which holds the model answer in
  the source notebook and "YOUR ANSWER HERE" in the students' copy.

``<label>`` is the exercise's ``:label:``; a second cell of the same role in one exercise gets ``-2`` and
so on. Then ``nbgrader generate_assignment <assignment>`` (run in ``DIR``) writes the students' copy.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from .markup import SOLUTION_BEGIN, Exercise, MarkupError, chapter_pieces, has_exercises, trim_blank_lines

CHECK_POINTS = 1
ANSWER_POINTS = 1
COURSE_ID = "cfcourse"
CONFIG_HEADER = "# Written by `python3 tasks.py nbgrader` (cfcourse)."

_CONFIG = r'''{header} Every export rewrites this file while its first line is
# unchanged: delete that line to keep your own edits. Run nbgrader in this folder, with the Python that has
# cfcourse installed (e.g. the course's .venv/bin/nbgrader), so that its kernel can import cfcourse.
import os

c = get_config()  # noqa: F821 - nbgrader defines get_config when it reads this file

c.CourseDirectory.course_id = "{course_id}"

# The chapters load MovieLens through cfcourse.data, which uses the folder in CFCOURSE_DATA (else its
# cache, else it downloads the archive). nbgrader starts every kernel with its own environment, so a
# value set here, or exported in the shell that runs nbgrader, reaches the notebooks.
{data_line}

# nbgrader gives no points to a test cell that writes anything to stderr. A check that fails raises
# an error, so stderr is only noise here (a warning, TensorFlow's or Spark's log lines): autograde drops
# it before scoring, and TensorFlow's C++ log lines are kept out in the first place.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Seconds a single cell may run when nbgrader executes a notebook (its default, 30, is too short for a
# cell that trains a model on a loaded machine).
c.Execute.timeout = 600
'''


@dataclass
class Assignment:
    """One exported assignment: its name, notebook path and what it grades."""

    name: str
    notebook: Path
    checks: int
    answers: int
    solution_cells: int

    @property
    def points(self) -> int:
        return self.checks * CHECK_POINTS + self.answers * ANSWER_POINTS


def assignment_name(chapter: Path) -> str:
    """The assignment of a chapter: its file name without suffix (``notebooks/01_data.md`` → ``01_data``)."""
    return Path(chapter).stem


def _nbgrader(grade_id: str, *, solution: bool, grade: bool, locked: bool, points: int | None = None) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    return meta


def nbgrader_notebook(text: str, where: str = "notebook"):
    """The nbgrader source notebook of a chapter's MyST text: (notebook, counts by role).

    Raises :class:`~cfcourse.classroom.markup.MarkupError` when the exercise markup cannot be read.
    """
    import jupytext
    import nbformat

    source = jupytext.reads(text, fmt="md:myst")
    pieces, exercises = chapter_pieces(source, where)
    cells: list = []
    buffer: list[str] = []
    used: set[str] = set()
    counts = {"solution": 0, "check": 0, "answer": 0}

    def grade_id(label: str, role: str) -> str:
        base = f"{label}-{role}"
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name)
        return name

    def flush() -> None:
        text = "\n\n".join(part for part in (trim_blank_lines(b) for b in buffer) if part)
        buffer.clear()
        if text:
            cells.append(nbformat.v4.new_markdown_cell(text))

    for piece in pieces:
        if piece.kind == "solution":
            continue
        if piece.kind == "text":
            buffer.append(piece.text)
            continue
        if piece.kind == "exercise":  # Jupyter does not know MyST directives: plain Markdown reads better
            exercise: Exercise = exercises[piece.label]
            buffer.append(f"**Exercise: {exercise.title}**\n\n{piece.block.body}" if exercise.title else
                          f"**Exercise**\n\n{piece.block.body}")
            if not exercise.coding:
                flush()
                model = "\n\n".join(exercise.solutions) or "YOUR ANSWER HERE"
                answer = nbformat.v4.new_markdown_cell(model)
                answer.metadata["nbgrader"] = _nbgrader(grade_id(exercise.label, "answer"), solution=True,
                                                        grade=True, locked=False, points=ANSWER_POINTS)
                cells.append(answer)
                counts["answer"] += 1
            continue
        flush()
        cell = copy.deepcopy(piece.cell)
        if piece.role:
            tags = [t for t in cell.metadata.get("tags", []) if t not in ("hide-input", "remove-input")]
            if tags:
                cell.metadata["tags"] = tags
            else:
                cell.metadata.pop("tags", None)
        if piece.role == "solution":
            cell.metadata["nbgrader"] = _nbgrader(grade_id(piece.label, "code"), solution=True, grade=False,
                                                  locked=False)
        elif piece.role == "check":
            cell.metadata["nbgrader"] = _nbgrader(grade_id(piece.label, "check"), solution=False, grade=True,
                                                  locked=True, points=CHECK_POINTS)
        if piece.role:
            counts[piece.role] += 1
        cells.append(cell)
    flush()
    notebook = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(source.metadata))
    notebook.metadata.pop("jupytext", None)
    for n, cell in enumerate(notebook.cells):  # stable ids: exporting twice writes the same file
        cell["id"] = f"cell-{n}"
    nbformat.validate(notebook)
    return notebook, counts


def config_text(data_dir: str | None) -> str:
    """The ``nbgrader_config.py`` of the exported course (``data_dir``: the CFCOURSE_DATA to pass on)."""
    if data_dir:  # absolute: nbgrader runs in the course folder
        data_line = f'os.environ.setdefault("CFCOURSE_DATA", {str(Path(data_dir).expanduser().resolve())!r})'
    else:
        data_line = '# os.environ.setdefault("CFCOURSE_DATA", "/path/to/ml-latest-small")'
    return _CONFIG.format(header=CONFIG_HEADER, course_id=COURSE_ID, data_line=data_line)


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so a failure leaves the old file whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def export_course(chapters: list[Path], course: Path, data_dir: str | None = None,
                  log=print) -> list[Assignment]:
    """Write the nbgrader course folder ``course`` from the MyST ``chapters``; returns its assignments.

    Every chapter is read before anything is written, so a markup error (a :class:`MarkupError` naming
    the chapter and cell) leaves the folder as it was. Only ``nbgrader_config.py`` (unless it was edited,
    see its first line) and ``source/<assignment>/<assignment>.ipynb`` are written: the gradebook,
    ``release/``, ``submitted/`` and everything else in ``course`` is left alone.
    """
    import nbformat

    course = Path(course)
    planned = []
    for chapter in chapters:
        chapter = Path(chapter)
        text = chapter.read_text(encoding="utf-8")
        if not has_exercises(text) and SOLUTION_BEGIN not in text:  # nothing to grade (stray markers are errors)
            continue
        notebook, counts = nbgrader_notebook(text, chapter.name)
        name = assignment_name(chapter)
        target = course / "source" / name / f"{name}.ipynb"
        planned.append((target, notebook, Assignment(name, target, counts["check"], counts["answer"],
                                                     counts["solution"])))
    if not planned:
        raise MarkupError("no chapter has an {exercise} block: there is nothing to export")
    config = course / "nbgrader_config.py"
    if config.exists() and not config.read_text(encoding="utf-8").startswith(CONFIG_HEADER):
        log(f"kept your own {config} (its first line is not the export's)")
    else:
        _write(config, config_text(data_dir))
    for target, notebook, assignment in planned:
        _write(target, nbformat.writes(notebook))
        log(f"{assignment.name}: {assignment.checks} autograded check(s), {assignment.answers} written answer(s), "
            f"{assignment.points} points")
    return [assignment for _, _, assignment in planned]
