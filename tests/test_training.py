"""training.train on a tiny synthetic split: determinism, the history frame, early stopping, bad input."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from cfcourse import data, models, training

N_USERS, N_MOVIES = 25, 40
COLUMNS = ["epoch", "train_rmse", "val_rmse", "loss", "val_loss"]


def synthetic_split(n=1200, noise=0.4, structure=1.0, seed=0) -> data.Split:
    """Ratings = 3.5 + user bias + movie bias (times ``structure``) + noise, clipped to 0.5..5."""
    rng = np.random.default_rng(seed)
    users = rng.integers(0, N_USERS, n)
    films = rng.integers(0, N_MOVIES, n)
    b_user, b_movie = rng.normal(0, 0.6, N_USERS), rng.normal(0, 0.6, N_MOVIES)
    y = np.clip(3.5 + structure * (b_user[users] + b_movie[films]) + rng.normal(0, noise, n), 0.5, 5.0)
    x = np.stack([users, films], axis=1).astype(np.int32)
    order = rng.permutation(n)
    train, valid = np.sort(order[: int(0.8 * n)]), np.sort(order[int(0.8 * n):])
    return data.Split(x_train=x[train], y_train=y[train].astype(np.float32), x_valid=x[valid],
                      y_valid=y[valid].astype(np.float32), n_users=N_USERS, n_movies=N_MOVIES,
                      min_rating=0.5, max_rating=5.0, train_index=train, valid_index=valid)


@pytest.fixture(scope="module")
def split():
    return synthetic_split()


def bias_model(dim=8):
    return models.DotWithBias(N_USERS, N_MOVIES, dim, user_dropout=0.0, movie_dropout=0.0)


@pytest.fixture(scope="module")
def twin_runs(split):
    """Two runs with the same seed, seeded *before* building the model (Keras fixes the seeds of the
    initialisers and dropout layers when they are constructed)."""
    runs = []
    for _ in range(2):
        training.seed_everything(7)
        runs.append(training.train(bias_model(), split, epochs=4, batch_size=100, learning_rate=1e-2,
                                   patience=10, seed=7, steps_per_execution=1))
    return runs


def test_same_seed_gives_identical_weights_and_rmse(twin_runs):
    first, second = twin_runs
    for a, b in zip(first.model.get_weights(), second.model.get_weights()):
        assert np.array_equal(a, b)
    assert first.val_rmse == second.val_rmse
    pd.testing.assert_frame_equal(first.history, second.history)


def test_several_steps_per_execution_give_the_same_weights(split, twin_runs):
    """The benchmark runs the post's small batches 64 steps per call: same steps, same weights."""
    training.seed_everything(7)
    batched = training.train(bias_model(), split, epochs=4, batch_size=100, learning_rate=1e-2, patience=10,
                             seed=7, steps_per_execution=3)
    for a, b in zip(twin_runs[0].model.get_weights(), batched.model.get_weights()):
        assert np.array_equal(a, b)
    assert batched.val_rmse == twin_runs[0].val_rmse


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_the_default_steps_per_execution_gives_the_same_weights_as_one_step_per_call(split, dropout):
    """train's default runs several steps per call (the chapters rely on it for speed): the weights, the
    history and the best epoch must be exactly those of one step per call, dropout masks included."""
    import inspect

    default = inspect.signature(training.train).parameters["steps_per_execution"].default
    assert default > 1
    runs = []
    for steps in (1, default):
        training.seed_everything(3)
        model = models.DotWithBias(N_USERS, N_MOVIES, 8, user_dropout=dropout, movie_dropout=dropout)
        options = {} if steps == default else {"steps_per_execution": steps}
        # 960 training ratings in batches of 64: 15 steps per epoch, fewer than the default per call
        runs.append(training.train(model, split, epochs=5, batch_size=64, learning_rate=1e-2, patience=10,
                                   seed=3, **options))
    one, several = runs
    for a, b in zip(one.model.get_weights(), several.model.get_weights()):
        assert np.array_equal(a, b)
    pd.testing.assert_frame_equal(one.history, several.history)
    assert (one.best_epoch, one.val_rmse) == (several.best_epoch, several.val_rmse)


def test_seed_everything_fixes_the_initial_weights():
    x = np.array([[0, 0], [1, 2]], dtype="int32")
    weights = {}
    for seed in (11, 11, 12):
        training.seed_everything(seed)
        model = models.DotWithBias(N_USERS, N_MOVIES, 8)
        model(x)
        weights.setdefault(seed, []).append(model.get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*weights[11]))
    assert not np.array_equal(weights[11][0][0], weights[12][0][0])


def test_history_frame_and_result_fields(twin_runs):
    result = twin_runs[0]
    hist = result.history
    assert list(hist.columns) == COLUMNS
    assert len(hist) == 4 and hist["epoch"].tolist() == [1, 2, 3, 4]
    assert np.all(np.isfinite(hist[COLUMNS[1:]].to_numpy())) and (hist[COLUMNS[1:]] > 0).all().all()
    # With no penalty the loss is the mean squared error, so it matches the squared RMSE.
    assert np.allclose(hist["val_loss"], hist["val_rmse"] ** 2, rtol=1e-3)
    assert np.allclose(hist["loss"], hist["train_rmse"] ** 2, rtol=2e-2)
    assert hist["train_rmse"].iloc[-1] < hist["train_rmse"].iloc[0]  # it learns
    assert 1 <= result.best_epoch <= 4
    assert result.val_rmse == pytest.approx(hist["val_rmse"].min(), abs=1e-4)
    assert result.seconds > 0 and result.examples_per_second > 0
    assert {f.name for f in dataclasses.fields(result)} == {
        "model", "history", "best_epoch", "val_rmse", "seconds", "examples_per_second"}


