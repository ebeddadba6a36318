"""How many dimensions? The fourth-root rule of thumb, and a measured sweep over widths and seeds.

Google's Machine Learning Crash Course suggests, as a starting point to tune, an embedding width of
about the fourth root of the number of possible values (:func:`fourth_root`). :func:`width_sweep`
measures instead: it trains the chapter-4 model (dot product + biases) at several widths with
several seeds and returns one row per run; :func:`sweep_summary` gives the mean and standard
deviation per width.

To keep a sweep cheap, :class:`StackedDotWithBias` holds *many* dot + bias models in one set of
tables: member ``k`` owns its own block of columns of the user and movie tables and its own bias
column, and its prediction reads only them. Nothing is shared, every penalty is a sum over
entries, and Adam treats every entry on its own, so each member follows exactly the path it would
follow alone on the same batches, but all of them take one training step together.
``python3 tasks.py bench --widths`` runs the full sweep, the deep model of :mod:`cfcourse.deep`
included.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["fourth_root", "rule_of_thumb", "StackedDotWithBias", "width_sweep", "sweep_summary"]


def fourth_root(n_values: int) -> float:
    """The rule of thumb for the width of an embedding: the fourth root of the number of values."""
    if isinstance(n_values, bool) or not isinstance(n_values, (int, np.integer)) or n_values < 1:
        raise ValueError(f"n_values must be a positive whole number of possible values, got {n_values!r}")
    return math.sqrt(math.sqrt(int(n_values)))


def rule_of_thumb(n_users: int, n_movies: int) -> dict[str, int]:
    """The widths the fourth-root rule suggests for users and movies, rounded to whole numbers."""
    return {"users": max(1, round(fourth_root(n_users))), "movies": max(1, round(fourth_root(n_movies)))}


def _check_widths(widths) -> list[int]:
    out = []
    for w in widths:
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
            raise ValueError(f"every width must be a positive whole number, got {w!r}")
        out.append(int(w))
    if not out:
        raise ValueError("give at least one width")
    return out


def _stacked_class():
    import keras
    from keras import ops

    class Stacked(keras.Model):
        """Many dot + bias models (chapter 4) in one set of tables; output (batch, n_members).

        Member ``k`` has width ``widths[k]``, its block of columns in ``user_vectors`` and
        ``movie_vectors``, and column ``k`` of ``user_biases`` and ``movie_biases``; its starting
        values are drawn from ``seeds[k]`` (uniform on [-0.05, 0.05], Keras' default for an
        ``Embedding``). Its prediction is ``min + (max - min) * sigmoid(u·m + b_u + b_m)`` as in
        :class:`cfcourse.models.DotWithBias`, with dropout on the vectors and an L2 penalty on the
        vector tables if asked.
        """

        def __init__(self, n_users, n_movies, widths, seeds, min_rating=0.5, max_rating=5.0, user_dropout=0.0,
                     movie_dropout=0.0, l2=0.0, **kwargs):
            super().__init__(**kwargs)
            self.n_users, self.n_movies = int(n_users), int(n_movies)
            self.widths, self.seeds = _check_widths(widths), [int(s) for s in seeds]
            if len(self.seeds) != len(self.widths):
                raise ValueError(f"give one seed per member: {len(self.widths)} widths but {len(self.seeds)} seeds")
            self.min_rating, self.max_rating = float(min_rating), float(max_rating)
            self.l2 = float(l2 or 0.0)
            self.offsets = np.concatenate([[0], np.cumsum(self.widths)]).astype(int)
            owner = np.repeat(np.arange(len(self.widths)), self.widths)
            self._owner = np.eye(len(self.widths), dtype=np.float32)[owner]  # (total width, members)
            self.user_dropout = keras.layers.Dropout(float(user_dropout))
            self.movie_dropout = keras.layers.Dropout(float(movie_dropout))

        @property
        def member_names(self) -> list[str]:
            return [f"width {w}, seed {s}" for w, s in zip(self.widths, self.seeds)]

        def _initial(self, rows, kind):
            blocks = []
            for k, (w, s) in enumerate(zip(self.widths, self.seeds)):
                rng = np.random.default_rng([s, {"user": 0, "movie": 1}[kind]])
                blocks.append((rng.uniform(-0.05, 0.05, (rows, w)), rng.uniform(-0.05, 0.05, (rows, 1))))
            return (np.hstack([b[0] for b in blocks]).astype(np.float32),
                    np.hstack([b[1] for b in blocks]).astype(np.float32))

        def build(self, input_shape=None):
            reg = keras.regularizers.L2(self.l2) if self.l2 else None
            total, k = int(self.offsets[-1]), len(self.widths)
            self.user_vectors = self.add_weight(shape=(self.n_users, total), name="user_vectors", regularizer=reg)
            self.movie_vectors = self.add_weight(shape=(self.n_movies, total), name="movie_vectors", regularizer=reg)
            self.user_biases = self.add_weight(shape=(self.n_users, k), name="user_biases")
            self.movie_biases = self.add_weight(shape=(self.n_movies, k), name="movie_biases")
            self.owner = self.add_weight(shape=self._owner.shape, name="owner", trainable=False,
                                         initializer=keras.initializers.Constant(self._owner))
            for (vectors, biases), kind in ((self._initial(self.n_users, "user"), "user"),
                                            (self._initial(self.n_movies, "movie"), "movie")):
                getattr(self, f"{kind}_vectors").assign(vectors)
                getattr(self, f"{kind}_biases").assign(biases)
            self.built = True

        def call(self, inputs, training=False):
            inputs = ops.cast(inputs, "int32")
            users, movies = inputs[:, 0], inputs[:, 1]
            u = self.user_dropout(ops.take(self.user_vectors, users, axis=0), training=training)
            m = self.movie_dropout(ops.take(self.movie_vectors, movies, axis=0), training=training)
            logits = ops.matmul(u * m, self.owner)
            logits = logits + ops.take(self.user_biases, users, axis=0) + ops.take(self.movie_biases, movies, axis=0)
            return self.min_rating + (self.max_rating - self.min_rating) * ops.sigmoid(logits)

        def compose(self, snapshots):
            """Weights where member k's entries come from ``snapshots[k]`` (each a get_weights() list)."""
            out = [np.array(w, copy=True) for w in snapshots[0]]
            names = [v.name for v in self.weights]
            for k, snap in enumerate(snapshots):
                cols = slice(self.offsets[k], self.offsets[k + 1])
                for i, name in enumerate(names):
                    if name.endswith("_vectors"):
                        out[i][:, cols] = snap[i][:, cols]
                    elif name.endswith("_biases"):
                        out[i][:, k] = snap[i][:, k]
            return out

        def member(self, k: int):
            """Member ``k`` as a :class:`cfcourse.models.DotWithBias` with its trained weights."""
            from .models import DotWithBias

            cols = slice(self.offsets[k], self.offsets[k + 1])
            model = DotWithBias(self.n_users, self.n_movies, embedding_dim=self.widths[k], min_rating=self.min_rating,
                                max_rating=self.max_rating, user_dropout=self.user_dropout.rate,
                                movie_dropout=self.movie_dropout.rate, l2=self.l2)
            model(np.zeros((1, 2), dtype=np.int32))
            model.user_embedding.set_weights([np.asarray(self.user_vectors)[:, cols]])
            model.movie_embedding.set_weights([np.asarray(self.movie_vectors)[:, cols]])
            model.user_bias.set_weights([np.asarray(self.user_biases)[:, k:k + 1]])
            model.movie_bias.set_weights([np.asarray(self.movie_biases)[:, k:k + 1]])
            return model

    return Stacked


