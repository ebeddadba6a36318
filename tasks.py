#!/usr/bin/env python3
"""The course's commands. Needs only Python >= 3.10 and pip; sets everything else up itself.

    python3 tasks.py book        build the book into _build/html (executes every chapter)
    python3 tasks.py test        run the whole test suite (unit tests, notebooks, book build)
    python3 tasks.py notebooks   write the .ipynb twin of every chapter, to open in Jupyter
    python3 tasks.py bench       train every model of the course and print one table
    python3 tasks.py clean       remove _build/ and the generated notebooks

Each command first makes sure a virtual environment exists in .venv with the project
installed (``pip install -e .[test]``); it reinstalls only when pyproject.toml changes.
Options after the command are passed on (to pytest, jupyter-book or the benchmark).
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
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("MPLBACKEND", "Agg")
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def notebooks(args: list[str]) -> None:
    """Generate notebooks/*.ipynb from the MyST sources (only where the source is newer)."""
    sys.path.insert(0, str(ROOT))
    from cfcourse._notebooks import sync_notebooks

    for path in sync_notebooks(ROOT / "notebooks"):
        _log(f"wrote {path.relative_to(ROOT)}")


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
    start = time.perf_counter()
    _invalidate_stale_cache()
    _run([BIN / "jupyter-book", "build", "--all", "-W", "--keep-going", ".", *args], env=_env())
    index = ROOT / "_build" / "html" / "index.html"
    _log(f"built in {time.perf_counter() - start:.0f} s")
    print(f"\nOpen the book: {index.as_uri()}\n", flush=True)


def test(args: list[str]) -> None:
    notebooks([])
    _run([PY, "-m", "pytest", *args], env=_env())


def bench(args: list[str]) -> None:
    _run([PY, "-m", "cfcourse.benchmark", *args], env=_env())


def clean(args: list[str]) -> None:
    shutil.rmtree(ROOT / "_build", ignore_errors=True)
    for nb in (ROOT / "notebooks").glob("*.ipynb"):
        nb.unlink()
    _log("removed _build/ and notebooks/*.ipynb")


COMMANDS = {"book": book, "test": test, "notebooks": notebooks, "bench": bench, "clean": clean}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        return 2
    command, args = sys.argv[1], sys.argv[2:]
    if command != "clean":
        bootstrap()
    try:
        COMMANDS[command](args)
    except subprocess.CalledProcessError as exc:
        _log(f"'{command}' failed (exit code {exc.returncode})")
        return exc.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
