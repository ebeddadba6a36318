"""Embeddings inside deep networks (chapters 8 and 9).

- :class:`DeepRatingModel`: a user embedding, a movie embedding and the movie's side features
  (genres, release year), concatenated and fed through hidden ``Dense`` layers to one rating on the
  scale. Without the movie embedding it is a *content-based* model (a movie is known only by its
  genres and year); without the side features a *collaborative* one.
- :func:`rating_scores`: that model's score for every (user, movie) pair, computed without building
  millions of input pairs, for the ranking protocol; :class:`DeepRatingRecommender`: the model behind
  the ``Recommender`` interface of :mod:`cfcourse.recommenders`.

``DEFAULTS`` and ``RECIPE`` are the settings the chapters and the benchmarks use (chosen on the
validation RMSE of the course split: an L2 penalty of 1e-3 on both tables, batches of 4,096 and Adam
at 0.01).
"""

from __future__ import annotations

import math
from typing import Sequence

import keras
import numpy as np
from keras import ops

from .recommenders import FoldIn, Recommender, _known_parts

__all__ = ["DEFAULTS", "RECIPE", "DeepRatingModel", "rating_scores", "build_deep", "DeepRatingRecommender"]

#: The model's settings in the chapters and benchmarks.
DEFAULTS = dict(user_dim=16, movie_dim=16, hidden=(64,), l2=1e-3)
#: Its training recipe (arguments of ``training.train`` or ``side_by_side.train_side_by_side``).
RECIPE = dict(batch_size=4096, learning_rate=1e-2, epochs=30, patience=2)


def _positive(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise ValueError(f"{name} must be a positive whole number, got {value!r}")
    return int(value)


def _rate(value, name: str) -> float:
    value = float(value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1) (the share of entries set to zero), got {value}")
    return value


class DeepRatingModel(keras.Model):
    """User embedding ⊕ movie embedding ⊕ the movie's side features → hidden layers → a rating.

    Called on a batch of ``(user, movie)`` index pairs, shape ``(batch, 2)``, like every rating
    model of the course, it looks up the user's vector (``user_dim`` numbers), the movie's vector
    (``movie_dim``) and the movie's row of ``side_features`` (a fixed, not trained, table such as
    :attr:`cfcourse.features.MovieFeatures.matrix`), puts them side by side, passes them through
    ``Dense(h, relu)`` layers of the widths in ``hidden`` and a last ``Dense(1)``, and squashes the
    result onto the rating scale as the chapter-4 model does:
    ``min + (max - min) * sigmoid(output)``.

    ``use_movie_id=False`` drops the movie embedding (content-based: a movie is its side features);
    ``side_features=None`` drops the side features (collaborative). ``dropout`` is applied after
    each hidden layer while training, ``l2`` penalises the two embedding tables.
    """

    def __init__(self, n_users: int, n_movies: int, side_features=None, *, user_dim: int = 32, movie_dim: int = 32,
                 hidden: Sequence[int] = (64,), use_movie_id: bool = True, dropout: float = 0.0, l2: float = 0.0,
                 min_rating: float = 0.5, max_rating: float = 5.0, **kwargs):
        super().__init__(**kwargs)
        self.n_users, self.n_movies = _positive(n_users, "n_users"), _positive(n_movies, "n_movies")
        self.user_dim = _positive(user_dim, "user_dim")
        self.movie_dim = _positive(movie_dim, "movie_dim") if use_movie_id else 0
        self.hidden = tuple(_positive(h, "each hidden width") for h in hidden)
        self.use_movie_id = bool(use_movie_id)
        self.dropout_rate = _rate(dropout, "dropout")
        l2 = 0.0 if l2 is None else float(l2)
        if not (math.isfinite(l2) and l2 >= 0.0):
            raise ValueError(f"l2 must be a non-negative number, got {l2}")
        if not (math.isfinite(min_rating) and math.isfinite(max_rating) and min_rating < max_rating):
            raise ValueError(f"min_rating must be below max_rating (both finite), got {min_rating} and {max_rating}")
        self.min_rating, self.max_rating, self.l2 = float(min_rating), float(max_rating), l2
        if side_features is not None:
            side = np.asarray(side_features, dtype=np.float32)
            if side.ndim != 2 or side.shape[0] != self.n_movies:
                raise ValueError(f"side_features must have one row per movie ({self.n_movies}), got shape "
                                 f"{side.shape}: pass features.movie_features(...).matrix for the same encoder")
            if not np.isfinite(side).all():
                raise ValueError("side_features hold NaN or infinite values: scale the year with features.YearScaler, "
                                 "which turns a missing year into 0 and a flag")
            self.side_values = side
        else:
            self.side_values = None
        if not self.use_movie_id and self.side_values is None:
            raise ValueError("a model without the movie embedding needs side_features: otherwise it knows nothing "
                             "about the movie")
        reg = keras.regularizers.L2(l2) if l2 else None
        self.user_embedding = keras.layers.Embedding(self.n_users, self.user_dim, embeddings_regularizer=reg,
                                                     name="user_embedding")
        self.movie_embedding = (keras.layers.Embedding(self.n_movies, self.movie_dim, embeddings_regularizer=reg,
                                                       name="movie_embedding") if self.use_movie_id else None)
        self.hidden_layers = [keras.layers.Dense(h, activation="relu", name=f"hidden_{i}")
                              for i, h in enumerate(self.hidden)]
        self.dropouts = [keras.layers.Dropout(self.dropout_rate) for _ in self.hidden]
        self.output_layer = keras.layers.Dense(1, name="output")

    @property
    def n_side(self) -> int:
        """How many side-feature columns each movie has (0 without side features)."""
        return 0 if self.side_values is None else int(self.side_values.shape[1])

    def build(self, input_shape=None):
        self.user_embedding.build((None,))
        if self.movie_embedding is not None:
            self.movie_embedding.build((None,))
        if self.side_values is not None:
            self.side = self.add_weight(name="side_features", shape=self.side_values.shape, trainable=False,
                                        initializer=keras.initializers.Constant(self.side_values))
        width = self.user_dim + self.movie_dim + self.n_side
        for layer in self.hidden_layers:
            layer.build((None, width))
            width = layer.units
        self.output_layer.build((None, width))
        self.built = True

    def movie_inputs(self, movies):
        """The movie part of the input: its embedding and its side features, side by side."""
        parts = []
        if self.movie_embedding is not None:
            parts.append(self.movie_embedding(movies))
        if self.side_values is not None:
            parts.append(ops.take(self.side, movies, axis=0))
        return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)

    def call(self, inputs, training=False):
        inputs = ops.cast(inputs, "int32")
        users, movies = inputs[:, 0], inputs[:, 1]
        x = ops.concatenate([self.user_embedding(users), self.movie_inputs(movies)], axis=-1)
        for layer, drop in zip(self.hidden_layers, self.dropouts):
            x = drop(layer(x), training=training)
        logit = self.output_layer(x)[:, 0]
        return self.min_rating + (self.max_rating - self.min_rating) * ops.sigmoid(logit)