def StackedDotWithBias(n_users: int, n_movies: int, widths: Sequence[int], seeds: Sequence[int], *,  # noqa: N802
                       min_rating: float = 0.5, max_rating: float = 5.0, user_dropout: float = 0.0,
                       movie_dropout: float = 0.0, l2: float = 0.0):
    """Many dot + bias models in one Keras model (see the module docstring); one per (width, seed) pair."""
    for label, rate in (("user_dropout", user_dropout), ("movie_dropout", movie_dropout)):
        if not 0.0 <= float(rate) < 1.0:
            raise ValueError(f"{label} must be in [0, 1), got {rate}")
    if not (l2 is None or (math.isfinite(float(l2)) and float(l2) >= 0.0)):
        raise ValueError(f"l2 must be a non-negative number, got {l2}")
    return _stacked_class()(n_users, n_movies, widths, seeds, min_rating=min_rating, max_rating=max_rating,
                            user_dropout=user_dropout, movie_dropout=movie_dropout, l2=l2)


def width_sweep(split, widths: Sequence[int] = (2, 4, 8, 16, 32, 64, 128), seeds: Sequence[int] = (42, 43, 44), *,
                l2: float = 1e-4, user_dropout: float = 0.0, movie_dropout: float = 0.0, **recipe):
    """Train the dot + bias model at every width with every seed, all at once; returns ``(runs, stacked)``.

    ``runs`` has one row per (width, seed): ``width``, ``seed``, ``val_rmse`` (best epoch) and
    ``best_epoch``; ``stacked`` is the trained :class:`StackedDotWithBias` (``stacked.member(k)``
    gives run ``k`` as a ``DotWithBias``). The defaults are the chapter-4 model with an L2 penalty
    instead of dropout; ``recipe`` goes to :func:`cfcourse.side_by_side.train_side_by_side` (the
    course's recipe by default).
    """
    from .side_by_side import train_side_by_side

    widths, seeds = _check_widths(widths), [int(s) for s in seeds]
    if not seeds:
        raise ValueError("give at least one seed")
    pairs = [(w, s) for w in widths for s in seeds]
    stacked = StackedDotWithBias(split.n_users, split.n_movies, [w for w, _ in pairs], [s for _, s in pairs],
                                 min_rating=split.min_rating, max_rating=split.max_rating, user_dropout=user_dropout,
                                 movie_dropout=movie_dropout, l2=l2)
    result = train_side_by_side(stacked, split, **recipe)
    runs = pd.DataFrame({"width": [w for w, _ in pairs], "seed": [s for _, s in pairs],
                         "val_rmse": result.summary["val_rmse"].to_numpy(),
                         "best_epoch": result.summary["best_epoch"].to_numpy()})
    runs.attrs["seconds"] = result.seconds
    return runs, stacked


def sweep_summary(runs: pd.DataFrame, by: str | Sequence[str] = "width") -> pd.DataFrame:
    """Mean and standard deviation of the validation RMSE over seeds, per width (and per ``by``)."""
    for column in ("val_rmse", "seed"):
        if column not in runs.columns:
            raise ValueError(f"runs needs a {column!r} column (the frame of width_sweep)")
    table = runs.groupby(by, sort=True).agg(mean=("val_rmse", "mean"), sd=("val_rmse", "std"),
                                            seeds=("seed", "count"), best_epoch=("best_epoch", "mean"))
    return table
