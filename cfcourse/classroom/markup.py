"""The exercise markup of the chapters, read in one place for every export (student version, nbgrader, book).

A chapter (a MyST Markdown notebook) writes a **coding exercise** as four pieces, in this order::

    ```{exercise} Re-index ids yourself
    :label: ex-01-dense-index

    The statement.
    ```

    ```{code-cell} ipython3
    def my_dense_index(ids):
        # Hint: one line that helps (it stays in the students' copy).
        ### BEGIN SOLUTION
        the instructor's code
        ### END SOLUTION
    ```

    ```{code-cell} ipython3
    from cfcourse.checks import check_dense_index

    check_dense_index(my_dense_index)
    ```

    ```{solution} ex-01-dense-index
    :class: dropdown

    The explanation.
    ```

- the *solution cell* is recognised by its ``### BEGIN SOLUTION`` / ``### END SOLUTION`` lines (no tag is
  needed; an old ``hide-input`` tag is tolerated and dropped by the exports);
- the *check cell* is recognised by a line that calls a ``check_*`` function; it comes after the solution
  cell and before the ``{solution}`` block;
- the exercise's ``:label:`` names everything the exports derive from it (nbgrader's ``grade_id``\\ s).

A **written exercise** is the same without the two code cells. Everything else in a chapter is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
HINT_PREFIX = "# Hint:"

_CHECK_CALL = re.compile(r"^[ \t]*(?:[\w.]+[ \t]*=[ \t]*)?(?:[\w.]+\.)?check_\w+\(", re.M)
_OPENING = re.compile(r"^[ \t]*(`{3,}|:{3,})\{(exercise|solution)(-start|-end)?\}[ \t]*(.*)$")
_OPTION = re.compile(r"^[ \t]*:[\w-]+:")


class MarkupError(ValueError):
    """An exercise is written in a way the exports cannot read. The message says where, and how to fix it."""


# --------------------------------------------------------------------------------------
# Code cells
# --------------------------------------------------------------------------------------


def has_solution_markers(source: str) -> bool:
    """True for a solution cell: a code cell with a ``### BEGIN SOLUTION`` or ``### END SOLUTION`` line."""
    return any(line.strip() in (SOLUTION_BEGIN, SOLUTION_END) for line in source.split("\n"))


def is_check_code(source: str) -> bool:
    """True for a check cell: a line calls a ``check_*`` function (``check_rmse(my_rmse)``, ``checks.check_x(…)``)."""
    return _CHECK_CALL.search(source) is not None


def without_markers(source: str) -> str:
    """A solution cell's code as a reader should see it: the marker lines dropped, nothing else changed."""
    return "\n".join(line for line in source.split("\n") if line.strip() not in (SOLUTION_BEGIN, SOLUTION_END))


def stub_code(source: str, where: str = "cell") -> tuple[str, list[str]]:
    """Replace every ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region of a code cell by a stub.

    The stub is ``raise NotImplementedError("<hint>")`` at the marker's indentation; the hint is the
    ``# Hint:`` comment on the line just before the region (it stays in the cell). Returns the new
    source and the solution lines that were removed. Unbalanced markers raise :class:`MarkupError`.
    """
    lines = source.split("\n")
    out: list[str] = []
    removed: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == SOLUTION_END:
            raise MarkupError(f"{where}: '{SOLUTION_END}' without a '{SOLUTION_BEGIN}' before it")
        if line.strip() != SOLUTION_BEGIN:
            out.append(line)
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == SOLUTION_END), None)
        if end is None:
            raise MarkupError(f"{where}: '{SOLUTION_BEGIN}' without a matching '{SOLUTION_END}'")
        indent = line[: len(line) - len(line.lstrip())]
        previous = out[-1].strip() if out else ""
        hint = previous[len(HINT_PREFIX):].strip() if previous.startswith(HINT_PREFIX) else ""
        message = f"Exercise not done yet. Hint: {hint}" if hint else "Exercise not done yet: write your solution here."
        out.append(f"{indent}raise NotImplementedError({message!r})")
        removed.extend(lines[i + 1:end])
        i = end + 1
    return "\n".join(out), removed


