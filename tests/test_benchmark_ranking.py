"""python3 tasks.py bench --ranking: one table of recommenders on the ranking protocol (no timing is asserted)."""

import numpy as np
import pytest

from cfcourse import benchmark, ranking


def test_ranking_entries_cover_the_baselines_and_the_course_models():
    names = [entry.name for entry in benchmark.ranking_entries()]
    assert names[:6] == ["random", "popularity", "PureSVD", "EASE", "rating model (dot + bias)",
                         "ranking model (softmax)"]
    assert {"deep rating model (genres + year)", "MLCC softmax (bag + genres)",
            "recent movies' neighbours"} <= set(names)
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


def test_the_mlcc_row_runs_on_index_lists_and_the_recency_row_runs():
    """The code path of the MLCC row (a BagSoftmaxRecommender fitted and evaluated by the benchmark), small."""
    import numpy as np
    import pandas as pd

    from cfcourse.bags import BagSoftmaxRecommender
    from ranking_data import random_encoded

    encoded = random_encoded(n_users=30, n_movies=40, per_user=(20, 30))
    split = ranking.temporal_split(encoded, n_test=2, n_valid=2)
    movies = pd.DataFrame({"movieId": encoded.movies.raw_ids, "title": [f"Film {i} (2000)" for i in range(40)],
                           "genres": ["Drama" if i % 2 else "Comedy" for i in range(40)]})
    mlcc = next(e for e in benchmark.ranking_entries() if e.name.startswith("MLCC"))
    assert isinstance(mlcc.build(), BagSoftmaxRecommender)
    small = benchmark.RankingEntry(mlcc.name, lambda: BagSoftmaxRecommender(
        movies, embedding_dim=4, hidden=(8,), window=3, epochs=2, batch_size=16))
    recent = next(e for e in benchmark.ranking_entries() if e.name == "recent movies' neighbours")
    table = benchmark.run_ranking_benchmark(split, entries=[small, recent])
    assert list(table.index) == [mlcc.name, "recent movies' neighbours"]
    assert np.all((table["HR@10"] >= 0) & (table["HR@10"] <= 1))


@pytest.mark.slow  # trains two small attention models (about 10-30 s)
def test_attention_rows_train_each_ablation_and_pair_it_with_the_full_model_and_ease():
    from ranking_data import runs_encoded

    split = ranking.temporal_split(runs_encoded(), n_test=1, n_valid=1)
    tiny = dict(max_length=8, embedding_dim=8, blocks=1, epochs=2, patience=1, tokens=256)
    names = ["self-attention (sampled softmax)", "shuffled histories (order control)"]
    table, gaps = benchmark.attention_rows(split, names, recipe=tiny)
    assert list(table.index) == ["popularity", "EASE", *names]
    assert table.loc[names, "best epoch"].between(1, 2).all()
    assert (table.loc[names, "epochs run"] <= 2).all()
    assert (table.loc[names, "training CPU s"] > 0).all() and (table.loc[names, "prediction s"] > 0).all()
    assert (table.loc[names, "prediction CPU s"] > 0).all()
    assert (table.loc[names, "parameters"] > 0).all() and table.loc[names, "validation HR@10"].between(0, 1).all()
    np.testing.assert_allclose(table.loc[names, "weights MB"], table.loc[names, "parameters"] * 4 / 1e6)
    assert table.loc[["popularity", "EASE"], "parameters"].isna().all()
    # each model against EASE, and the ablation against the full model
    assert list(zip(gaps.model, gaps.minus)) == [(names[0], "EASE"), (names[1], "EASE"), (names[1], names[0])]
    assert (gaps["HR@10 low"] <= gaps["HR@10 gap"]).all() and (gaps["HR@10 gap"] <= gaps["HR@10 high"]).all()
    ease = table.loc["EASE", "HR@10"]
    assert np.isclose(gaps["HR@10 gap"][0], table.loc[names[0], "HR@10"] - ease, atol=1e-9)
    with pytest.raises(ValueError, match="unknown ablation"):
        benchmark.attention_rows(split, ["no such thing"], recipe=tiny)


def test_attention_refuses_the_other_benchmarks_options(capsys):
    with pytest.raises(SystemExit):
        benchmark.main(["--attention", "--ranking"])
    assert "--attention runs its own models" in capsys.readouterr().err


def test_attention_only_names_an_ablation_or_says_which_there_are():
    with pytest.raises(SystemExit, match="no ablation matches 'nothing-like-this, nor this'"):
        benchmark.main(["--attention", "--only", "nothing-like-this, nor this"])


def test_each_attention_ablation_changes_exactly_one_setting_of_the_recipe():
    import inspect

    from cfcourse import sasrec

    recipe = benchmark.ATTENTION_RECIPE
    first, *others = benchmark.ATTENTION_ABLATIONS.items()
    assert first[1] == {}   # the full model is the recipe itself, and comes first (the rows pair with it)
    options = {**inspect.signature(sasrec.SelfAttentionRecommender).parameters,
               **inspect.signature(sasrec.train_self_attention).parameters}
    for name, change in others:
        assert len(change) == 1, name
        (key, value), = change.items()
        assert key in options, name
        default = recipe.get(key, options[key].default)
        assert value != default, f"{name!r} sets {key} to the recipe's own value"
    assert set(recipe) <= set(options)
