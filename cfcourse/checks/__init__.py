"""Checks for the coding exercises: ``from cfcourse.checks import check_rmse`` and so on.

Each ``check_*`` function takes the learner's answer, prints one line starting with ✔ when it is right
(and returns ``None``, so that a check cell shows that line once and nbgrader reads no score from it)
and raises :class:`CheckFailed` with an explanation when it is not. The checks live in one
module per chapter (``cfcourse.checks.chNN_*``); this package finds them by name, lazily,
so importing it does no work.
"""

from __future__ import annotations

import importlib
import pkgutil

from ._base import CheckFailed, passed

__all__ = ["CheckFailed", "passed", "all_checks"]


def _chapter_modules():
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("ch"):
            yield importlib.import_module(f"{__name__}.{info.name}")


def all_checks() -> dict:
    """Every ``check_*`` function of every chapter, by name."""
    found: dict = {}
    for module in _chapter_modules():
        for name in dir(module):
            func = getattr(module, name)
            if not (name.startswith("check_") and callable(func)) or getattr(func, "__module__", "") != module.__name__:
                continue
            if name in found:
                raise RuntimeError(f"{name} is defined in both {found[name].__module__} and {module.__name__}: "
                                   "check names must be unique across chapters")
            found[name] = func
    return found


def __getattr__(name: str):
    if name.startswith("check_"):
        checks = all_checks()
        if name in checks:
            return checks[name]
    raise AttributeError(f"module 'cfcourse.checks' has no attribute {name!r}")
