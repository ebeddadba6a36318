"""The scale benchmark's pieces (sizes, table, ratios, peak memory) and, marked slow, one tiny run
of the whole ``bench --scale`` command with its worker processes. The real measurement (up to 25
million ratings) is not part of the test suite."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cfcourse import benchmark, scaling


def test_sizes_are_parsed_sorted_and_checked():
    assert scaling.parse_sizes("1e6, 1e5,2.5e7,1e5") == [100_000, 1_000_000, 25_000_000]
    assert scaling.parse_sizes("20_000") == [20_000]
    for text, message in (("abc", "is not a number"), ("1e5,2.5", "whole numbers"), ("100", "at least 1,000"),
                          (" , ", "at least one size"), ("inf", "whole numbers")):
        with pytest.raises(ValueError, match=message):
            scaling.parse_sizes(text)


def test_bad_sizes_stop_the_benchmark_with_a_message(capsys):
    assert benchmark.main(["--scale", "1e5,lots"]) == 2
    assert "--scale takes sizes like 1e5,1e6,2.5e7; 'lots' is not a number" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        benchmark.main(["--scale", "1e5", "--keras-passes", "0"])


def test_measure_in_session_names_the_engines_it_knows(tmp_path):
    """A misspelt or empty engine list is refused before anything is generated or fitted."""
    for engines in (("spark",), (), ("als", "torch")):
        with pytest.raises(ValueError, match="engines must name 'als', 'keras' or both"):
            scaling.measure_in_session(None, [1_000], tmp_path, engines=engines)
    assert list(tmp_path.iterdir()) == []


def test_labels():
    assert [scaling.label(n) for n in (999, 100_000, 1_000_000, 2_500_000, 25_000_000)] == [
        "999", "100k", "1M", "2.5M", "25M"]


def fake_table() -> pd.DataFrame:
    rows = []
    for size, als, keras in ((100_000, 40.0, 10.0), (10_000_000, 8.0, 30.0)):
        for engine, cost in (("ALS", als), ("Keras", keras)):
            n_train = int(size * 0.8)
            rows.append(dict(size=size, engine=engine, n_train=n_train, passes=2, seconds=cost * n_train / 1e6 * 2,
                             s_per_m_per_pass=cost, peak_mb=1234.5, rmse=0.9, noise_floor=0.75, users=645,
                             movies=9_697, generate_s=1.0))
    return pd.DataFrame(rows)


def test_table_and_cost_ratios():
    table = fake_table()
    ratios = scaling.cost_ratios(table)
    assert ratios["ALS"] == pytest.approx(0.2) and ratios["Keras"] == pytest.approx(3.0)
    text = scaling.format_scale_table(table)
    assert "s / M ratings / pass" in text and "100k" in text and "10M" in text and "1,234" in text
    assert "40.00" in text and "0.750" in text
    assert scaling.cost_ratios(table[table["size"] == 100_000]).empty


def test_peak_memory_sees_an_allocation():
    with scaling.PeakMemory(interval=0.01) as before:
        pass
    with scaling.PeakMemory(interval=0.01) as during:
        block = np.ones(80 * 2**20 // 8)  # 80 MB, touched
        assert block.sum() > 0
    assert during.megabytes > before.megabytes + 60


def test_the_command_prints_the_table_and_the_ratios(tmp_path, monkeypatch, capsys):
    """``bench --scale`` end to end, with the measurements replaced by a made-up table."""
    seen = {}

    def fake_run(sizes, root, settings, engines=scaling.ENGINES, progress=None):
        seen.update(sizes=sizes, root=root, settings=settings)
        return fake_table()

    monkeypatch.setattr(scaling, "run_scale", fake_run)
    monkeypatch.setattr("cfcourse.spark.spark_problem", lambda: None)
    assert benchmark.main(["--scale", "1e7,1e5", "--scale-dir", str(tmp_path), "--als-iterations", "3",
                           "--keras-batch", "1024"]) == 0
    out = capsys.readouterr().out
    assert seen["sizes"] == [100_000, 10_000_000] and seen["root"] == tmp_path
    assert seen["settings"].als_iterations == 3 and seen["settings"].keras_batch == 1024
    assert "ALS rank 10, 3 iterations" in out and "s / M ratings / pass" in out
    assert "Cost per rating per pass at 10M relative to 100k:" in out
    assert "  ALS: 0.20x" in out and "  Keras: 3.00x" in out


@pytest.mark.slow
def test_the_worker_processes_measure_a_tiny_data_set(tmp_path):
    """The real measurements on one tiny size, each in its own process: ALS in local[1], and Keras."""
    settings = scaling.ScaleSettings(als_iterations=2, keras_passes=1, keras_batch=512, spark_memory="1g")
    table = scaling.run_scale([4_000], tmp_path, settings, engines=("als-1", "keras"))
    assert table["engine"].tolist() == ["Spark ALS, local[1]", "Keras dot + bias, streaming"]
    assert table["passes"].tolist() == [2, 1] and (table["n_train"] > 2_500).all()
    for column in ("seconds", "s_per_m_per_pass", "peak_mb", "rmse"):
        assert np.isfinite(table[column]).all() and (table[column] > 0).all(), column
    assert (table["peak_mb"] > 100).all()  # a Python process with TensorFlow or a JVM child
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ratings-4000-seed42"]