# --------------------------------------------------------------------------------------
# Markdown cells: {exercise} and {solution} blocks
# --------------------------------------------------------------------------------------


@dataclass
class Block:
    """A run of lines of a Markdown cell: plain ``text``, or a whole ``exercise`` or ``solution`` directive."""

    kind: str
    text: str
    label: str = ""  # an exercise's :label:, or the exercise a solution answers
    title: str = ""  # an exercise's title

    @property
    def body(self) -> str:
        """A directive's content: without its fences and its ``:option:`` lines, blank edges trimmed."""
        lines = self.text.split("\n")[1:-1]
        while lines and _OPTION.match(lines[0]):
            lines.pop(0)
        return trim_blank_lines("\n".join(lines))


def trim_blank_lines(text: str) -> str:
    """``text`` without its leading and trailing blank lines (indentation of the rest kept)."""
    lines = text.split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def split_blocks(markdown: str, where: str = "cell") -> list[Block]:
    """Cut a Markdown cell into text and ``{exercise}`` / ``{solution}`` blocks (backtick or colon fences).

    Joining the blocks' texts with newlines gives the cell back. Gated directives
    (``{solution-start}`` …) and unclosed ones raise :class:`MarkupError`.
    """
    lines = markdown.split("\n")
    blocks: list[Block] = []
    text: list[str] = []
    i = 0
    while i < len(lines):
        match = _OPENING.match(lines[i])
        if not match:
            text.append(lines[i])
            i += 1
            continue
        fence, kind, gated, argument = match.groups()
        if gated:
            raise MarkupError(f"{where}: gated {kind}s ({lines[i].strip()}) span several cells and cannot be "
                              f"exported: use a plain {{{kind}}} block (and a code cell with solution markers)")
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == fence), None)
        if end is None:
            raise MarkupError(f"{where}: unclosed {kind} directive: {lines[i].strip()} (no closing {fence})")
        if text:
            blocks.append(Block("text", "\n".join(text)))
            text = []
        body = lines[i + 1:end]
        if kind == "exercise":
            label = next((line.strip()[len(":label:"):].strip() for line in body
                          if line.strip().startswith(":label:")), "")
            blocks.append(Block(kind, "\n".join(lines[i:end + 1]), label, argument.strip()))
        else:
            blocks.append(Block(kind, "\n".join(lines[i:end + 1]), argument.strip()))
        i = end + 1
    if text:
        blocks.append(Block("text", "\n".join(text)))
    return blocks


def strip_solution_directives(markdown: str, where: str = "cell") -> tuple[str, list[str]]:
    """Remove every ``{solution}`` block from a Markdown cell: (the rest, the removed lines)."""
    blocks = split_blocks(markdown, where)
    kept = "\n".join(block.text for block in blocks if block.kind != "solution")
    removed = [line for block in blocks if block.kind == "solution" for line in block.text.split("\n")]
    return kept, removed


# --------------------------------------------------------------------------------------
# A whole chapter
# --------------------------------------------------------------------------------------


@dataclass
class Piece:
    """One piece of a chapter in reading order: Markdown text, an exercise or solution block, or a code cell."""

    kind: str  # "text", "exercise", "solution" or "code"
    text: str = ""  # text, exercise and solution pieces
    cell: Any = None  # code pieces: the notebook cell (a raw cell is a code piece too)
    role: str = ""  # code pieces: "solution", "check" or ""
    label: str = ""  # the exercise the piece belongs to ("" outside exercises)
    cell_index: int = 0  # the cell of the notebook the piece comes from
    block: Block | None = None


@dataclass
class Exercise:
    """An exercise of a chapter, as its markup defines it."""

    label: str
    title: str
    solution_cells: list[int] = field(default_factory=list)  # cell indices
    check_cells: list[int] = field(default_factory=list)
    solutions: list[str] = field(default_factory=list)  # bodies of its {solution} blocks

    @property
    def coding(self) -> bool:
        """A coding exercise has a solution cell (and then a check cell); a written one has neither."""
        return bool(self.solution_cells)


