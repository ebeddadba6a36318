"""Train several rating models side by side in one Keras ``fit``, each with its own early stopping.

Comparing models fairly takes many training runs: several widths, several seeds, with and without
side features. Run one after the other, each pays Keras' fixed costs (building the training step,
one Python round trip per batch) again. :func:`train_side_by_side` wraps the models in one
:class:`SideBySide` model whose output is their predictions stacked, and whose loss is the *sum* of
their mean squared errors (plus each one's own penalties). No weight is shared, so the gradient
with respect to a model's weights is the gradient of that model's own loss: with Adam, each model
takes exactly the steps it would take if trained alone on the same batches. What the models share
is the order of the batches; their starting weights and dropout masks are their own (seed each one
before building it).

After every epoch the validation RMSE of each model is measured; each keeps the weights of its
best epoch, and training stops once every model has gone ``patience`` epochs without improving:
the early stopping of :func:`cfcourse.training.train`, model by model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

__all__ = ["SideBySide", "SideBySideResult", "train_side_by_side"]


def _side_by_side_class():
    import keras
    from keras import ops

    class SideBySide(keras.Model):
        """Several rating models called on the same ``(user, movie)`` pairs; output (batch, n_models)."""

        def __init__(self, members, **kwargs):
            super().__init__(**kwargs)
            self.members = list(members)

        def call(self, inputs, training=False):
            return ops.stack([ops.reshape(m(inputs, training=training), (-1,)) for m in self.members], axis=-1)

    return SideBySide


def SideBySide(members):  # noqa: N802 - a class built lazily, so that importing this module imports no Keras
    """The Keras model that runs ``members`` side by side (see the module docstring)."""
    return _side_by_side_class()(members)


@dataclass
class SideBySideResult:
    """What :func:`train_side_by_side` returns.

    ``models`` maps each name to its model (best epoch's weights restored); ``summary`` has one row per
    model (``val_rmse``, ``best_epoch``); ``history`` one row per epoch and model (``epoch``, ``model``,
    ``val_rmse``); ``seconds`` is the wall time of the whole fit and ``epochs`` how many epochs it ran.
    """

    models: dict
    summary: pd.DataFrame
    history: pd.DataFrame
    seconds: float
    epochs: int


def _summed_mse(y_true, y_pred):
    from keras import ops

    y = ops.reshape(ops.cast(y_true, y_pred.dtype), (-1, 1))
    return ops.sum(ops.mean(ops.square(y_pred - y), axis=0))


def train_side_by_side(models: Mapping[str, object], split, *, epochs: int = 30, batch_size: int = 1024,
                       learning_rate: float = 5e-3, patience: int = 2, seed: int | None = 42,
                       verbose: int = 0, steps_per_execution: int = 1) -> SideBySideResult:
    """Fit every model of ``models`` (name → unbuilt Keras rating model) on ``split`` in one ``fit``.

    The arguments are those of :func:`cfcourse.training.train`, and mean the same for each model:
    Adam with ``learning_rate``, batches of ``batch_size`` ratings, early stopping on the validation
    RMSE with ``patience`` and the best epoch's weights kept. ``seed`` seeds the shuffling; seed each
    model yourself before building it (:func:`cfcourse.training.seed_everything`) for reproducible
    starting weights.
    """
    import keras

    from .metrics import check_pairs
    from .training import seed_everything

    stacked = hasattr(models, "member_names") and hasattr(models, "compose")
    if not stacked and (not isinstance(models, Mapping) or not models):
        raise ValueError("models must be a non-empty dict of name -> Keras rating model, or a stacked model "
                         "such as widths.StackedDotWithBias")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs} and {batch_size}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if patience < 0:
        raise ValueError(f"patience must be 0 or more epochs, got {patience}")
    if steps_per_execution < 1:
        raise ValueError(f"steps_per_execution must be positive, got {steps_per_execution}")
    for attr in ("x_train", "y_train", "x_valid", "y_valid"):
        if not hasattr(split, attr):
            raise TypeError(f"train_side_by_side expects a cfcourse.data.Split, got {type(split).__name__}")
    names = list(models.member_names) if stacked else list(models)
    members = [models] if stacked else [models[n] for n in names]
    for name, model in zip(names, members):
        n_users, n_movies = getattr(model, "n_users", None), getattr(model, "n_movies", None)
        if (n_users, n_movies) != (split.n_users, split.n_movies):
            raise ValueError(f"model {name!r} has {n_users} users and {n_movies} movies, the split {split.n_users} "
                             f"and {split.n_movies}: build every model with split.n_users and split.n_movies")
    check_pairs(split.x_train, split.n_users, split.n_movies)
    check_pairs(split.x_valid, split.n_users, split.n_movies)
    both = models if stacked else SideBySide(members)
    if seed is not None:
        seed_everything(seed)
    both.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=_summed_mse,
                 steps_per_execution=steps_per_execution)
    x_valid, y_valid = np.asarray(split.x_valid), np.asarray(split.y_valid, dtype=np.float64)
    n = len(names)

    class _Track(keras.callbacks.Callback):
        """Each model's validation RMSE after every epoch, and its weights at its best epoch so far."""

        def __init__(self):
            super().__init__()
            self.rows = []
            self.best = np.full(n, np.inf)
            self.best_epoch = np.zeros(n, dtype=int)
            self.best_weights = [None] * n
            self.wait = np.zeros(n, dtype=int)

        def on_epoch_end(self, epoch, logs=None):
            pred = np.concatenate([np.asarray(both(x_valid[i:i + 65536], training=False), dtype=np.float64)
                                   for i in range(0, len(x_valid), 65536)]).reshape(len(x_valid), -1)
            values = np.sqrt(np.mean((pred - y_valid[:, None]) ** 2, axis=0))
            snapshot = both.get_weights() if stacked and np.any(values < self.best) else None
            for k, value in enumerate(values):
                self.rows.append({"epoch": epoch + 1, "model": names[k], "val_rmse": float(value)})
                if value < self.best[k]:
                    self.best[k], self.best_epoch[k], self.wait[k] = value, epoch + 1, 0
                    self.best_weights[k] = snapshot if stacked else members[k].get_weights()
                else:
                    self.wait[k] += 1
            if np.all(self.wait >= patience):
                both.stop_training = True

    track = _Track()
    start = time.perf_counter()
    both.fit(np.asarray(split.x_train), np.asarray(split.y_train), batch_size=batch_size, epochs=epochs,
             callbacks=[track], verbose=verbose, shuffle=True)
    seconds = time.perf_counter() - start
    if stacked:
        both.set_weights(both.compose(track.best_weights))
    else:
        for model, weights in zip(members, track.best_weights):
            model.set_weights(weights)
    summary = pd.DataFrame({"val_rmse": track.best, "best_epoch": track.best_epoch}, index=pd.Index(names, name="model"))
    history = pd.DataFrame(track.rows)
    return SideBySideResult(models={"stacked": both} if stacked else dict(zip(names, members)), summary=summary, history=history, seconds=seconds,
                            epochs=int(history["epoch"].max()))
