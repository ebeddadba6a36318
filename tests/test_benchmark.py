"""The benchmark prints one table with the figures it measured (no timing is asserted)."""

import numpy as np
import pandas as pd
import pytest

from cfcourse import benchmark


def test_classical_rows_print_real_figures(capsys):
    assert benchmark.main(["--only", "user + movie"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.strip().startswith("user + movie biases"))
    assert "0.862" in row and "validation RMSE" in out


def test_reference_rmses_on_default_split(capsys):
    benchmark.main(["--only", "global mean"])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.strip().startswith("global mean"))
    assert "1.0368" in row


def test_summary_reports_mean_and_sd_over_seeds():
    raw = pd.DataFrame([
        dict(model="m", recipe="course", seed=42, best_epoch=3, val_rmse=0.84, seconds=2.0, examples_per_second=1e5),
        dict(model="m", recipe="course", seed=43, best_epoch=5, val_rmse=0.86, seconds=4.0, examples_per_second=3e5),
        dict(model="m", recipe="post", seed=42, best_epoch=4, val_rmse=0.85, seconds=60.0, examples_per_second=1e4),
    ])
    table = benchmark.summarise(raw)
    course = table[table.recipe == "course"].iloc[0]
    assert course.val_rmse == pytest.approx(0.85) and course.val_rmse_sd == pytest.approx(np.std([0.84, 0.86], ddof=1))
    assert course.seeds == 2 and course.best_epoch == 4
    text = benchmark.format_table(table)
    assert "0.8500 ± 0.0141" in text and "best epoch" in text
    line = benchmark.comparison(table, model="m")
    assert "20.0x faster" in line and "+0.0000" in line


def test_unknown_filter_is_a_clear_error():
    with pytest.raises(ValueError, match="no benchmark entry matches 'nothing-like-this'"):
        benchmark.run_benchmark(None, [42], only="nothing-like-this")


def test_bad_seed_count_is_rejected(capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--seeds", "0"])
    assert "--seeds must be at least 1" in capsys.readouterr().err


def test_native_log_lines_are_dropped_from_stderr_and_the_rest_kept():
    """TensorFlow's C++ lines (Abseil's format) never reach the terminal; other stderr lines do."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent('''
        import os, sys
        from cfcourse.benchmark import without_native_logs
        with without_native_logs():
            os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n")
            os.write(2, b"I0000 00:00:1795490724.421653   20414 port.cc:153] oneDNN custom operations are on.\\n")
            os.write(2, b"E0000 00:00:1795490728.824512   20414 node_def_util.cc:682] NodeDef mentions\\n")
            print("  training simple dot [course] seed 42 ...", file=sys.stderr, flush=True)
        print("after", file=sys.stderr, flush=True)
        print("table on stdout")
    ''')
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == ["  training simple dot [course] seed 42 ...", "after"]
    assert result.stdout == "table on stdout\n"


def test_bench_prints_no_tensorflow_log_lines():
    """The whole command, as `python3 tasks.py bench` runs it: only the benchmark's own lines."""
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "cfcourse.benchmark", "--only", "simple dot"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert not [line for line in result.stderr.splitlines() if benchmark.NATIVE_LOG_LINE.match(line.encode())]
    assert result.stderr.splitlines() == ["  training simple dot [course] seed 42 ..."]
    assert "simple dot" in result.stdout and "validation RMSE" in result.stdout
