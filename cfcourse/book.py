"""Small helpers for the book's notebooks (pasting computed numbers into the prose)."""

from __future__ import annotations


def glue_text(key: str, value, fmt: str = "") -> str:
    """Format ``value`` with ``fmt`` and glue it under ``key`` for ``{glue:md}`key``` in the prose.

    The value is glued as Markdown so that it pastes without quotes. Returns the text, so a
    check cell can assert on exactly what the reader sees. Outside a Jupyter Book build
    (e.g. in plain Jupyter) this only returns the text.
    """
    text = format(value, fmt)
    try:
        from IPython.display import Markdown
        from myst_nb import glue
    except ImportError:  # pragma: no cover - the book extras are not installed
        return text
    glue(key, Markdown(text), display=False)
    return text
