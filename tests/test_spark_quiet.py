"""Spark's JVM start-up noise (the incubator-module note, the log-level banner, netlib's failed look-up
of a native BLAS) is kept out of stderr, and everything else it writes still shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from cfcourse import spark

NOISE = [
    "WARNING: Using incubator modules: jdk.incubator.vector",
    'Setting default log level to "WARN".',
    "To adjust logging level use sc.setLogLevel(newLevel). For SparkR, use setLogLevel(newLevel).",
    'Setting Spark log level to "ERROR".',
    "netlib-blas: JNI_OnLoad: dlopen(libblas.so.3) failed: libblas.so.3: cannot open shared object file",
    "netlib-lapack: JNI_OnLoad: dlopen(liblapack.so.3) failed: liblapack.so.3: cannot open shared object file",
]


@pytest.mark.parametrize("line", NOISE)
def test_startup_lines_are_noise(line):
    assert spark.is_startup_noise(line)


@pytest.mark.parametrize("line", ["ERROR Executor: Exception in task 0.0", "java.lang.OutOfMemoryError: Java heap",
                                  "WARNING: something else", "netlib-blas: using native BLAS"])
def test_other_lines_are_not_noise(line):
    assert not spark.is_startup_noise(line)


def test_a_child_started_while_quiet_keeps_its_errors_and_loses_the_noise():
    """A process started inside the context (as Spark's JVM is) writes to stderr for its whole life."""
    lines = NOISE + ["a real error the reader must see"]
    child = ("import json, os, sys, time; time.sleep(0.3); "
             "sys.stderr.write(chr(10).join(json.loads(os.environ['LINES'])) + chr(10))")
    program = textwrap.dedent(f"""
        import subprocess, sys, time
        from cfcourse import spark
        with spark._quiet_jvm_stderr():
            process = subprocess.Popen([sys.executable, "-c", {child!r}])
        sys.stderr.write("after the context" + chr(10))
        process.wait()
        time.sleep(0.3)
    """)
    run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "LINES": json.dumps(lines)})
    assert run.returncode == 0, run.stderr
    assert "a real error the reader must see" in run.stderr
    assert "after the context" in run.stderr
    for line in NOISE:
        assert line not in run.stderr
