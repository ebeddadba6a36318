"""How the suite and the book build use both cores: pytest-xdist's options and groups, the order in which
work is handed out, the results page's training in the background (read last, trained once)."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import OrderedDict
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import tasks  # noqa: E402


def _root_conftest():
    """The root conftest.py (groups and order of hand-out), loaded under a name of its own: pytest
    imports every conftest.py as ``conftest``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("cfcourse_root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


root_conftest = _root_conftest()


def test_the_tests_run_on_every_core_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("CFCOURSE_TEST_WORKERS", raising=False)
    assert tasks.test_workers([], cpus=2) == ["-n", "2", "--dist", "loadgroup"]
    assert tasks.test_workers(["-m", "not slow"], cpus=16) == ["-n", "4", "--dist", "loadgroup"]
    assert tasks.test_workers([], cpus=1) == []
    for chosen in (["-n", "3"], ["-n3"], ["-n=0"], ["--numprocesses", "2"], ["--dist", "load"], ["-p", "no:xdist"]):
        assert tasks.test_workers(chosen, cpus=2) == [], chosen
    monkeypatch.setenv("CFCOURSE_TEST_WORKERS", "1")
    assert tasks.test_workers([], cpus=8) == []
    monkeypatch.setenv("CFCOURSE_TEST_WORKERS", "3")
    assert tasks.test_workers([], cpus=2) == ["-n", "3", "--dist", "loadgroup"]
    monkeypatch.setenv("CFCOURSE_TEST_WORKERS", "two")
    with pytest.raises(SystemExit, match="CFCOURSE_TEST_WORKERS must be a number of workers"):
        tasks.test_workers([], cpus=2)


def test_processes_that_share_the_cores_get_one_share_of_threads_each(monkeypatch):
    assert tasks.thread_settings(1, cpus=2) == {}  # alone: TensorFlow's default (one thread per core)
    assert tasks.thread_settings(3, cpus=2) == {name: "1" for name in tasks.THREAD_SETTINGS}
    assert tasks.thread_settings(3, cpus=8) == {name: "2" for name in tasks.THREAD_SETTINGS}
    for name in tasks.THREAD_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(tasks.os, "cpu_count", lambda: 2)
    assert tasks._env(tasks.BOOK_PROCESSES)["TF_NUM_INTRAOP_THREADS"] == "1"
    assert "TF_NUM_INTRAOP_THREADS" not in tasks._env()
    monkeypatch.setenv("OMP_NUM_THREADS", "2")  # what the user set is kept
    assert tasks._env(tasks.BOOK_PROCESSES)["OMP_NUM_THREADS"] == "2"


def test_a_plain_pytest_run_shares_the_cores_the_same_way(monkeypatch):
    from types import SimpleNamespace

    for name in tasks.THREAD_SETTINGS:
        monkeypatch.setenv(name, "x")  # recorded, so that the test's own settings are undone
        monkeypatch.delenv(name)
    monkeypatch.setattr(tasks.os, "cpu_count", lambda: 2)
    made = root_conftest.share_the_cores(SimpleNamespace(option=SimpleNamespace(numprocesses=2)))
    assert made == {name: "1" for name in tasks.THREAD_SETTINGS}
    assert all(os.environ[name] == "1" for name in tasks.THREAD_SETTINGS)
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "2")
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert root_conftest.share_the_cores(SimpleNamespace(option=SimpleNamespace())) == {"OMP_NUM_THREADS": "1"}
    assert os.environ["TF_NUM_INTRAOP_THREADS"] == "2"


def test_the_costliest_work_is_handed_out_first():
    cost = root_conftest.scope_cost
    assert cost("book", ["tests/test_book.py::test_a@book"]) > cost("student", ["x@student"]) > \
        cost("notebooks/01_data.ipynb", ["notebooks/01_data.ipynb::Cell 0@notebooks/01_data.ipynb"]) > \
        cost("tests/test_data.py::test_x", ["tests/test_data.py::test_x"])
    assert cost("tests/test_nbgrader.py::test_real_nbgrader_flow", ["tests/test_nbgrader.py::test_real_nbgrader_flow"]) \
        > cost("notebooks/01_data.ipynb", [])


