"""Spark: one clear message when Java or PySpark is missing, a quiet local session, and ALS on tiny
data (what the chapter claims about it: ALS-WR's ridge regressions, coldStartStrategy)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

from cfcourse import parquet
from cfcourse import spark as cfspark

# --------------------------------------------------------------------------------------
# Without Java or PySpark
# --------------------------------------------------------------------------------------


@pytest.fixture
def no_java(tmp_path, monkeypatch):
    """A PATH with Python but no java, and no JAVA_HOME."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    return bin_dir


def fake_java(folder: Path, version_line: str) -> Path:
    java = folder / "java"
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IXUSR)
    return java


def test_no_java_is_one_message_saying_what_to_install(no_java):
    problem = cfspark.spark_problem()
    assert problem.startswith("Spark is not available: it needs Java 17 or 21, and none was found")
    assert "no `java` on the PATH and JAVA_HOME is not set" in problem
    assert "openjdk-17" in problem and "JAVA_HOME" in problem and "\n" not in problem
    with pytest.raises(cfspark.SparkUnavailable) as info:
        cfspark.start_session(1)
    assert str(info.value) == problem
    assert info.value.__cause__ is None


def test_java_home_without_java_is_named(no_java, tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    assert f"JAVA_HOME is set to {tmp_path / 'jdk'}, which holds no bin/java" in cfspark.spark_problem()


@pytest.mark.skipif(os.name == "nt", reason="a shell-script java needs a POSIX shell")
def test_an_old_java_is_refused_with_its_version(no_java):
    fake_java(no_java, 'openjdk version "11.0.22" 2024-01-16')
    assert cfspark.java_version(no_java / "java") == 11
    problem = cfspark.spark_problem()
    assert "needs Java 17 or 21" in problem and "is Java 11" in problem
    fake_java(no_java, 'java version "1.8.0_401"')
    assert cfspark.java_version(no_java / "java") == 8
    fake_java(no_java, 'openjdk version "21.0.2" 2024-01-16')
    assert cfspark.java_version(no_java / "java") == 21 and cfspark.spark_problem() is None


def test_missing_pyspark_is_one_message_saying_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark", None)  # as if it were not installed
    problem = cfspark.spark_problem()
    assert problem == ("Spark is not available: the Python package(s) pyspark are not installed. "
                       + cfspark.INSTALL_PYSPARK)
    with pytest.raises(cfspark.SparkUnavailable, match=r"pip install -e '\.\[spark\]'"):
        cfspark.require_spark()


def test_the_scale_benchmark_stops_with_the_message(no_java, capsys):
    from cfcourse import benchmark

    assert benchmark.main(["--scale", "1e4"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("The scale benchmark needs Spark. Spark is not available: it needs Java 17 or 21")
    assert "Traceback" not in err


def test_notebook_cells_are_skipped_without_spark(no_java, capsys):
    """The chapter's first cell: one message, and every later '# needs Spark' cell replaced by a note."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        problem = cfspark.skip_cells_without_spark()
        assert problem.startswith("Spark is not available")
        shell.run_cell("# needs Spark\nraise RuntimeError('this cell should not run')")
        shell.run_cell("after = 1 + 1")
        out = capsys.readouterr().out
        assert problem in out and cfspark.SKIPPED in out and "should not run" not in out
        assert shell.user_ns["after"] == 2
        skippers = [t for t in shell.input_transformers_post if isinstance(t, cfspark._SkipSparkCells)]
        assert len(skippers) == 1
    finally:
        shell.input_transformers_post[:] = [t for t in shell.input_transformers_post
                                            if not isinstance(t, cfspark._SkipSparkCells)]
        InteractiveShell.clear_instance()


def test_bad_core_counts_are_refused():
    for cores in (0, -1, "2", True, 1.5):
        with pytest.raises(ValueError, match="cores must be a positive number of cores or '\\*'"):
            cfspark.start_session(cores)


# --------------------------------------------------------------------------------------
# With Spark (Java 17 or 21 and pyspark, as in CI): one shared session, tiny data
# --------------------------------------------------------------------------------------


def test_the_session_is_local_quiet_and_bound_to_localhost(spark_session):
    conf = spark_session.sparkContext.getConf()
    assert spark_session.sparkContext.master == "local[2]"
    assert conf.get("spark.ui.enabled") == "false" and spark_session.sparkContext.uiWebUrl is None
    assert conf.get("spark.driver.host") == "127.0.0.1" and conf.get("spark.driver.bindAddress") == "127.0.0.1"
    assert spark_session.sparkContext.getLogLevel() if hasattr(spark_session.sparkContext, "getLogLevel") else True


def test_parquet_written_by_pyarrow_reads_back_exactly(spark_session, tmp_path):
    pairs = np.array([[0, 1], [2, 3], [4, 5]])
    path = parquet.write_ratings(tmp_path / "r.parquet", pairs, np.array([1.0, 2.5, 5.0]), np.array([7, 8, 9]))
    rows = sorted(tuple(r) for r in cfspark.read_ratings(spark_session, path).collect())
    assert rows == [(0, 1, 1.0, 7), (2, 3, 2.5, 8), (4, 5, 5.0, 9)]


@pytest.fixture(scope="module")
def tiny_als(spark_session, tiny_synthetic):
    train = cfspark.read_ratings(spark_session, tiny_synthetic.train)
    model = cfspark.fit_als(train, rank=4, max_iter=8, reg_param=0.1, blocks=2)
    return train, model


def test_als_beats_the_mean_and_counts_cold_pairs(spark_session, tiny_synthetic, tiny_als):
    train, model = tiny_als
    valid = cfspark.read_ratings(spark_session, tiny_synthetic.valid)
    mean = cfspark.mean_rating(train)
    result = cfspark.evaluate_als(model, valid, fallback=mean)
    from pyspark.sql import functions as F

    mean_rmse = valid.select(F.sqrt(F.avg((F.col("rating") - F.lit(mean)) ** 2))).first()[0]
    assert result.n == tiny_synthetic.n_valid
    assert result.rmse < mean_rmse - 0.02, (result.rmse, mean_rmse)
    # pairs of an unknown user and an unknown movie: NaN predictions, counted and given the fallback
    extra = spark_session.createDataFrame([(10_000, 1, 4.0), (1, 99_999, 2.0)], "user int, movie int, rating float")
    with_cold = cfspark.evaluate_als(model, valid.select("user", "movie", "rating").unionByName(extra), fallback=mean)
    assert with_cold.n == result.n + 2 and with_cold.n_cold == result.n_cold + 2
    assert with_cold.rmse_known == pytest.approx(result.rmse_known)
    assert model.setColdStartStrategy("drop").transform(extra).count() == 0
    assert model.setColdStartStrategy("nan").transform(extra).filter(F.isnan("prediction")).count() == 2


def test_als_user_vectors_are_als_wr_ridge_solutions(tiny_synthetic, tiny_als):
    """What the chapter shows: each user's vector solves (Y^T Y + regParam * n_u * I) x = Y^T r."""
    from cfcourse.checks.ch11_beyond_one_machine import _ridge

    train, model = tiny_als
    users, known_users = cfspark.factor_matrix(model.userFactors, tiny_synthetic.n_users)
    movies, known_movies = cfspark.factor_matrix(model.itemFactors, tiny_synthetic.n_movies)
    assert users.shape == (tiny_synthetic.n_users, 4) and known_users.all()
    assert known_movies.sum() == train.select("movie").distinct().count()
    assert not movies[~known_movies].any()
    rows = np.array([(r["user"], r["movie"], r["rating"]) for r in train.collect()])
    for u in (0, 3):
        mine = rows[rows[:, 0] == u]
        Y = movies[mine[:, 1].astype(int)].astype(np.float64)
        x = _ridge(Y, mine[:, 2], 0.1 * len(mine))
        np.testing.assert_allclose(users[u], x, atol=2e-4)
        assert np.abs(_ridge(Y, mine[:, 2], 0.1) - users[u]).max() > 0.01  # not plain ridge


def test_factor_ids_outside_the_table_are_refused(tiny_synthetic, tiny_als):
    _, model = tiny_als
    with pytest.raises(ValueError, match="outside 0..2"):
        cfspark.factor_matrix(model.userFactors, 3)


# --------------------------------------------------------------------------------------
# The class archive that makes later sessions start faster
# --------------------------------------------------------------------------------------


def _write_note(partial: Path, pid: int, classpath: str) -> None:
    import json

    partial.with_suffix(".jvm").write_text(json.dumps({"pid": pid, "classpath": classpath}))


def _dead_pid() -> int:
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def archive_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CFCOURSE_CACHE", str(tmp_path / "cache"))
    folder = cfspark.class_archive_folder()
    folder.mkdir(parents=True)
    return folder


def test_a_finished_archive_is_checked_then_used(archive_cache, tmp_path):
    import subprocess

    java = cfspark.find_java()
    key = cfspark._archive_key(java)
    partial = archive_cache / f"{key}.abc.partial"
    written = subprocess.run([str(java), f"-XX:ArchiveClassesAtExit={partial}", *cfspark._QUIET_ARCHIVE,
                              *cfspark.SMALL_DATA_JAVA_OPTIONS, "-cp", str(tmp_path), "-version"],
                             capture_output=True)
    assert written.returncode == 0 and partial.stat().st_size > 0
    _write_note(partial, _dead_pid(), str(tmp_path))

    options, writes = cfspark._class_archive_options(java)
    final = archive_cache / f"{key}.jsa"
    assert final.is_file() and not partial.exists() and not partial.with_suffix(".jvm").exists()
    assert writes is None and f"-XX:SharedArchiveFile={final}" in options


def test_a_broken_or_unfinished_archive_is_never_used(archive_cache, tmp_path):
    java = cfspark.find_java()
    key = cfspark._archive_key(java)
    broken = archive_cache / f"{key}.broken.partial"      # its JVM died half-way through writing it
    broken.write_bytes(b"\0" * 4096)
    _write_note(broken, _dead_pid(), str(tmp_path))
    writing = archive_cache / f"{key}.writing.partial"    # its JVM (here: this process) still runs
    writing.write_bytes(b"\0" * 4096)
    _write_note(writing, os.getpid(), str(tmp_path))

    options, writes = cfspark._class_archive_options(java)
    assert not broken.exists() and not broken.with_suffix(".jvm").exists()
    assert writing.exists() and not (archive_cache / f"{key}.jsa").exists()
    assert writes is not None and writes.parent == archive_cache and writes.name.endswith(".partial")
    assert options[0] == f"-XX:ArchiveClassesAtExit={writes}"


def test_a_session_in_a_fresh_process_writes_then_reads_the_archive(tmp_path):
    import subprocess

    env = dict(os.environ, CFCOURSE_CACHE=str(tmp_path / "cache"))
    script = ("from cfcourse import spark\n"
              "s = spark.start_session(1, small_data=True)\n"
              "print(s.range(10).count())\n")
    folder = tmp_path / "cache" / "spark-classes"

    def run_once():
        run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True,
                             timeout=300)
        assert run.returncode == 0 and run.stdout.strip() == "10", run.stderr[-2000:]
        assert "[cds" not in run.stdout + run.stderr  # the JVM's archive messages are kept quiet

    run_once()
    import json
    import time

    (note,) = folder.glob("*.jvm")
    pid = json.loads(note.read_text())["pid"]
    deadline = time.monotonic() + 120
    while cfspark._pid_alive(pid) and time.monotonic() < deadline:  # it writes the archive as it exits
        time.sleep(0.5)
    run_once()
    # The second start checked the first JVM's archive, took it, and wrote none of its own.
    assert sorted(p.suffix for p in folder.iterdir()) == [".jsa"]
