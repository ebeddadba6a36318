"""Tests of cfcourse.svd: dense rank-k SVD, cosine similarity, sparse matrices, the SVD recommender."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from cfcourse import data, metrics, svd


# --------------------------------------------------------------------------------------
# rank_k_approximation / reconstruction_error
# --------------------------------------------------------------------------------------


@pytest.fixture
def random_matrix():
    return np.random.default_rng(0).normal(size=(7, 5))


def test_rank_k_equals_numpy_truncation(random_matrix):
    u, s, vt = np.linalg.svd(random_matrix)
    for k in range(1, 6):
        expected = u[:, :k] @ np.diag(s[:k]) @ vt[:k, :]
        got = svd.rank_k_approximation(random_matrix, k)
        assert got.shape == random_matrix.shape
        np.testing.assert_allclose(got, expected, atol=1e-12)
        assert np.linalg.matrix_rank(got) == k


def test_error_decreases_with_k_and_matches_dropped_singular_values(random_matrix):
    s = np.linalg.svd(random_matrix, compute_uv=False)
    errors = [svd.reconstruction_error(random_matrix, k) for k in range(1, 6)]
    assert all(a > b for a, b in zip(errors, errors[1:]))
    for k, err in zip(range(1, 6), errors):
        assert err == pytest.approx(np.sqrt(np.sum(s[k:] ** 2)), abs=1e-10)


def test_full_rank_reconstructs_exactly(random_matrix):
    np.testing.assert_allclose(svd.rank_k_approximation(random_matrix, 5), random_matrix, atol=1e-12)
    assert svd.reconstruction_error(random_matrix.T, 5) < 1e-12


def test_rank_two_matrix_is_exact_at_k2():
    rng = np.random.default_rng(1)
    low = rng.normal(size=(6, 2)) @ rng.normal(size=(2, 8))
    assert svd.reconstruction_error(low, 2) < 1e-10
    assert svd.reconstruction_error(low, 1) > 0.1


def test_best_rank_k_beats_another_rank_k_matrix(random_matrix):
    # Eckart-Young: any other rank-2 matrix is further away.
    rng = np.random.default_rng(2)
    other = rng.normal(size=(7, 2)) @ rng.normal(size=(2, 5))
    best = svd.reconstruction_error(random_matrix, 2)
    assert best < np.linalg.norm(random_matrix - other)


@pytest.mark.parametrize("k, error, match", [
    (0, ValueError, "between 1 and 5"),
    (6, ValueError, "between 1 and 5"),
    (2.0, TypeError, "whole number"),
    (True, TypeError, "whole number"),
])
def test_rank_k_rejects_bad_k(random_matrix, k, error, match):
    with pytest.raises(error, match=match):
        svd.rank_k_approximation(random_matrix, k)


@pytest.mark.parametrize("matrix, match", [
    (np.arange(4.0), "2-dimensional"),
    (np.zeros((0, 3)), "empty"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), "NaN"),
])
def test_rank_k_rejects_bad_matrix(matrix, match):
    with pytest.raises(ValueError, match=match):
        svd.rank_k_approximation(matrix, 1)


# --------------------------------------------------------------------------------------
# cosine_similarity
# --------------------------------------------------------------------------------------


def test_cosine_of_parallel_opposite_and_orthogonal_vectors():
    assert svd.cosine_similarity([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert svd.cosine_similarity([1, 2, 3], [-1, -2, -3]) == pytest.approx(-1.0)
    assert svd.cosine_similarity([1, 0], [0, 5]) == pytest.approx(0.0, abs=1e-15)
    assert isinstance(svd.cosine_similarity([1, 0], [1, 1]), float)
    assert svd.cosine_similarity([1, 0], [1, 1]) == pytest.approx(1 / np.sqrt(2))


def test_cosine_is_scale_invariant_and_symmetric():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=4), rng.normal(size=4)
    c = svd.cosine_similarity(a, b)
    assert svd.cosine_similarity(7.5 * a, 0.01 * b) == pytest.approx(c)
    assert svd.cosine_similarity(b, a) == pytest.approx(c)
    assert svd.cosine_similarity(-a, b) == pytest.approx(-c)
    assert c == pytest.approx(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


def test_cosine_row_wise_and_against_one_vector():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    rows = svd.cosine_similarity(a, b)
    assert rows.shape == (5,)
    np.testing.assert_allclose(rows, [svd.cosine_similarity(a[i], b[i]) for i in range(5)])
    against = svd.cosine_similarity(a, b[0])
    np.testing.assert_allclose(against, [svd.cosine_similarity(a[i], b[0]) for i in range(5)])
    np.testing.assert_allclose(svd.cosine_similarity(b[0], a), against)
    assert np.all(np.abs(rows) <= 1.0)


@pytest.mark.parametrize("a, b, match", [
    ([0, 0, 0], [1, 2, 3], "zero vector"),
    ([[1, 2], [0, 0]], [[1, 1], [1, 1]], r"zero vector \(row\(s\) \[1\]\)"),
    ([1, 2, 3], [1, 2], "same length"),
    ([[1, 2], [3, 4]], [[1, 2], [3, 4], [5, 6]], "same shape"),
    (np.ones((2, 2, 2)), [1, 1], "vector or a matrix"),
    ([1, np.inf], [1, 1], "NaN or infinite"),
])
def test_cosine_rejects_bad_input(a, b, match):
    with pytest.raises(ValueError, match=match):
        svd.cosine_similarity(a, b)


# --------------------------------------------------------------------------------------
# Sparse matrices
# --------------------------------------------------------------------------------------


def test_ratings_matrix_places_values_and_leaves_zeros():
    x = np.array([[0, 1], [2, 0], [1, 2]])
    m = svd.ratings_matrix(x, [4.0, 2.5, 1.0], n_users=3, n_movies=4)
    assert m.format == "csr" and m.shape == (3, 4) and m.nnz == 3
    expected = np.zeros((3, 4))
    expected[0, 1], expected[2, 0], expected[1, 2] = 4.0, 2.5, 1.0
    np.testing.assert_array_equal(m.toarray(), expected)


def test_ratings_matrix_rejects_duplicates_and_bad_pairs():
    with pytest.raises(ValueError, match="more than once"):
        svd.ratings_matrix(np.array([[0, 1], [0, 1]]), [1.0, 2.0], 2, 2)
    with pytest.raises(ValueError, match="2 .*pairs but 1 values"):
        svd.ratings_matrix(np.array([[0, 1], [1, 1]]), [1.0], 2, 2)
    with pytest.raises(IndexError):
        svd.ratings_matrix(np.array([[0, 2]]), [1.0], 2, 2)


# --------------------------------------------------------------------------------------
# A tiny synthetic ratings set with two hidden tastes
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_split():
    """80 users × 50 movies; rating = 3.5 + biases + a rank-2 taste term + noise; 60% observed."""
    rng = np.random.default_rng(7)
    n_users, n_movies = 80, 50
    tastes = rng.normal(size=(n_users, 2)) @ rng.normal(size=(2, n_movies)) * 0.6
    full = (3.5 + rng.normal(0, 0.3, (n_users, 1)) + rng.normal(0, 0.3, (1, n_movies)) + tastes
            + rng.normal(0, 0.1, (n_users, n_movies)))
    full = np.clip(full, 0.5, 5.0)
    users, movies = np.nonzero(rng.random((n_users, n_movies)) < 0.6)
    ratings = pd.DataFrame({"userId": users + 1, "movieId": movies * 10 + 3, "rating": full[users, movies]})
    return data.split_ratings(data.encode_ids(ratings), valid_fraction=0.2, seed=42)


def _fit(split, **kwargs):
    return svd.TruncatedSVDRecommender(split.n_users, split.n_movies, **kwargs).fit(split.x_train, split.y_train)


def test_training_matrix_holds_ratings_or_residuals(synthetic_split):
    s = synthetic_split
    raw = svd.training_matrix(s)
    assert raw.shape == (s.n_users, s.n_movies) and raw.nnz == len(s.y_train)
    np.testing.assert_allclose(np.asarray(raw[s.x_train[:, 0], s.x_train[:, 1]]).ravel(), s.y_train, rtol=1e-6)
    bias = metrics.BiasBaseline(s.n_users, s.n_movies).fit(s.x_train, s.y_train)
    resid = svd.training_matrix(s, residual_of=bias)
    got = np.asarray(resid[s.x_train[:, 0], s.x_train[:, 1]]).ravel()
    np.testing.assert_allclose(got, s.y_train - bias.predict(s.x_train), atol=1e-6)
    assert abs(got.mean()) < 0.05  # the baseline explains the average


def test_recommender_beats_bias_baseline_on_held_out_ratings(synthetic_split):
    s = synthetic_split
    bias = metrics.BiasBaseline(s.n_users, s.n_movies).fit(s.x_train, s.y_train)
    bias_rmse = metrics.rmse(s.y_valid, bias.predict(s.x_valid))
    model = _fit(s, k=2)
    svd_rmse = metrics.rmse(s.y_valid, model.predict(s.x_valid))
    assert svd_rmse < 0.85 * bias_rmse, (svd_rmse, bias_rmse)
    plain = _fit(s, k=2, remove_baseline=False)
    assert plain.baseline_ is None
    # Missing = 0 on raw ratings drags predictions towards 0: much worse than the biases.
    assert metrics.rmse(s.y_valid, plain.predict(s.x_valid)) > bias_rmse


def test_recommender_shapes_order_and_clipping(synthetic_split):
    s = synthetic_split
    model = _fit(s, k=3)
    assert model.user_factors_.shape == (s.n_users, 3)
    assert model.movie_factors_.shape == (s.n_movies, 3)
    assert np.all(np.diff(model.singular_values_) <= 0) and np.all(model.singular_values_ > 0)
    np.testing.assert_allclose(model.user_factors_.T @ model.user_factors_, np.eye(3), atol=1e-8)
    pred = model.predict(s.x_valid)
    assert pred.shape == (len(s.x_valid),) and pred.min() >= 0.5 and pred.max() <= 5.0


def test_recommender_matches_a_dense_svd_of_the_residual_matrix(synthetic_split):
    s = synthetic_split
    model = _fit(s, k=4)
    dense = svd.training_matrix(s, residual_of=model.baseline_).toarray()
    low = svd.rank_k_approximation(dense, 4)
    expected = np.clip(model.baseline_.predict(s.x_valid) + low[s.x_valid[:, 0], s.x_valid[:, 1]], 0.5, 5.0)
    np.testing.assert_allclose(model.predict(s.x_valid), expected, atol=1e-8)
    # k = min(shape) takes the dense path and reproduces the training residuals exactly.
    full = _fit(s, k=min(s.n_users, s.n_movies))
    np.testing.assert_allclose(full.predict(s.x_train), np.clip(s.y_train, 0.5, 5.0), atol=1e-6)


def test_recommender_is_deterministic_and_truncation_matches_refit(synthetic_split):
    s = synthetic_split
    a, b = _fit(s, k=5), _fit(s, k=5)
    np.testing.assert_array_equal(a.predict(s.x_valid), b.predict(s.x_valid))
    np.testing.assert_array_equal(a.movie_factors_, b.movie_factors_)
    np.testing.assert_allclose(a.predict(s.x_valid, k=2), _fit(s, k=2).predict(s.x_valid), atol=1e-8)


def test_embeddings_dot_product_is_the_svd_part(synthetic_split):
    s = synthetic_split
    model = _fit(s, k=3)
    users, movies = model.embeddings()
    x = s.x_valid[:20]
    dots = np.sum(users[x[:, 0]] * movies[x[:, 1]], axis=1)
    unclipped = model.baseline_.predict(x) + dots
    np.testing.assert_allclose(model.predict(x), np.clip(unclipped, 0.5, 5.0), atol=1e-10)


def test_recommender_errors(synthetic_split):
    s = synthetic_split
    model = svd.TruncatedSVDRecommender(s.n_users, s.n_movies, k=2)
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict(s.x_valid)
    with pytest.raises(ValueError, match="between 1 and"):
        svd.TruncatedSVDRecommender(s.n_users, s.n_movies, k=0).fit(s.x_train, s.y_train)
    with pytest.raises(ValueError, match="shape \\(n, 2\\)"):
        model.fit(s.x_train[:, :1], s.y_train)
    with pytest.raises(ValueError, match="pairs but"):
        model.fit(s.x_train, s.y_train[:-1])
    model.fit(s.x_train, s.y_train)
    with pytest.raises(ValueError, match="at most the fitted k"):
        model.predict(s.x_valid, k=3)
    with pytest.raises(IndexError):
        model.predict(np.array([[s.n_users, 0]]))


def test_svd_rmse_by_k_table(synthetic_split):
    s = synthetic_split
    table = svd.svd_rmse_by_k(s, [5, 1, 2])
    assert list(table.columns) == ["k", "train_rmse", "val_rmse"]
    assert table["k"].tolist() == [1, 2, 5]
    assert table["train_rmse"].is_monotonic_decreasing  # more factors always fit training better
    two = _fit(s, k=2)
    assert table.loc[1, "val_rmse"] == pytest.approx(metrics.rmse(s.y_valid, two.predict(s.x_valid)), abs=1e-9)
    with pytest.raises(ValueError, match="at least one k"):
        svd.svd_rmse_by_k(s, [])


def test_plots_draw_what_they_are_given(synthetic_split):
    import matplotlib.pyplot as plt

    table = pd.DataFrame({"k": [1, 2, 5], "train_rmse": [0.8, 0.7, 0.6], "val_rmse": [0.9, 0.85, 0.86]})
    ax = svd.plot_rmse_by_k(table, {"biases": 0.86, "global mean": 1.04})
    assert len(ax.lines) == 3
    np.testing.assert_allclose(ax.lines[0].get_ydata(), table["val_rmse"])
    axes = svd.plot_factors(np.arange(12.0).reshape(3, 4), k=2, row_labels=list("abc"), col_labels=list("wxyz"))
    assert len(axes) == 4
    assert axes[1].images[0].get_array().shape == (3, 2) and axes[3].images[0].get_array().shape == (2, 4)
    plt.close("all")


def test_plot_latent_space_draws_users_and_movies():
    import matplotlib.pyplot as plt

    users = np.array([[1.0, 0.5], [2.0, -1.0], [0.5, 0.5]])
    movies = np.array([[1.0, 1.0], [1.0, 1.0], [0.5, -1.0]])
    ax = svd.plot_latent_space(users, movies, ["a", "b", "c"], ["X", "Y", "Z"])
    np.testing.assert_allclose(ax.collections[0].get_offsets(), users)
    texts = [t.get_text() for t in ax.texts]
    assert {"a", "b", "c", "X / Y", "Z"} <= set(texts)  # identical movie vectors share a label
    # the chapter reads angles and lengths off this plot: one unit is as long on both axes
    ax.figure.draw_without_rendering()
    width, height = ax.get_window_extent().width, ax.get_window_extent().height
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    assert ax.get_aspect() == 1.0
    assert width / (x1 - x0) == pytest.approx(height / (y1 - y0), rel=1e-3)
    with pytest.raises(ValueError, match="one label per"):
        svd.plot_latent_space(users, movies, ["a"], ["X", "Y", "Z"])
    with pytest.raises(ValueError, match="shapes"):
        svd.plot_latent_space(users[:, :1], movies, ["a", "b", "c"], ["X", "Y", "Z"])
    plt.close("all")


def test_top_right_singular_vectors_span_the_svd_factors():
    import scipy.sparse as sp

    rng = np.random.default_rng(3)
    dense = rng.random((12, 40)) * (rng.random((12, 40)) < 0.3)
    for matrix, plain in ((sp.csr_matrix(dense), dense), (dense, dense), (dense.T, dense.T)):
        v = svd.top_right_singular_vectors(matrix, 5)
        _, _, vt = np.linalg.svd(plain, full_matrices=False)
        np.testing.assert_allclose(v @ v.T, vt[:5].T @ vt[:5], atol=1e-8)
        np.testing.assert_allclose(v.T @ v, np.eye(5), atol=1e-8)
    low_rank = np.outer(rng.random(6), rng.random(9))  # rank 1: the other directions are zero columns
    v = svd.top_right_singular_vectors(low_rank, 3)
    assert np.allclose(v[:, 1:], 0) and np.isclose(np.linalg.norm(v[:, 0]), 1)
    with pytest.raises(ValueError, match="k must be between 1 and 6"):
        svd.top_right_singular_vectors(low_rank, 7)
