"""The model trained to rank (models.SoftmaxRanker) and its training helper (training.train_ranker)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from cfcourse import models, ranking, training
from ranking_data import random_encoded

N_USERS, N_MOVIES, DIM = 5, 12, 3


@pytest.fixture(scope="module")
def split():
    return ranking.temporal_split(random_encoded(n_users=40, n_movies=60, per_user=(10, 20)), n_test=2, n_valid=2)


def built(**kwargs):
    model = models.SoftmaxRanker(N_USERS, N_MOVIES, DIM, **kwargs)
    model(np.arange(2))
    return model


def test_one_logit_per_movie_for_each_user():
    model = built()
    assert keras.ops.convert_to_numpy(model(np.array([0, 3, 4]))).shape == (3, N_MOVIES)
    assert keras.ops.convert_to_numpy(model(np.array([[1], [2]]))).shape == (2, N_MOVIES)


def test_logits_are_user_times_movie_vectors_plus_movie_bias():
    model = built()
    rng = np.random.default_rng(0)
    model.movie_bias.embeddings.assign(rng.normal(size=(N_MOVIES, 1)).astype("float32"))
    u, m = model.user_embedding.get_weights()[0], model.movie_embedding.get_weights()[0]
    b = model.movie_bias.get_weights()[0][:, 0]
    users = np.array([4, 0, 2])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(users)), u[users] @ m.T + b, atol=1e-6)


def test_dropout_acts_only_in_training_and_l2_adds_penalties():
    training.seed_everything(1)
    model = built(user_dropout=0.5, l2=0.0)
    users = np.arange(N_USERS)
    assert len(model.losses) == 0
    inference = keras.ops.convert_to_numpy(model(users))
    assert np.array_equal(inference, keras.ops.convert_to_numpy(model(users, training=False)))
    assert not np.allclose(inference, keras.ops.convert_to_numpy(model(users, training=True)))
    assert len(built(l2=0.1).losses) == 2


def test_config_round_trip():
    model = built(user_dropout=0.2, l2=1e-3)
    again = models.SoftmaxRanker.from_config(model.get_config())
    assert (again.n_users, again.n_movies, again.embedding_dim, again.user_dropout_rate, again.l2) == \
        (N_USERS, N_MOVIES, DIM, 0.2, 1e-3)


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_users=0), "n_users"),
    (dict(n_movies=-1), "n_movies"),
    (dict(embedding_dim=0), "embedding_dim"),
    (dict(user_dropout=1.0), r"user_dropout must be in \[0, 1\)"),
    (dict(l2=-1.0), "l2 must be a non-negative number"),
])
def test_bad_arguments_are_refused(kwargs, message):
    args = dict(n_users=N_USERS, n_movies=N_MOVIES, embedding_dim=DIM) | kwargs
    with pytest.raises(ValueError, match=message):
        models.SoftmaxRanker(**args)


# --------------------------------------------------------------------------------------
# Targets and loss
# --------------------------------------------------------------------------------------


def test_implicit_targets_are_each_users_interactions_as_a_distribution(split):
    users, targets, weights = training.implicit_targets(split)
    counts = split.interactions("train").toarray().sum(axis=1)
    assert users.tolist() == list(range(split.n_users)) and targets.shape == (split.n_users, split.n_movies)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(weights, counts / counts.mean(), rtol=1e-6)
    assert training.implicit_targets(split, "user")[2] is None
    with pytest.raises(ValueError, match="weighting must be 'interaction' or 'user'"):
        training.implicit_targets(split, "movie")


def test_one_example_per_user_has_the_loss_of_one_example_per_interaction(split):
    users, targets, weights = training.implicit_targets(split)
    logits = np.random.default_rng(0).normal(size=targets.shape).astype(np.float32)
    # one example per training interaction: mean over interactions of -log softmax(user's logits)[movie]
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    rows, cols = split.interactions("train").nonzero()
    per_interaction = -log_p[rows, cols].mean()
    loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    per_user = float(loss(targets, logits, sample_weight=weights))
    assert per_user == pytest.approx(per_interaction, rel=1e-5)


# --------------------------------------------------------------------------------------
# train_ranker
# --------------------------------------------------------------------------------------


def fit(split, seed=0, **kwargs):
    training.seed_everything(seed)
    model = models.SoftmaxRanker(split.n_users, split.n_movies, 8)
    return model, training.train_ranker(model, split, seed=None, **kwargs)


def test_train_ranker_keeps_the_best_epoch_on_validation_hr(split):
    model, result = fit(split, epochs=6, batch_size=8, patience=6)
    assert result.history.columns.tolist() == ["epoch", "loss", "val_hr"] and len(result.history) == 6
    assert result.val_hr == result.history["val_hr"].max()
    assert result.best_epoch == int(result.history["val_hr"].idxmax()) + 1
    scores = keras.ops.convert_to_numpy(model(np.arange(split.n_users), training=False))
    assert ranking.hit_rate(scores, split.relevant("valid"), split.known("valid")) == pytest.approx(result.val_hr)
    assert result.history["loss"].iloc[-1] < result.history["loss"].iloc[0]
    assert result.seconds > 0


def test_train_ranker_stops_after_patience_epochs_without_progress(split):
    _, result = fit(split, epochs=40, batch_size=8, patience=1)
    values = result.history["val_hr"].tolist()
    assert len(values) < 40
    assert values[-1] <= max(values[:-1])  # the last epoch did not improve
    best, stop = training.early_stopping_point([-v for v in values], patience=1)
    assert (best, stop) == (result.best_epoch, len(values))


def test_steps_per_execution_takes_the_same_steps(split):
    """Several steps per call into the backend: the same steps in the same order, so the same weights."""
    one, r1 = fit(split, epochs=3, batch_size=8, patience=3)
    many, r5 = fit(split, epochs=3, batch_size=8, patience=3, steps_per_execution=5)
    for a, b in zip(one.get_weights(), many.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert r1.history["val_hr"].tolist() == r5.history["val_hr"].tolist()
    with pytest.raises(ValueError, match="steps_per_execution must be positive"):
        fit(split, epochs=1, steps_per_execution=0)


def test_train_ranker_starts_from_popularity(split):
    model, _ = fit(split, epochs=1, learning_rate=1e-12)
    counts = split.train_counts() + 1.0
    np.testing.assert_allclose(model.movie_bias.get_weights()[0][:, 0], np.log(counts / counts.sum()), atol=1e-5)
    np.testing.assert_allclose(model.movie_bias.get_weights()[0][:, 0], training.log_popularity(split.train_counts()),
                               atol=1e-5)
    cold, _ = fit(split, epochs=1, learning_rate=1e-12, init_popularity=False)
    assert np.abs(cold.movie_bias.get_weights()[0]).max() < 1e-6


def test_log_popularity_is_the_smoothed_log_share_and_refuses_bad_counts():
    counts = np.array([0, 1, 3])
    np.testing.assert_allclose(training.log_popularity(counts), np.log(np.array([1.0, 2.0, 4.0]) / 7.0), rtol=1e-6)
    assert training.log_popularity(counts).dtype == np.float32
    for bad in ([], [[1, 2]], [1, -1], [1, np.nan]):
        with pytest.raises(ValueError, match="counts must be a non-empty 1-d array"):
            training.log_popularity(np.asarray(bad, dtype=float))


def test_train_ranker_is_deterministic(split):
    first, r1 = fit(split, seed=5, epochs=3, batch_size=8)
    second, r2 = fit(split, seed=5, epochs=3, batch_size=8)
    assert r1.history.equals(r2.history)
    for a, b in zip(first.get_weights(), second.get_weights()):
        assert np.array_equal(a, b)


def test_train_ranker_refuses_bad_input(split):
    model = models.SoftmaxRanker(split.n_users, split.n_movies, 4)
    no_valid = ranking.temporal_split(random_encoded(n_users=40, n_movies=60, per_user=(10, 20)), 2, n_valid=0)
    with pytest.raises(ValueError, match=r"no validation part \(n_valid=0\)"):
        training.train_ranker(model, no_valid)
    with pytest.raises(ValueError, match=r"the model has 3 users and \d+ movies, the split 40"):
        training.train_ranker(models.SoftmaxRanker(3, split.n_movies, 4), split)
    with pytest.raises(TypeError, match="expects a ranking.TemporalSplit"):
        training.train_ranker(model, split.rating_split())
    for kwargs, message in ((dict(epochs=0), "epochs and batch_size must be positive"),
                            (dict(learning_rate=0.0), "learning_rate must be positive"),
                            (dict(patience=-1), "patience must be 0 or more")):
        with pytest.raises(ValueError, match=message):
            training.train_ranker(model, split, **kwargs)
