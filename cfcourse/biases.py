"""Reading the learned user and movie biases of a model with bias embeddings (chapter "Adding biases")."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _bias_layer(model, name: str):
    from .models import built_layer

    layer = built_layer(model, name)
    if layer is None:
        raise ValueError(f"the model has no built layer {name!r} with weights; train or call the model first")
    return layer


def learned_biases(model) -> tuple[np.ndarray, np.ndarray]:
    """The user and movie biases of a trained model, as two 1-d arrays indexed by dense id.

    The model must have 1-d embedding layers called ``user_bias`` and ``movie_bias`` (as
    :class:`cfcourse.models.DotWithBias` and the chapter's own model have), either as
    attributes or as named layers.
    """
    out = []
    for name in ("user_bias", "movie_bias"):
        weights = np.asarray(_bias_layer(model, name).get_weights()[0])
        if weights.ndim != 2 or weights.shape[1] != 1:
            raise ValueError(f"layer {name!r} should hold one number per row, got a table of shape {weights.shape}")
        out.append(weights[:, 0].astype(np.float64))
    return out[0], out[1]


def movie_bias_table(movie_bias, encoded, movies: pd.DataFrame, min_ratings: int = 1) -> pd.DataFrame:
    """One row per movie with at least ``min_ratings`` ratings: title, learned bias, mean rating, count.

    ``movie_bias`` is indexed by the dense movie index of ``encoded`` (a
    :class:`cfcourse.data.Encoded`); the counts and means are taken over all of
    ``encoded.ratings`` by :func:`cfcourse.explore.movie_table`, which also decodes the ids and
    looks up the titles in ``movies``.
    The result is indexed by the raw ``movieId`` and sorted by bias, highest first.
    """
    from .explore import movie_table

    movie_bias = np.asarray(movie_bias, dtype=np.float64).reshape(-1)
    if len(movie_bias) != encoded.n_movies:
        raise ValueError(f"expected one bias per movie ({encoded.n_movies}), got {len(movie_bias)}")
    if min_ratings < 1:
        raise ValueError(f"min_ratings must be at least 1, got {min_ratings}")
    table = movie_table(encoded, movies).assign(bias=movie_bias)
    table = table[table["n_ratings"] >= min_ratings]
    columns = ["movieId", "title", "bias", "mean_rating", "n_ratings"]
    return table[columns].set_index("movieId").sort_values("bias", ascending=False)
