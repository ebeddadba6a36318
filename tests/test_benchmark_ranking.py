"""python3 tasks.py bench --ranking: one table of recommenders on the ranking protocol (no timing is asserted)."""

import pytest

from cfcourse import benchmark, ranking


def test_ranking_entries_cover_the_baselines_and_the_course_models():
    names = [entry.name for entry in benchmark.ranking_entries()]
    assert names[:6] == ["random", "popularity", "PureSVD", "EASE", "rating model (dot + bias)",
                         "ranking model (softmax)"]
    assert {"deep rating model (genres + year)", "MLCC softmax (bag + genres)"} <= set(names)
    assert names[-5:] == ["bag of movies (mean)", "GRU", "causal self-attention", "ALS (Spark), ratings",
                          "ALS (Spark), implicit"]
    for entry in benchmark.ranking_entries():
        model = entry.build()
        assert hasattr(model, "fit") and hasattr(model, "score") and not hasattr(model, "fitted_shape_")


def test_ranking_table_prints_measured_figures(capsys):
    assert benchmark.main(["--ranking", "--only", "popularity"]) == 0
    out = capsys.readouterr().out
    assert "each user's last 3 ratings are the test part" in out
    header = next(line for line in out.splitlines() if line.strip().startswith("HR@10"))
    for column in ("low", "high", "NDCG@10", "MRR", "coverage %", "popularity pct", "training s"):
        assert column in header
    row = next(line for line in out.splitlines() if line.startswith("popularity"))
    assert row.split()[1:4] == ["0.039", "0.030", "0.049"]
    assert "How many ratings to hold out" not in out  # only with the whole table


def test_run_ranking_benchmark_evaluates_every_entry_it_is_given():
    from ranking_data import random_encoded
    from cfcourse import recommenders as rec

    split = ranking.temporal_split(random_encoded(), 2)
    entries = [benchmark.RankingEntry("pop", rec.Popularity), benchmark.RankingEntry("ease", lambda: rec.EASE(lam=5.0))]
    table = benchmark.run_ranking_benchmark(split, entries)
    assert table.index.tolist() == ["pop", "ease"] and table["training s"].notna().all()
    with pytest.raises(ValueError, match="no ranking benchmark entry matches 'nothing-like-this'"):
        benchmark.run_ranking_benchmark(split, entries, only="nothing-like-this")


def test_an_entry_that_cannot_run_here_is_skipped_with_its_reason():
    from ranking_data import random_encoded
    from cfcourse import recommenders as rec

    split = ranking.temporal_split(random_encoded(), 2)
    messages = []
    entries = [benchmark.RankingEntry("pop", rec.Popularity),
               benchmark.RankingEntry("needs Java", rec.Popularity, lambda: "Spark is not available: install Java")]
    table = benchmark.run_ranking_benchmark(split, entries, progress=messages.append)
    assert table.index.tolist() == ["pop"]
    assert messages == ["pop", "needs Java: skipped. Spark is not available: install Java"]


def test_ranking_refuses_the_rmse_options(capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--ranking", "--seeds", "2"])
    assert "--ranking runs one seed of each recommender" in capsys.readouterr().err
