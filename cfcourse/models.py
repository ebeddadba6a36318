"""Keras 3 layers and models of the course.

Every model takes a batch of ``(user, movie)`` index pairs, shape ``(batch, 2)``, and
returns one predicted rating per pair, shape ``(batch,)``.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops


def post_initializer() -> keras.initializers.Initializer:
    """The post's initialiser for the simple model: uniform on [0, 0.05]."""
    return keras.initializers.RandomUniform(minval=0.0, maxval=0.05)


@keras.saving.register_keras_serializable(package="cfcourse")
class SimpleEmbedding(keras.layers.Layer):
    """A do-it-yourself embedding: a trainable ``(input_dim, output_dim)`` matrix and a row lookup.

    Calling the layer on integer indices gathers the matching rows, exactly as
    ``keras.layers.Embedding`` does. The default initialiser is Keras' ``RandomUniform()``,
    i.e. uniform on [-0.05, 0.05], as in the post.
    """

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="random_uniform",
                 embeddings_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        if int(input_dim) < 1 or int(output_dim) < 1:
            raise ValueError(f"input_dim and output_dim must be positive, got {input_dim} and {output_dim}")
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.embeddings_regularizer = keras.regularizers.get(embeddings_regularizer)

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            trainable=True,
        )

    def call(self, inputs):
        return ops.take(self.embeddings, ops.cast(inputs, "int32"), axis=0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            input_dim=self.input_dim,
            output_dim=self.output_dim,
            embeddings_initializer=keras.initializers.serialize(self.embeddings_initializer),
            embeddings_regularizer=keras.regularizers.serialize(self.embeddings_regularizer),
        )
        return config


def _embedding(kind: str, input_dim: int, output_dim: int, initializer, regularizer, name: str):
    if kind == "keras":
        return keras.layers.Embedding(input_dim, output_dim, embeddings_initializer=initializer,
                                      embeddings_regularizer=regularizer, name=name)
    if kind == "diy":
        return SimpleEmbedding(input_dim, output_dim, embeddings_initializer=initializer,
                               embeddings_regularizer=regularizer, name=name)
    raise ValueError(f"embedding must be 'keras' or 'diy', got {kind!r}")


def _check_sizes(n_users: int, n_movies: int, embedding_dim: int) -> None:
    for label, value in (("n_users", n_users), ("n_movies", n_movies), ("embedding_dim", embedding_dim)):
        if int(value) < 1:
            raise ValueError(f"{label} must be a positive integer, got {value}")


@keras.saving.register_keras_serializable(package="cfcourse")
class SimpleDot(keras.Model):
    """Rating = dot product of a user embedding and a movie embedding (chapter 3, notebooks/03_simple_dot).

    ``embedding="diy"`` swaps in :class:`SimpleEmbedding` (chapter 5). With
    ``initializer=None`` each layer uses its own default; the post's simple model uses
    :func:`post_initializer`.
    """

    def __init__(self, n_users: int, n_movies: int, embedding_dim: int = 64, initializer="post",
                 embedding: str = "keras", regularizer=None, **kwargs):
        super().__init__(**kwargs)
        _check_sizes(n_users, n_movies, embedding_dim)
        self.n_users, self.n_movies, self.embedding_dim = int(n_users), int(n_movies), int(embedding_dim)
        self.embedding = embedding
        if initializer == "post":
            init = post_initializer()
        elif initializer is None:
            init = "uniform" if embedding == "keras" else "random_uniform"
        else:
            init = initializer
        self.user_embedding = _embedding(embedding, self.n_users, self.embedding_dim, init, regularizer,
                                         "user_embedding")
        self.movie_embedding = _embedding(embedding, self.n_movies, self.embedding_dim, init, regularizer,
                                          "movie_embedding")

    def call(self, inputs):
        users = self.user_embedding(inputs[:, 0])
        movies = self.movie_embedding(inputs[:, 1])
        return ops.sum(users * movies, axis=-1)


