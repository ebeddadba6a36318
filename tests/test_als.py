"""Spark's ALS as a recommender on the ranking protocol (tiny synthetic data, the shared Spark session)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from cfcourse import data, ranking
from cfcourse import recommenders as rec
from cfcourse.als import ALSRecommender
from cfcourse.parquet import parquet_files
from ranking_data import assert_test_scores_follow_the_validation_movies


@pytest.fixture(scope="module")
def protocol(tiny_synthetic) -> ranking.TemporalSplit:
    frames = [pq.read_table(p).to_pandas() for folder in (tiny_synthetic.train, tiny_synthetic.valid)
              for p in parquet_files(folder)]
    ratings = pd.concat(frames, ignore_index=True)
    ratings = pd.DataFrame({"userId": ratings["user"].astype("int64") + 1,
                            "movieId": ratings["movie"].astype("int64") + 1,
                            "rating": ratings["rating"].astype("float64"), "timestamp": ratings["timestamp"]})
    return ranking.temporal_split(data.encode_ids(ratings), 3)


@pytest.fixture(scope="module")
def fitted(spark_session, protocol):
    explicit = ALSRecommender(spark_session, rank=4, max_iter=6, reg_param=0.1, blocks=2).fit(protocol)
    implicit = ALSRecommender(spark_session, rank=4, max_iter=6, reg_param=0.01, implicit=True, blocks=2).fit(protocol)
    return explicit, implicit


def test_scores_are_dot_products_and_unseen_movies_rank_last(protocol, fitted):
    explicit, _ = fitted
    scores = explicit.score(protocol, "test")
    assert scores.shape == (protocol.n_users, protocol.n_movies) and scores.dtype == np.float32
    seen = np.bincount(protocol.train["movie"], minlength=protocol.n_movies) > 0
    np.testing.assert_array_equal(explicit.known_movies_, seen)
    assert np.isneginf(scores[:, ~seen]).all() and np.isfinite(scores[:, seen]).all()
    u, m = 2, int(np.flatnonzero(seen)[0])
    folded = explicit.user_side(protocol, "test")
    assert scores[u, m] == pytest.approx(float(folded[u] @ explicit.movie_vectors_[m]), rel=1e-4)
    assert explicit.fit_seconds > 0 and explicit.name == "ALS (Spark), ratings"
    assert explicit.score(protocol, "test", users=[3, 1]).shape == (2, protocol.n_movies)


def test_only_the_training_part_is_used(protocol, fitted):
    explicit, _ = fitted
    held_out = set(map(tuple, pd.concat([protocol.valid, protocol.test])[["user", "movie"]].to_numpy()))
    only_held_out = {m for _, m in held_out} - set(protocol.train["movie"])
    assert not explicit.known_movies_[list(only_held_out)].any()


def test_implicit_als_ranks_better_than_random(protocol, fitted):
    _, implicit = fitted
    assert implicit.name == "ALS (Spark), implicit"
    rows = ranking.comparison_table([ranking.evaluate(rec.RandomScores(seed=0).fit(protocol), protocol, k=20),
                                     ranking.evaluate(implicit, protocol, k=20)])
    random_hr, als_hr = rows["HR@20"].to_numpy()
    assert als_hr > random_hr + 0.05, rows["HR@20"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(rank=0), "rank must be a positive whole number"),
    (dict(max_iter=2.5), "max_iter must be a positive whole number"),
    (dict(reg_param=-1.0), "reg_param must be >= 0"),
    (dict(alpha=0.0), "alpha > 0"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ALSRecommender(**kwargs)


def test_an_unfitted_model_cannot_score(protocol):
    with pytest.raises(RuntimeError, match="is not fitted yet"):
        ALSRecommender().score(protocol)


def test_test_scores_fold_in_the_validation_ratings(protocol, fitted):
    for model in fitted:
        assert_test_scores_follow_the_validation_movies(model, protocol, user=2)
    explicit, _ = fitted
    # folding in the training ratings is ALS's own user step: it gives back the vectors Spark fitted
    again = explicit.user_side(protocol, "valid")
    np.testing.assert_allclose(again, explicit.user_vectors_, atol=0.05)
