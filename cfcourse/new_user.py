"""Recommendations for someone who is not in the data, from a handful of ``(movieId, rating)`` pairs.

A trained model has one vector per known user; a new user has none. Since the movie vectors
are already learned, only the new user's vector (and bias) is missing, and with the movie
vectors frozen, fitting it is a small problem, solved here with L-BFGS:

- for a **rating model** (``models.DotWithBias``: rating = min + (max − min) · σ(u·m + b_u + b_m)),
  ``u`` and ``b_u`` minimise the squared error on the profile's ratings plus ``l2 · (‖u‖² + b_u²)``.
  A sigmoid inside a squared error is not convex, so this is a local optimum, found from zero
  (deterministic);
- for the **ranking model** (``models.SoftmaxRanker``: softmax over ``u·m + b_m``), ``u``
  maximises the log-probability of the profile's movies minus ``l2 · ‖u‖²``: a convex problem
  (log-sum-exp of linear functions plus a ridge), so its optimum is unique. This model learned
  *which* movies people rate, not how much they liked them, so it reads every movie of the
  profile as "watched", whatever its rating.

:func:`fold_in` is the same fit for all users at once: the recommenders use it to give every
id-based model the user's whole history before an evaluation point.

What the models can and cannot do for a movie with no ratings: a movie absent from the data has
no row at all. One that is in the catalogue but was rated only after the training period has a
row that was trained only as a movie nobody chose: with the ranker's full softmax every movie's
row gets a gradient at every step, pushing it down, and the L2 penalty covers the whole table;
what keeps such a movie at the bottom is above all its bias, which starts at the log of its
smoothed training count (the lowest of all). No rating ever told the model what such a movie is
like, so it can neither tell the model anything about a new user's taste nor be recommended for
a good reason: collaborative filtering only knows a movie through the people who rated it. Pass
``candidates=split.train_counts() > 0`` to keep such movies out of the lists, and leave them out
of profiles (with ``trained=`` the functions refuse them with a clear message). Content (genres,
text) or popularity among early viewers is what a system needs for those.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ProfileError", "NewUser", "check_profile", "fit_new_user", "recommend_new_user", "FOLD_IN_LOSSES",
           "fold_in"]


class ProfileError(ValueError):
    """A new user's profile cannot be used (empty, unknown or repeated movies, ratings off the scale...)."""


def _encoder(where):
    """The movie :class:`~cfcourse.data.IdEncoder` of an Encoded, a TemporalSplit or the encoder itself."""
    for candidate in (where, getattr(where, "encoded", None)):
        movies = getattr(candidate, "movies", None)
        if movies is not None and hasattr(movies, "encode") and hasattr(movies, "raw_ids"):
            return movies
    if hasattr(where, "encode") and hasattr(where, "raw_ids"):
        return where
    raise TypeError("pass the data's encoding (data.encode_ids(...), a ranking.TemporalSplit or its "
                    f"encoded.movies) so that movieIds can be mapped to the model's rows; got {type(where).__name__}")


