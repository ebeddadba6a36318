"""The ranking protocol on the real ml-latest-small: the number held out per user, the baselines, the
model trained to rank, leakage and sampled metrics, and two contrasting new users. Seeded and deterministic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cfcourse import data, new_user, ranking, recommenders as rec
from helpers import real_data_dir


@pytest.fixture(scope="module")
def movielens():
    folder = real_data_dir()
    assert folder is not None, f"these tests need the real data: set {data.ENV_DATA}"
    return data.load_movielens(folder)


@pytest.fixture(scope="module")
def encoded(movielens):
    return data.encode_ids(movielens.ratings)


@pytest.fixture(scope="module")
def split(encoded):
    return ranking.temporal_split(encoded)


@pytest.fixture(scope="module")
def popularity(split):
    model = rec.Popularity().fit(split)
    return ranking.evaluate(model, split)


def disjoint(better: pd.Series, worse: pd.Series, k: int = 10) -> bool:
    """True when the 95% CI of ``better`` lies wholly above that of ``worse``."""
    return better[f"HR@{k} low"] > worse[f"HR@{k} high"]


def test_the_default_holds_out_the_smallest_number_with_a_narrow_enough_ci(encoded):
    table = ranking.holdout_size_table(encoded)
    assert table["held out per user"].tolist() == [1, 2, 3, 5, 10]
    first = int(table.loc[table["meets target"], "held out per user"].iloc[0])
    assert first == ranking.DEFAULT_N_HELD_OUT == 3
    assert table.loc[0, "half-width"] > 0.015  # leave-last-one-out is too noisy with 610 users
    assert (table["half-width"] == (table["high"] - table["low"]) / 2).all()
    assert table["half-width"].is_monotonic_decreasing


def test_the_default_split(split):
    assert (split.n_users, split.n_movies) == (610, 9724)
    assert len(split.test) == len(split.valid) == 3 * 610 and len(split.train) == 100836 - 6 * 610
    summary = split.summary()
    assert 0.02 < summary["share of test movies never in training"] < 0.06


def test_popularity_on_the_default_protocol(popularity):
    assert round(popularity["HR@10"], 3) == 0.039
    assert (popularity["HR@10 high"] - popularity["HR@10 low"]) / 2 <= 0.01
    assert popularity["popularity percentile"] > 99 and popularity["coverage@10"] < 0.02


def test_ease_beats_popularity_on_the_protocol(split, popularity):
    ease = rec.EASE().fit(split)
    assert ease.lam_ == 50.0  # with the seeded tie order; 200 when ties were ordered by movie id
    row = ranking.evaluate(ease, split)
    chapters = ranking.evaluate(rec.EASE(lam=200.0).fit(split), split)  # the chapters' λ: as good, within 0.005
    assert abs(chapters["HR@10"] - row["HR@10"]) < 0.005
    assert disjoint(row, popularity)
    assert row["HR@10"] > 2 * popularity["HR@10"] and row["NDCG@10"] > popularity["NDCG@10"]
    assert row["coverage@10"] > 3 * popularity["coverage@10"]


@pytest.mark.slow
def test_pure_svd_beats_popularity(split, popularity):
    model = rec.PureSVD().fit(split)
    assert model.k_ == 128
    assert disjoint(ranking.evaluate(model, split), popularity)


def test_random_hold_out_leaks_the_future(encoded, split, popularity):
    leaky = ranking.random_split(encoded, seed=0)
    assert disjoint(ranking.evaluate(rec.Popularity().fit(leaky), leaky), popularity)
    temporal = ranking.evaluate(rec.EASE(lam=200.0).fit(split), split)
    random = ranking.evaluate(rec.EASE(lam=200.0).fit(leaky), leaky)
    assert random["HR@10"] > 2 * temporal["HR@10"] and disjoint(random, temporal)


def test_sampled_metrics_inflate_popularity(split, popularity):
    scores = rec.Popularity().fit(split).score(split)
    sampled = ranking.sampled_metrics(scores, split, n_negatives=100, seed=0)
    assert sampled["hr"].mean() > 10 * popularity["HR@10"]


def test_evaluation_is_bit_identical(split):
    model = rec.EASE(lam=200.0).fit(split)
    first, second = ranking.evaluate(model, split), ranking.evaluate(model, split)
    assert first.drop("evaluation s").equals(second.drop("evaluation s"))


# --------------------------------------------------------------------------------------
# The model trained to rank (slow: about 10 s each)
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ranker(split):
    return rec.SoftmaxModel().fit(split)


@pytest.mark.slow
def test_the_ranking_model_beats_popularity_with_disjoint_cis(split, ranker, popularity):
    row = ranking.evaluate(ranker, split)
    assert disjoint(row, popularity), (row["HR@10 low"], popularity["HR@10 high"])
    assert row["NDCG@10"] > popularity["NDCG@10"] and row["MRR"] > popularity["MRR"]
    assert row["popularity percentile"] < popularity["popularity percentile"]
    assert ranker.result_.best_epoch < len(ranker.result_.history)  # it stopped early


@pytest.mark.slow
def test_the_ranking_model_is_deterministic(split, ranker):
    again = rec.SoftmaxModel().fit(split)
    assert ranker.result_.history.equals(again.result_.history)
    assert np.array_equal(ranker.score(split), again.score(split))


def genre_share(table: pd.DataFrame, movies: pd.DataFrame, pattern: str) -> float:
    genres = movies.set_index("movieId").loc[table["movieId"], "genres"]
    return float(genres.str.contains(pattern).mean())


@pytest.fixture(scope="module")
def profiles(movielens, split):
    """The eight most rated animated children's films, and the eight most rated horror films."""
    counts = pd.Series(split.train_counts(), index=split.encoded.movies.raw_ids)
    movies = movielens.movies.set_index("movieId").loc[counts.index]
    family = movies["genres"].str.contains("Animation") & movies["genres"].str.contains("Children")
    horror = movies["genres"].str.contains("Horror") & ~movies["genres"].str.contains("Comedy|Children")
    return (counts[family].sort_values(ascending=False, kind="stable").index[:8].tolist(),
            counts[horror].sort_values(ascending=False, kind="stable").index[:8].tolist())