def rating_scores(model: DeepRatingModel, users=None, chunk: int = 32, user_vectors=None) -> np.ndarray:
    """The model's output before the sigmoid for every movie, for ``users`` (all by default).

    Returns a float32 array (len(users), n_movies). The order of the scores is the order of the
    predicted ratings (the sigmoid is increasing). The first hidden layer's input is the user's part
    and the movie's part side by side, so its pre-activation is ``user @ W_user + movie @ W_movie + b``:
    both halves are computed once, and only their sums go through the rest of the network, ``chunk``
    users at a time. ``user_vectors`` (one row per user of ``users``) replaces the learned user
    vectors, e.g. by folded-in ones (:func:`fold_in_users`).
    """
    if not isinstance(model, DeepRatingModel):
        raise TypeError(f"rating_scores expects a DeepRatingModel, got {type(model).__name__}")
    if not model.built:
        raise ValueError("the model is not built yet: train it (or call it once) first")
    users = np.arange(model.n_users) if users is None else np.asarray(users, dtype=np.int64).reshape(-1)
    if users.size and (users.min() < 0 or users.max() >= model.n_users):
        raise IndexError(f"user index outside 0..{model.n_users - 1}")
    user_vectors = (np.asarray(model.user_embedding.embeddings)[users] if user_vectors is None
                    else np.asarray(user_vectors, dtype=np.float32).reshape(len(users), model.user_dim))
    movie_vectors = np.asarray(model.movie_inputs(np.arange(model.n_movies, dtype=np.int32)))
    layers = [(np.asarray(layer.kernel), np.asarray(layer.bias)) for layer in model.hidden_layers]
    out_kernel, out_bias = np.asarray(model.output_layer.kernel), np.asarray(model.output_layer.bias)
    if not layers:
        raise ValueError("the model has no hidden layer")
    first_kernel, first_bias = layers[0]
    from_user = (user_vectors @ first_kernel[:model.user_dim] + first_bias).astype(np.float32)
    from_movie = (movie_vectors @ first_kernel[model.user_dim:]).astype(np.float32)
    scores = np.empty((len(users), model.n_movies), dtype=np.float32)
    buffer = np.empty((min(chunk, len(users)), model.n_movies, from_movie.shape[1]), dtype=np.float32)
    for start in range(0, len(users), chunk):
        block = from_user[start:start + chunk]
        x = buffer[:len(block)]
        np.add(block[:, None, :], from_movie[None, :, :], out=x)
        np.maximum(x, 0.0, out=x)
        for kernel, bias in layers[1:]:
            x = np.maximum(x @ kernel + bias, 0.0)
        scores[start:start + chunk] = (x @ out_kernel.astype(np.float32))[..., 0] + out_bias[0]
    return scores


