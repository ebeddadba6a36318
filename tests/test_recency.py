"""The recency baseline (cfcourse.recency): the last movies' neighbours by item-item cosine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cfcourse import data, ranking, recency
from ranking_data import assert_test_scores_follow_the_validation_movies, random_encoded


@pytest.fixture(scope="module")
def split():
    return ranking.temporal_split(random_encoded(n_users=30, n_movies=40), n_test=2, n_valid=2)


def test_recency_weights_latest_first_each_movie_once():
    w = recency.recency_weights([np.array([3, 1, 4, 1, 5]), np.array([], dtype=int), np.array([2])], 6,
                                n_last=3, decay=0.5).toarray()
    # latest first: 5 (weight 1), then 1 (0.5: its latest place), then 4 (0.25); 3 is beyond n_last
    np.testing.assert_allclose(w[0], [0, 0.5, 0, 0, 0.25, 1.0])
    assert not w[1].any() and w[2].tolist() == [0, 0, 1, 0, 0, 0]
    with pytest.raises(ValueError, match="n_last"):
        recency.recency_weights([], 3, 0, 0.5)
    with pytest.raises(ValueError, match="decay"):
        recency.recency_weights([], 3, 2, 1.5)


def test_scores_are_the_weighted_cosines_of_the_last_movies(split):
    model = recency.RecentNeighbours(n_last=3, decay=0.5).fit(split)
    x = split.interactions("train").toarray().astype(float)
    x[x != 0] = 1.0
    counts = x.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.nan_to_num((x.T @ x) / np.sqrt(np.outer(counts, counts)))
    histories = split.history("test")
    scores = model.score(split, "test")
    for u in (0, 7, 19):
        last = []
        for movie in histories[u][::-1]:
            if movie not in last:
                last.append(movie)
        expected = sum(0.5 ** r * cosine[m] for r, m in enumerate(last[:3]))
        np.testing.assert_allclose(scores[u], expected, rtol=1e-5, atol=1e-6)


def test_only_the_history_known_at_the_evaluation_point_counts(split):
    model = recency.RecentNeighbours(n_last=3, decay=0.5).fit(split)
    assert_test_scores_follow_the_validation_movies(model, split)
    # the order of the history matters, not only its set of movies
    histories = split.history("test")
    forward = recency.recency_weights([histories[0]], split.n_movies, 3, 0.5)
    backward = recency.recency_weights([histories[0][::-1]], split.n_movies, 3, 0.5)
    assert np.abs(model._scores_from(forward) - model._scores_from(backward)).max() > 1e-4


def test_relabelling_the_movies_changes_no_score():
    ratings = pd.concat([random_encoded(n_users=20, n_movies=30).ratings])
    ratings = ratings.assign(timestamp=ratings["timestamp"] // 3)  # ratings in the same second
    ids = np.sort(ratings["movieId"].unique())
    relabel = dict(zip(ids, np.random.default_rng(5).permutation(ids) + 1000))
    relabelled = ratings.assign(movieId=ratings["movieId"].map(relabel))
    a = ranking.temporal_split(data.encode_ids(ratings[["userId", "movieId", "rating", "timestamp"]]), 2, 2)
    b = ranking.temporal_split(data.encode_ids(relabelled[["userId", "movieId", "rating", "timestamp"]]), 2, 2)
    sa = recency.RecentNeighbours(n_last=4, decay=0.8).fit(a).score(a, "test")
    sb = recency.RecentNeighbours(n_last=4, decay=0.8).fit(b).score(b, "test")
    by_id_a = pd.DataFrame(sa, columns=[relabel[m] for m in a.encoded.movies.decode(np.arange(a.n_movies))])
    by_id_b = pd.DataFrame(sb, columns=b.encoded.movies.decode(np.arange(b.n_movies)))
    np.testing.assert_allclose(by_id_a[sorted(by_id_a.columns)].to_numpy(),
                               by_id_b[sorted(by_id_b.columns)].to_numpy(), rtol=1e-5, atol=1e-6)


def test_chooses_its_settings_on_validation(split):
    model = recency.RecentNeighbours(n_lasts=(1, 3), decays=(0.5, 1.0)).fit(split)
    assert set(model.validation_) == {(1, 0.5), (1, 1.0), (3, 0.5), (3, 1.0)}
    best = max(model.validation_.values())
    assert model.validation_[(model.n_last_, model.decay_)] == best
    chosen = recency.RecentNeighbours(n_last=model.n_last_, decay=model.decay_).fit(split)
    np.testing.assert_allclose(chosen.score(split, "test"), model.score(split, "test"))
    assert 0 <= ranking.evaluate(model, split)["HR@10"] <= 1
    with pytest.raises(ValueError, match="grids"):
        recency.RecentNeighbours(n_lasts=())