def test_penalty_shows_in_the_loss_but_not_in_the_rmse(split):
    model = models.DotWithBias(N_USERS, N_MOVIES, 8, user_dropout=0.0, movie_dropout=0.0, l2=1e-2)
    hist = training.train(model, split, epochs=2, batch_size=128, patience=5, seed=3).history
    assert (hist["val_loss"] > hist["val_rmse"] ** 2 + 1e-4).all()


def test_early_stopping_restores_the_best_epoch():
    # Few, noisy ratings and a wide model without dropout or penalty: validation gets worse after a few epochs.
    small = synthetic_split(n=600, noise=0.7, seed=5)
    training.seed_everything(0)
    model = models.DotWithBias(N_USERS, N_MOVIES, 32, user_dropout=0.0, movie_dropout=0.0)
    result = training.train(model, small, epochs=40, batch_size=64, learning_rate=2e-2, patience=2, seed=0)
    hist = result.history
    assert len(hist) < 40, "training should have stopped early"
    assert result.best_epoch > 1
    best_row = int(hist["val_rmse"].idxmin())
    assert result.best_epoch == hist["epoch"][best_row]
    assert result.val_rmse == pytest.approx(hist["val_rmse"].min(), abs=1e-4)
    assert hist["val_rmse"].iloc[-1] > result.val_rmse + 1e-3  # restoring mattered
    assert training.early_stopping_point(hist["val_rmse"], 2) == (result.best_epoch, len(hist))
    recomputed = np.sqrt(np.mean((training.predict(result.model, small.x_valid) - small.y_valid) ** 2))
    assert recomputed == pytest.approx(result.val_rmse, abs=1e-6)


@pytest.mark.parametrize("values, patience, expected", [
    ([3.0, 2.0, 1.0], 2, (3, 3)),
    ([1.0, 2.0, 3.0, 0.5], 2, (1, 3)),
    ([1.0, 2.0, 3.0, 0.5], 3, (4, 4)),
    ([2.0, 1.0, 1.0, 1.5, 0.9], 2, (2, 4)),
    ([2.0, 1.0, 1.5], 0, (2, 3)),
    ([5.0], 2, (1, 1)),
])
def test_early_stopping_point(values, patience, expected):
    assert training.early_stopping_point(values, patience) == expected


def test_early_stopping_point_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one epoch"):
        training.early_stopping_point([], 2)
    with pytest.raises(ValueError, match="patience"):
        training.early_stopping_point([1.0, 2.0], -1)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(epochs=0), ValueError, "epochs and batch_size must be positive"),
    (dict(batch_size=0), ValueError, "epochs and batch_size must be positive"),
    (dict(learning_rate=0.0), ValueError, "learning_rate must be positive"),
    (dict(patience=-1), ValueError, "patience"),
    (dict(steps_per_execution=0), ValueError, "steps_per_execution must be positive"),
])
def test_train_rejects_bad_settings(split, kwargs, error, message):
    with pytest.raises(error, match=message):
        training.train(bias_model(), split, **kwargs)


def test_train_rejects_what_is_not_a_split(split):
    with pytest.raises(TypeError, match="cfcourse.data.Split"):
        training.train(bias_model(), (split.x_train, split.y_train))
    broken = dataclasses.replace(split, x_valid=split.x_valid[:, :1])
    with pytest.raises(ValueError, match=r"x_valid must have shape \(n, 2\)"):
        training.train(bias_model(), broken)
    short = dataclasses.replace(split, y_train=split.y_train[:-1])
    with pytest.raises(ValueError, match="y_train"):
        training.train(bias_model(), short)


def test_predict_rejects_bad_shapes():
    model = models.SimpleDot(N_USERS, N_MOVIES, 4)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        training.predict(model, np.zeros((3, 3), dtype=int))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        training.predict(model, np.zeros(4, dtype=int))


def test_predict_refuses_unknown_users_and_movies():
    import numpy as np

    from cfcourse.models import SimpleDot
    from cfcourse.training import predict

    model = SimpleDot(3, 4, embedding_dim=2)
    assert predict(model, np.array([[0, 0], [2, 3]])).shape == (2,)
    with pytest.raises(IndexError, match=r"movie index \[4\] outside 0..3: the model knows 4 movies.*fallback"):
        predict(model, np.array([[0, 4]]))
    with pytest.raises(IndexError, match=r"user index \[-1\] outside 0..2"):
        predict(model, np.array([[-1, 0]]))
    with pytest.raises(ValueError, match="whole numbers"):
        predict(model, np.array([[0.5, 1.0]]))
    with pytest.raises(ValueError, match="whole numbers .* got dtype <U1"):
        predict(model, np.array([["a", "b"]]))


def test_train_refuses_a_model_too_small_for_the_data():
    import numpy as np

    from cfcourse.data import encode_ids, split_ratings
    from cfcourse.models import SimpleDot
    from cfcourse.training import train

    ratings = pd.DataFrame({"userId": np.repeat(np.arange(6), 4), "movieId": np.tile(np.arange(4), 6),
                            "rating": 3.0})
    split = split_ratings(encode_ids(ratings))
    with pytest.raises(IndexError, match=r"user index \[.*\] outside 0..2: the model knows 3 users"):
        train(SimpleDot(3, 4, embedding_dim=2), split, epochs=1)
