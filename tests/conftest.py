"""Fixtures shared by the test modules of tests/."""

from __future__ import annotations

import pytest


@pytest.fixture
def passes(capsys):
    """``passes(check, answer)`` asserts that ``check`` accepts ``answer`` the way a check cell needs:
    it returns ``None`` and prints exactly one line, starting with ✔. Returns that line."""

    def run(check, *answer):
        capsys.readouterr()
        result = check(*answer)
        assert result is None, f"{check.__name__} returned {result!r}: a check prints its line and returns None"
        out = capsys.readouterr().out
        assert out.startswith("✔ ") and out.endswith("\n") and out.count("\n") == 1, repr(out)
        return out.strip()

    return run
