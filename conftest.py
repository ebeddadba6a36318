"""Root pytest configuration.

- The chapters' .ipynb twins are generated before collection, so that nbval (``--nbval-lax``, see
  pyproject.toml) runs every chapter as a test. Where the run builds the book too, the build is that
  run (:func:`chapters_run_by_the_book_build`): each chapter is executed once per role, not twice.
- Under pytest-xdist (``python3 tasks.py test`` runs one worker per core with ``--dist loadgroup``,
  see ``tasks.test_workers``) work is handed out in groups (:func:`test_group`): the cells of one
  notebook (nbval runs them in order, in one kernel), every test that reads the one book build
  (``built_book``, tests/conftest.py: the book is built once, on one worker), every test that reads
  the one student build (``student_build``); every other test on its own. The costliest unit of work
  goes first (:func:`scope_cost`), so that no worker is left with a long test at the end while the
  other is idle.

pytest-xdist's own ``xdist_group`` marker does not work with pytest 9.2 (xdist 3.8 renames
``item._nodeid``, which pytest 9.2 no longer reads), so the workers write each test's group to a file
that the controller's scheduler (:class:`GroupScheduling`) reads.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from tasks import BOOK_PROCESSES, sync_notebooks, thread_settings

#: The groups of the tests that read the one book build, and the one student build, of a session.
BOOK_GROUP, STUDENT_GROUP = "book", "student"
#: Rough seconds of the tests that take much longer than the rest (on 2 cores); others count 1 s each,
#: a notebook 20 s, the book group 600 s and the student group 250 s. Only the order in which work is
#: handed out depends on them.
HEAVY_TESTS = {
    "test_real_nbgrader_flow": 120,
    "test_page_runs_with_its_hidden_cells_removed": 20,
}
_GROUPS_OPTION = "cfcourse_groups"  # workerinput key: the file where workers write each test's group


def share_the_cores(config) -> dict[str, str]:
    """Give every TensorFlow process of the run (the workers, the kernels they start, the book builds)
    its share of the cores (:func:`tasks.thread_settings`), for ``python3 tasks.py test`` and a plain
    ``pytest`` alike, so that the tests compute the same numbers as the book build they start. Settings
    already made are kept. Returns what was set."""
    workers = getattr(config.option, "numprocesses", None)
    count = workers if isinstance(workers, int) and workers > 0 else 1
    made = {name: value for name, value in thread_settings(count * BOOK_PROCESSES).items() if name not in os.environ}
    os.environ.update(made)
    return made


def pytest_configure(config):
    share_the_cores(config)  # before any test imports TensorFlow (workers inherit the controller's settings)
    if hasattr(config, "workerinput"):  # an xdist worker: the controller has written the notebooks already
        return
    sync_notebooks()
    if config.pluginmanager.hasplugin("xdist") and config.getoption("dist", "no") == "loadgroup":
        config.stash[_groups_key] = Path(tempfile.mkdtemp(prefix="cfcourse-xdist-")) / "groups.json"


_groups_key = pytest.StashKey[Path]()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """(xdist, in the controller) Tell each worker where to write the groups."""
    path = node.config.stash.get(_groups_key, None)
    if path is not None:
        node.workerinput[_GROUPS_OPTION] = str(path)


def test_group(item) -> str | None:
    """The unit of work ``item`` belongs to (None: a unit of its own)."""
    if type(item).__name__ == "IPyNbCell":  # nbval: one notebook, one kernel, cells in order
        return item.path.relative_to(item.config.rootpath).as_posix()
    fixtures = getattr(item, "fixturenames", ())
    if "built_book" in fixtures:
        return BOOK_GROUP
    if "student_build" in fixtures:
        return STUDENT_GROUP
    return None


def chapters_run_by_the_book_build(config, items) -> list:
    """nbval's cells of the chapters, where this run also builds the book (a selected test asks for
    ``built_book``): the build executes every chapter already, top to bottom, and fails on any error
    (``test_book.test_a_notebook_that_raises_fails_the_build``), so nbval's second execution of the same
    cells adds nothing. ``tests/test_notebooks.py::test_every_cell_ran_in_the_book_build`` reads the
    build's executed chapters instead. In a run without the book (``-m "not slow"``) nbval runs them."""
    if not any("built_book" in getattr(item, "fixturenames", ()) for item in items):
        return []
    chapters = config.rootpath / "notebooks"
    return [item for item in items
            if type(item).__name__ == "IPyNbCell" and item.path.parent == chapters]


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected what they deselect
def pytest_collection_modifyitems(config, items):
    duplicates = chapters_run_by_the_book_build(config, items)
    if duplicates:
        config.hook.pytest_deselected(items=duplicates)
        gone = set(map(id, duplicates))
        items[:] = [item for item in items if id(item) not in gone]
    path = getattr(config, "workerinput", {}).get(_GROUPS_OPTION)
    if path is None:
        return
    groups = {item.nodeid: group for item in items if (group := test_group(item))}
    partial = Path(f"{path}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(groups), encoding="utf-8")
    os.replace(partial, path)  # every worker writes the same: the last one wins


def scope_cost(scope: str, nodeids) -> float:
    """Rough seconds of one unit of work (a group, or one test), for the order of hand-out."""
    if scope == BOOK_GROUP:
        return 600.0
    if scope == STUDENT_GROUP:
        return 250.0
    if scope.startswith("notebooks/") and scope.endswith(".ipynb"):
        return 20.0
    return sum(HEAVY_TESTS.get(nodeid.split("::")[-1].split("[")[0], 1.0) for nodeid in nodeids)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup``: the groups of :func:`test_group`, the costliest unit of work first."""
    if config.getvalue("dist") != "loadgroup":
        return None
    return make_group_scheduling(config, log, config.stash.get(_groups_key, None))


def make_group_scheduling(config, log, groups_file: Path | None):
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        """Units of work are :func:`test_group`'s groups (read from ``groups_file``, which the workers
        wrote while collecting) and single tests; the costliest unit is handed out first."""

        _groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            notebook = nodeid.split("::", 1)[0]
            if notebook.endswith(".ipynb"):  # nbval's cells, by their nodeid alone
                return notebook
            if self._groups is None:
                if groups_file is None or not groups_file.is_file():
                    raise RuntimeError(f"the workers wrote no test groups ({groups_file}): the book would be "
                                       "built on every worker; run without -n, or report this")
                self._groups = json.loads(groups_file.read_text(encoding="utf-8"))
            return self._groups.get(nodeid, nodeid)

        def _assign_work_unit(self, node):
            if self.workqueue:
                scope = max(self.workqueue, key=lambda s: scope_cost(s, self.workqueue[s]))
                self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return GroupScheduling(config, log)
