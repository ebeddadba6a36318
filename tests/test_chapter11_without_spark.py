"""The chapter "Beyond one machine" on a machine without Java (a reader's laptop, a book build):
it must run to the end, say what to install, skip its Spark cells, and still glue every number its
prose uses (the book is built with -W, so a missing glue key would fail the build).

With Java (CI), the chapter runs in full through nbval like every other chapter."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "notebooks" / "11_beyond_one_machine.md"


def glue_keys_used(text: str) -> set[str]:
    """The keys of ``{glue:md}`key``` and ``{glue:text}`key:fmt``` roles of this page's own prose."""
    keys = set(re.findall(r"\{glue:md\}`([^`]+)`", text))
    keys |= {k.split(":")[0] for k in re.findall(r"\{glue:text\}`([^`/]+)`", text)}
    return keys


@pytest.mark.slow
def test_the_chapter_runs_without_java_and_says_what_to_install(tmp_path):
    import jupytext
    from nbclient import NotebookClient

    from cfcourse import spark as cfspark

    notebook = jupytext.read(CHAPTER)
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "PATH")}
    env["PATH"] = str(Path(sys.executable).parent)  # Python and the venv's tools, no java
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    assert not (Path(sys.executable).parent / "java").exists()
    client = NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)  # raises if any cell fails

    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    first = "".join(o.get("text", "") for o in code_cells[0].outputs)
    assert "Spark is not available: it needs Java 17 or 21, and none was found" in first
    assert "openjdk-17" in first and "will be skipped" in first

    spark_cells = [c for c in code_cells if c.source.lstrip().startswith(cfspark.SKIP_MARKER)]
    assert len(spark_cells) >= 6
    for cell in spark_cells:
        text = "".join(o.get("text", "") for o in cell.outputs)
        assert text.strip() == cfspark.SKIPPED, cell.source[:80]

    glued = {}
    for cell in code_cells:
        for output in cell.outputs:
            if "scrapbook" in output.get("metadata", {}):
                book = output["metadata"]["scrapbook"]
                glued[book["name"]] = output["data"].get(book["mime_prefix"] + "text/plain", "")
    missing = glue_keys_used(CHAPTER.read_text(encoding="utf-8")) - set(glued)
    assert not missing, f"glue keys the prose uses but the chapter did not glue without Spark: {sorted(missing)}"
    assert "not run" in glued["als_rmse"]
    # No "not run" spliced into a sentence: a key glued as "not run" appears only in table cells,
    # and the paragraphs that report Spark's results are replaced whole by one that claims nothing.
    text = CHAPTER.read_text(encoding="utf-8")
    for key, value in glued.items():
        if value.strip("'\"") == "not run":
            for line in text.splitlines():
                if re.search(rf"\{{glue:md\}}`{re.escape(key)}`", line):
                    assert line.lstrip().startswith("|"), f"{key!r} ('not run') is used in a sentence: {line}"
    for key in ("als_cold_text", "ridge_text", "lists_text"):
        assert "built without Spark" in glued[key] and not re.search(r"\d\.\d", glued[key]), glued[key]
    assert "without Spark" in glued["summary_als"] and not re.search(r"\d\.\d", glued["summary_als"])
    assert re.fullmatch(r"\d\.\d{3}", glued["rmse_biases"])  # what needs no Spark is still computed

    images = [o for c in code_cells for o in c.outputs if "image/png" in o.get("data", {})]
    assert images, "the chapter's figure needs no Spark and must still be drawn"
    assert list(tmp_path.iterdir()) == []  # the chapter cleans up its temporary files
