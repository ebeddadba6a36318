#!/usr/bin/env python3
"""The course's commands. Needs only Python 3.11 to 3.13 and pip; sets everything else up itself.

    python3 tasks.py book        build the book into _build/html (executes every chapter)
    python3 tasks.py test        run the whole test suite (unit tests, notebooks, book build)
    python3 tasks.py notebooks   write the .ipynb twin of every chapter, to open in Jupyter
    python3 tasks.py bench       train every model of the course and print one table
    python3 tasks.py student     build the student version (no solutions) into _build/student
    python3 tasks.py publish     write the notebooks the launch buttons open into _build/publish
    python3 tasks.py clean       remove _build/ and the generated notebooks

Each command first makes sure a virtual environment exists in .venv with the project
installed (``pip install -e .[test]``); it reinstalls only when pyproject.toml changes.
Options after the command are passed on (to pytest, jupyter-book or the benchmark), except
``--no-venv``, which uses the current Python environment as it is (conda, Binder).
Set CFCOURSE_DATA to a folder holding ml-latest-small to use a local copy of the data.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".cfcourse-install-stamp"
EXTRAS = ".[test]"


def _log(msg: str) -> None:
    print(f"[tasks] {msg}", flush=True)


def _run(cmd: list[str], **kw) -> None:
    _log(" ".join(str(c) for c in cmd))
    subprocess.run([str(c) for c in cmd], check=True, cwd=kw.pop("cwd", ROOT), **kw)


def _wanted_stamp() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + EXTRAS.encode()).hexdigest()


def bootstrap() -> None:
    """Create .venv and install the project into it if needed, then re-run inside it."""
    if not (3, 11) <= sys.version_info[:2] <= (3, 13):
        raise SystemExit(f"The course needs Python 3.11 to 3.13 (TensorFlow 2.21 and keras-rs support those); this is "
                         f"{sys.version.split()[0]}. Run this file with another python, e.g. python3.11 tasks.py ...")
    if not PY.exists():
        _log(f"creating a virtual environment in {VENV}")
        _run([sys.executable, "-m", "venv", VENV])
    if not STAMP.exists() or STAMP.read_text().strip() != _wanted_stamp():
        _log("installing the project and its book/test dependencies (first run: a few minutes)")
        _run([PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        _run([PY, "-m", "pip", "install", "--quiet", "-e", EXTRAS])
        STAMP.write_text(_wanted_stamp())
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(str(PY), [str(PY), str(Path(__file__).resolve()), *sys.argv[1:]])


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # Python-side TensorFlow logs (its C++ logs: benchmark.py)
    # Never set MPLBACKEND here: a kernel started with MPLBACKEND=Agg draws no inline figures.
    env.pop("MPLBACKEND", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def is_myst_notebook(text: str) -> bool:
    """True for a MyST Markdown notebook (a jupytext header naming the myst format)."""
    return text.startswith("---") and "format_name: myst" in text.split("---", 2)[1]


def sync_notebooks(folder: Path = ROOT / "notebooks", force: bool = False) -> list[Path]:
    """Write ``X.ipynb`` beside every MyST notebook ``X.md`` in ``folder`` whose twin is older.

    The ``.md`` file is the source of truth; the twin is overwritten, never read. Returns the paths written.
    """
    import jupytext

    written = []
    for source in sorted(Path(folder).glob("*.md")):
        text = source.read_text(encoding="utf-8")
        if not is_myst_notebook(text):
            continue
        target = source.with_suffix(".ipynb")
        if not force and target.exists() and target.stat().st_mtime >= source.stat().st_mtime:
            continue
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(jupytext.writes(jupytext.reads(text, fmt="md:myst"), fmt="ipynb"), encoding="utf-8")
        tmp.replace(target)
        written.append(target)
    return written


def notebooks(args: list[str]) -> None:
    """Generate notebooks/*.ipynb from the MyST sources (only where the source is newer)."""
    for path in sync_notebooks(ROOT / "notebooks", force="--force" in args):
        _log(f"wrote {path.relative_to(ROOT)}")


def book_command(source: Path = ROOT, path_output: Path | None = None, bin_dir: Path | None = None) -> list[str]:
    """The one Jupyter Book build the project runs: every page, warnings are errors, all of them reported."""
    command = [str((bin_dir or BIN) / "jupyter-book"), "build", "--all", "-W", "--keep-going"]
    if path_output is not None:
        command += ["--path-output", str(path_output)]
    return command + [str(source)]


def _invalidate_stale_cache() -> None:
    """Jupyter Book's execution cache keys on code cells only: re-execute when cfcourse changes."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "cfcourse").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    stamp = ROOT / "_build" / ".cfcourse-code-hash"
    if not stamp.exists() or stamp.read_text() != digest.hexdigest():
        shutil.rmtree(ROOT / "_build" / ".jupyter_cache", ignore_errors=True)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest.hexdigest())


def book(args: list[str]) -> None:
    """Build the book (every chapter executed) into _build/html and print the page to open."""
    start = time.perf_counter()
    _invalidate_stale_cache()
    _run([*book_command(), *args], env=_env())
    index = ROOT / "_build" / "html" / "index.html"
    _log(f"built in {time.perf_counter() - start:.0f} s")
    print(f"\nOpen the book: {index.as_uri()}\n", flush=True)


def test(args: list[str]) -> None:
    """Write the notebooks' .ipynb twins, then run the whole pytest suite (args go to pytest)."""
    notebooks([])
    _run([PY, "-m", "pytest", *args], env=_env())


def bench(args: list[str]) -> None:
    """Run the benchmark (args go to python -m cfcourse.benchmark)."""
    _run([PY, "-m", "cfcourse.benchmark", *args], env=_env())


def clean(args: list[str]) -> None:
    """Remove _build/ and the generated .ipynb twins (never a notebook without a MyST source)."""
    shutil.rmtree(ROOT / "_build", ignore_errors=True)
    for source in (ROOT / "notebooks").glob("*.md"):
        if is_myst_notebook(source.read_text(encoding="utf-8")):
            source.with_suffix(".ipynb").unlink(missing_ok=True)
    _log("removed _build/ and the generated notebooks/*.ipynb")


# --------------------------------------------------------------------------------------
# The student version: solutions stubbed out of the notebooks, and a site without them
# --------------------------------------------------------------------------------------

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
HINT_PREFIX = "# Hint:"
STUDENT = ROOT / "_build" / "student"


def stub_code(source: str, where: str = "cell") -> tuple[str, list[str]]:
    """Replace every ``### BEGIN SOLUTION`` … ``### END SOLUTION`` region of a code cell by a stub.

    The stub is ``raise NotImplementedError("<hint>")`` at the marker's indentation; the hint is the
    ``# Hint:`` comment on the line just before the region (it stays in the cell). Returns the new
    source and the solution lines that were removed.
    """
    lines = source.split("\n")
    out: list[str] = []
    removed: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip() == SOLUTION_END:
            raise ValueError(f"{where}: '{SOLUTION_END}' without a '{SOLUTION_BEGIN}' before it")
        if line.strip() != SOLUTION_BEGIN:
            out.append(line)
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == SOLUTION_END), None)
        if end is None:
            raise ValueError(f"{where}: '{SOLUTION_BEGIN}' without a matching '{SOLUTION_END}'")
        indent = line[: len(line) - len(line.lstrip())]
        previous = out[-1].strip() if out else ""
        hint = previous[len(HINT_PREFIX):].strip() if previous.startswith(HINT_PREFIX) else ""
        message = f"Exercise not done yet. Hint: {hint}" if hint else "Exercise not done yet: write your solution here."
        out.append(f"{indent}raise NotImplementedError({message!r})")
        removed.extend(lines[i + 1:end])
        i = end + 1
    return "\n".join(out), removed


def strip_solution_directives(markdown: str) -> tuple[str, list[str]]:
    """Remove every ``{solution}`` directive (backtick or colon fence) from a Markdown cell."""
    import re

    opening = re.compile(r"^\s*(`{3,}|:{3,})\{solution\}")
    gated = re.compile(r"^\s*(`{3,}|:{3,})\{solution-(start|end)\}")
    lines = markdown.split("\n")
    for line in lines:
        if gated.match(line):
            raise ValueError(f"gated solutions ({line.strip()}) span several cells and are not supported by the "
                             "student build: use a plain {solution} block (and a code cell with solution markers)")
    out: list[str] = []
    removed: list[str] = []
    i = 0
    while i < len(lines):
        match = opening.match(lines[i])
        if not match:
            out.append(lines[i])
            i += 1
            continue
        fence = match.group(1)
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == fence), None)
        if end is None:
            raise ValueError(f"unclosed solution directive: {lines[i].strip()}")
        removed.extend(lines[i:end + 1])
        i = end + 1
    return "\n".join(out), removed


def student_notebook(text: str, where: str = "notebook"):
    """The student version of a MyST notebook's text: (notebook object, removed solution lines)."""
    import jupytext

    notebook = jupytext.reads(text, fmt="md:myst")
    removed: list[str] = []
    for n, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            cell.source, gone = stub_code(cell.source, f"{where}, cell {n}")
            if gone:
                tags = cell.metadata.setdefault("tags", [])
                for tag in ("hide-input", "remove-input"):
                    if tag in tags:
                        tags.remove(tag)
                if "raises-exception" not in tags:
                    tags.append("raises-exception")
        elif cell.cell_type == "markdown":
            cell.source, gone = strip_solution_directives(cell.source)
        removed.extend(gone)
    return notebook, removed


def forbidden_lines(removed: list[str], kept_text: str) -> list[str]:
    """Solution lines distinctive enough to search for (not trivial, not also in the student text)."""
    fences = ("```", ":::", ":class:", ":label:")
    kept = _normalise(kept_text)
    out = []
    for line in removed:
        line = line.strip()
        if len(line) < 12 or line.startswith(fences) or _normalise(line) in kept:
            continue
        out.append(line)
    return sorted(set(out))


_TO_ASCII = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                           "\u2014": "-", "\u2026": "...", "\u00a0": " ", "\u00b6": " ", "#": " "})


def _normalise(text: str) -> str:
    """Text as it reads, whatever renders it: ASCII quotes and dashes, no markup, single spaces."""
    import re

    text = text.translate(_TO_ASCII).replace("---", "-").replace("--", "-")
    text = re.sub(r"\s+", " ", re.sub(r"[`*_$\\{}()\[\]]", " ", text))
    return re.sub(r" ([,.;:!?])", r"\1", text).strip()


def solution_needles(forbidden: list[str]) -> list[str]:
    """The plain-text pieces of the solution lines to search rendered output for.

    Markup that renders as something else (roles such as {glue:md}`key` or {cite}`key`, link
    targets) splits a line into pieces; every piece of four words or more is a needle.
    """
    import re

    needles = set()
    for line in forbidden:
        line = re.sub(r"\]\([^)]*\)", "]", line)            # [text](url) renders as text
        for piece in re.split(r"\{[\w:-]+\}`[^`]*`", line):  # roles render as other text
            piece = _normalise(piece)
            if len(piece.split()) >= 4 or (len(piece) >= 16 and len(piece.split()) >= 2):
                needles.add(piece)
    return sorted(needles)


def _readable_text(path: Path) -> str:
    """The text a reader (or a notebook user) sees in a file of the build."""
    import html as html_lib
    import re

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
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix not in {".html", ".ipynb", ".md", ".txt", ".py", ".js", ".json"}:
            continue
        if "_static" in path.parts:
            continue
        raw = path.read_text(encoding="utf-8", errors="replace")
        if SOLUTION_BEGIN in raw or SOLUTION_END in raw:
            leaks.append(f"{path}: solution marker")
        flat = _normalise(_readable_text(path) if path.suffix in {".html", ".ipynb"} else raw)
        leaks += [f"{path}: {needle}" for needle in needles if needle in flat]
    return leaks


def student(args: list[str], out: Path = STUDENT) -> None:
    """Build the student version into ``out`` (default _build/student): notebooks/*.ipynb and html/.

    The site is the book without solutions, without the instructor page and without sources to
    download. Beside ``out``, ``<out>-forbidden.json`` lists the solution lines that were searched for
    in the result (it holds solution text: do not hand it out). Fails if any of them is found.
    """
    import json

    import jupytext
    import yaml

    shutil.rmtree(out, ignore_errors=True)
    source = out / ".source"
    (out / "notebooks").mkdir(parents=True)
    shutil.copytree(ROOT / "book", source / "book")
    (source / "notebooks").mkdir()
    removed_all: list[str] = []
    kept_all: list[str] = []
    for chapter in sorted((ROOT / "notebooks").glob("*.md")):
        text = chapter.read_text(encoding="utf-8")
        if not is_myst_notebook(text):
            continue
        notebook, removed = student_notebook(text, chapter.name)
        removed_all += removed
        (out / "notebooks" / f"{chapter.stem}.ipynb").write_text(jupytext.writes(notebook, fmt="ipynb"),
                                                                  encoding="utf-8")
        stubbed = jupytext.writes(notebook, fmt="md:myst")
        kept_all.append(stubbed)
        (source / "notebooks" / chapter.name).write_text(stubbed, encoding="utf-8")
        _log(f"student notebook: {chapter.stem}.ipynb ({len(removed)} solution lines removed)")
    # The site: the same book, solutions removed, errors of the stubs shown, no sources to download.
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = f"{config['title']} (student edition)"
    config["execute"]["allow_errors"] = True
    config["launch_buttons"] = {"notebook_interface": "jupyterlab"}
    config["html"]["use_repository_button"] = False
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config.update(nb_execution_raise_on_error=False, html_copy_source=False, html_show_sourcelink=False,
                         hide_solutions=True,
                         html_theme_options={"use_download_button": False, "use_repository_button": False,
                                             "home_page_in_toc": True})
    (source / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    for part in toc.get("parts", []):
        part["chapters"] = [c for c in part["chapters"] if c.get("file") != "book/instructors"]
    (source / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    (source / "book" / "instructors.md").unlink(missing_ok=True)
    _run([*book_command(source, out / ".work"), *args], env=_env())
    shutil.move(str(out / ".work" / "_build" / "html"), str(out / "html"))
    shutil.rmtree(out / ".work", ignore_errors=True)
    shutil.rmtree(source)
    forbidden = forbidden_lines(removed_all, "\n".join(kept_all))
    (out.parent / f"{out.name}-forbidden.json").write_text(json.dumps(forbidden, indent=1), encoding="utf-8")
    leaks = find_solution_leaks(out, forbidden)
    if leaks:
        raise SystemExit("solution text found in the student build:\n  " + "\n  ".join(leaks[:20]))
    _log(f"no solution text in {out} ({len(forbidden)} solution lines searched for)")
    print(f"\nStudent notebooks: {out / 'notebooks'}\nStudent site:      {(out / 'html' / 'index.html').as_uri()}\n")


# --------------------------------------------------------------------------------------
# Publishing: the notebooks that the book's Colab and Binder buttons open
# --------------------------------------------------------------------------------------

PUBLISH = ROOT / "_build" / "publish"

COLAB_SETUP = """\
# Set-up for Google Colab (added when the notebooks are published): install the course's
# package and fetch the data. Anywhere else (Binder, your own machine) it does nothing.
import sys

if "google.colab" in sys.modules:
    import subprocess

    repository = "{repository}"
    ref = "{ref}"
    package = f"cfcourse @ git+{{repository}}@{{ref}}"
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, package], check=True)
    from cfcourse import data

    data.load_movielens()"""


def book_settings(root: Path = ROOT) -> dict:
    """The publishing settings of ``_config.yml``: repository URL, its branch, the notebooks' branch."""
    import yaml

    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    return {"repository_url": config["repository"]["url"].rstrip("/"),
            "branch": config["repository"].get("branch", "main"),
            "notebooks_branch": config["sphinx"]["config"]["cfcourse_notebooks_branch"]}


def notebook_pages(root: Path = ROOT) -> list[str]:
    """The pages of ``_toc.yml`` (root first, in order) whose source is a MyST notebook, without suffix."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    pages = [toc["root"]] + [entry["file"] for part in toc.get("parts", []) for entry in part.get("chapters", [])]
    return [page for page in pages
            if (root / f"{page}.md").is_file() and is_myst_notebook((root / f"{page}.md").read_text(encoding="utf-8"))]


def publish(args: list[str], out: Path = PUBLISH, ref: str | None = None) -> list[Path]:
    """Write what the branch of the published notebooks holds into ``out`` (default _build/publish).

    One ``.ipynb`` per notebook page of the book, at the page's own path (``notebooks/01_data.ipynb``),
    without outputs, whose first cell sets up Google Colab (:data:`COLAB_SETUP`); Binder's
    requirements; a README. The package is installed from ``repository.url`` of ``_config.yml`` at
    ``ref``: ``--ref REF``, else ``$GITHUB_SHA`` (in the workflow), else the configured branch.
    """
    import jupytext
    import nbformat

    if "--ref" in args:
        ref = args[args.index("--ref") + 1]
    settings = book_settings()
    ref = ref or os.environ.get("GITHUB_SHA") or settings["branch"]
    requirement = f"cfcourse @ git+{settings['repository_url']}@{ref}"
    shutil.rmtree(out, ignore_errors=True)
    written = []
    for page in notebook_pages():
        notebook = jupytext.reads((ROOT / f"{page}.md").read_text(encoding="utf-8"), fmt="md:myst")
        setup = nbformat.v4.new_code_cell(COLAB_SETUP.format(repository=settings["repository_url"], ref=ref),
                                          metadata={"cfcourse": "colab-setup"})
        notebook.cells.insert(0, setup)
        notebook.metadata.pop("jupytext", None)
        notebook.metadata["colab"] = {"name": f"{Path(page).name}.ipynb", "provenance": []}
        for n, cell in enumerate(notebook.cells):
            cell.id = f"cell-{n}"
        target = out / f"{page}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        written.append(target)
    (out / ".binder").mkdir(parents=True, exist_ok=True)
    (out / ".binder" / "requirements.txt").write_text(f"{requirement}\n", encoding="utf-8")
    (out / "README.md").write_text(
        f"# Notebooks of *Collaborative filtering with embeddings*\n\n"
        f"Generated by `python3 tasks.py publish` from {settings['repository_url']} at `{ref}`, and pushed to "
        f"the branch `{settings['notebooks_branch']}` by the book's workflow. Do not edit: every push to "
        f"`{settings['branch']}` replaces this branch. The book's Colab and Binder buttons open these files.\n",
        encoding="utf-8")
    _log(f"published {len(written)} notebooks into {out} (package from {requirement})")
    return written


COMMANDS = {"book": book, "test": test, "notebooks": notebooks, "bench": bench, "student": student,
            "publish": publish, "clean": clean}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    command, args = sys.argv[1], sys.argv[2:]
    if "--no-venv" in args:  # use the current environment as it is (conda, Binder)
        args.remove("--no-venv")
        global BIN, PY
        BIN, PY = Path(sys.executable).parent, Path(sys.executable)
    elif command != "clean":
        bootstrap()
    try:
        COMMANDS[command](args)
    except subprocess.CalledProcessError as exc:
        _log(f"'{command}' failed (exit code {exc.returncode})")
        return exc.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
