#!/usr/bin/env python3
"""The course's commands. Needs only Python 3.11 to 3.13 and pip; sets everything else up itself.

    python3 tasks.py book        build the book into _build/html (executes every chapter)
    python3 tasks.py test        run the whole test suite (unit tests, notebooks, book build)
    python3 tasks.py notebooks   write the .ipynb twin of every chapter, to open in Jupyter
    python3 tasks.py bench       train every model of the course and print one table
    python3 tasks.py student     build the student version (no solutions) into _build/student
    python3 tasks.py nbgrader    write an nbgrader course folder (--course DIR, default _build/nbgrader)
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


#: The settings that bound how many threads TensorFlow (and oneDNN's OpenMP) starts in one process.
THREAD_SETTINGS = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


def thread_settings(processes: int, cpus: int | None = None) -> dict[str, str]:
    """One thread count per process for ``processes`` busy processes sharing the machine's cores.

    TensorFlow gives every process as many threads as there are cores. Where the build or the tests run
    several kernels at once, those threads outnumber the cores and wait on each other: on 2 cores, two
    chapters executed side by side took about a quarter more CPU time than with one thread each. The
    models of the course are small, so each process gets ``cores // processes`` threads (at least one).
    Empty where one process has the machine to itself (TensorFlow's own default)."""
    if processes < 2:
        return {}
    threads = max(1, (cpus or os.cpu_count() or 1) // processes)
    return {name: str(threads) for name in THREAD_SETTINGS}


def _env(processes: int = 1) -> dict[str, str]:
    """The environment of the commands ``tasks.py`` runs; ``processes``: how many busy processes they
    run at once (see :func:`thread_settings`; a setting the user made is kept)."""
    env = dict(os.environ)
    for name, value in thread_settings(processes).items():
        env.setdefault(name, value)
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
    # the widgets' JavaScript and CSS are inlined into the page outputs (cfcourse.widgets) too
    for path in sorted([*(ROOT / "cfcourse").rglob("*.py"), *(ROOT / "cfcourse" / "web").glob("*.*")]):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    stamp = ROOT / "_build" / ".cfcourse-code-hash"
    if not stamp.exists() or stamp.read_text() != digest.hexdigest():
        shutil.rmtree(ROOT / "_build" / ".jupyter_cache", ignore_errors=True)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest.hexdigest())


#: The busy processes of one book build: two notebook kernels (book/_ext/cfcourse_execution.py) and the
#: results page's benchmark.
BOOK_PROCESSES = 3


def book(args: list[str]) -> None:
    """Build the book (every chapter executed) into _build/html and print the page to open."""
    start = time.perf_counter()
    _invalidate_stale_cache()
    _run([*book_command(), *args], env=_env(BOOK_PROCESSES))
    index = ROOT / "_build" / "html" / "index.html"
    _log(f"built in {time.perf_counter() - start:.0f} s")
    print(f"\nOpen the book: {index.as_uri()}\n", flush=True)


def test_workers(args: list[str], cpus: int | None = None) -> list[str]:
    """The pytest-xdist options ``test`` adds: one worker per core (at most 4), each chapter's cells on one
    worker and the tests of the one book build together (``--dist loadgroup``, groups set in conftest.py).

    None where the caller chose (``-n``, ``--numprocesses``, ``--dist``, ``-p no:xdist``), on a single
    core, or where ``CFCOURSE_TEST_WORKERS`` says how many (``1``: no workers, plain pytest).
    """
    chosen = {"-n", "--numprocesses", "--dist", "no:xdist"}
    if any(a in chosen or a.startswith(("-n=", "--numprocesses=", "--dist=")) or (a.startswith("-n") and
           a[2:].isdigit()) for a in args):
        return []
    setting = os.environ.get("CFCOURSE_TEST_WORKERS", "").strip()
    if setting:
        if not setting.isdigit() or int(setting) < 1:
            raise SystemExit(f"CFCOURSE_TEST_WORKERS must be a number of workers (1 or more), not {setting!r}")
        workers = int(setting)
    else:
        workers = min(cpus or os.cpu_count() or 1, 4)
    if workers < 2:
        return []
    import importlib.util

    if importlib.util.find_spec("xdist") is None:  # e.g. --no-venv in an environment without pytest-xdist
        _log("pytest-xdist is not installed: the tests run on one core")
        return []
    return ["-n", str(workers), "--dist", "loadgroup"]


def test(args: list[str]) -> None:
    """Write the notebooks' .ipynb twins, then run the whole pytest suite (args go to pytest), on every core
    (see :func:`test_workers`)."""
    notebooks([])
    # the root conftest.py gives each worker, kernel and build its share of the cores (thread_settings)
    _run([PY, "-m", "pytest", *test_workers(args), *args], env=_env())


def bench(args: list[str]) -> None:
    """Run the benchmark (args go to python -m cfcourse.benchmark)."""
    _run([PY, "-m", "cfcourse.benchmark", *args], env=_env())


def clean(args: list[str]) -> None:
    """Remove _build/ and the generated .ipynb twins (never a notebook without a MyST source).

    An nbgrader course in _build/nbgrader that holds grades (a gradebook.db) is kept.
    """
    build = ROOT / "_build"
    course = build / "nbgrader"
    if (course / "gradebook.db").exists():
        for child in build.iterdir():
            if child != course:
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        _log(f"kept {course.relative_to(ROOT)}: it holds an nbgrader gradebook (remove it yourself if you mean to)")
    else:
        shutil.rmtree(build, ignore_errors=True)
    for source in (ROOT / "notebooks").glob("*.md"):
        if is_myst_notebook(source.read_text(encoding="utf-8")):
            source.with_suffix(".ipynb").unlink(missing_ok=True)
    _log("removed _build/ and the generated notebooks/*.ipynb")


# --------------------------------------------------------------------------------------
# Classroom exports (the work is done by cfcourse.classroom)
# --------------------------------------------------------------------------------------

STUDENT = ROOT / "_build" / "student"
NBGRADER_COURSE = ROOT / "_build" / "nbgrader"  # clean() keeps it once it holds a gradebook


def chapter_sources(folder: Path = ROOT / "notebooks") -> list[Path]:
    """The chapters: every MyST notebook ``notebooks/*.md``, in file-name order."""
    return [p for p in sorted(Path(folder).glob("*.md")) if is_myst_notebook(p.read_text(encoding="utf-8"))]


def student(args: list[str], out: Path = STUDENT, keep_executed: bool = False) -> None:
    """Build the student version into ``out`` (default _build/student): notebooks/*.ipynb and html/
    (see cfcourse.classroom.student; args go to jupyter-book; ``keep_executed``: also <out>-executed/)."""
    from cfcourse.classroom.student import build_student

    def build_book(source: Path, output: Path) -> None:
        _run([*book_command(source, output), *args], env=_env(BOOK_PROCESSES))

    build_student(ROOT, chapter_sources(), out, build_book, keep_executed=keep_executed)
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


def nbgrader(args: list[str]) -> None:
    """Write an nbgrader course folder (``--course DIR``, default _build/nbgrader); see
    cfcourse.classroom.nbgrader_course. Then run ``nbgrader generate_assignment <name>`` in it."""
    course = NBGRADER_COURSE
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--course" and rest:
            course = Path(rest.pop(0))
        elif arg.startswith("--course="):
            course = Path(arg.split("=", 1)[1])
        else:
            raise SystemExit(f"python3 tasks.py nbgrader: unknown argument {arg!r}; the only option is --course DIR")
    from cfcourse.classroom.markup import MarkupError
    from cfcourse.classroom.nbgrader_course import export_course

    start = time.perf_counter()
    try:
        assignments = export_course(chapter_sources(), course.resolve(), os.environ.get("CFCOURSE_DATA"), log=_log)
    except MarkupError as exc:
        raise SystemExit(f"cannot export the exercises: {exc}") from None
    _log(f"wrote {len(assignments)} assignments into {course} in {time.perf_counter() - start:.1f} s")
    activate = f"  source {BIN / 'activate'}\n" if BIN == VENV / BIN.name else ""
    print(f"\nNext, with the course's environment (nbgrader and its kernels need it), for each assignment "
          f"({' '.join(a.name for a in assignments)}):\n{activate}  cd {course}\n"
          f"  nbgrader generate_assignment {assignments[0].name}\n(see book/instructors.md)\n", flush=True)


COMMANDS = {"book": book, "test": test, "notebooks": notebooks, "bench": bench, "student": student,
            "nbgrader": nbgrader, "publish": publish, "clean": clean}


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
