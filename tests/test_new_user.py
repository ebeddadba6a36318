"""Recommendations for a new user (cfcourse.new_user): the profile checks, the fit against frozen movie
vectors, and the lists (on hand-made models; the contrasting real profiles are in test_ranking_real.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cfcourse import models, new_user, ranking, recommenders as rec, training
from ranking_data import TOY_MOVIES, toy_encoded

ENCODED = toy_encoded()  # movieIds 10, 20, ..., 90 → rows 0..8


def rating_model(seed=0, dim=3):
    training.seed_everything(seed)
    model = models.DotWithBias(4, 9, dim, min_rating=0.5, max_rating=5.0, user_dropout=0, movie_dropout=0)
    model(np.array([[0, 0]], dtype="int32"))
    rng = np.random.default_rng(seed)
    model.movie_embedding.embeddings.assign(rng.normal(size=(9, dim)).astype("float32"))
    model.movie_bias.embeddings.assign(rng.normal(scale=0.3, size=(9, 1)).astype("float32"))
    return model


def softmax_model(seed=0, dim=3):
    training.seed_everything(seed)
    model = models.SoftmaxRanker(4, 9, dim)
    model(np.arange(2))
    model.movie_embedding.embeddings.assign(np.random.default_rng(seed).normal(size=(9, dim)).astype("float32"))
    return model


# --------------------------------------------------------------------------------------
# The profile
# --------------------------------------------------------------------------------------


def test_a_profile_in_any_of_three_forms():
    expected = ([1, 7], [5.0, 1.5])
    for profile in ([(20, 5.0), (80, 1.5)], {20: 5, 80: 1.5},
                    pd.DataFrame({"movieId": [20, 80], "rating": [5.0, 1.5]}), [(20.0, np.float32(5)), (80, 1.5)]):
        index, ratings = new_user.check_profile(profile, ENCODED)
        assert (index.tolist(), ratings.tolist()) == expected
    split = ranking.temporal_split(ENCODED, 1)
    assert new_user.check_profile([(20, 5.0)], split)[0].tolist() == [1]
    assert new_user.check_profile([(20, 5.0)], ENCODED.movies)[0].tolist() == [1]


@pytest.mark.parametrize("profile, message", [
    ([], r"the profile is empty: give at least one \(movieId, rating\) pair"),
    ({}, "the profile is empty"),
    (pd.DataFrame({"movieId": [], "rating": []}), "the profile is empty"),
    ([(20, 5.0), (999, 4.0), (7, 3.0)], r"movieId\(s\) \[999, 7\] are not among the movies of the data.*leave them out"),
    ([(20, 5.0), (30, 4.0), (20, 3.0)], r"movieId\(s\) 20 \(2 times\) appear more than once.*one rating per movie"),
    ([(20, 6.0)], r"rating\(s\) 6 for movieId 20 are outside the scale \[0.5, 5.0\]"),
    ([(20, 0.0), (30, -1)], r"0 for movieId 20, -1 for movieId 30 are outside the scale"),
    ([(20, float("nan"))], r"the rating of movieId 20 is missing \(NaN\)"),
    ([(20, "five")], r"the rating 'five' of movieId 20 is not a number"),
    ([(20.5, 4.0)], r"the movieId 20.5 is not a whole number"),
    ([("Toy Story", 4.0)], r"the movieId 'Toy Story' is not a whole number"),
    ([(20, 4.0, 1)], r"profile item 0 is \(20, 4.0, 1\): each item must be a \(movieId, rating\) pair"),
    ([20, 30], r"profile item 0 is 20: each item must be a \(movieId, rating\) pair"),
    ("20:5", "the profile must be a list of"),
    (pd.DataFrame({"movie": [20], "rating": [5.0]}), r"lacks the column\(s\) \['movieId'\]"),
])
def test_bad_profiles_are_refused_with_the_fix(profile, message):
    with pytest.raises(new_user.ProfileError, match=message):
        new_user.check_profile(profile, ENCODED)


def test_a_movie_without_training_ratings_is_refused_when_asked():
    split = ranking.temporal_split(ENCODED, 1, 1)
    trained = split.train_counts() > 0  # movie 90 is rated only in validation, 70 only in test
    with pytest.raises(new_user.ProfileError, match=r"movieId\(s\) \[70, 90\] have no rating in the model's training"):
        new_user.check_profile([(70, 4.0), (20, 3.0), (90, 5.0)], split, trained=trained)
    with pytest.raises(ValueError, match="trained must hold one flag per movie"):
        new_user.check_profile([(20, 3.0)], split, trained=[True])
    with pytest.raises(TypeError, match="pass the data's encoding"):
        new_user.check_profile([(20, 3.0)], TOY_MOVIES)


# --------------------------------------------------------------------------------------
# Fitting the user
# --------------------------------------------------------------------------------------


def test_rating_model_user_reproduces_ratings_it_could_have_made():
    model = rating_model()
    m = model.movie_embedding.get_weights()[0]
    bm = model.movie_bias.get_weights()[0][:, 0]
    true_u, true_b = np.array([0.8, -0.5, 0.3]), 0.2
    profile_rows = [0, 2, 3, 5, 6, 8]
    ratings = 0.5 + 4.5 / (1 + np.exp(-(m[profile_rows] @ true_u + true_b + bm[profile_rows])))
    profile = list(zip(ENCODED.movies.decode(profile_rows).tolist(), ratings.tolist()))
    user = new_user.fit_new_user(model, profile, ENCODED, l2=1e-8)
    assert user.kind == "rating"
    np.testing.assert_allclose(user.predicted_ratings()[profile_rows], ratings, atol=1e-3)
    # a stronger ridge shrinks the vector
    shrunk = new_user.fit_new_user(model, profile, ENCODED, l2=10.0)
    assert np.linalg.norm(shrunk.vector) < np.linalg.norm(user.vector)


def test_softmax_user_puts_the_profile_movies_first():
    model = softmax_model()
    user = new_user.fit_new_user(model, [(30, 5.0), (70, 5.0)], ENCODED, l2=0.01)
    assert user.kind == "softmax" and user.bias == 0.0
    assert set(np.argsort(-user.scores())[:2].tolist()) == {2, 6}
    with pytest.raises(ValueError, match="a ranking model predicts no ratings"):
        user.predicted_ratings()
    # the ranking model reads every profile movie as watched: the rating does not matter
    same = new_user.fit_new_user(model, [(30, 0.5), (70, 1.0)], ENCODED, l2=0.01)
    np.testing.assert_allclose(same.vector, user.vector)


def test_fit_new_user_is_deterministic_and_unwraps_adapters():
    model = rating_model(seed=1)
    profile = [(10, 4.0), (50, 2.0), (90, 5.0)]
    a = new_user.fit_new_user(model, profile, ENCODED)
    b = new_user.fit_new_user(rec.RatingModel(model=model), profile, ENCODED)
    assert np.array_equal(a.vector, b.vector) and a.bias == b.bias


def test_fit_new_user_refuses_bad_l2_and_mismatched_models():
    with pytest.raises(ValueError, match="l2 must be a non-negative number"):
        new_user.fit_new_user(rating_model(), [(10, 4.0)], ENCODED, l2=-1)
    small = models.DotWithBias(4, 3, 2)
    small(np.array([[0, 0]], dtype="int32"))
    with pytest.raises(ValueError, match="the model has 3 movies but the encoding 9"):
        new_user.fit_new_user(small, [(90, 4.0)], ENCODED)


# --------------------------------------------------------------------------------------
# The list
# --------------------------------------------------------------------------------------


def test_recommendations_leave_out_the_profile_and_non_candidates():
    model = rating_model()
    table = new_user.recommend_new_user(model, [(10, 5.0), (20, 1.0)], ENCODED, TOY_MOVIES, n=4)
    assert table.columns.tolist() == ["rank", "movieId", "title", "score", "predicted rating"]
    assert table["rank"].tolist() == [1, 2, 3, 4] and not {10, 20} & set(table["movieId"])
    assert table["score"].is_monotonic_decreasing
    user = new_user.fit_new_user(model, [(10, 5.0), (20, 1.0)], ENCODED)
    expected = ENCODED.movies.decode(ranking.top_k_lists(user.scores()[None, :], [[0, 1]], 4)[0])
    assert table["movieId"].tolist() == expected.tolist()
    assert "The Matrix (1999)" not in table["title"].tolist()  # 20 is in the profile
    allowed = np.ones(9, bool)
    allowed[[2, 3]] = False
    narrowed = new_user.recommend_new_user(model, [(10, 5.0)], ENCODED, TOY_MOVIES, n=20, candidates=allowed)
    assert len(narrowed) == 6 and not {10, 30, 40} & set(narrowed["movieId"])
    with pytest.raises(ValueError, match="candidates must hold one flag per movie"):
        new_user.recommend_new_user(model, [(10, 5.0)], ENCODED, TOY_MOVIES, candidates=[True])
    with pytest.raises(ValueError, match="k must be at least 1"):
        new_user.recommend_new_user(model, [(10, 5.0)], ENCODED, TOY_MOVIES, n=0)


def test_softmax_recommendations_have_no_predicted_rating():
    table = new_user.recommend_new_user(softmax_model(), [(10, 5.0)], ENCODED, TOY_MOVIES, n=3)
    assert table.columns.tolist() == ["rank", "movieId", "title", "score"]


# --------------------------------------------------------------------------------------
# fold_in: the same fit for every user at once
# --------------------------------------------------------------------------------------


def test_fold_in_is_the_new_user_fit_for_every_user():
    import scipy.sparse as sp

    profiles = {0: [(10, 4.0), (30, 2.5), (50, 5.0)], 2: [(20, 1.0), (90, 4.5)]}
    rows = [(u, int(ENCODED.movies.encode([m])[0]), r) for u, p in profiles.items() for m, r in p]
    known = sp.csr_matrix(([r for *_, r in rows], ([u for u, *_ in rows], [m for _, m, _ in rows])), shape=(4, 9))
    for model, loss in ((rating_model(), "rating"), (softmax_model(), "softmax")):
        movies, bias = new_user._movie_table(model)
        vectors, biases = new_user.fold_in(known, movies, movie_bias=bias, loss=loss, l2=0.1, max_iter=500)
        for u, profile in profiles.items():
            one = new_user.fit_new_user(model, profile, ENCODED, l2=0.1)
            np.testing.assert_allclose(vectors[u], one.vector, atol=2e-3)
            assert biases[u] == pytest.approx(one.bias, abs=2e-3)
        assert not vectors[[1, 3]].any()  # no movies, nothing to fit: the start (zeros)


def test_fold_in_exact_and_mlp_losses_reach_the_optimum():
    import scipy.sparse as sp
    from scipy.optimize import minimize

    rng = np.random.default_rng(0)
    movies = rng.normal(size=(9, 3))
    known = sp.csr_matrix(np.where(rng.random((3, 9)) < 0.5, rng.integers(1, 11, (3, 9)) / 2, 0.0))
    ridge, _ = new_user.fold_in(known, movies, loss="squared", l2=0.2)
    for u in range(3):
        cols, r = known[u].indices, known[u].data
        expected = np.linalg.solve(movies[cols].T @ movies[cols] + 0.2 * len(cols) * np.eye(3), movies[cols].T @ r)
        np.testing.assert_allclose(ridge[u], expected, atol=1e-8)
    implicit, _ = new_user.fold_in(known, movies, loss="implicit", l2=0.2, alpha=2.0)
    c, p = 1 + 2.0 * known.toarray(), (known.toarray() > 0).astype(float)
    for u in range(3):
        def cost(x):
            return float((c[u] * (p[u] - movies @ x) ** 2).sum() + 0.2 * known[u].nnz * x @ x)
        assert cost(implicit[u]) <= minimize(cost, np.zeros(3)).fun + 1e-6
    # a rating network (user of 2 numbers → 4 ReLU units → 1): the fold-in's gradient is right if L-BFGS
    # lands on the optimum that a derivative-free search finds (units kept active: a smooth cost, one optimum)
    layers = [(rng.normal(size=(2, 4)), np.zeros(4)), (rng.normal(size=(4, 1)), np.zeros(1))]
    movie_part = rng.normal(size=(9, 4)) + 3.0
    vectors, _ = new_user.fold_in(known, movie_part, loss="mlp", l2=0.3, layers=layers, max_iter=500)

    def mlp_cost(x, u):
        h = np.maximum(x @ layers[0][0] + movie_part[known[u].indices], 0)
        pred = 0.5 + 4.5 / (1 + np.exp(-(h @ layers[1][0]).ravel()))
        return float(((pred - known[u].data) ** 2).sum() + 0.3 * x @ x)

    for u in range(3):
        best = minimize(mlp_cost, np.zeros(2), args=(u,), method="Nelder-Mead", options={"xatol": 1e-6})
        np.testing.assert_allclose(vectors[u], best.x, atol=1e-3)


def test_fold_in_refuses_bad_input():
    import scipy.sparse as sp

    with pytest.raises(ValueError, match="loss must be one of"):
        new_user.fold_in(sp.csr_matrix((2, 3)), np.ones((3, 2)), loss="hinge", l2=1.0)
    with pytest.raises(TypeError, match="scipy.sparse"):
        new_user.fold_in(np.ones((2, 3)), np.ones((3, 2)), loss="softmax", l2=1.0)
    with pytest.raises(ValueError, match="known has 3 movies but movie_vectors 4"):
        new_user.fold_in(sp.csr_matrix((2, 3)), np.ones((4, 2)), loss="softmax", l2=1.0)
