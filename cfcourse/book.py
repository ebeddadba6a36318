"""Small helpers for the book's notebooks (pasting computed numbers into the prose)."""

from __future__ import annotations


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