FAMILY, DARK = "Animation|Children", "Horror|Thriller"


@pytest.mark.slow
def test_new_users_with_contrasting_tastes_get_different_lists_from_the_ranking_model(
        movielens, split, ranker, profiles):
    family, horror = profiles
    trained = split.train_counts() > 0
    kids = new_user.recommend_new_user(ranker, [(m, 5.0) for m in family], split, movielens.movies,
                                       candidates=trained)
    scary = new_user.recommend_new_user(ranker, [(m, 5.0) for m in horror], split, movielens.movies,
                                        candidates=trained)
    assert len(set(kids["movieId"]) & set(scary["movieId"])) <= 3
    assert genre_share(kids, movielens.movies, FAMILY) >= genre_share(scary, movielens.movies, FAMILY) + 0.2
    assert genre_share(scary, movielens.movies, DARK) >= genre_share(kids, movielens.movies, DARK) + 0.2


@pytest.mark.slow
def test_new_users_with_contrasting_tastes_get_different_lists_from_the_rating_model(movielens, split, profiles):
    family, horror = profiles
    model = rec.RatingModel().fit(split)
    # loves one kind, dislikes the other: the rating model reads the values, not only the titles
    kids = new_user.recommend_new_user(model, [(m, 5.0) for m in family] + [(m, 1.0) for m in horror[:4]], split,
                                       movielens.movies)
    scary = new_user.recommend_new_user(model, [(m, 5.0) for m in horror] + [(m, 1.0) for m in family[:4]], split,
                                        movielens.movies)
    assert len(set(kids["movieId"]) & set(scary["movieId"])) <= 3
    assert genre_share(scary, movielens.movies, DARK) >= genre_share(kids, movielens.movies, DARK) + 0.2
    assert kids["predicted rating"].min() > 3.5 and scary["predicted rating"].min() > 3.5
