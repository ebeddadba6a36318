"""Two runs of a chapter give the same numbers (on the shortest training chapter, to keep the suite fast;
`python3 tasks.py bench --repeat-check` checks every model of the course)."""

from __future__ import annotations

import copy
from pathlib import Path

import jupytext
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TIMING_WORDS = ("second", "time", "speed", "per_batch", "_ms", "faster", "slower")


def glued_values(notebook) -> dict[str, str]:
    """key → pasted text of every glue() call in an executed notebook."""
    values = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            scrap = output.get("metadata", {}).get("scrapbook")
            if scrap:
                values[scrap["name"]] = output["data"].get("text/plain", "")
    return values


@pytest.mark.slow
def test_simple_dot_chapter_gives_identical_numbers_twice():
    source = jupytext.reads((ROOT / "notebooks" / "03_simple_dot.md").read_text(encoding="utf-8"), fmt="md:myst")
    runs = []
    for _ in range(2):
        notebook = copy.deepcopy(source)
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
        runs.append(glued_values(notebook))
    first, second = runs
    assert len(first) >= 10 and set(first) == set(second)
    compared = [k for k in first if not any(word in k for word in TIMING_WORDS)]
    assert any("rmse" in k for k in compared)
    differing = {k: (first[k], second[k]) for k in compared if first[k] != second[k]}
    assert not differing, f"numbers that changed between two runs: {differing}"