def check_profile(profile, encoding, scale: tuple[float, float] = (0.5, 5.0),
                  trained=None) -> tuple[np.ndarray, np.ndarray]:
    """``(movie indices, ratings)`` of a profile, or a :class:`ProfileError` naming the problem and the fix.

    ``profile`` is a list of ``(movieId, rating)`` pairs, a ``{movieId: rating}`` dict or a frame
    with columns ``movieId`` and ``rating``. ``encoding`` maps raw movieIds to the model's rows
    (``data.encode_ids(...)``, a ``ranking.TemporalSplit`` or its ``encoded.movies``). Ratings
    must be numbers within ``scale``. With ``trained`` (a boolean mask over the movies, e.g.
    ``split.train_counts() > 0``) a movie the model never saw a rating of is refused.
    """
    encoder = _encoder(encoding)
    if isinstance(profile, pd.DataFrame):
        missing = [c for c in ("movieId", "rating") if c not in profile.columns]
        if missing:
            raise ProfileError(f"the profile frame lacks the column(s) {missing}; it needs movieId and rating")
        pairs = list(zip(profile["movieId"].tolist(), profile["rating"].tolist()))
    elif isinstance(profile, dict):
        pairs = list(profile.items())
    elif isinstance(profile, (str, bytes)) or not hasattr(profile, "__iter__"):
        raise ProfileError(f"the profile must be a list of (movieId, rating) pairs, got {type(profile).__name__}")
    else:
        pairs = list(profile)
    if not pairs:
        raise ProfileError("the profile is empty: give at least one (movieId, rating) pair, e.g. [(1, 5.0), (2355, 4.0)] "
                           "(Toy Story and A Bug's Life); a few more make better recommendations")
    ids, ratings = [], []
    for n, pair in enumerate(pairs):
        if isinstance(pair, (str, bytes)) or not hasattr(pair, "__len__") or len(pair) != 2:
            raise ProfileError(f"profile item {n} is {pair!r}: each item must be a (movieId, rating) pair")
        movie, rating = pair
        if isinstance(movie, bool) or not isinstance(movie, (int, np.integer)) and not (
                isinstance(movie, (float, np.floating)) and math.isfinite(movie) and movie == int(movie)):
            raise ProfileError(f"profile item {n}: the movieId {movie!r} is not a whole number (movieIds are the "
                               "integers of movies.csv, e.g. 1 for Toy Story)")
        if isinstance(rating, bool) or not isinstance(rating, (int, float, np.integer, np.floating)):
            raise ProfileError(f"profile item {n}: the rating {rating!r} of movieId {int(movie)} is not a number")
        if math.isnan(float(rating)):
            raise ProfileError(f"the rating of movieId {int(movie)} is missing (NaN): give a number between "
                               f"{scale[0]} and {scale[1]}, or leave the movie out")
        ids.append(int(movie))
        ratings.append(float(rating))
    ids_arr, ratings_arr = np.array(ids, dtype=np.int64), np.array(ratings, dtype=np.float64)
    values, counts = np.unique(ids_arr, return_counts=True)
    if (counts > 1).any():
        repeated = ", ".join(f"{v} ({c} times)" for v, c in zip(values[counts > 1][:5], counts[counts > 1][:5]))
        raise ProfileError(f"movieId(s) {repeated} appear more than once in the profile: keep one rating per movie")
    lo, hi = scale
    off = (ratings_arr < lo) | (ratings_arr > hi)
    if off.any():
        shown = ", ".join(f"{r:g} for movieId {m}" for m, r in zip(ids_arr[off][:5], ratings_arr[off][:5]))
        raise ProfileError(f"rating(s) {shown} are outside the scale [{lo}, {hi}]: use the MovieLens scale of half "
                           f"stars from {lo} to {hi}")
    known = np.isin(ids_arr, encoder.raw_ids)
    if not known.all():
        raise ProfileError(f"movieId(s) {ids_arr[~known][:5].tolist()} are not among the movies of the data the model "
                           "was trained on (no rating, or not a MovieLens id), so the model has no vector for them: "
                           "leave them out, or pick rated movies (e.g. with explore.find_movie)")
    index = encoder.encode(ids_arr)
    if trained is not None:
        mask = np.asarray(trained, dtype=bool).reshape(-1)
        if len(mask) != len(encoder.raw_ids):
            raise ValueError(f"trained must hold one flag per movie ({len(encoder.raw_ids)}), got {len(mask)}")
        untrained = ~mask[index]
        if untrained.any():
            raise ProfileError(f"movieId(s) {ids_arr[untrained][:5].tolist()} have no rating in the model's training "
                               "data: their vectors were never learned, so they say nothing about your taste. "
                               "Leave them out of the profile")
    return index, ratings_arr


def _unwrap(model):
    """The Keras model inside a ``recommenders.RatingModel``/``SoftmaxModel``, or the model itself."""
    inner = getattr(model, "model", None)
    return inner if inner is not None and hasattr(inner, "movie_embedding") else model


