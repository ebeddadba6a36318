"""The synthetic MovieLens-like ratings: sizes, schema, the shapes that make them MovieLens-like,
determinism, chunked writing, and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from cfcourse import synthetic
from cfcourse.parquet import count_rows, parquet_files


def read_all(generated) -> pd.DataFrame:
    parts = [pq.read_table(p).to_pandas().assign(part=part) for part, folder in
             (("train", generated.train), ("valid", generated.valid)) for p in parquet_files(folder)]
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def medium(tmp_path_factory):
    return synthetic.generate(60_000, tmp_path_factory.mktemp("syn") / "medium", seed=3)


def test_exact_size_schema_and_values(tiny_synthetic):
    g = tiny_synthetic
    assert g.n_train + g.n_valid == 6_000
    assert count_rows(g.train) == g.n_train and count_rows(g.valid) == g.n_valid
    assert 0.1 < g.n_valid / 6_000 < 0.3
    assert len(parquet_files(g.train)) >= 2  # chunk_ratings=2,000: written a chunk at a time
    schema = pq.read_schema(parquet_files(g.train)[0])
    assert [(f.name, str(f.type)) for f in schema] == [("user", "int32"), ("movie", "int32"), ("rating", "float"),
                                                       ("timestamp", "int64")]
    ratings = read_all(g)
    assert ratings["user"].between(0, g.n_users - 1).all() and ratings["movie"].between(0, g.n_movies - 1).all()
    assert set(np.unique(ratings["rating"])) <= set(np.arange(1, 11) / 2)
    assert not ratings.duplicated(["user", "movie"]).any()
    assert ratings.groupby("user").size().min() >= 20
    assert ratings["user"].nunique() == g.n_users
    years = pd.to_datetime(ratings["timestamp"], unit="s").dt.year
    assert years.min() >= 1996 and years.max() <= 2023


def test_looks_like_movielens(medium):
    ratings = read_all(medium)
    per_user = ratings.groupby("user").size().sort_values(ascending=False)
    per_movie = ratings.groupby("movie").size().sort_values(ascending=False)
    # power laws (ml-latest-small: 48% and 16%): the top 10% of users give a third or more of the ratings,
    # the top 1% of movies a tenth or more
    assert per_user.iloc[: len(per_user) // 10].sum() > 0.33 * len(ratings)
    assert per_movie.iloc[: max(1, len(per_movie) // 100)].sum() > 0.10 * len(ratings)
    assert 60 <= per_user.median() <= 90 and 120 <= per_user.mean() <= 190
    assert 0.001 < per_movie.iloc[0] / len(ratings) < 0.01
    assert (per_movie == 1).mean() > 0.05  # a long tail of movies rated once
    assert 3.3 < ratings["rating"].mean() < 3.7 and 0.9 < ratings["rating"].std() < 1.15
    # half of the users only give whole stars: whole stars are the commoner
    whole = np.isclose(ratings["rating"] % 1, 0)
    assert 0.6 < whole.mean() < 0.9
    assert 0.7 < medium.noise_floor_rmse < 0.85


def test_low_rank_tastes_make_the_pair_predictable(medium):
    """Biases explain part of a rating, the rank-8 tastes more: the noise floor is well below the bias fit."""
    ratings = read_all(medium)
    train, valid = ratings[ratings.part == "train"], ratings[ratings.part == "valid"]
    mean = train["rating"].mean()
    b_u = (train["rating"] - mean).groupby(train["user"]).sum() / (train.groupby("user").size() + 5)
    b_m = (train["rating"] - mean - train["user"].map(b_u)).groupby(train["movie"]).sum() / (
        train.groupby("movie").size() + 5)
    predicted = mean + valid["user"].map(b_u).fillna(0) + valid["movie"].map(b_m).fillna(0)
    bias_rmse = float(np.sqrt(np.mean((predicted - valid["rating"]) ** 2)))
    assert bias_rmse > medium.noise_floor_rmse + 0.08, (bias_rmse, medium.noise_floor_rmse)


def test_same_seed_same_data_other_seed_other_data(tmp_path, tiny_synthetic):
    again = synthetic.generate(6_000, tmp_path / "again", seed=7, chunk_ratings=2_000, n_movies=400)
    assert again.spec == tiny_synthetic.spec
    pd.testing.assert_frame_equal(read_all(again), read_all(tiny_synthetic))
    other = synthetic.generate(6_000, tmp_path / "other", seed=8, chunk_ratings=2_000, n_movies=400)
    assert not read_all(other)[["user", "movie"]].equals(read_all(tiny_synthetic)[["user", "movie"]])


def test_reuses_a_matching_folder_and_refuses_a_different_one(tmp_path):
    folder = tmp_path / "data"
    first = synthetic.generate(2_000, folder, seed=1)
    stamps = {p: p.stat().st_mtime_ns for p in folder.rglob("*")}
    assert synthetic.generate(2_000, folder, seed=1) == first
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*")} == stamps  # nothing rewritten
    with pytest.raises(FileExistsError, match="already holds something else .* overwrite=True"):
        synthetic.generate(3_000, folder, seed=1)
    assert synthetic.generate(3_000, folder, seed=1, overwrite=True).spec.n_ratings == 3_000
    assert synthetic.read_meta(tmp_path) is None


def test_an_interrupted_run_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def failing_write(table, where, **kw):
        calls.append(where)
        if len(calls) == 3:
            raise OSError("disk full")
        return real_write(table, where, **kw)

    real_write = pq.write_table
    monkeypatch.setattr(pq, "write_table", failing_write)
    with pytest.raises(OSError, match="disk full"):
        synthetic.generate(5_000, tmp_path / "data", seed=1, chunk_ratings=1_000)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(n_ratings=10), ValueError, "at least 20"),
    (dict(n_ratings="many"), TypeError, "whole number"),
    (dict(n_ratings=2_000.5), ValueError, "whole number"),
    (dict(n_ratings=-5), ValueError, "positive"),
    (dict(n_ratings=2_000, n_users=500), ValueError, "at least 20 ratings each"),
    (dict(n_ratings=2_000, valid_fraction=1.0), ValueError, "valid_fraction"),
    (dict(n_ratings=2_000, popularity_exponent=0.9), ValueError, "above 1"),
    (dict(n_ratings=2_000, noise_sd=float("nan")), ValueError, "noise_sd"),
])
def test_bad_settings_are_clear_errors(tmp_path, kwargs, error, message):
    n = kwargs.pop("n_ratings")
    with pytest.raises(error, match=message):
        synthetic.generate(n, tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


def test_sizes_grow_like_movielens():
    small = synthetic.SyntheticSpec(100_836).resolved()
    big = synthetic.SyntheticSpec(25_000_000).resolved()
    assert abs(small.n_users - 650) < 20 and abs(small.n_movies - 9_724) < 10
    assert 150_000 < big.n_users < 175_000 and 50_000 < big.n_movies < 70_000
