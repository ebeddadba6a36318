"""Small helpers for the book's notebooks (pasting computed numbers into the prose, and reading
back what another page pasted)."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Sequence

#: The environment variable naming the folder where the book build keeps each page's glued values
#: (myst-nb's ``jupyter_execute`` folder; book/_ext/cfcourse_sphinx.py sets it for the kernels).
GLUE_DIR = "CFCOURSE_GLUE_DIR"
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


class PastedText:
    """A formatted value that displays as itself: as plain text without quotes, and as Markdown."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return self.text


def number(value, fmt: str = "") -> str:
    """The book's one number formatter, for glued numbers and tables alike: ``format(value, fmt)``,
    except that a missing value (``None`` or NaN) is an empty string and a value that rounds to zero
    never shows a minus sign (``-0.000`` reads as ``0.000``)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    try:
        if value != value:  # NaN of another float type (numpy)
            return ""
    except (TypeError, ValueError):  # pragma: no cover - arrays and other objects format as themselves
        pass
    text = format(value, fmt)
    if text.startswith("-") and not text.strip("-0.,%e+ ").strip():
        text = ("+" if "+" in fmt else "") + text[1:]
    return text


def glue_text(key: str, value, fmt: str = "") -> str:
    """Format ``value`` with ``fmt`` and glue it under ``key``; returns the text.

    In the chapter's own prose write ``{glue:md}`key```; another page of the book can paste it
    with ``{glue:text}`/notebooks/NN_name.md::key:s```. Returning the text lets a check cell
    assert on exactly what the reader sees. Without myst-nb installed this only formats.
    """
    text = number(value, fmt)
    if not _myst_nb_installed():  # pragma: no cover - the book extras are not installed
        return text
    _glue(key, PastedText(text))
    return text


def glue_string(key: str, text: str) -> str:
    """Glue ``text`` as a string for another page to paste as it is; returns the text.

    The other page writes ``{glue:text}`/notebooks/NN_name.md::key:s```. myst-nb reads a glued
    value back with Python's ``literal_eval``, so a number glued by :func:`glue_text` ("0.870")
    would come back as 0.87; a string keeps its final 0. This is ``myst_nb.glue(key, text,
    display=False)`` without importing myst-nb. Without myst-nb installed this only returns.
    """
    if not isinstance(text, str):
        raise TypeError(f"glue_string glues text; got {type(text).__name__}: format it first, e.g. f\"{{x:.3f}}\"")
    if _myst_nb_installed():
        _glue(key, text)
    return text


#: The prefix of the MIME types under which myst-nb stores a glued value that is not displayed.
GLUE_PREFIX = "application/papermill.record/"


def _myst_nb_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("myst_nb") is not None


def _glue(key: str, value) -> None:
    """What ``myst_nb.glue(key, value, display=False)`` writes into the cell's outputs.

    myst-nb's own function lives in a module that imports nbformat and its JSON-schema
    validator, more than a second of CPU at every chapter's first glue; this is the same
    display call without that import (a test compares the two outputs).
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display

    mimebundle, metadata = format_display_data(value)
    metadata["scrapbook"] = dict(name=key, mime_prefix=GLUE_PREFIX)
    display({GLUE_PREFIX + k: v for k, v in mimebundle.items()}, raw=True, metadata=metadata)


def glue_folder() -> Path:
    """The folder of the book build's glued values: :data:`GLUE_DIR` when set (the book build sets it),
    otherwise ``_build/jupyter_execute`` in the current folder or one above it (a book built with
    ``python3 tasks.py book``). Raises ``FileNotFoundError``, saying what to do, when there is none."""
    if os.environ.get(GLUE_DIR):
        return Path(os.environ[GLUE_DIR])
    for folder in (Path.cwd(), *Path.cwd().parents[:2]):
        candidate = folder / "_build" / "jupyter_execute"
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no book build found (no _build/jupyter_execute here or above, and {GLUE_DIR} is unset): "
                            "build the book first with python3 tasks.py book, whose chapters glue these values")


def glued_numbers(page: str, keys: Sequence[str], folder: Path | str | None = None) -> list[float]:
    """The numbers another page of the book glued under ``keys``, in order, as the reader sees them.

    ``page`` is the page's path without suffix (``"notebooks/07_recommending"``). A glued text that
    holds two numbers (an interval, ``"0.061–0.087"`` or ``"0.061 to 0.087"``) gives both; a text
    without a number (a chapter that skipped its run, e.g. without Java) gives NaN. Raises
    ``FileNotFoundError`` when the page was not built and ``KeyError`` for a key the page never glued.
    """
    path = Path(folder) if folder is not None else glue_folder()
    file = path / f"{page}.glue.json"
    if not file.is_file():
        raise FileNotFoundError(f"{file} not found: was {page} built? (python3 tasks.py book builds every page)")
    glued = json.loads(file.read_text(encoding="utf-8"))
    values: list[float] = []
    for key in keys:
        if key not in glued:
            raise KeyError(f"{page} glues no {key!r}; it glues {sorted(glued)[:12]} ...")
        text = glued[key].get("data", {}).get("text/plain", "")
        found = [float(x) for x in _NUMBER.findall(text.replace("−", "-"))]
        values += found or [math.nan]
    return values
