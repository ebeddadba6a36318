"""Shared machinery of the exercise checks: one failure type and one way to say "passed"."""

from __future__ import annotations

import re


class CheckFailed(AssertionError):
    """An exercise answer is wrong. The message explains what, in the learner's terms.

    It subclasses ``AssertionError`` so that autograders (nbgrader, otter) count it as a
    failed test, but it is raised with a full sentence, never bare.
    """


def fail(message: str) -> None:
    """Raise :class:`CheckFailed` with ``message`` (kept as the learner will read it)."""
    raise CheckFailed(message)


def passed(message: str) -> None:
    """Print the one-line confirmation of a passing check, ``✔ message``.

    It returns nothing, on purpose: a check called as the last line of a notebook cell then prints
    its line once (a returned string would be echoed a second time), and nbgrader, which reads a
    test cell's result as a partial score, sees no stray value.
    """
    print(f"✔ {message}")


def _first_line(exc: BaseException) -> str:
    """The informative first line of an error (Keras wraps errors raised inside a layer's ``call``)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.startswith("Exception encountered when calling")]
    return lines[0] if lines else ""


def call_answer(func, *args, name: str | None = None, hint: str = "", **kwargs):
    """Call a learner's function; turn "not written yet" and crashes into readable failures.

    A stub's ``NotImplementedError`` says the exercise is still to do; any other exception
    says which error the learner's code raised (its traceback stays attached, chained), plus
    ``hint`` when given.
    """
    label = name or getattr(func, "__name__", "your function")
    if not callable(func):
        fail(f"Expected a function for {label}, got {type(func).__name__}. Pass the function itself, without ().")
    try:
        return func(*args, **kwargs)
    except NotImplementedError:
        fail(f"{label} still raises NotImplementedError: replace the line 'raise NotImplementedError(...)' "
             "with your code, run that cell, then run this check again.")
    except CheckFailed:
        raise
    except Exception as exc:  # the learner's code crashed: say so in words, keep the traceback chained
        message = f"{label} raised {type(exc).__name__}: {_first_line(exc)}"
        raise CheckFailed(f"{message}. {hint}".rstrip() if hint else
                          f"{message}. The traceback above shows the line of your code where it happened.") from exc
