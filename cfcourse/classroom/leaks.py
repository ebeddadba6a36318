"""The leak search: is any piece of an exercise's solution in a folder handed to students?

The pieces searched for are the *solution lines* of the chapters (every line of solution code and every
line of a ``{solution}`` block, see :func:`chapter_solution_lines`), cut into runs of plain words as a
reader would see them once rendered (:func:`solution_needles`). :func:`find_solution_leaks` searches a
folder of notebooks, HTML pages and text files for them and for the solution markers.
"""

from __future__ import annotations

import re
from pathlib import Path

from .markup import SOLUTION_BEGIN, SOLUTION_END, student_notebook

SEARCHED_SUFFIXES = {".html", ".ipynb", ".md", ".txt", ".py", ".js", ".json"}

_TO_ASCII = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                           "\u2014": "-", "\u2026": "...", "\u00a0": " ", "\u00b6": " ", "#": " "})


def normalise_text(text: str) -> str:
    """Text as it reads, whatever renders it: ASCII quotes and dashes, no markup, single spaces."""
    text = text.translate(_TO_ASCII).replace("---", "-").replace("--", "-")
    text = re.sub(r"\s+", " ", re.sub(r"[`*_$\\{}()\[\]]", " ", text))
    return re.sub(r" ([,.;:!?])", r"\1", text).strip()


def forbidden_lines(removed: list[str], kept_text: str) -> list[str]:
    """Solution lines distinctive enough to search for (not trivial, not also in the students' text)."""
    fences = ("```", ":::", ":class:", ":label:")
    kept = normalise_text(kept_text)
    out = []
    for line in removed:
        line = line.strip()
        if len(line) < 12 or line.startswith(fences) or normalise_text(line) in kept:
            continue
        out.append(line)
    return sorted(set(out))


def chapter_solution_lines(chapters: list[Path]) -> list[str]:
    """The distinctive solution lines of every chapter (what the student version removes from them)."""
    import jupytext

    removed_all: list[str] = []
    kept_all: list[str] = []
    for chapter in chapters:
        student, removed = student_notebook(Path(chapter).read_text(encoding="utf-8"), Path(chapter).name)
        removed_all += removed
        kept_all.append(jupytext.writes(student, fmt="md:myst"))
    return forbidden_lines(removed_all, "\n".join(kept_all))


def solution_needles(forbidden: list[str]) -> list[str]:
    """The plain-text pieces of the solution lines to search rendered output for.

    Markup that renders as something else (roles such as {glue:md}`key` or {cite}`key`, link
    targets) splits a line into pieces; every piece of four words or more is a needle.
    """
    needles = set()
    for line in forbidden:
        line = re.sub(r"\]\([^)]*\)", "]", line)            # [text](url) renders as text
        for piece in re.split(r"\{[\w:-]+\}`[^`]*`", line):  # roles render as other text
            piece = normalise_text(piece)
            if len(piece.split()) >= 4 or (len(piece) >= 16 and len(piece.split()) >= 2):
                needles.add(piece)
    return sorted(needles)


def readable_text(path: Path) -> str:
    """The text a reader (or a notebook user) sees in a file: HTML without tags, a notebook's cell sources."""
    import html as html_lib

    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".html":
        text = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", text, flags=re.S)
        return html_lib.unescape(re.sub(r"<[^>]+>", "", text))
    if path.suffix == ".ipynb":
        import nbformat

        notebook = nbformat.reads(text, as_version=4)
        return "\n".join(cell.source for cell in notebook.cells)
    return text


def find_solution_leaks(folder: Path, forbidden: list[str]) -> list[str]:
    """Every ``file: needle`` in ``folder`` that carries a solution marker or a piece of a solution line."""
    needles = solution_needles(forbidden)
    leaks = []
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file() or path.suffix not in SEARCHED_SUFFIXES or "_static" in path.parts:
            continue
        raw = path.read_text(encoding="utf-8", errors="replace")
        if SOLUTION_BEGIN in raw or SOLUTION_END in raw:
            leaks.append(f"{path}: solution marker")
        flat = normalise_text(readable_text(path) if path.suffix in {".html", ".ipynb"} else raw)
        leaks += [f"{path}: {needle}" for needle in needles if needle in flat]
    return leaks