def chapter_pieces(notebook, where: str = "notebook") -> tuple[list[Piece], dict[str, Exercise]]:
    """Read a chapter's exercises: its pieces in reading order and its exercises by label.

    Raises :class:`MarkupError`, saying which cell and what to write instead, for an exercise without a
    ``:label:``, a label used twice, a solution cell or a check cell outside its exercise, a check cell
    before the solution cell, a coding exercise without a check cell, or unbalanced solution markers.
    """
    pieces: list[Piece] = []
    exercises: dict[str, Exercise] = {}
    current = ""  # the exercise whose statement was read and whose {solution} block was not
    for n, cell in enumerate(notebook.cells):
        here = f"{where}, cell {n}"
        if cell.cell_type == "markdown":
            for block in split_blocks(cell.source, here):
                if block.kind == "exercise":
                    if not block.label:
                        raise MarkupError(f"{here}: the exercise '{block.title}' has no ':label:' line; add one such "
                                          "as ':label: ex-NN-short-name' under its title (the exports name its "
                                          "cells after it)")
                    if block.label in exercises:
                        raise MarkupError(f"{here}: the exercise label '{block.label}' is used twice")
                    exercises[block.label] = Exercise(block.label, block.title)
                    current = block.label
                elif block.kind == "solution":
                    if block.label not in exercises:
                        raise MarkupError(f"{here}: {{solution}} {block.label} answers no exercise before it; its "
                                          "argument must be the :label: of an {exercise} above it")
                    exercises[block.label].solutions.append(block.body)
                    if block.label == current:
                        current = ""
                pieces.append(Piece(block.kind, text=block.text, label=block.label if block.kind != "text" else "",
                                    cell_index=n, block=block))
            continue
        if cell.cell_type != "code":  # a raw cell: passed on as it is
            pieces.append(Piece("code", cell=cell, cell_index=n))
            continue
        role = ""
        if has_solution_markers(cell.source):
            stub_code(cell.source, here)  # unbalanced markers are an error here already
            if not current:
                raise MarkupError(f"{here}: a code cell with '{SOLUTION_BEGIN}' must come after the {{exercise}} "
                                  "block it answers and before that exercise's {solution} block")
            if is_check_code(cell.source):
                raise MarkupError(f"{here}: the solution cell of {current} also calls a check: put the check call "
                                  "in a code cell of its own, right after the solution cell")
            role = "solution"
            exercises[current].solution_cells.append(n)
        elif is_check_code(cell.source):
            if not current or not exercises[current].solution_cells:
                raise MarkupError(f"{here}: a check cell (a call of a check_* function) must come after the solution "
                                  "cell (the one with solution markers) of its exercise, before its {solution} block")
            role = "check"
            exercises[current].check_cells.append(n)
        pieces.append(Piece("code", cell=cell, role=role, label=current if role else "", cell_index=n))
    for exercise in exercises.values():
        if exercise.coding and not exercise.check_cells:
            raise MarkupError(f"{where}: the coding exercise {exercise.label} has no check cell: add a code cell "
                              "calling its cfcourse.checks function right after the solution cell")
    return pieces, exercises


def has_exercises(text: str) -> bool:
    """True when a chapter's MyST text holds at least one ``{exercise}`` block."""
    return any(_OPENING.match(line) and "{exercise}" in line for line in text.split("\n"))


def student_notebook(text: str, where: str = "notebook"):
    """The student version of a MyST notebook's text: (notebook object, removed solution lines).

    Solution regions become stubs (:func:`stub_code`), their cells lose ``hide-input``/``remove-input``
    and gain ``raises-exception``; every ``{solution}`` block is removed. Cells stay where they are.
    """
    import jupytext

    notebook = jupytext.reads(text, fmt="md:myst")
    removed: list[str] = []
    for n, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            cell.source, gone = stub_code(cell.source, f"{where}, cell {n}")
            if gone:
                tags = cell.metadata.setdefault("tags", [])
                for tag in ("hide-input", "remove-input"):
                    if tag in tags:
                        tags.remove(tag)
                if "raises-exception" not in tags:
                    tags.append("raises-exception")
        elif cell.cell_type == "markdown":
            cell.source, gone = strip_solution_directives(cell.source, f"{where}, cell {n}")
        else:
            gone = []
        removed.extend(gone)
    return notebook, removed
