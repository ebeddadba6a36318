"""Two runs of a chapter give the same numbers (on the shortest training chapter, to keep the suite fast: the
book build's run and one more;
`python3 tasks.py bench --repeat-check` checks every model of the course)."""

from __future__ import annotations

import copy
import json
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
            if scrap:  # a glue(..., display=False) output keeps its data under the mime prefix
                prefix = scrap.get("mime_prefix", "")
                data = output["data"]
                values[scrap["name"]] = data.get(f"{prefix}text/plain", data.get("text/plain", ""))
    return values


@pytest.mark.slow
def test_simple_dot_chapter_gives_identical_numbers_twice(built_book):
    """The book build's run of chapter 3 (myst-nb's kernel) and a second run in a fresh kernel (nbclient)
    glue the same numbers: the build's run is reused instead of running the chapter twice here."""
    source = jupytext.reads((ROOT / "notebooks" / "03_simple_dot.md").read_text(encoding="utf-8"), fmt="md:myst")
    # myst-nb keeps what a page glued beside its executed notebook, in <page>.glue.json
    glue_file = built_book.parent / "jupyter_execute" / "notebooks" / "03_simple_dot.glue.json"
    built = {key: output["data"].get("text/plain", "")
             for key, output in json.loads(glue_file.read_text(encoding="utf-8")).items()}
    notebook = copy.deepcopy(source)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    first, second = built, glued_values(notebook)
    assert len(first) >= 10 and set(first) == set(second)
    compared = [k for k in first if not any(word in k for word in TIMING_WORDS)]
    assert any("rmse" in k for k in compared)
    assert all(second[k] for k in compared), "a glued value was read as empty"
    differing = {k: (first[k], second[k]) for k in compared if first[k] != second[k]}
    assert not differing, f"numbers that changed between two runs: {differing}"
