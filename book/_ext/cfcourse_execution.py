"""A second executor for the book build: two notebooks execute at a time, one per core.

Sphinx reads the pages one after the other, and myst-nb executes each notebook that is not in Jupyter
Book's cache when its page is read, so a build from nothing runs one kernel at a time. Here a thread
takes the same pages from the other end of the reading order and executes them into the same cache,
exactly as myst-nb would (same reader, same configuration, same working directory, same function); when
Sphinx reaches such a page, myst-nb finds it in the cache. The two meet in the middle: a page is claimed
by whichever reaches it first, and Sphinx waits for a page the thread is still executing. A notebook the
thread could not execute is left to Sphinx, which executes it again and reports the error as usual.
myst-nb writes a page it took from the cache to ``jupyter_execute/`` without its outputs (it writes the
notebook it read, not the one it merged the cache into), so for each page the thread ran, the notebook it
executed is written there instead (:func:`write_executed_notebook`): what the tests and the student
build read from there is the executed chapter, as when Sphinx runs it.

``CFCOURSE_BOOK_EXECUTORS=1`` turns the second executor off (the build then executes one notebook at a
time, as Jupyter Book does by itself).
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sphinx.application import Sphinx

#: The environment variable that says how many notebooks execute at a time (1 or 2).
EXECUTORS = "CFCOURSE_BOOK_EXECUTORS"

SPHINX, THREAD, DONE = "sphinx", "thread", "done"


@dataclass
class Page:
    """A page whose notebook the second executor may run: what myst-nb would execute for it."""

    docname: str
    path: Path
    notebook: object  # nbformat.NotebookNode, as myst-nb reads it
    config: object  # myst_nb's NbParserConfig, with the page's own settings
    read_fmt: dict | None


def executors() -> int:
    """How many notebooks the build executes at a time (:data:`EXECUTORS`, default 2)."""
    setting = os.environ.get(EXECUTORS, "").strip() or "2"
    if setting not in {"1", "2"}:
        raise ValueError(f"{EXECUTORS} must be 1 or 2 (notebooks executed at a time), not {setting!r}")
    return int(setting)


def pages_to_execute(env, docnames: list[str]) -> list[Page]:
    """The pages of ``docnames`` (in that order) that myst-nb would execute in cache mode and whose
    notebook is not in the cache yet."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import create_nb_reader

    config = env.mystnb_config
    if config.execution_mode != "cache":
        return []
    cache = get_cache(config.execution_cache_path or ".jupyter_cache")
    pages = []
    for docname in docnames:
        path = Path(env.doc2path(docname))
        if path.suffix not in {".md", ".ipynb"}:
            continue
        text = path.read_text(encoding="utf-8")
        reader = create_nb_reader(str(path), env.myst_config, config, text)
        if reader is None:
            continue
        notebook = reader.read(text)
        page_config = config
        overrides = dict(notebook.metadata.get(config.metadata_key, {}))
        overrides.pop("output_folder", None)
        if overrides:
            page_config = config.copy(**overrides)
        if page_config.execution_mode != "cache" or _excluded(path, page_config):
            continue
        _alias_kernel(notebook, page_config)
        try:
            cache.match_cache_notebook(notebook)
            continue  # cached: nothing to execute
        except KeyError:
            pages.append(Page(docname, path, notebook, page_config, reader.read_fmt))
    return pages


def _excluded(path: Path, config) -> bool:
    posix = PurePosixPath(path.as_posix())
    return any(posix.match(pattern) for pattern in config.execution_excludepatterns or ())


def _alias_kernel(notebook, config) -> None:
    """myst-nb's kernel-name aliases, which it applies before it executes (part of the cache key)."""
    kernelspec = notebook.metadata.get("kernelspec", {})
    name = kernelspec.get("name")
    for pattern, alias in (config.kernel_rgx_aliases or {}).items():
        if name is not None and re.fullmatch(pattern, name):
            kernelspec["name"] = alias
            break


