"""Fitting a Keras model on a :class:`~cfcourse.data.Split` with early stopping."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .metrics import check_pairs, rmse


def seed_everything(seed: int = 42) -> None:
    """Seed Python, NumPy and the backend, and ask TensorFlow for deterministic kernels.

    After this, building and training the same model on the same data gives identical weights.
    """
    import keras

    keras.utils.set_random_seed(int(seed))
    try:
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    except Exception:  # pragma: no cover - other backends
        pass


@dataclass
class TrainResult:
    """What :func:`train` returns: the fitted model and a tidy per-epoch history."""

    model: object
    history: pd.DataFrame  # columns: epoch, train_rmse, val_rmse, loss, val_loss
    best_epoch: int
    val_rmse: float
    seconds: float
    examples_per_second: float


def train(model, split, *, epochs: int = 20, batch_size: int = 1024, learning_rate: float = 5e-3,
          patience: int = 2, seed: int | None = 42, verbose: int = 0,
          steps_per_execution: int = 32) -> TrainResult:
    """Compile ``model`` with Adam and MSE, fit it on ``split`` and keep the best epoch.

    Early stopping watches the validation RMSE (not the loss, which includes any L2
    penalty) and restores the weights of the best epoch. ``val_rmse`` in the result is
    recomputed from the restored model's predictions.

    ``seed`` seeds the shuffling and TensorFlow's ops before fitting. It does **not** fix the
    initial weights or the dropout masks: Keras draws the seeds of a model's initialisers and
    dropout layers when the model is *constructed*. For a reproducible run, call
    :func:`seed_everything` before building the model (then ``seed=None`` here, or the same seed).

    ``steps_per_execution`` runs that many training (and validation) steps per call into the
    backend: the same steps in the same order, so the same weights and the same history as one
    step per call (``steps_per_execution=1``), with less overhead per step. The default of 32
    makes the course's batches of 1,024 train about a fifth faster; the post's batches of 32
    gain more.
    """
    import keras

    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs} and {batch_size}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if patience < 0:
        raise ValueError(f"patience must be 0 or more epochs, got {patience}")
    if steps_per_execution < 1:
        raise ValueError(f"steps_per_execution must be positive, got {steps_per_execution}")
    missing = [a for a in ("x_train", "y_train", "x_valid", "y_valid") if not hasattr(split, a)]
    if missing:
        raise TypeError(f"train expects a cfcourse.data.Split (from data.split_ratings), got {type(split).__name__}")
    for part in ("train", "valid"):
        x, y = np.asarray(getattr(split, f"x_{part}")), np.asarray(getattr(split, f"y_{part}"))
        if x.ndim != 2 or x.shape[1] != 2 or y.shape != (len(x),) or len(x) == 0:
            raise ValueError(f"split.x_{part} must have shape (n, 2) and split.y_{part} shape (n,) with n > 0, "
                             f"got {x.shape} and {y.shape}")
        _check_known(model, x)
    if seed is not None:
        seed_everything(seed)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse",
                  metrics=[keras.metrics.RootMeanSquaredError(name="rmse")],
                  steps_per_execution=steps_per_execution)
    stop = keras.callbacks.EarlyStopping(monitor="val_rmse", mode="min", patience=patience,
                                         restore_best_weights=True)
    start = time.perf_counter()
    fit = model.fit(split.x_train, split.y_train, batch_size=batch_size, epochs=epochs,
                    validation_data=(split.x_valid, split.y_valid), callbacks=[stop], verbose=verbose,
                    shuffle=True)
    seconds = time.perf_counter() - start
    h = fit.history
    history = pd.DataFrame({
        "epoch": np.arange(1, len(h["loss"]) + 1),
        "train_rmse": h["rmse"],
        "val_rmse": h["val_rmse"],
        "loss": h["loss"],
        "val_loss": h["val_loss"],
    })
    best = int(history["val_rmse"].idxmin())
    val = rmse(split.y_valid, predict(model, split.x_valid))
    return TrainResult(model=model, history=history, best_epoch=int(history["epoch"][best]), val_rmse=val,
                       seconds=seconds, examples_per_second=len(split.y_train) * len(history) / seconds)


def _check_known(model, x: np.ndarray) -> None:
    """Refuse indices the model has no row for (a Keras lookup would fail deep inside, or wrap -1 around)."""
    n_users, n_movies = getattr(model, "n_users", None), getattr(model, "n_movies", None)
    if n_users is not None and n_movies is not None:
        check_pairs(x, n_users, n_movies)


def predict(model, x, batch_size: int = 8192) -> np.ndarray:
    """Predicted ratings for an (n, 2) array of (user, movie) indices, as a 1-d float array."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"expected (user, movie) pairs with shape (n, 2), got {x.shape}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    _check_known(model, x)
    x = x.astype("int32")
    # Calling the model eagerly in inference mode (rather than model.predict) builds no new
    # tf.function per model, so a chapter that trains several models logs no retracing warnings.
    parts = [np.asarray(model(x[i:i + batch_size], training=False)).reshape(-1)
             for i in range(0, len(x), batch_size)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def early_stopping_point(values, patience: int) -> tuple[int, int]:
    """Replay early stopping on a per-epoch series of a quantity to minimise (e.g. ``history["val_rmse"]``).

    Returns ``(best_epoch, stop_epoch)``, both 1-based: the epoch whose weights Keras'
    ``EarlyStopping(patience=patience, restore_best_weights=True)`` would keep, and the last
    epoch it would run. Because a seeded run is identical epoch by epoch whatever the
    patience, this tells from one long run what a run with a smaller patience would have done.
    If the series ends before stopping, ``stop_epoch`` is its last epoch.
    """
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0:
        raise ValueError("early_stopping_point needs at least one epoch")
    if patience < 0:
        raise ValueError(f"patience must be 0 or more epochs, got {patience}")
    best, wait = 0, 0
    for i in range(1, len(values)):
        if values[i] < values[best]:
            best, wait = i, 0
        else:
            wait += 1
            if wait >= patience:
                return best + 1, i + 1
    return best + 1, len(values)


# --------------------------------------------------------------------------------------
# Training a model to rank (chapter 7)
# --------------------------------------------------------------------------------------


@dataclass
class RankerTrainResult:
    """What :func:`train_ranker` returns: the model (best epoch restored) and a tidy history."""

    model: object
    history: pd.DataFrame  # columns: epoch, loss, val_hr (NaN on epochs without validation)
    best_epoch: int
    val_hr: float
    seconds: float


def implicit_targets(split, weighting: str = "interaction") -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(users, targets, sample_weight)`` to train a softmax ranker on a split's training interactions.

    One example per user instead of one per interaction, with the same loss: the cross-entropy
    summed over a user's interactions ``i``, ``-Σ_i log p(i | u)``, equals ``n_u`` times the
    cross-entropy of one example whose target is the user's interactions as a distribution
    (``1/n_u`` on each movie the user rated, 0 elsewhere). So ``targets`` holds those
    distributions (users × movies, float32) and, with ``weighting="interaction"``, each user has
    the weight ``n_u / mean(n_u)``: the loss is then the mean loss per training interaction,
    as with one example per interaction. ``weighting="user"`` weighs every user equally
    (``sample_weight`` is ``None``).
    """
    if weighting not in ("interaction", "user"):
        raise ValueError(f"weighting must be 'interaction' or 'user', got {weighting!r}")
    x = split.interactions("train").toarray().astype(np.float32)
    counts = x.sum(axis=1)
    if np.any(counts == 0):
        raise ValueError(f"user(s) {np.flatnonzero(counts == 0)[:5].tolist()} have no training interaction: "
                         "build the split with ranking.temporal_split, which keeps at least one per user")
    weights = (counts / counts.mean()).astype(np.float32) if weighting == "interaction" else None
    return np.arange(split.n_users, dtype=np.int32), x / counts[:, None], weights


def best_hit_rate_callback(score: Callable | None, relevant, known, *, k: int = 10, patience: int = 3):
    """A Keras callback for early stopping on the validation HR@``k`` of a model that ranks movies.

    After every epoch ``score(model)`` gives the (n_users, n_movies) scores of the validation
    users; their HR@``k`` (``relevant`` held out, ``known`` masked: see
    :func:`cfcourse.ranking.hit_rate`) is appended to ``callback.values``. The best epoch's
    weights are kept in ``callback.best_weights`` (restore them after ``fit``) and training stops
    after ``patience`` epochs without a better one. With ``score=None`` nothing is measured
    (``values`` gets NaN each epoch) and training runs all its epochs.
    """
    import keras

    from .ranking import hit_rate

    class BestHitRate(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.values, self.best, self.best_weights, self.wait = [], -1.0, None, 0

        def on_epoch_end(self, epoch, logs=None):
            if score is None:
                self.values.append(float("nan"))
                return
            value = hit_rate(score(self.model), relevant, known, k)
            self.values.append(value)
            if value > self.best:
                self.best, self.best_weights, self.wait = value, self.model.get_weights(), 0
            else:
                self.wait += 1
                if self.wait >= patience:
                    self.model.stop_training = True

    return BestHitRate()


def hit_rate_history(fit, callback, model, restore: bool = True) -> tuple[pd.DataFrame, int, float]:
    """What a ``model.fit`` under :func:`best_hit_rate_callback` gives: ``(history, best epoch, its HR@k)``.

    ``history`` has one row per epoch run: ``epoch`` (from 1), ``loss`` and ``val_hr``. With
    ``restore`` the best epoch's weights are put back into ``model`` and the best epoch (counted
    from 1) and its validation HR@k are returned; without it (training without validation) the
    last epoch and NaN.
    """
    losses = fit.history["loss"]
    history = pd.DataFrame({"epoch": np.arange(1, len(losses) + 1), "loss": losses, "val_hr": callback.values})
    if not restore:
        return history, len(history), float("nan")
    model.set_weights(callback.best_weights)
    best = int(np.argmax(callback.values))
    return history, best + 1, float(callback.values[best])


def log_popularity(counts) -> np.ndarray:
    """The log of each movie's smoothed share of the interactions, ``log((c + 1) / sum(c + 1))``, as float32.

    ``counts`` holds each movie's number of training interactions. The ``+ 1`` gives a movie with
    none a finite (the lowest) value. A ranker whose movie biases start here and whose user
    vectors are near zero starts as the popularity ranking (see :func:`train_ranker`).
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or len(counts) == 0 or not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("counts must be a non-empty 1-d array of non-negative interaction counts, one per movie "
                         "(e.g. split.train_counts())")
    counts = counts + 1.0
    return np.log(counts / counts.sum()).astype("float32")