def test_the_scheduler_keeps_groups_together_and_hands_out_the_costliest_unit_first(tmp_path):
    pytest.importorskip("xdist.scheduler")

    class Config:
        def getvalue(self, name):
            return {"dist": "loadgroup", "tx": ["2*popen"]}[name]

    class Log:
        def __call__(self, *args):
            pass

        def __getattr__(self, name):
            return self

    groups = tmp_path / "groups.json"
    groups.write_text('{"tests/test_book.py::test_a": "book", "tests/test_notebooks.py::test_b[x]": "book"}')
    scheduler = root_conftest.make_group_scheduling(Config(), Log(), groups)
    assert scheduler._split_scope("tests/test_book.py::test_a") == "book"
    assert scheduler._split_scope("tests/test_notebooks.py::test_b[x]") == "book"
    assert scheduler._split_scope("notebooks/01_data.ipynb::Cell 3") == "notebooks/01_data.ipynb"
    assert scheduler._split_scope("tests/test_data.py::test_c") == "tests/test_data.py::test_c"
    with pytest.raises(RuntimeError, match="wrote no test groups"):
        root_conftest.make_group_scheduling(Config(), Log(), tmp_path / "missing.json")._split_scope("t.py::t")
    handed = []
    scheduler.workqueue = OrderedDict([
        ("tests/test_data.py::test_c", {"tests/test_data.py::test_c": False}),
        ("notebooks/01_data.ipynb", {"notebooks/01_data.ipynb::Cell 0": False}),
        ("book", {"tests/test_book.py::test_a": False, "tests/test_notebooks.py::test_b[x]": False}),
    ])
    # What the parent class does with the first unit of the queue is not this test's business: record it.
    parent = type(scheduler).__mro__[1]
    original = parent._assign_work_unit
    try:
        parent._assign_work_unit = lambda self, node: handed.append(self.workqueue.popitem(last=False)[0])
        for _ in range(3):
            scheduler._assign_work_unit(node=None)
    finally:
        parent._assign_work_unit = original
    assert handed == ["book", "notebooks/01_data.ipynb", "tests/test_data.py::test_c"]


def test_the_results_page_is_read_last_while_its_models_train(monkeypatch):
    import cfcourse_sphinx

    started = []

    class Process:
        def __init__(self, command):
            started.append(command)
            self.code = None

        def wait(self):
            self.code = 0
            return 0

        def poll(self):
            return self.code

    class App:
        class config:
            cfcourse_results_page = "book/results"

    monkeypatch.setattr(cfcourse_sphinx.subprocess, "Popen", Process)
    app = App()
    docnames = ["book/intro", "book/results", "notebooks/01_data", "notebooks/02_svd"]
    cfcourse_sphinx.compute_results(app, None, docnames)
    assert docnames == ["book/intro", "notebooks/01_data", "notebooks/02_svd", "book/results"]
    assert started == [[sys.executable, "-m", "cfcourse.benchmark", "--book"]]
    cfcourse_sphinx.wait_for_results(app, "notebooks/01_data", [""])
    assert app._cfcourse_results.code is None, "a chapter does not wait for the training"
    cfcourse_sphinx.wait_for_results(app, "book/results", [""])
    assert app._cfcourse_results.code == 0, "the results page waits for it"
    # A build without the results page starts no training.
    other = App()
    cfcourse_sphinx.compute_results(other, None, ["notebooks/01_data"])
    assert len(started) == 1 and not hasattr(other, "_cfcourse_results")


def test_a_failed_training_fails_the_results_page(monkeypatch):
    import cfcourse_sphinx
    from sphinx.errors import ExtensionError

    class App:
        class config:
            cfcourse_results_page = "book/results"

    class Failed:
        def wait(self):
            return 1

    app = App()
    app._cfcourse_results = Failed()
    with pytest.raises(ExtensionError, match="python3 tasks.py bench --book"):
        cfcourse_sphinx.wait_for_results(app, "book/results", [""])