def _one_blas_thread():
    """A context in which NumPy's BLAS uses one thread (threadpoolctl, installed with scikit-learn).

    The fit evaluates a few dozen matrix-vector products of ~10k × 64: with several BLAS threads,
    each product pays for waking and synchronising them, which made the fit 5 to 30 times slower
    here (measured with TensorFlow loaded, on a busy 2-core machine).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings it
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(1, user_api="blas")


def _movie_table(model):
    from .models import layer_weights as _weights

    m = _weights(model, "movie_embedding")
    bias = _weights(model, "movie_bias", required=False)
    return m, (bias.reshape(-1) if bias is not None else np.zeros(len(m)))


@dataclass
class NewUser:
    """A fitted new user: ``vector`` (the user embedding), ``bias`` and how the model reads them.

    ``kind`` is ``"rating"`` (scores are the logit ``u·m + b_u + b_m``; ``predicted_ratings()``
    maps them to the scale) or ``"softmax"`` (scores are ``u·m + b_m``).
    """

    vector: np.ndarray
    bias: float
    kind: str
    movies: np.ndarray  # dense indices of the profile's movies
    ratings: np.ndarray
    movie_vectors: np.ndarray
    movie_bias: np.ndarray
    scale: tuple[float, float]

    def scores(self) -> np.ndarray:
        """One score per movie of the catalogue (higher = recommended first)."""
        return self.movie_vectors @ self.vector + self.movie_bias + self.bias

    def predicted_ratings(self) -> np.ndarray:
        """The rating model's predicted rating of every movie (rating models only)."""
        if self.kind != "rating":
            raise ValueError("a ranking model predicts no ratings, only an order: use scores()")
        lo, hi = self.scale
        return lo + (hi - lo) / (1.0 + np.exp(-self.scores()))


