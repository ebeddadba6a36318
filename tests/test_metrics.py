"""RMSE, the global-mean and bias baselines, and their numbers on the course's default split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import real_data_dir

from cfcourse import data, metrics


def test_rmse_of_known_values():
    assert metrics.rmse([1, 2, 3], [1, 2, 3]) == 0.0
    assert metrics.rmse([0, 0], [3, 4]) == pytest.approx(np.sqrt(12.5))
    assert metrics.rmse(np.array([[4.0], [2.0]]), pd.Series([3.0, 3.0])) == pytest.approx(1.0)  # shapes flattened
    assert isinstance(metrics.rmse([1.0], [2.0]), float)


@pytest.mark.parametrize("y_true, y_pred, pattern", [
    ([1, 2, 3], [1, 2], r"equally many true and predicted ratings, got 3 and 2"),
    ([], [], r"rmse of zero ratings is undefined"),
    ([1.0, np.nan], [1.0, 2.0], r"NaN or infinite values in y_true"),
    ([1.0, 2.0], [1.0, np.inf], r"NaN or infinite values in y_pred"),
    (["a", "b"], [1.0, 2.0], r"y_true must be numbers"),
    ([1.0], None, r"y_pred must be numbers .* got NoneType"),
])
def test_rmse_rejects_bad_input_clearly(y_true, y_pred, pattern):
    with pytest.raises(ValueError, match=pattern):
        metrics.rmse(y_true, y_pred)


def test_global_mean_predicts_the_training_mean():
    model = metrics.GlobalMean().fit(np.zeros((3, 2), int), [1.0, 2.0, 4.5])
    assert model.mean == pytest.approx(2.5)
    assert model.predict(np.zeros((2, 2), int)).tolist() == [2.5, 2.5]
    with pytest.raises(RuntimeError, match=r"GlobalMean has not been fitted"):
        metrics.GlobalMean().predict(np.zeros((2, 2), int))
    with pytest.raises(ValueError, match=r"at least one rating"):
        metrics.GlobalMean().fit(np.zeros((0, 2), int), [])


def _additive(n_users=20, n_movies=15, seed=0):
    """Every (user, movie) pair rated exactly mean + b_u + b_m: biases explain everything."""
    rng = np.random.default_rng(seed)
    b_u, b_m = rng.normal(0, 0.4, n_users), rng.normal(0, 0.4, n_movies)
    users, movies = np.meshgrid(np.arange(n_users), np.arange(n_movies), indexing="ij")
    x = np.column_stack([users.ravel(), movies.ravel()])
    y = 3.0 + b_u[x[:, 0]] + b_m[x[:, 1]]
    return x, y


def test_biases_recover_an_additive_rating_table():
    x, y = _additive()
    model = metrics.BiasBaseline(20, 15, reg_user=0, reg_movie=0, n_iter=20).fit(x, y)
    assert metrics.rmse(y, model.predict(x)) < 1e-6
    assert model.mean_ == pytest.approx(y.mean())
    # regularisation shrinks the biases towards zero, so the fit gets worse, not better
    shrunk = metrics.BiasBaseline(20, 15, reg_user=50, reg_movie=50).fit(x, y)
    assert np.abs(shrunk.movie_bias_).sum() < np.abs(model.movie_bias_).sum()
    assert metrics.rmse(y, shrunk.predict(x)) > 0.01


def test_a_movie_rated_once_stays_near_the_mean_and_unseen_ids_get_no_bias():
    x = np.array([[0, 0], [1, 0], [2, 0], [0, 1]])
    y = np.array([3.0, 3.0, 3.0, 5.0])
    model = metrics.BiasBaseline(n_users=4, n_movies=3).fit(x, y)
    assert 0 < model.movie_bias_[1] < (5.0 - model.mean_) / 2  # one rating: shrunk by (3 + 1)
    assert model.user_bias_[3] == 0.0 and model.movie_bias_[2] == 0.0  # never seen in training
    assert model.predict([[3, 2]]).tolist() == [pytest.approx(model.mean_)]
    # with no regularisation an unseen id must still get 0, not NaN from 0/0
    plain = metrics.BiasBaseline(n_users=4, n_movies=3, reg_user=0, reg_movie=0).fit(x, y)
    assert np.isfinite(plain.predict([[3, 2]])).all()


def test_predictions_are_clipped_to_the_scale():
    x = np.array([[0, 0], [1, 1]])
    model = metrics.BiasBaseline(2, 2, reg_user=0, reg_movie=0, min_rating=1, max_rating=5).fit(x, [5.0, 1.0])
    model.user_bias_[:] = [10, -10]
    assert model.predict(x).tolist() == [5.0, 1.0]


@pytest.mark.parametrize("x, error, pattern", [
    ([[0, 3]], IndexError, r"movie index \[3\] outside 0\.\.2: the model knows 3 movies"),
    ([[5, 0], [7, 1], [5, 2]], IndexError, r"user index \[5, 7\] outside 0\.\.3: the model knows 4 users"),
    ([[-1, 0]], IndexError, r"user index \[-1\] outside"),
    ([0, 1], ValueError, r"shape \(n, 2\), got shape \(2,\)"),
    ([[0, 1, 2]], ValueError, r"shape \(n, 2\), got shape \(1, 3\)"),
    ([[0.5, 1]], ValueError, r"must be whole numbers .*got dtype float64"),
    ([["a", "b"]], ValueError, r"must be whole numbers"),
])
def test_predict_on_bad_indices_is_a_clear_error(x, error, pattern):
    model = metrics.BiasBaseline(n_users=4, n_movies=3).fit([[0, 0], [1, 1], [3, 2]], [4.0, 3.0, 2.0])
    with pytest.raises(error, match=pattern):
        model.predict(x)


def test_bias_baseline_misuse():
    model = metrics.BiasBaseline(n_users=2, n_movies=2)
    with pytest.raises(RuntimeError, match=r"BiasBaseline has not been fitted: call \.fit"):
        model.predict([[0, 0]])
    with pytest.raises(ValueError, match=r"x_train has 2 rows but y_train 1 ratings"):
        model.fit([[0, 0], [1, 1]], [4.0])
    with pytest.raises(ValueError, match=r"NaN or infinite"):
        model.fit([[0, 0]], [np.nan])
    with pytest.raises(ValueError, match=r"at least one rating"):
        model.fit(np.zeros((0, 2), int), [])
    # whole-number float indices are accepted (e.g. after a round trip through pandas)
    assert model.fit([[0.0, 1.0]], [4.0]).predict(np.array([[0.0, 1.0]])).tolist() == [4.0]
    assert model.predict(np.zeros((0, 2), int)).shape == (0,)


def test_baselines_on_the_default_split_of_the_real_data():
    folder = real_data_dir()
    assert folder is not None, f"this test needs the real data: set {data.ENV_DATA}"
    _, _, split = data.load_split(folder)  # 80/20, seed 42
    result = metrics.baseline_rmses(split)
    assert set(result) == {"global_mean", "biases"}
    assert round(result["global_mean"], 3) == 1.037
    assert round(result["biases"], 3) == 0.863
