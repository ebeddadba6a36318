"""Fixtures shared by the test modules of tests/: a check's passing line, the one book build of a test
session, one Spark session and one small synthetic data set per test session (starting Spark costs
seconds; every Spark test reuses the same session).

Every test that reads the built book asks for ``built_book``: the root conftest.py keeps those tests
on one pytest-xdist worker, so the book is built once per run (``test_book.build_once``)."""

from __future__ import annotations

from pathlib import Path

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


@pytest.fixture(scope="session")
def built_book() -> Path:
    """The HTML folder of the whole book, built from scratch once per test session (test_book.build_once)."""
    from test_book import build_once

    return build_once()


@pytest.fixture(scope="session")
def spark_session():
    """A local[2] SparkSession (quiet, bound to 127.0.0.1), stopped when the test session ends.

    Fails with the one message of :func:`cfcourse.spark.spark_problem` where Java or PySpark is missing.
    """
    from cfcourse import spark

    session = spark.start_session(2, app_name="cfcourse-tests", driver_memory="1g", small_data=True)
    try:
        yield session
    finally:
        spark.stop_session(session)


@pytest.fixture(scope="session")
def tiny_synthetic(tmp_path_factory):
    """6,000 synthetic MovieLens-like ratings of 400 movies (train/valid Parquet files), generated once."""
    from cfcourse import synthetic

    return synthetic.generate(6_000, tmp_path_factory.mktemp("synthetic") / "tiny", seed=7, chunk_ratings=2_000,
                              n_movies=400)
