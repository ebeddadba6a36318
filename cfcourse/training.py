"""Fitting a Keras model on a :class:`~cfcourse.data.Split` with early stopping."""

from __future__ import annotations

import time
from dataclasses import dataclass

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
          steps_per_execution: int = 1) -> TrainResult:
    """Compile ``model`` with Adam and MSE, fit it on ``split`` and keep the best epoch.

    Early stopping watches the validation RMSE (not the loss, which includes any L2
    penalty) and restores the weights of the best epoch. ``val_rmse`` in the result is
    recomputed from the restored model's predictions.

    ``seed`` seeds the shuffling and TensorFlow's ops before fitting. It does **not** fix the
    initial weights or the dropout masks: Keras draws the seeds of a model's initialisers and
    dropout layers when the model is *constructed*. For a reproducible run, call
    :func:`seed_everything` before building the model (then ``seed=None`` here, or the same seed).

    ``steps_per_execution`` runs that many training steps per call into the backend: the same
    steps in the same order, so the same weights, but much less overhead per step for small
    batches (the post's batches of 32).
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
