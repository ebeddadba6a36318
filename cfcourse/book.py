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


def glue_text(key: str, value, fmt: str = "") -> str:
    """Format ``value`` with ``fmt`` and glue it under ``key``; returns the text.

    In the chapter's own prose write ``{glue:md}`key```; another page of the book can paste it
    with ``{glue:text}`/notebooks/NN_name.md::key:s```. Returning the text lets a check cell
    assert on exactly what the reader sees. Without myst-nb installed this only formats.
    """
    text = format(value, fmt)
    try:
        from myst_nb import glue
    except ImportError:  # pragma: no cover - the book extras are not installed
        return text
    glue(key, PastedText(text), display=False)
    return text
