"""The student version of the course: notebooks with stubs instead of solutions, and a site without them.

``python3 tasks.py student`` calls :func:`build_student`, which writes ``<out>/notebooks/*.ipynb`` and
``<out>/html/`` and then runs the leak search (:mod:`.leaks`) over everything it wrote.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from .leaks import chapter_solution_lines, find_solution_leaks
from .markup import student_notebook


def _log(message: str) -> None:
    print(f"[student] {message}", flush=True)


def _site_config(root: Path) -> tuple[dict, dict]:
    """The book's ``_config.yml`` and ``_toc.yml`` changed for the student site."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = f"{config['title']} (student edition)"
    config["execute"]["allow_errors"] = True
    config["launch_buttons"] = {"notebook_interface": "jupyterlab"}
    config["html"]["use_repository_button"] = False
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config.update(nb_execution_raise_on_error=False, html_copy_source=False, html_show_sourcelink=False,
                         hide_solutions=True,
                         html_theme_options={"use_download_button": False, "use_repository_button": False,
                                             "home_page_in_toc": True})
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    for part in toc.get("parts", []):
        part["chapters"] = [c for c in part["chapters"] if c.get("file") != "book/instructors"]
    return config, toc


def build_student(root: Path, chapters: list[Path], out: Path,
                  build_book: Callable[[Path, Path], None], keep_executed: bool = False) -> Path:
    """Build the student version of the book in ``root`` into ``out``: ``notebooks/*.ipynb`` and ``html/``.

    ``build_book(source, output)`` builds the Jupyter Book in folder ``source`` into ``output`` (the
    caller's one book build, e.g. ``tasks.book_command``). The site is the book without solutions,
    without the instructor page and without sources to download. Beside ``out``,
    ``<out>-forbidden.json`` lists the solution lines that were searched for in the result (it holds
    solution text: do not hand it out). Raises ``SystemExit`` if any of them is found. With
    ``keep_executed`` the notebooks as the build executed them (stubs' errors included) are kept in
    ``<out>-executed/`` (the tests read them instead of running each chapter again). Returns ``out``.
    """
    import jupytext
    import yaml

    out = Path(out)
    shutil.rmtree(out, ignore_errors=True)
    source = out / ".source"
    (out / "notebooks").mkdir(parents=True)
    shutil.copytree(root / "book", source / "book")
    (source / "notebooks").mkdir()
    for chapter in chapters:
        notebook, removed = student_notebook(chapter.read_text(encoding="utf-8"), chapter.name)
        (out / "notebooks" / f"{chapter.stem}.ipynb").write_text(jupytext.writes(notebook, fmt="ipynb"),
                                                                  encoding="utf-8")
        (source / "notebooks" / chapter.name).write_text(jupytext.writes(notebook, fmt="md:myst"), encoding="utf-8")
        _log(f"student notebook: {chapter.stem}.ipynb ({len(removed)} solution lines removed)")
    # The site: the same book, solutions removed, errors of the stubs shown, no sources to download.
    config, toc = _site_config(root)
    (source / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    (source / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    (source / "book" / "instructors.md").unlink(missing_ok=True)
    build_book(source, out / ".work")
    shutil.move(str(out / ".work" / "_build" / "html"), str(out / "html"))
    if keep_executed:
        executed = out.parent / f"{out.name}-executed"
        shutil.rmtree(executed, ignore_errors=True)
        shutil.move(str(out / ".work" / "_build" / "jupyter_execute" / "notebooks"), str(executed))
    shutil.rmtree(out / ".work", ignore_errors=True)
    shutil.rmtree(source)
    forbidden = chapter_solution_lines(chapters)
    (out.parent / f"{out.name}-forbidden.json").write_text(json.dumps(forbidden, indent=1), encoding="utf-8")
    leaks = find_solution_leaks(out, forbidden)
    if leaks:
        raise SystemExit("solution text found in the student build:\n  " + "\n  ".join(leaks[:20]))
    _log(f"no solution text in {out} ({len(forbidden)} solution lines searched for)")
    return out