def test_two_builds_at_once_train_the_results_page_once(monkeypatch, tmp_path):
    from cfcourse import benchmark

    monkeypatch.setattr(benchmark, "_book_cache_file", lambda seeds: tmp_path / "benchmark" / "book-0.csv")
    trained = []

    def train(path, split, seeds, progress):
        trained.append(threading.get_ident())
        time.sleep(0.5)  # long enough for the other caller to be waiting at the lock
        raw = pd.DataFrame([dict(model="m", recipe="course", seed=s, val_rmse=0.85) for s in seeds])
        raw.to_csv(path, index=False)
        return raw

    monkeypatch.setattr(benchmark, "_train_book_results", train)
    results = []
    threads = [threading.Thread(target=lambda: results.append(benchmark.book_results(split=object())))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(trained) == 1, "the second caller waits for the first and reads its table"
    assert len(results) == 2 and all(list(r.seed) == list(benchmark.BOOK_SEEDS) for r in results)


def test_the_spark_class_archive_is_written_in_the_background_only_for_a_spark_page(monkeypatch, tmp_path):
    import cfcourse_sphinx

    started = []

    class Process:
        def __init__(self, command, **kwargs):
            started.append(command)

        def wait(self, timeout=None):
            return 0

    class Env:
        def doc2path(self, name):
            return tmp_path / f"{name}.md"

    (tmp_path / "plain.md").write_text("# No Spark here\n")
    (tmp_path / "spark.md").write_text("```{code-cell} ipython3\nspark = cfspark.start_session(small_data=True)\n```\n")
    monkeypatch.setattr(cfcourse_sphinx.subprocess, "Popen", Process)

    class App:
        pass

    app = App()
    cfcourse_sphinx.write_spark_classes(app, Env(), ["plain"])
    assert started == [] and not hasattr(app, "_cfcourse_spark_classes")
    cfcourse_sphinx.write_spark_classes(app, Env(), ["plain", "spark"])
    assert started == [[sys.executable, "-m", "cfcourse.spark", "--class-archive"]]
    cfcourse_sphinx.wait_for_spark_classes(app, None)


def test_an_archive_being_written_by_a_live_jvm_is_not_written_again(tmp_path):
    import json
    import os

    from cfcourse import spark

    assert not spark._archive_being_written(tmp_path, "k")
    (tmp_path / "k.abc.jvm").write_text(json.dumps({"pid": 2 ** 22 + 12345, "classpath": "x"}))  # no such process
    assert not spark._archive_being_written(tmp_path, "k")
    (tmp_path / "k.def.jvm").write_text(json.dumps({"pid": os.getpid(), "classpath": "x"}))
    assert spark._archive_being_written(tmp_path, "k")
    assert not spark._archive_being_written(tmp_path, "other")


# --------------------------------------------------------------------------------------
# The book build's second executor (book/_ext/cfcourse_execution.py)
# --------------------------------------------------------------------------------------


def _gated_executor(monkeypatch, docnames):
    """A SecondExecutor over fake pages whose execution waits for the test to open each page's gate."""
    import cfcourse_execution

    gates = {name: threading.Event() for name in docnames}
    running, executed = [], []

    def execute(self, page):
        running.append(page.docname)
        assert gates[page.docname].wait(10), f"{page.docname}'s gate was never opened"
        executed.append(page.docname)

    monkeypatch.setattr(cfcourse_execution.SecondExecutor, "_execute", execute)
    pages = [cfcourse_execution.Page(name, Path(f"{name}.md"), None, None, None) for name in docnames]
    return cfcourse_execution.SecondExecutor(pages), gates, running, executed


def _wait_until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_the_second_executor_runs_pages_from_the_end_until_it_meets_sphinx(monkeypatch):
    names = [f"p{i}" for i in range(1, 7)]
    executor, gates, running, executed = _gated_executor(monkeypatch, names)
    executor.start()
    _wait_until(lambda: running == ["p6"])
    executor.before_read("p1")  # Sphinx takes the first pages without waiting
    executor.before_read("p2")
    executor.before_read("intro")  # a page without a notebook to execute: nothing to do
    reader = threading.Thread(target=executor.before_read, args=("p6",))
    reader.start()
    time.sleep(0.2)
    assert reader.is_alive(), "Sphinx waits for a page the thread is executing"
    gates["p6"].set()
    reader.join(5)
    assert not reader.is_alive() and executed == ["p6"]
    _wait_until(lambda: running == ["p6", "p5"])
    executor.before_read("p3")
    executor.before_read("p4")  # Sphinx gets here first: the thread stops after p5
    gates["p5"].set()
    executor.thread.join(5)
    assert not executor.thread.is_alive()
    assert executed == ["p6", "p5"]
    assert executor.state == {"p1": "sphinx", "p2": "sphinx", "p3": "sphinx", "p4": "sphinx",
                              "p5": "done", "p6": "done"}


def test_a_page_the_second_executor_cannot_run_is_left_to_sphinx(monkeypatch, capsys):
    import cfcourse_execution

    def execute(self, page):
        raise RuntimeError("no kernel")

    monkeypatch.setattr(cfcourse_execution.SecondExecutor, "_execute", execute)
    pages = [cfcourse_execution.Page(name, Path(f"{name}.md"), None, None, None) for name in ("a", "b")]
    executor = cfcourse_execution.SecondExecutor(pages)
    executor.start()
    executor.thread.join(5)
    assert executor.state == {"a": "done", "b": "done"}
    executor.before_read("b")  # returns at once: Sphinx executes it itself (and reports the error)
    assert "could not run b (no kernel); Sphinx runs it" in capsys.readouterr().out


def test_the_number_of_executors_is_checked(monkeypatch):
    import cfcourse_execution

    monkeypatch.delenv(cfcourse_execution.EXECUTORS, raising=False)
    assert cfcourse_execution.executors() == 2
    monkeypatch.setenv(cfcourse_execution.EXECUTORS, "1")
    assert cfcourse_execution.executors() == 1
    monkeypatch.setenv(cfcourse_execution.EXECUTORS, "4")
    with pytest.raises(ValueError, match="must be 1 or 2"):
        cfcourse_execution.executors()


def test_what_the_second_executor_caches_is_what_myst_nb_finds(tmp_path):
    """The thread reads and executes a page as myst-nb does: the cache then matches the notebook
    myst-nb reads from the same file, so Sphinx does not execute it again. Pages myst-nb would
    not execute in cache mode (forced, plain Markdown) are not taken."""
    import cfcourse_execution
    import nbformat
    from jupyter_cache import get_cache
    from myst_nb.core.config import NbParserConfig
    from myst_nb.core.read import create_nb_reader
    from myst_parser.config.main import MdParserConfig

    header = ("---\njupytext:\n  text_representation:\n    format_name: myst\nkernelspec:\n"
              "  display_name: Python 3\n  language: python\n  name: python3\n{extra}---\n\n")
    cell = "```{{code-cell}} ipython3\n{code}\n```\n"
    (tmp_path / "a.md").write_text(header.format(extra="") + cell.format(code="x = 6 * 7\nx"))
    (tmp_path / "forced.md").write_text(header.format(extra="mystnb:\n  execution_mode: force\n")
                                        + cell.format(code="1"))
    (tmp_path / "plain.md").write_text("# Only text\n")

    class Env:
        myst_config = MdParserConfig()
        mystnb_config = NbParserConfig(execution_mode="cache",
                                       execution_cache_path=str(tmp_path / ".jupyter_cache"),
                                       output_folder=str(tmp_path / "jupyter_execute"))

        def doc2path(self, docname):
            return str(tmp_path / f"{docname}.md")

    env = Env()
    pages = cfcourse_execution.pages_to_execute(env, ["plain", "a", "forced"])
    assert [page.docname for page in pages] == ["a"]
    executor = cfcourse_execution.SecondExecutor(pages)
    executor._execute(pages[0])
    assert executor.cached == {"a"}
    text = (tmp_path / "a.md").read_text()
    fresh = create_nb_reader(str(tmp_path / "a.md"), env.myst_config, env.mystnb_config, text).read(text)
    cache = get_cache(str(tmp_path / ".jupyter_cache"))
    cache.match_cache_notebook(fresh)  # raises KeyError when myst-nb would execute it again
    _, merged = cache.merge_match_into_notebook(fresh)
    assert merged.cells[0].outputs[0]["data"]["text/plain"] == "42"
    assert cfcourse_execution.pages_to_execute(env, ["a"]) == [], "a cached page is not executed again"
    # myst-nb writes a page found in the cache to jupyter_execute/ without outputs: the executed one replaces it
    app = type("App", (), {})()
    app.env, app._cfcourse_second_executor = env, executor
    env.docname = "a"
    written = tmp_path / "jupyter_execute" / "a.ipynb"
    written.parent.mkdir()
    written.write_text(nbformat.writes(fresh))  # what myst-nb wrote: no outputs
    cfcourse_execution.write_executed_notebook(app, None)
    assert nbformat.read(written, as_version=4).cells[0].outputs[0]["data"]["text/plain"] == "42"
    env.docname = "forced"  # a page the thread did not run: left as myst-nb wrote it
    cfcourse_execution.write_executed_notebook(app, None)
    assert not (tmp_path / "jupyter_execute" / "forced.ipynb").exists()