def fold_in_users(model: DeepRatingModel, known, l2: float = 30.0) -> np.ndarray:
    """Every user's vector refitted on ``known`` (users × movies, ratings) with the network frozen.

    The deep model's loss (squared error of the predicted rating) plus ``l2·‖u‖²``, through
    :func:`cfcourse.new_user.fold_in` (``loss="mlp"``), from the learned vectors.
    """
    from .new_user import fold_in

    first_kernel, first_bias = (np.asarray(w, dtype=np.float64) for w in (model.hidden_layers[0].kernel,
                                                                          model.hidden_layers[0].bias))
    movie_part = np.asarray(model.movie_inputs(np.arange(model.n_movies, dtype=np.int32)), dtype=np.float64)
    movie_part = movie_part @ first_kernel[model.user_dim:] + first_bias
    layers = [(first_kernel[:model.user_dim], np.zeros(first_kernel.shape[1]))]
    layers += [(np.asarray(layer.kernel), np.asarray(layer.bias)) for layer in model.hidden_layers[1:]]
    layers += [(np.asarray(model.output_layer.kernel), np.asarray(model.output_layer.bias))]
    start = np.asarray(model.user_embedding.embeddings, dtype=np.float64)
    vectors, _ = fold_in(known, movie_part, loss="mlp", l2=l2, start=start, layers=layers,
                         scale=(float(model.min_rating), float(model.max_rating)))
    return vectors


def build_deep(split, movie_features=None, *, seed: int | None = 42, **options) -> DeepRatingModel:
    """A :class:`DeepRatingModel` for ``split`` with :data:`DEFAULTS` (overridden by ``options``).

    ``movie_features`` is a :class:`cfcourse.features.MovieFeatures` for the split's movies, or
    ``None`` for the collaborative model. ``seed`` seeds everything first
    (:func:`cfcourse.training.seed_everything`), so the same seed builds the same starting weights.
    """
    from .training import seed_everything

    if seed is not None:
        seed_everything(seed)
    side = None if movie_features is None else movie_features.matrix
    return DeepRatingModel(split.n_users, split.n_movies, side, min_rating=split.min_rating,
                           max_rating=split.max_rating, **(DEFAULTS | options))


class DeepRatingRecommender(FoldIn, Recommender):
    """The deep rating model on the ranking protocol: trained on the temporal training ratings.

    ``fit`` reads the movies' genres and years (``movies``: the movies table; by default that of
    ``data.load_movielens()``, the data set the split was made from), builds the model with
    :func:`build_deep` and trains it with ``training.train`` on ``split.rating_split()`` (early
    stopping on the validation ratings) with :data:`RECIPE`. Scores are :func:`rating_scores`: the
    order of the predicted ratings, with each user folded in at each evaluation point
    (:func:`fold_in_users` on the ratings known there, see
    :class:`cfcourse.recommenders.FoldIn`). ``side_features=False`` gives the collaborative model,
    ``use_movie_id=False`` the content-based one.
    """

    name = "deep rating model (genres + year)"

    def __init__(self, movies=None, *, side_features: bool = True, seed: int = 42, name: str | None = None,
                 recipe: dict | None = None, fold_in: bool = True, fold_in_l2: float = 30.0, **options):
        Recommender.__init__(self, name)
        self.fold_in, self.fold_in_l2 = bool(fold_in), float(fold_in_l2)
        self.movies, self.side_features, self.seed = movies, bool(side_features), seed
        self.recipe, self.options = RECIPE | (recipe or {}), options

    def _fit(self, split):
        from .training import train

        features = None
        if self.side_features:
            from .data import load_movielens
            from .features import movie_features

            movies = self.movies if self.movies is not None else load_movielens().movies
            features = movie_features(split.encoded, movies)
        ratings = split.rating_split()
        self.model = build_deep(ratings, features, seed=self.seed, **self.options)
        self.result_ = train(self.model, ratings, seed=None, **self.recipe)
        self._reset_fold_in()

    def _fold_in_part(self, split, part):
        return fold_in_users(self.model, split.interactions(_known_parts(part), "rating"), self.fold_in_l2)

    def _score(self, split, part, users):
        if not self.fold_in:
            return rating_scores(self.model, users)
        return rating_scores(self.model, users, user_vectors=self.user_side(split, part)[users])
