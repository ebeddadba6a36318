"""Root pytest configuration.

- The chapters' .ipynb twins are generated before collection, so that nbval (``--nbval-lax``, see
  pyproject.toml) runs every chapter as a test.
- Under pytest-xdist (``python3 tasks.py test`` runs one worker per core with ``--dist loadgroup``):
  the cells of one notebook form one group (nbval runs them in order in one kernel), and every test
  that reads the built book (``built_book``, tests/conftest.py) is in the group ``book``, and every one
  that reads the student build (``student_build``, tests/test_student.py) in ``student``, so each is
  built once, on one worker. The costliest work is handed out first (:func:`scope_cost`), so that no
  worker is left with a long test at the end while the other is idle.
"""

from __future__ import annotations

import pytest

from tasks import sync_notebooks

#: The xdist groups of the tests that read the one book build, and the one student build, of a session.
BOOK_GROUP, STUDENT_GROUP = "book", "student"
#: Rough seconds of the tests that take much longer than the rest (on 2 cores); others count 1 s each,
#: a notebook 20 s, the book group 600 s and the student group 250 s. Only the order in which work is handed out depends on it.
HEAVY_TESTS = {
    "test_real_nbgrader_flow": 120,
    "test_page_runs_with_its_hidden_cells_removed": 20,
}


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # an xdist worker: the controller has written them already
        sync_notebooks()


def _group(item) -> str | None:
    if type(item).__name__ == "IPyNbCell":  # nbval: one notebook, one kernel, cells in order
        return item.path.relative_to(item.config.rootpath).as_posix()
    if "built_book" in getattr(item, "fixturenames", ()):
        return BOOK_GROUP
    if "student_build" in getattr(item, "fixturenames", ()):
        return STUDENT_GROUP
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        group = _group(item)
        if group and not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(group))


def scope_cost(scope: str, nodeids) -> float:
    """Rough seconds of one unit of work (an xdist group, or one test) for the order of hand-out."""
    if scope == BOOK_GROUP:
        return 600.0
    if scope == STUDENT_GROUP:
        return 250.0
    if scope.startswith("notebooks/") and scope.endswith(".ipynb"):
        return 20.0
    return sum(HEAVY_TESTS.get(nodeid.split("::")[-1].split("[")[0].split("@")[0], 1.0) for nodeid in nodeids)


def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` that hands out the costliest unit of work first (instead of the one with most tests)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class CostliestFirst(LoadGroupScheduling):
        def _assign_work_unit(self, node):
            if self.workqueue:
                scope = max(self.workqueue, key=lambda s: scope_cost(s, self.workqueue[s]))
                self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return CostliestFirst(config, log)
