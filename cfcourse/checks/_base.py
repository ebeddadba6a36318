"""Shared machinery of the exercise checks: one failure type and one way to say "passed"."""

from __future__ import annotations


class CheckFailed(AssertionError):
    """An exercise answer is wrong. The message explains what, in the learner's terms.

    It subclasses ``AssertionError`` so that autograders (nbgrader, otter) count it as a
    failed test, but it is raised with a full sentence, never bare.
    """


def fail(message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` (kept as the learner will read it)."""
    raise CheckFailed(message)


def passed(message: str) -> str:
    """Print and return the one-line confirmation of a passing check."""
    line = f"✔ {message}"
    print(line)
    return line


def call_answer(func, *args, name: str | None = None, **kwargs):
    """Call a learner's function, turning "not written yet" into a readable failure."""
    label = name or getattr(func, "__name__", "your function")
    if not callable(func):
        fail(f"Expected a function for {label}, got {type(func).__name__}. Pass the function itself, without ().")
    try:
        return func(*args, **kwargs)
    except NotImplementedError:
        fail(f"{label} still raises NotImplementedError: replace the `raise NotImplementedError(...)` line "
             "with your code, run that cell, then run this check again.")
