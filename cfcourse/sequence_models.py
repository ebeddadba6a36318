"""Keras 3 models that read a user's movies in time order and score the next movie (chapter 10).

A model takes a batch of padded vocabulary ids, shape ``(batch, length)`` (0 = padding, 1 = a
movie outside the vocabulary, see :mod:`cfcourse.sequences`), and returns, at every position,
one logit per vocabulary entry for the movie that comes next: shape ``(batch, length,
vocabulary_size)``. Position ``t`` sees only the movies at positions ``0..t``, so one window of
``length`` movies trains ``length`` next-movie predictions at once, and the last position of a
pre-padded history is the prediction after the whole history.

All three share the movie embedding (``mask_zero=True``: padding is masked) and the output,
which scores a movie by the dot product of the summary vector with that movie's own embedding
plus a bias (weight tying). They differ only in how the movies seen so far are
summarised:

- ``"bag"``: the mean of their vectors (:class:`CausalMean`): order ignored;
- ``"gru"``: a gated recurrent unit reading them one by one;
- ``"attention"``: one block of causal self-attention (:class:`CausalSelfAttention`).
"""

from __future__ import annotations

import keras
from keras import ops

KINDS = ("bag", "gru", "attention")


@keras.saving.register_keras_serializable(package="cfcourse")
class CausalMean(keras.layers.Layer):
    """At each position, the mean of the vectors at that position and before it, padding left out.

    Input ``(batch, length, d)`` with a ``(batch, length)`` mask (True for real movies); a
    position with no real movie yet gives the zero vector.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, vectors, mask=None):
        if mask is None:
            weights = ops.ones_like(vectors[..., :1])
        else:
            weights = ops.cast(mask, vectors.dtype)[..., None]
        total = ops.cumsum(vectors * weights, axis=1)
        count = ops.cumsum(weights, axis=1)
        return total / ops.maximum(count, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="cfcourse")
class CausalSelfAttention(keras.layers.Layer):
    """One Transformer block in which each position attends only to itself and earlier real movies.

    Learned position vectors (counted from the end of the window, since histories are
    pre-padded) are added to the movie vectors; ``keras.layers.MultiHeadAttention`` with
    ``use_causal_mask=True`` and the padding mask combines them, followed by a residual
    connection, layer normalisation and a small feed-forward layer.
    """

    def __init__(self, length: int, embedding_dim: int, heads: int = 2, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.length, self.embedding_dim, self.heads, self.dropout = int(length), int(embedding_dim), int(heads), \
            float(dropout)
        self.positions = keras.layers.Embedding(self.length, self.embedding_dim, name="positions")
        self.attention = keras.layers.MultiHeadAttention(self.heads, max(1, self.embedding_dim // self.heads),
                                                         dropout=self.dropout, name="attention")
        self.norm1 = keras.layers.LayerNormalization(name="norm1")
        self.feed_forward = keras.layers.Dense(self.embedding_dim, activation="relu", name="feed_forward")
        self.project = keras.layers.Dense(self.embedding_dim, name="project")
        self.norm2 = keras.layers.LayerNormalization(name="norm2")

    def build(self, input_shape):
        d = self.embedding_dim
        self.positions.build((None,))
        self.attention.build((None, None, d), (None, None, d))
        self.norm1.build((None, None, d))
        self.feed_forward.build((None, None, d))
        self.project.build((None, None, d))
        self.norm2.build((None, None, d))
        self.built = True

    def call(self, vectors, mask=None, training=False):
        length = ops.shape(vectors)[1]
        x = vectors + self.positions(ops.arange(length))[None, :, :]
        attention_mask = None
        if mask is not None:
            # a real movie attends to real movies only; a padding position to itself only (with every
            # key masked, the softmax would spread over all positions, the future ones included)
            steps = ops.arange(length)
            itself = ops.equal(steps[:, None], steps[None, :])[None, :, :]
            attention_mask = ops.logical_or(ops.logical_and(mask[:, None, :], mask[:, :, None]), itself)
        a = self.attention(x, x, attention_mask=attention_mask, use_causal_mask=True, training=training)
        x = self.norm1(x + a)
        return self.norm2(x + self.project(self.feed_forward(x)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(length=self.length, embedding_dim=self.embedding_dim, heads=self.heads, dropout=self.dropout)
        return config


@keras.saving.register_keras_serializable(package="cfcourse")
class NextMovieModel(keras.Model):
    """Vocabulary ids in time order → at each position, one logit per vocabulary entry for the next movie.

    ``kind`` is ``"bag"``, ``"gru"`` or ``"attention"`` (see the module docstring). The output
    scores ``logits[..., j] = summary · embedding[j] + bias[j]`` reuse the input embedding table
    (weight tying): a movie's vector both describes it in a history and scores it as the next
    movie. ``length`` is needed by ``"attention"`` only (its position vectors).
    """

    def __init__(self, vocabulary_size: int, kind: str = "gru", embedding_dim: int = 32, length: int | None = None,
                 heads: int = 2, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(repr(k) for k in KINDS)}, got {kind!r}")
        for label, value in (("vocabulary_size", vocabulary_size), ("embedding_dim", embedding_dim)):
            if isinstance(value, bool) or int(value) != value or int(value) < 1:
                raise ValueError(f"{label} must be a positive whole number, got {value!r}")
        if int(vocabulary_size) < 3:
            raise ValueError(f"vocabulary_size must be at least 3 (padding, out-of-vocabulary and one movie), "
                             f"got {vocabulary_size}")
        if kind == "attention" and (length is None or int(length) < 1):
            raise ValueError("kind='attention' needs the window length (length=L, a positive whole number) for its "
                             "position vectors")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.vocabulary_size, self.kind, self.embedding_dim = int(vocabulary_size), kind, int(embedding_dim)
        self.length, self.heads, self.dropout_rate = (int(length) if length is not None else None), int(heads), \
            float(dropout)
        self.movie_embedding = keras.layers.Embedding(self.vocabulary_size, self.embedding_dim, mask_zero=True,
                                                      name="movie_embedding")
        self.dropout = keras.layers.Dropout(self.dropout_rate)
        if kind == "bag":
            self.summary_layer = CausalMean(name="mean")
        elif kind == "gru":
            self.summary_layer = keras.layers.GRU(self.embedding_dim, return_sequences=True, name="gru")
        else:
            self.summary_layer = CausalSelfAttention(self.length, self.embedding_dim, heads=self.heads,
                                                     dropout=self.dropout_rate, name="self_attention")

    def build(self, input_shape=None):
        self.movie_embedding.build((None, None))
        if not self.summary_layer.built:
            self.summary_layer.build((None, None, self.embedding_dim))
        self.next_bias = self.add_weight(name="next_bias", shape=(self.vocabulary_size,), initializer="zeros")
        self.built = True

    def call(self, ids, training=False):
        ids = ops.cast(ids, "int32")
        mask = ops.not_equal(ids, 0)
        x = self.dropout(self.movie_embedding(ids), training=training)
        x = self.summary_layer(x, mask=mask, training=training) if self.kind != "bag" else \
            self.summary_layer(x, mask=mask)
        x = self.dropout(x, training=training)
        return ops.matmul(x, ops.transpose(self.movie_embedding.embeddings)) + self.next_bias

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.vocabulary_size)

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size, kind=self.kind, embedding_dim=self.embedding_dim,
                      length=self.length, heads=self.heads, dropout=self.dropout_rate)
        return config