def train_ranker(model, split, *, epochs: int = 30, batch_size: int = 64, learning_rate: float = 0.03,
                 patience: int = 3, k: int = 10, weighting: str = "interaction", init_popularity: bool = True,
                 seed: int | None = 42, verbose: int = 0, steps_per_execution: int = 1) -> RankerTrainResult:
    """Train a ranker (e.g. :class:`cfcourse.models.SoftmaxRanker`) on a :class:`~cfcourse.ranking.TemporalSplit`.

    The model maps user indices to one logit per movie. It is fitted with Adam on the softmax
    cross-entropy of :func:`implicit_targets` (every training rating is an interaction), and
    after every epoch its HR@``k`` on the validation part (training movies masked) is measured;
    training stops after ``patience`` epochs without a better one and the best epoch's weights
    are restored. With ``init_popularity`` the movie biases start at the log-share of each
    movie's training interactions (:func:`log_popularity`), i.e. the model starts as the popularity ranking and the
    embeddings learn how each user departs from it (it needs fewer epochs).

    ``seed`` seeds shuffling and TensorFlow's ops before fitting; as with :func:`train`, call
    :func:`seed_everything` before *building* the model for reproducible initial weights.
    """
    import keras

    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs} and {batch_size}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if patience < 0:
        raise ValueError(f"patience must be 0 or more epochs, got {patience}")
    if steps_per_execution < 1:
        raise ValueError(f"steps_per_execution must be positive, got {steps_per_execution}")
    for attr in ("interactions", "relevant", "known", "n_valid"):
        if not hasattr(split, attr):
            raise TypeError(f"train_ranker expects a ranking.TemporalSplit (from ranking.temporal_split), "
                            f"got {type(split).__name__}")
    if len(split.valid) == 0:
        raise ValueError("the split has no validation part (n_valid=0): early stopping needs one; "
                         "build it with temporal_split(..., n_valid=1) or more")
    n_users, n_movies = getattr(model, "n_users", None), getattr(model, "n_movies", None)
    if (n_users, n_movies) != (split.n_users, split.n_movies):
        raise ValueError(f"the model has {n_users} users and {n_movies} movies, the split {split.n_users} and "
                         f"{split.n_movies}: build the model with split.n_users and split.n_movies")
    users, targets, weights = implicit_targets(split, weighting)
    if seed is not None:
        seed_everything(seed)
    if not model.built:
        model.build((None,))
    if init_popularity:
        model.movie_bias.embeddings.assign(log_popularity(split.train_counts()).reshape(-1, 1))
    relevant, known = split.relevant("valid"), split.known("valid")

    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True),
                  steps_per_execution=steps_per_execution)
    validation = best_hit_rate_callback(lambda m: keras.ops.convert_to_numpy(m(users, training=False)),
                                        relevant, known, k=k, patience=patience)
    start = time.perf_counter()
    fit = model.fit(users, targets, sample_weight=weights, batch_size=batch_size, epochs=epochs,
                    callbacks=[validation], verbose=verbose, shuffle=True)
    seconds = time.perf_counter() - start
    model.set_weights(validation.best_weights)
    history = pd.DataFrame({"epoch": np.arange(1, len(fit.history["loss"]) + 1), "loss": fit.history["loss"],
                            "val_hr": validation.values})
    best = int(np.argmax(validation.values))
    return RankerTrainResult(model=model, history=history, best_epoch=best + 1, val_hr=float(validation.values[best]),
                             seconds=seconds)
