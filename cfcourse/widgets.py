"""The book's interactive widgets: rate a few movies and get recommendations, and explore a map of movies.

Both widgets run in the reader's browser, with the project's own JavaScript (``cfcourse/web/``,
inlined into the page: nothing is loaded from another site, so they work offline, from ``file://``
and in the student build). Python prepares their data and is the reference they are tested against:

- :func:`export_movies` takes a trained rating model (``models.DotWithBias`` or the
  ``recommenders.RatingModel`` holding one) and keeps the movies with more than 20 training ratings
  (``explore.MIN_RATINGS``): their vectors and biases, rounded to fixed decimals and stored as
  integers, titles, genres, training counts, the first two principal components of their vectors and
  a t-SNE map of them (the map widget switches between the two).
- :func:`exported_model` turns that payload back into a ``models.DotWithBias`` holding exactly the
  rounded numbers, so that :func:`recommend` (``new_user.recommend_new_user`` on it) computes what the
  browser must show, and :func:`neighbours` (``explore.cosine_neighbours``) the map's neighbours.
- :func:`because` splits a fitted new user's scores into one term per rated movie. The fold-in of
  ``new_user.fit_new_user`` minimises ``sum_i (r̂_i - r_i)² + l2 (‖u‖² + b_u²)``; where its gradient is
  zero, ``(u, b_u) = sum_i a_i (m_i, 1)`` with ``a_i = -g_i / (2 l2)`` (``g_i`` the derivative of the
  squared error with respect to movie ``i``'s score), so every score is the movie's own bias plus
  ``sum_i a_i (m_i · m_j + 1)``: the model's own arithmetic, one term per rated movie.
- :func:`widget_html` writes the HTML of a widget (``data-widget="recommend"`` or ``"map"``) with the
  payload inline; :func:`show` displays it in a notebook.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["WEB", "export_movies", "payload_size", "exported_model", "recommend", "because", "neighbours",
           "widget_html", "show"]

#: The folder of the widgets' JavaScript and CSS (package data).
WEB = Path(__file__).resolve().parent / "web"

#: Films labelled on the map when they are exported (movieIds): seven famous titles, as in chapter 8.
MAP_LABELS = (1, 4306, 2571, 296, 593, 1721, 260)
#: The t-SNE map's iterations (scikit-learn's first 250 are its early exaggeration) and decimals. On the
#: try-it page's 1,196 movies 350 iterations keep as many of each movie's ten nearest neighbours on the
#: map as 500 (26.5% against 26.6%, measured) in two thirds of the time.
TSNE_ITER = 350
TSNE_DIGITS = 3


def _rating_model(model):
    inner = getattr(model, "model", None)
    keras_model = inner if inner is not None and hasattr(inner, "movie_embedding") else model
    if getattr(keras_model, "user_bias", None) is None or not hasattr(keras_model, "movie_embedding"):
        raise TypeError("export_movies needs a trained rating model with movie_embedding, movie_bias and user_bias "
                        f"layers (models.DotWithBias or recommenders.RatingModel), got {type(model).__name__}")
    return keras_model


def _quantise(values, digits: int) -> list[int]:
    return np.rint(np.asarray(values, dtype=np.float64) * 10 ** digits).astype(np.int64).reshape(-1).tolist()


def export_movies(model, split, movies: pd.DataFrame, *, min_ratings: int | None = None,
                  profiles: dict[str, list[tuple[int, float]]] | None = None, l2: float = 0.1,
                  vector_digits: int = 3, bias_digits: int = 4, tsne: bool = True, perplexity: float = 30.0,
                  tsne_iter: int = TSNE_ITER) -> dict:
    """The widgets' data: the movies with at least ``min_ratings`` training ratings of a trained rating model.

    ``split`` is the ``ranking.TemporalSplit`` (or anything with ``train_counts()`` and the movie
    encoder in ``encoded.movies``) the model was trained on; ``movies`` is the movies table (titles,
    genres). ``min_ratings`` defaults to ``explore.MIN_RATINGS`` (more than 20 ratings). Vectors are
    rounded to ``vector_digits`` decimals, biases and map coordinates to ``bias_digits``, and stored as
    integers. ``profiles`` (name → ``(movieId, rating)`` pairs) are the ready-made starting points;
    each movie of them must be exported. ``l2`` is the fold-in's penalty (``new_user.fit_new_user``).

    With ``tsne`` the payload also holds a t-SNE map of the rounded vectors (``maps.tsne_map``: cosine
    distances as chapter 8, PCA start, seed 0, Barnes-Hut, ``tsne_iter`` iterations, ``perplexity``
    capped below a third of the movies), centred and scaled to a standard deviation of 1, rounded to
    :data:`TSNE_DIGITS` decimals.
    """
    from . import explore, features
    from .ranking import readable_title
    from .models import layer_weights as _weights

    keras_model = _rating_model(model)
    min_ratings = explore.MIN_RATINGS if min_ratings is None else int(min_ratings)
    if min_ratings < 1:
        raise ValueError(f"min_ratings must be at least 1 (a movie without ratings has no learned vector), "
                         f"got {min_ratings}")
    counts = np.asarray(split.train_counts())
    vectors = _weights(keras_model, "movie_embedding")
    bias = _weights(keras_model, "movie_bias").reshape(-1)
    if len(vectors) != len(counts):
        raise ValueError(f"the model has {len(vectors)} movies but the split {len(counts)}: pass the split the "
                         "model was trained on")
    rows = np.flatnonzero(counts >= min_ratings)
    if len(rows) < 12:
        raise ValueError(f"only {len(rows)} movies have {min_ratings} or more training ratings: lower min_ratings")
    ids = np.asarray(split.encoded.movies.raw_ids)[rows].astype(np.int64)
    info = movies.drop_duplicates("movieId").set_index("movieId").reindex(ids)
    titles = [readable_title(t) for t in info["title"].fillna("").astype(str)]
    genre_lists = features.split_genres(info["genres"].fillna(features.NO_GENRES).astype(str).tolist())
    vocabulary = sorted({g for row in genre_lists for g in row})
    order = [*features.MAIN_GENRE_ORDER, "other"]
    main = features.main_genre(info["genres"].fillna(features.NO_GENRES).astype(str).tolist())
    scale = 10.0 ** vector_digits
    rounded = np.rint(vectors[rows] * scale) / scale
    pca = explore.pca(rounded, center=True, n_components=2)
    layouts = {}
    if tsne:
        from .maps import tsne_map

        flat = tsne_map(rounded, min(float(perplexity), (len(rows) - 1) / 3), seed=0, max_iter=int(tsne_iter),
                        method="barnes_hut")
        flat = (flat - flat.mean(axis=0)) / flat.std()
        layouts = {"tsne": _quantise(flat, TSNE_DIGITS), "tsneDigits": TSNE_DIGITS,
                   "tsnePerplexity": round(min(float(perplexity), (len(rows) - 1) / 3), 2)}
    position = {int(m): i for i, m in enumerate(ids)}
    checked = {}
    for name, profile in (profiles or {}).items():
        missing = [m for m, _ in profile if int(m) not in position]
        if missing:
            raise ValueError(f"profile {name!r}: movieId(s) {missing} have fewer than {min_ratings} training "
                             "ratings, so the widget does not offer them: pick other movies")
        checked[name] = [[int(m), float(r)] for m, r in profile]
    return {
        "version": 1,
        "minRatings": min_ratings,
        "scale": [float(keras_model.min_rating), float(keras_model.max_rating)],
        "l2": float(l2),
        "dim": int(vectors.shape[1]),
        "vectorDigits": int(vector_digits),
        "biasDigits": int(bias_digits),
        "ids": ids.tolist(),
        "titles": titles,
        "counts": counts[rows].astype(int).tolist(),
        "genreNames": vocabulary,
        "genres": [[vocabulary.index(g) for g in row] for row in genre_lists],
        "mainNames": order,
        "main": [order.index(g) for g in main],
        "bias": _quantise(bias[rows], bias_digits),
        "vectors": _quantise(vectors[rows], vector_digits),
        "pca": _quantise(pca.scores[:, :2], bias_digits),
        "pcaAxes": _quantise(pca.components[:2], bias_digits),
        "pcaShare": [round(float(s), 4) for s in pca.explained_variance_ratio[:2]],
        "labels": [position[m] for m in MAP_LABELS if m in position],
        "profiles": checked,
        **layouts,
    }


def payload_size(payload: dict) -> int:
    """Bytes of the payload as the page embeds it (compact JSON, UTF-8)."""
    return len(_dumps(payload).encode("utf-8"))


def _dumps(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _tables(payload: dict) -> tuple[np.ndarray, np.ndarray]:
    n, d = len(payload["ids"]), int(payload["dim"])
    vectors = np.asarray(payload["vectors"], dtype=np.float64).reshape(n, d) / 10.0 ** payload["vectorDigits"]
    bias = np.asarray(payload["bias"], dtype=np.float64) / 10.0 ** payload["biasDigits"]
    return vectors, bias


def exported_model(payload: dict):
    """``(model, encoder, movies)``: a ``models.DotWithBias`` whose movie tables are the payload's rounded
    numbers (one placeholder user), the movieId encoder of its rows and a movies table of the titles."""
    from .data import IdEncoder
    from .models import DotWithBias

    vectors, bias = _tables(payload)
    lo, hi = payload["scale"]
    model = DotWithBias(1, len(vectors), embedding_dim=vectors.shape[1], min_rating=lo, max_rating=hi)
    model(np.zeros((1, 2), dtype=np.int32))
    model.movie_embedding.set_weights([vectors.astype(np.float32)])
    model.movie_bias.set_weights([bias.reshape(-1, 1).astype(np.float32)])
    encoder = IdEncoder(name="movieId", raw_ids=np.asarray(payload["ids"], dtype=np.int64))
    movies = pd.DataFrame({"movieId": payload["ids"], "title": payload["titles"]})
    return model, encoder, movies


def recommend(payload: dict, profile, n: int = 10) -> pd.DataFrame:
    """What the recommend widget must show for ``profile``: ``new_user.recommend_new_user`` on
    :func:`exported_model` (rank, movieId, title, score, predicted rating)."""
    from .new_user import recommend_new_user

    model, encoder, movies = exported_model(payload)
    return recommend_new_user(model, profile, encoder, movies, n=n, l2=payload["l2"])


def because(user, l2: float = 0.1) -> np.ndarray:
    """One column per rated movie: its share of every movie's score, for a fitted rating-model user.

    ``user`` is a ``new_user.NewUser`` of kind ``"rating"`` and ``l2`` the penalty its fit used
    (``new_user.fit_new_user``'s default is 0.1). Row ``j`` plus the movie's own bias sums to
    ``user.scores()[j]`` wherever the fit's gradient is zero (to the fit's tolerance).
    """
    if user.kind != "rating":
        raise ValueError("because() explains a rating model's fold-in; a ranking model's scores also depend on "
                         "every movie of the catalogue through its softmax")
    if not l2 > 0:
        raise ValueError(f"l2 must be positive: without a penalty the scores do not split by rated movie, got {l2!r}")
    lo, hi = user.scale
    m, bm = user.movie_vectors[user.movies], user.movie_bias[user.movies]
    z = m @ user.vector + user.bias + bm
    sig = 1.0 / (1.0 + np.exp(-z))
    g = 2.0 * (lo + (hi - lo) * sig - user.ratings) * (hi - lo) * sig * (1.0 - sig)
    a = -g / (2.0 * l2)
    return (user.movie_vectors @ m.T + 1.0) * a[None, :]


def neighbours(payload: dict, movie_id: int, k: int = 10) -> list[int]:
    """The movieIds of the ``k`` exported movies nearest to ``movie_id`` by cosine similarity of their
    (rounded) vectors, in the full embedding space, nearest first: what the map widget highlights."""
    from .explore import cosine_neighbours

    ids = list(payload["ids"])
    if movie_id not in ids:
        raise ValueError(f"movieId {movie_id} is not among the widget's movies (those with at least "
                         f"{payload['minRatings']} training ratings)")
    vectors, _ = _tables(payload)
    rows, _ = cosine_neighbours(vectors, ids.index(movie_id), k=k)
    return [ids[r] for r in rows]


def widget_html(payload: dict | None, widgets=("recommend", "map"), element_id: str = "cfw-data") -> str:
    """The HTML of the widgets: one root ``<div data-widget="...">`` each, the payload as inline JSON
    (``<script type="application/json" id=element_id>``) and the widgets' CSS and JavaScript inline.

    With ``payload=None`` the roots use the payload an earlier output of the page embedded under the
    same ``element_id`` (so that two widgets in two cells share one copy of the data)."""
    unknown = [w for w in widgets if w not in ("recommend", "map")]
    if unknown:
        raise ValueError(f"unknown widget(s) {unknown}: choose among 'recommend' and 'map'")
    style = (WEB / "widgets.css").read_text(encoding="utf-8")
    script = (WEB / "widgets.js").read_text(encoding="utf-8")
    data = "" if payload is None else (f'<script type="application/json" id="{html.escape(element_id)}">'
                                       + _dumps(payload).replace("</", "<\\/") + "</script>")
    roots = "".join(
        f'<div class="cfw cfw-{w}" data-widget="{w}" data-payload="{html.escape(element_id)}">'
        f'<p class="cfw-noscript">This interactive part needs JavaScript.</p></div>' for w in widgets)
    return f"<style>{style}</style>{roots}{data}<script>{script}</script>"


def show(payload: dict | None, widgets=("recommend", "map"), element_id: str = "cfw-data"):
    """Display :func:`widget_html` in a notebook (an ``IPython.display.HTML`` object)."""
    from IPython.display import HTML

    return HTML(widget_html(payload, widgets, element_id))
