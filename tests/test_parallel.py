"""How the suite and the book build use both cores: pytest-xdist's options and groups, the order in which
work is handed out, the results page's training in the background (read last, trained once)."""

from __future__ import annotations

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
