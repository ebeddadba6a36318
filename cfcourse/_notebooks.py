"""Generate the .ipynb twins of the MyST chapter sources (used by tasks.py and the tests)."""

from __future__ import annotations

from pathlib import Path


def sync_notebooks(folder: str | Path, force: bool = False) -> list[Path]:
    """Write ``X.ipynb`` beside every MyST notebook ``X.md`` in ``folder`` whose twin is older.

    Returns the paths written. The ``.md`` file is the source of truth; the twin is
    overwritten, never read.
    """
    import jupytext

    written = []
    for source in sorted(Path(folder).glob("*.md")):
        text = source.read_text(encoding="utf-8")
        if not text.startswith("---") or "format_name: myst" not in text.split("---", 2)[1]:
            continue
        target = source.with_suffix(".ipynb")
        if not force and target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
            continue
        notebook = jupytext.reads(text, fmt="md:myst")
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(jupytext.writes(notebook, fmt="ipynb"), encoding="utf-8")
        tmp.replace(target)
        written.append(target)
    return written