def fit_new_user(model, profile, encoding, *, l2: float = 0.1, trained=None) -> NewUser:
    """Fit one new user's vector (and bias) against the frozen movie embeddings of ``model``.

    ``model`` is a trained ``models.DotWithBias``-like rating model (layers ``movie_embedding``,
    ``movie_bias`` and ``user_bias``; its ``min_rating``/``max_rating`` give the scale) or a
    ``models.SoftmaxRanker`` (no ``user_bias``), or the ``recommenders`` adapter holding one.
    ``profile`` and ``encoding``: see :func:`check_profile`. ``l2`` is the ridge penalty that keeps
    the vector small when the profile is short. Deterministic (L-BFGS from zero).
    """
    from scipy.optimize import minimize

    keras_model = _unwrap(model)
    if not (isinstance(l2, (int, float, np.number)) and math.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 must be a non-negative number, got {l2!r}")
    kind = "rating" if getattr(keras_model, "user_bias", None) is not None else "softmax"
    scale = (float(getattr(keras_model, "min_rating", 0.5)), float(getattr(keras_model, "max_rating", 5.0)))
    index, ratings = check_profile(profile, encoding, scale if kind == "rating" else (0.5, 5.0), trained)
    movie_vectors, movie_bias = _movie_table(keras_model)
    if index.max() >= len(movie_vectors):
        raise ValueError(f"the model has {len(movie_vectors)} movies but the encoding {len(_encoder(encoding).raw_ids)}: "
                         "pass the encoding of the data the model was trained on")
    m, bm = movie_vectors[index], movie_bias[index]
    d = movie_vectors.shape[1]
    lo, hi = scale

    if kind == "rating":
        def loss(theta):
            u, b = theta[:d], theta[d]
            z = m @ u + b + bm
            sig = 1.0 / (1.0 + np.exp(-z))
            err = lo + (hi - lo) * sig - ratings
            dz = 2.0 * err * (hi - lo) * sig * (1.0 - sig)
            value = float(err @ err + l2 * (u @ u + b * b))
            grad = np.concatenate([m.T @ dz + 2 * l2 * u, [dz.sum() + 2 * l2 * b]])
            return value, grad
        theta0 = np.zeros(d + 1)
    else:
        def loss(theta):
            z = movie_vectors @ theta + movie_bias
            top = z.max()
            p = np.exp(z - top)
            total = p.sum()
            log_norm = top + np.log(total)
            value = float(-(z[index].sum() - len(index) * log_norm) + l2 * theta @ theta)
            grad = -(m.sum(axis=0) - len(index) * (movie_vectors.T @ (p / total))) + 2 * l2 * theta
            return value, grad
        theta0 = np.zeros(d)
    # The rating fit reads only the profile's movies, so solving it tightly costs nothing and makes
    # its scores exact to about 1e-6 (the book's widget repeats this fit in the browser).
    options = {"maxiter": 1000, "ftol": 1e-15, "gtol": 1e-10} if kind == "rating" else {"maxiter": 500}
    with _one_blas_thread():
        result = minimize(loss, theta0, jac=True, method="L-BFGS-B", options=options)
    theta = result.x
    vector, bias = (theta[:d], float(theta[d])) if kind == "rating" else (theta, 0.0)
    return NewUser(vector=vector, bias=bias, kind=kind, movies=index, ratings=ratings,
                   movie_vectors=movie_vectors, movie_bias=movie_bias, scale=scale)


def recommend_new_user(model, profile, encoding, movies: pd.DataFrame, n: int = 10, *, l2: float = 0.1,
                       candidates=None, trained=None) -> pd.DataFrame:
    """A top-``n`` table for a new user: rank, movieId, title, score (and predicted rating for a rating model).

    Fits the user with :func:`fit_new_user`, then retrieves the ``n`` best movies with
    ``keras_rs.layers.BruteForceRetrieval`` (:func:`cfcourse.ranking.retrieve`), leaving out the
    profile's movies and, with ``candidates`` (a boolean mask over the movies, e.g.
    ``split.train_counts() >= 10``), every movie outside it. ``movies`` is the movies table
    (for the titles).
    """
    from .ranking import _titles, check_k, retrieve

    user = fit_new_user(model, profile, encoding, l2=l2, trained=trained)
    encoder = _encoder(encoding)
    n_movies = len(user.movie_vectors)
    n = check_k(n, n_movies)
    blocked = np.zeros(n_movies, dtype=bool)
    blocked[user.movies] = True
    if candidates is not None:
        allowed = np.asarray(candidates, dtype=bool).reshape(-1)
        if len(allowed) != n_movies:
            raise ValueError(f"candidates must hold one flag per movie ({n_movies}), got {len(allowed)}")
        blocked |= ~allowed
    user_vector = np.concatenate([user.vector, [1.0, user.bias]])[None, :]
    movie_vectors = np.hstack([user.movie_vectors, user.movie_bias[:, None], np.ones((n_movies, 1))])
    scores, ids = retrieve(user_vector, movie_vectors, known=[np.flatnonzero(blocked)], k=n)
    keep = ids[0] >= 0
    ids, scores = ids[0][keep], scores[0][keep]
    raw = encoder.decode(ids)
    table = pd.DataFrame({"rank": np.arange(1, len(ids) + 1), "movieId": raw.astype(np.int64),
                          "title": _titles(movies, raw), "score": scores.astype(np.float64)})
    if user.kind == "rating":
        table["predicted rating"] = user.predicted_ratings()[ids]
    return table


# --------------------------------------------------------------------------------------
# Folding in many users at once: the same history for every model at an evaluation point
# --------------------------------------------------------------------------------------

#: The objectives :func:`fold_in` knows, one per kind of model.
FOLD_IN_LOSSES = ("rating", "squared", "implicit", "softmax", "mlp")


def fold_in(known, movie_vectors, *, loss: str, l2: float, movie_bias=None, start=None,
            scale: tuple[float, float] = (0.5, 5.0), alpha: float = 1.0, layers=None,
            max_iter: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Fit every user's vector (and bias) to the movies in ``known``, the movie side frozen.

    This is the new-user fit of :func:`fit_new_user` for all users at once, and the way every
    id-based recommender of the course reads the movies a user rated after its training ended
    (``recommenders``: at the test point, the user's training *and* validation movies).
    ``known`` is a users × movies ``scipy.sparse`` matrix whose nonzero cells are the user's
    movies (their ratings for the rating losses, anything nonzero for ``"softmax"``);
    ``movie_vectors`` (movies × d) and ``movie_bias`` (movies) are the model's, kept fixed.
    ``loss`` says which model's objective is fitted:

    - ``"rating"``: ``models.DotWithBias``, rating = lo + (hi − lo)·σ(u·m + b_u + b_m), squared
      error plus ``l2·(‖u‖² + b_u²)``; returns vectors and user biases;
    - ``"squared"``: explicit ALS, rating = u·m, squared error plus ``l2·n_u·‖u‖²`` (Spark's
      scaling by the user's number of ratings ``n_u``); solved exactly, user by user;
    - ``"implicit"``: implicit ALS (Hu, Koren and Volinsky, 2008): preference 1 for the user's
      movies and 0 elsewhere, confidence ``1 + alpha·rating``, plus ``l2·n_u·‖u‖²``; exact;
    - ``"softmax"``: ``models.SoftmaxRanker``, minus the log-softmax of the user's movies over
      the catalogue (logits ``u·m + b_m``) plus ``l2·‖u‖²``;
    - ``"mlp"``: a rating network whose first hidden layer reads ``[user, movie]``: the movie's
      part of its pre-activation is ``movie_vectors`` (movies × h, bias included), ``u`` enters
      through ``layers[0]`` (d × h), then ReLU, then the remaining ``(kernel, bias)`` pairs of
      ``layers[1:]`` (the last one gives the logit); rating as for ``"rating"``, ``l2·‖u‖²``.

    The iterative losses use L-BFGS over all users jointly, from ``start`` (users × d: the trained
    vectors, for a warm start) or zeros; deterministic. Returns ``(vectors, biases)`` (the
    biases are zeros where the loss has none); a user without movies keeps ``start`` (or zeros).
    """
    import scipy.sparse as sp
    from scipy.optimize import minimize

    if loss not in FOLD_IN_LOSSES:
        raise ValueError(f"loss must be one of {FOLD_IN_LOSSES}, got {loss!r}")
    if not (isinstance(l2, (int, float, np.number)) and math.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 must be a non-negative number, got {l2!r}")
    if not sp.issparse(known):
        raise TypeError(f"known must be a scipy.sparse users × movies matrix (e.g. split.interactions(...)), "
                        f"got {type(known).__name__}")
    known = sp.csr_matrix(known, dtype=np.float64)
    known.eliminate_zeros()
    m = np.asarray(movie_vectors, dtype=np.float64)
    if known.shape[1] != len(m):
        raise ValueError(f"known has {known.shape[1]} movies but movie_vectors {len(m)} rows: pass the model's "
                         "movie table for the same catalogue")
    n_users = known.shape[0]
    bm = np.zeros(len(m)) if movie_bias is None else np.asarray(movie_bias, dtype=np.float64).reshape(-1)
    d = m.shape[1] if loss != "mlp" else np.asarray(layers[0][0]).shape[0]
    start = None if start is None else np.array(start, dtype=np.float64).reshape(n_users, -1)
    if start is not None and start.shape[1] not in (d, d + (loss == "rating")):
        raise ValueError(f"start must hold one row of {d} numbers per user (the trained vectors), "
                         f"got shape {start.shape}")
    u0 = np.zeros((n_users, d)) if start is None else start[:, :d]
    counts = np.diff(known.indptr)
    if loss in ("squared", "implicit"):
        return _fold_in_exact(known, m, u0, counts, loss, l2, alpha)
    coo = known.tocoo()
    rows, cols, values = coo.row, coo.col, coo.data
    lo, hi = scale
    with_bias = loss == "rating"
    width = d + 1 if with_bias else d

    if loss == "softmax":
        watched_m = known.astype(bool).astype(np.float64) @ m  # Σ of each user's movie vectors: fixed
        m32 = m.astype(np.float32)
        # Work arrays (users × movies), reused at every step: the fit is bound by memory traffic.
        z_work = np.empty((n_users, len(m)))
        p32 = np.empty((n_users, len(m)), dtype=np.float32)

        def objective(theta):
            u = theta.reshape(n_users, d)
            z = np.add(u.astype(np.float32) @ m32.T, bm, out=z_work)  # float32 product, float64 logits
            z -= z.max(axis=1, keepdims=True)  # the shift cancels in z − log Σ exp z
            picked = z[rows, cols].sum()
            p = np.exp(z, out=z)  # z is not needed any more
            total = p.sum(axis=1)
            np.divide(p, total[:, None], out=p32)  # the probabilities, rounded to float32
            log_norm = np.log(total)
            value = -(picked - (counts * log_norm).sum()) + l2 * (u * u).sum()
            grad = -(watched_m - counts[:, None] * (p32 @ m32)) + 2 * l2 * u
            return float(value), grad.reshape(-1)
    elif loss == "rating":
        m_cols, bm_cols = m[cols], bm[cols]  # the rated movies' vectors and biases: fixed

        def per_rating(dz):
            """``dz`` (one value per rating, in ``known``'s order) as a users × movies matrix."""
            if known.has_canonical_format:  # rows, cols are known's own structure
                return sp.csr_matrix((dz, known.indices, known.indptr), shape=known.shape)
            return sp.csr_matrix((dz, (rows, cols)), shape=known.shape)

        def objective(theta):
            t = theta.reshape(n_users, width)
            u, b = t[:, :d], t[:, d]
            z = np.einsum("ij,ij->i", u[rows], m_cols) + b[rows] + bm_cols
            sig = 1.0 / (1.0 + np.exp(-z))
            err = lo + (hi - lo) * sig - values
            dz = 2.0 * err * (hi - lo) * sig * (1.0 - sig)
            dzm = per_rating(dz)
            grad = np.hstack([dzm @ m + 2 * l2 * u, (np.asarray(dzm.sum(axis=1)).reshape(-1) + 2 * l2 * b)[:, None]])
            return float(err @ err + l2 * (t * t).sum()), grad.reshape(-1)
    else:  # "mlp"
        kernels = [np.asarray(k, dtype=np.float64) for k, _ in layers]
        biases = [np.asarray(b, dtype=np.float64).reshape(-1) for _, b in layers]

        def objective(theta):
            u = theta.reshape(n_users, d)
            h = u[rows] @ kernels[0] + m[cols]
            acts = [np.maximum(h, 0.0)]
            pre = [h]
            for kernel, bias in zip(kernels[1:-1], biases[1:-1]):
                pre.append(acts[-1] @ kernel + bias)
                acts.append(np.maximum(pre[-1], 0.0))
            z = (acts[-1] @ kernels[-1]).reshape(-1) + biases[-1][0]
            sig = 1.0 / (1.0 + np.exp(-z))
            err = lo + (hi - lo) * sig - values
            back = (2.0 * err * (hi - lo) * sig * (1.0 - sig))[:, None] * kernels[-1].reshape(1, -1)
            for i in range(len(acts) - 1, 0, -1):
                back = (back * (pre[i] > 0)) @ kernels[i].T
            back = (back * (pre[0] > 0)) @ kernels[0].T
            grad = np.zeros_like(u)
            np.add.at(grad, rows, back)
            return float(err @ err + l2 * (u * u).sum()), (grad + 2 * l2 * u).reshape(-1)

    theta0 = np.hstack([u0, np.zeros((n_users, 1))]) if with_bias else u0
    if with_bias and start is not None and np.shape(start)[-1] == width:
        theta0 = np.array(start, dtype=np.float64)
    with _one_blas_thread():
        result = minimize(objective, theta0.reshape(-1), jac=True, method="L-BFGS-B",
                          options={"maxiter": int(max_iter)})
    theta = result.x.reshape(n_users, width)
    empty = counts == 0
    theta[empty] = theta0.reshape(n_users, width)[empty]
    return theta[:, :d].copy(), (theta[:, d].copy() if with_bias else np.zeros(n_users))


def _fold_in_exact(known, m, u0, counts, loss, l2, alpha):
    """The ALS user step: one small ridge regression per user (exact)."""
    n_users, d = u0.shape
    vectors = u0.copy()
    gram = m.T @ m if loss == "implicit" else None
    for u in np.flatnonzero(counts):
        cols = known.indices[known.indptr[u]:known.indptr[u + 1]]
        r = known.data[known.indptr[u]:known.indptr[u + 1]]
        mu = m[cols]
        ridge = l2 * counts[u] * np.eye(d)
        if loss == "squared":
            vectors[u] = np.linalg.solve(mu.T @ mu + ridge, mu.T @ r)
        else:
            c = alpha * r  # confidence − 1 on the user's movies; preference 1 there, 0 elsewhere
            vectors[u] = np.linalg.solve(gram + (mu.T * c) @ mu + ridge, mu.T @ (1.0 + c))
    return vectors, np.zeros(n_users)