@keras.saving.register_keras_serializable(package="cfcourse")
class DotWithBias(keras.Model):
    """Dot product plus user and movie biases, squashed into the rating scale (chapter 4, notebooks/04_biases).

    ``rating = min + (max - min) * sigmoid(u·m + b_u + b_m)``, with dropout on the two
    embeddings (rates 0.3 and 0.6 as in the post) and optional L2 on the embeddings.
    """

    def __init__(self, n_users: int, n_movies: int, embedding_dim: int = 64, min_rating: float = 0.5,
                 max_rating: float = 5.0, user_dropout: float = 0.3, movie_dropout: float = 0.6,
                 l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        _check_sizes(n_users, n_movies, embedding_dim)
        if not (math.isfinite(min_rating) and math.isfinite(max_rating) and min_rating < max_rating):
            raise ValueError(f"min_rating must be below max_rating (both finite), got {min_rating} and {max_rating}")
        for label, rate in (("user_dropout", user_dropout), ("movie_dropout", movie_dropout)):
            if not 0.0 <= float(rate) < 1.0:  # a rate of 1 would drop every coordinate
                raise ValueError(f"{label} must be in [0, 1) (the share of entries set to zero), got {rate}")
        l2 = 0.0 if l2 is None else float(l2)
        if not (math.isfinite(l2) and l2 >= 0.0):
            raise ValueError(f"l2 must be a non-negative number, got {l2}")
        self.n_users, self.n_movies, self.embedding_dim = int(n_users), int(n_movies), int(embedding_dim)
        self.min_rating, self.max_rating = float(min_rating), float(max_rating)
        reg = keras.regularizers.L2(l2) if l2 else None
        self.user_embedding = keras.layers.Embedding(self.n_users, self.embedding_dim,
                                                     embeddings_regularizer=reg, name="user_embedding")
        self.movie_embedding = keras.layers.Embedding(self.n_movies, self.embedding_dim,
                                                      embeddings_regularizer=reg, name="movie_embedding")
        self.user_bias = keras.layers.Embedding(self.n_users, 1, name="user_bias")
        self.movie_bias = keras.layers.Embedding(self.n_movies, 1, name="movie_bias")
        self.user_dropout = keras.layers.Dropout(user_dropout)
        self.movie_dropout = keras.layers.Dropout(movie_dropout)

    def call(self, inputs, training=False):
        users, movies = inputs[:, 0], inputs[:, 1]
        u = self.user_dropout(self.user_embedding(users), training=training)
        m = self.movie_dropout(self.movie_embedding(movies), training=training)
        logit = ops.sum(u * m, axis=-1) + self.user_bias(users)[:, 0] + self.movie_bias(movies)[:, 0]
        return self.min_rating + (self.max_rating - self.min_rating) * ops.sigmoid(logit)


@keras.saving.register_keras_serializable(package="cfcourse")
class SoftmaxRanker(keras.Model):
    """The same user and movie embeddings, trained to rank: one score per movie of the catalogue (chapter 7).

    Called on a batch of dense user indices, shape ``(batch,)``, it returns the logits of a
    softmax over all ``n_movies`` movies, shape ``(batch, n_movies)``::

        logits[u] = user_embedding[u] · movie_embeddingᵀ + movie_bias

    Trained on implicit feedback (every rating is an interaction) with the softmax
    cross-entropy, it learns to put the movies a user interacts with above all the others:
    see :func:`cfcourse.training.train_ranker`. There is no user bias: a constant added to all
    of a user's logits changes neither the softmax nor the order. ``user_dropout`` drops
    coordinates of the user vector during training; ``l2`` penalises both embedding tables
    (the default, 1e-5 with 64 dimensions, was chosen on the validation HR@10 of the default
    temporal split, with ``train_ranker``'s defaults).
    """

    def __init__(self, n_users: int, n_movies: int, embedding_dim: int = 64, user_dropout: float = 0.0,
                 l2: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        _check_sizes(n_users, n_movies, embedding_dim)
        if not 0.0 <= float(user_dropout) < 1.0:
            raise ValueError(f"user_dropout must be in [0, 1) (the share of entries set to zero), got {user_dropout}")
        l2 = 0.0 if l2 is None else float(l2)
        if not (math.isfinite(l2) and l2 >= 0.0):
            raise ValueError(f"l2 must be a non-negative number, got {l2}")
        self.n_users, self.n_movies, self.embedding_dim = int(n_users), int(n_movies), int(embedding_dim)
        self.user_dropout_rate, self.l2 = float(user_dropout), l2
        reg = keras.regularizers.L2(l2) if l2 else None
        self.user_embedding = keras.layers.Embedding(self.n_users, self.embedding_dim, embeddings_regularizer=reg,
                                                     name="user_embedding")
        self.movie_embedding = keras.layers.Embedding(self.n_movies, self.embedding_dim,
                                                      embeddings_regularizer=reg, name="movie_embedding")
        self.movie_bias = keras.layers.Embedding(self.n_movies, 1, embeddings_initializer="zeros", name="movie_bias")
        self.user_dropout = keras.layers.Dropout(self.user_dropout_rate)

    def build(self, input_shape=None):
        for layer in (self.user_embedding, self.movie_embedding, self.movie_bias):
            if not layer.built:
                layer.build((None,))
        self.built = True

    def call(self, users, training=False):
        users = ops.reshape(ops.cast(users, "int32"), (-1,))
        u = self.user_dropout(self.user_embedding(users), training=training)
        logits = ops.matmul(u, ops.transpose(self.movie_embedding.embeddings))
        return logits + ops.reshape(self.movie_bias.embeddings, (1, -1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.n_movies)

    def get_config(self):
        config = super().get_config()
        config.update(n_users=self.n_users, n_movies=self.n_movies, embedding_dim=self.embedding_dim,
                      user_dropout=self.user_dropout_rate, l2=self.l2)
        return config


def built_layer(model, name: str):
    """``model``'s layer ``name`` (an attribute or a named layer) if it is built (has weights), else None."""
    layer = getattr(model, name, None)
    if layer is None:
        try:
            layer = model.get_layer(name)
        except (ValueError, AttributeError):
            layer = None
    return layer if layer is not None and getattr(layer, "weights", None) else None


def layer_weights(model, name: str, required: bool = True):
    """The first weight array of ``model``'s layer ``name`` (an attribute or a named layer), as float64.

    Returns None for a missing or unbuilt layer unless ``required``, which raises a ValueError saying to
    train the model (or call it once) first.
    """
    layer = built_layer(model, name)
    if layer is None:
        if required:
            raise ValueError(f"the model has no built layer {name!r}: train it (or call it once) first")
        return None
    return np.asarray(layer.get_weights()[0], dtype=np.float64)
