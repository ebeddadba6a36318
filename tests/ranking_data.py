"""Small hand-made data sets for the ranking tests (no MovieLens file is read here)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cfcourse import data

#: movieId → title and genres of the toy catalogue.
TOY_MOVIES = pd.DataFrame({
    "movieId": [10, 20, 30, 40, 50, 60, 70, 80, 90],
    "title": ["Alpha (1990)", "Matrix, The (1999)", "Gamma (1992)", "Delta (1993)", "Epsilon (1994)",
              "Zeta (1995)", "Eta (1996)", "Theta (1997)", "Iota (1998)"],
    "genres": ["Comedy", "Action|Sci-Fi", "Drama", "Horror", "Animation|Children", "Comedy", "Drama",
               "Horror|Thriller", "Animation"],
})


def toy_ratings() -> pd.DataFrame:
    """Four users, 5 to 7 ratings each, with a tie in time (user 1's last two ratings share a second).

    Movie 90 is rated only by user 4, as one of their last two ratings (it is never in training
    with n_test=1, n_valid=1).
    """
    rows = [
        # userId, movieId, rating, timestamp
        (1, 10, 4.0, 100), (1, 20, 5.0, 200), (1, 30, 3.0, 300), (1, 40, 2.0, 400), (1, 60, 4.5, 500),
        (1, 50, 4.0, 600), (1, 70, 3.5, 600),
        (2, 20, 4.0, 150), (2, 30, 4.0, 250), (2, 10, 1.0, 350), (2, 80, 2.5, 450), (2, 60, 5.0, 550),
        (3, 10, 5.0, 110), (3, 40, 3.0, 120), (3, 50, 4.0, 130), (3, 20, 2.0, 140), (3, 80, 0.5, 150),
        (3, 30, 4.0, 160),
        (4, 60, 3.0, 900), (4, 20, 4.0, 910), (4, 10, 5.0, 920), (4, 90, 4.0, 930), (4, 30, 2.0, 940),
    ]
    return pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"]).astype(
        {"userId": "int64", "movieId": "int64", "rating": "float64", "timestamp": "int64"})


def toy_encoded() -> data.Encoded:
    return data.encode_ids(toy_ratings())


def random_encoded(n_users: int = 30, n_movies: int = 40, per_user=(8, 20), seed: int = 0) -> data.Encoded:
    """A random ratings set, big enough for the baselines (EASE, PureSVD) to have something to learn."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(1, n_users + 1):
        # users prefer movies near their own "taste" index, so the data has structure to learn
        taste = rng.integers(0, n_movies)
        weights = np.exp(-np.abs(np.arange(n_movies) - taste) / 6.0) + 0.05
        count = int(rng.integers(per_user[0], per_user[1] + 1))
        movies = rng.choice(n_movies, size=count, replace=False, p=weights / weights.sum())
        for t, m in enumerate(movies):
            rows.append((user, int(m) * 10 + 1, float(rng.integers(1, 11)) / 2, 1000 * user + t))
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])
    return data.encode_ids(frame.astype({"userId": "int64", "movieId": "int64", "timestamp": "int64"}))


def with_other_validation_movies(split, user: int = 0):
    """``split`` with user ``user``'s validation movies swapped for movies they never rated (the rest as it was).

    A model that reads each user's whole history before the test must score that user's test
    part differently on the two splits, and everybody else the same.
    """
    import dataclasses

    rated = set(pd.concat([split.train, split.valid, split.test]).loc[lambda f: f["user"] == user, "movie"])
    fresh = [m for m in range(split.n_movies) if m not in rated]
    valid = split.valid.copy()
    rows = np.flatnonzero(valid["user"].to_numpy() == user)
    if len(fresh) < len(rows):
        raise ValueError("the user has rated almost every movie: pick another user")
    valid.iloc[rows, valid.columns.get_loc("movie")] = fresh[:len(rows)]
    valid.iloc[rows, valid.columns.get_loc("movieId")] = split.encoded.movies.decode(np.array(fresh[:len(rows)]))
    return dataclasses.replace(split, valid=valid, _cache={})


def assert_test_scores_follow_the_validation_movies(model, split, user: int = 0):
    """The test scores of ``user`` change with their validation movies; other users' and the validation scores do not."""
    other = with_other_validation_movies(split, user)
    before, after = model.score(split, "test"), model.score(other, "test")
    # a movie a model cannot recommend scores -inf on both: no change
    assert np.abs(np.where(before[user] == after[user], 0.0, before[user] - after[user])).max() > 1e-4
    rest = np.arange(split.n_users) != user
    np.testing.assert_allclose(before[rest], after[rest], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(model.score(split, "valid"), model.score(other, "valid"), rtol=1e-4, atol=1e-4)
    valid = model.score(split, "valid")[user]
    assert np.abs(np.where(valid == before[user], 0.0, valid - before[user])).max() > 1e-4


def runs_encoded(n_users: int = 40, n_movies: int = 30, length: int = 12, seed: int = 0) -> data.Encoded:
    """Users who watch a run of consecutive movies: the next movie is the one after the last."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(n_users):
        first = int(rng.integers(0, n_movies - length))
        for t in range(length):
            rows.append((user + 1, first + t + 1, 4.0, 1000 * user + t))
    frame = pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])
    return data.encode_ids(frame.astype({"userId": "int64", "movieId": "int64", "timestamp": "int64"}))