class SecondExecutor:
    """Executes ``pages`` from the last one backwards into the cache, until it meets a page Sphinx took."""

    def __init__(self, pages: list[Page]):
        self.pages = {page.docname: page for page in pages}
        self.order = [page.docname for page in reversed(pages)]
        self.state: dict[str, str] = {}
        self.cached: set[str] = set()  # the pages the thread executed into the cache
        self.changed = threading.Condition()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="cfcourse-second-executor", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _claim(self, docname: str) -> bool:
        with self.changed:
            if self.stopping or docname in self.state:
                return False
            self.state[docname] = THREAD
            return True

    def _run(self) -> None:
        for docname in self.order:
            if not self._claim(docname):
                return  # Sphinx got here first: every page before this one is Sphinx's too
            try:
                self._execute(self.pages[docname])
            except Exception as error:  # noqa: BLE001 - Sphinx executes it again and reports the error
                print(f"cfcourse: the second executor could not run {docname} ({error}); Sphinx runs it",
                      flush=True)
            finally:
                with self.changed:
                    self.state[docname] = DONE
                    self.changed.notify_all()

    def _execute(self, page: Page) -> None:
        from contextlib import nullcontext
        from tempfile import TemporaryDirectory

        from jupyter_cache import get_cache
        from jupyter_cache.base import CacheBundleIn
        from jupyter_cache.executors.utils import single_nb_execution

        config = page.config
        start = time.perf_counter()
        # myst-nb's working directory: a temporary one only where the configuration asks for it
        with TemporaryDirectory() if config.execution_in_temp else nullcontext(str(page.path.parent)) as cwd:
            result = single_nb_execution(page.notebook, cwd=os.path.abspath(cwd),
                                         allow_errors=config.execution_allow_errors,
                                         timeout=config.execution_timeout, meta_override=True)
        if result.err is not None:
            print(f"cfcourse: {page.docname} failed in the second executor "
                  f"({result.err.__class__.__name__}); Sphinx runs it again to report it", flush=True)
            return
        cache = get_cache(config.execution_cache_path or ".jupyter_cache")
        stage = cache.add_nb_to_project(str(page.path), read_data=page.read_fmt)
        cache.cache_notebook_bundle(CacheBundleIn(page.notebook, stage.uri,
                                                  data={"execution_seconds": result.time}),
                                    check_validity=False, overwrite=True)
        with self.changed:
            self.cached.add(page.docname)
        print(f"cfcourse: executed {page.docname} in {result.time:.1f} s beside the build "
              f"({time.perf_counter() - start:.1f} s with caching)", flush=True)

    def before_read(self, docname: str) -> None:
        """Sphinx is about to read ``docname``: take it, or wait while the thread executes it."""
        if docname not in self.pages:
            return
        with self.changed:
            if docname not in self.state:
                self.state[docname] = SPHINX
                return
            if self.state[docname] == THREAD:
                print(f"cfcourse: waiting for the second executor to finish {docname}", flush=True)
            self.changed.wait_for(lambda: self.state[docname] != THREAD)

    def stop(self, timeout: float | None = None) -> None:
        """Claim nothing more; wait for the notebook being executed (``timeout`` seconds at most)."""
        with self.changed:
            self.stopping = True
        if self.thread.is_alive():
            self.thread.join(timeout)


def start_second_executor(app: Sphinx, env, docnames: list[str]) -> None:
    """At ``env-before-read-docs`` (after the handlers that reorder ``docnames``): start the thread."""
    if executors() < 2:
        return
    pages = pages_to_execute(env, docnames)
    if len(pages) < 2:
        return
    executor = SecondExecutor(pages)
    app._cfcourse_second_executor = executor  # type: ignore[attr-defined]
    print(f"cfcourse: {len(pages)} notebooks to execute, two at a time ({EXECUTORS}=1: one at a time)",
          flush=True)
    executor.start()


def wait_for_second_executor(app: Sphinx, docname: str, source: list[str]) -> None:
    """At ``source-read``: a page the thread claimed is read once it is in the cache."""
    executor = getattr(app, "_cfcourse_second_executor", None)
    if executor is not None:
        executor.before_read(docname)


def write_executed_notebook(app: Sphinx, doctree) -> None:
    """At ``doctree-read``: for a page the thread executed, write the executed notebook where myst-nb
    writes each page's notebook (``<build>/jupyter_execute/<page>.ipynb``), in place of the one without
    outputs that myst-nb writes for a page it found in the cache."""
    executor = getattr(app, "_cfcourse_second_executor", None)
    docname = app.env.docname
    if executor is None or docname not in executor.cached:
        return
    import nbformat

    page = executor.pages[docname]
    target = Path(page.config.output_folder, *f"{docname}.ipynb".split("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(nbformat.writes(page.notebook), encoding="utf-8")


def stop_second_executor(app: Sphinx, exception) -> None:
    """At ``build-finished``: no notebook is left executing after the build."""
    executor = getattr(app, "_cfcourse_second_executor", None)
    if executor is not None:
        executor.stop(timeout=600)


def setup(app: Sphinx) -> dict:
    app.connect("env-before-read-docs", start_second_executor, priority=900)
    app.connect("source-read", wait_for_second_executor)
    app.connect("doctree-read", write_executed_notebook)
    app.connect("build-finished", stop_second_executor)
    return {"version": "1.0", "parallel_read_safe": False, "parallel_write_safe": True}
