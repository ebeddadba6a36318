"""Recommenders on the ranking protocol of :mod:`cfcourse.ranking`, behind one small interface.

Every recommender is fitted on a :class:`~cfcourse.ranking.TemporalSplit` and scores every movie
for a set of users::

    model = EASE().fit(split)                        # fits on split.train only
    scores = model.score(split, "test")             # (n_users, n_movies) float32, higher = better
    ranking.evaluate(model, split)                  # one row of results

To plug in a new model (a Keras network, a sequence model, a Spark ALS model...), subclass
:class:`Recommender` and write two methods:

- ``_fit(self, split)``: learn from ``split.train`` (and, for early stopping or tuning, from
  ``split.valid`` with ``split.known("valid")`` as history); never from ``split.test``;
- ``_score(self, split, part, users)``: a (len(users), n_movies) array of scores for the dense
  user indices ``users`` at the evaluation point ``part`` (``"valid"`` or ``"test"``).
  History-based models may read the user's known movies at that point with
  ``split.known(part)`` (a sparse matrix) or ``split.history(part)`` (time-ordered lists).

The base class times ``fit`` (``fit_seconds``), checks the arguments and the shape and values of
the scores. Known movies need not be removed: the protocol masks them.

**The same information for every model.** At the test point every model reads the user's
training *and* validation movies. History-based models (EASE, PureSVD, bags, sequences) take them
as input; id-based models (one learned vector per user: the rating model, the ranker, the deep
rating model, ALS) would otherwise score with a vector fitted on the training part only. They
fold the user in (:class:`FoldIn`): at each evaluation point the user's vector is refitted, with
the movie side frozen, on every movie known at that point (:func:`cfcourse.new_user.fold_in`, the
new-user fit of the recommending chapter for all users at once), so ``score(split, "test")``
changes when the user's validation movies do. ``fold_in=False`` keeps the trained vectors (the
protocol before; only to measure what the fold-in changes).

The baselines here: :class:`RandomScores`, :class:`Popularity`, :class:`PureSVD`,
:class:`EASE`; and the adapters for the course's Keras models, :class:`RatingModel` (a rating
model such as ``models.DotWithBias``, refitted on the temporal training part) and
:class:`SoftmaxModel` (``models.SoftmaxRanker``, trained to rank).
"""

from __future__ import annotations

import math
import time
from typing import Sequence

import numpy as np

from .ranking import TemporalSplit, check_k, check_scores, hit_rate

__all__ = ["Recommender", "FoldIn", "RandomScores", "Popularity", "PureSVD", "EASE", "RatingModel", "SoftmaxModel",
           "embedding_scores"]


class Recommender:
    """Base class: ``fit(split)`` then ``score(split, part, users)``; see the module docstring."""

    #: Shown in result tables.
    name: str = "recommender"

    def __init__(self, name: str | None = None):
        if name is not None:
            self.name = str(name)
        self.fit_seconds = float("nan")

    # ---------------------------------------------------------------- public API

    def fit(self, split: TemporalSplit) -> "Recommender":
        """Fit on the training part of ``split`` (timed in ``fit_seconds``); returns ``self``."""
        if not isinstance(split, TemporalSplit):
            raise TypeError(f"{type(self).__name__}.fit expects a ranking.TemporalSplit (from ranking.temporal_split), "
                            f"got {type(split).__name__}")
        start = time.perf_counter()
        self._fit(split)
        self.fit_seconds = time.perf_counter() - start
        self.fitted_shape_ = (split.n_users, split.n_movies)
        return self

    def score(self, split: TemporalSplit, part: str = "test", users=None) -> np.ndarray:
        """Scores of every movie for ``users`` (dense indices; all users by default) before ``part``.

        Returns a float32 array of shape (len(users), n_movies); higher means recommended first.
        """
        if not hasattr(self, "fitted_shape_"):
            raise RuntimeError(f"{self.name!r} is not fitted yet: call .fit(split) first")
        if not isinstance(split, TemporalSplit):
            raise TypeError(f"score expects the ranking.TemporalSplit the model was fitted on, got {type(split).__name__}")
        if (split.n_users, split.n_movies) != self.fitted_shape_:
            raise ValueError(f"{self.name!r} was fitted on {self.fitted_shape_[0]} users × {self.fitted_shape_[1]} "
                             f"movies but this split has {split.n_users} × {split.n_movies}: score the split it was "
                             "fitted on")
        if part not in ("valid", "test"):
            raise ValueError(f"part must be 'valid' or 'test', got {part!r}")
        users = _check_users(users, split.n_users)
        return check_scores(self._score(split, part, users), len(users), split.n_movies,
                            what=f"the scores of {self.name!r}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    # ---------------------------------------------------------------- to override

    def _fit(self, split: TemporalSplit) -> None:
        raise NotImplementedError

    def _score(self, split: TemporalSplit, part: str, users: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class FoldIn:
    """Mixin of the id-based recommenders: user vectors refitted on what is known at each evaluation point.

    A subclass sets ``fold_in`` (bool) and ``fold_in_l2`` in ``__init__``, calls
    ``self._reset_fold_in()`` at the end of ``_fit`` and writes ``_fold_in_part(split, part)``,
    which returns that part's user-side arrays (computed once per part and kept).
    ``user_side(split, part)`` returns them. The penalty ``fold_in_l2`` of each model was chosen
    from a grid by HR@10 on the validation part of the default split (folding in the training movies):
    30 for the rating model (validation HR@10 0.025, 0.033, 0.033, 0.029 at 1, 10, 30, 100; 0.028
    with the trained vectors) and 1 for the ranker (0.051, 0.056, 0.066, 0.059, 0.044 at 0.1, 0.3,
    1, 10, 100; 0.068 with the trained vectors). The deep rating model takes the rating model's 30
    (not tuned).
    """

    fold_in: bool = True
    fold_in_l2: float = 1.0
    #: L-BFGS iterations of the fold-in (it starts from the trained vectors).
    fold_in_max_iter: int = 50

    def _reset_fold_in(self) -> None:
        self._fold_token = object()  # a new fit: earlier fold-ins no longer apply

    def user_side(self, split: TemporalSplit, part: str):
        """The user-side arrays at ``part`` of ``split`` (folded in once per split and part, then kept with the split)."""
        if "_fold_token" not in self.__dict__:
            self._reset_fold_in()
        return split._cached(("fold-in", self._fold_token, part), lambda: self._fold_in_part(split, part))

    def _fold_in_part(self, split, part):
        raise NotImplementedError


def _known_parts(part: str) -> tuple[str, ...]:
    return ("train",) if part == "valid" else ("train", "valid")


def _check_users(users, n_users: int) -> np.ndarray:
    if users is None:
        return np.arange(n_users)
    u = np.asarray(users).reshape(-1)
    if u.dtype.kind not in "iu":
        if u.dtype.kind == "f" and u.size and np.all(np.isfinite(u)) and np.all(u == np.floor(u)):
            u = u.astype(np.int64)
        elif u.size:
            raise TypeError(f"users must be dense user indices (whole numbers), got dtype {u.dtype}")
        else:
            u = u.astype(np.int64)
    bad = (u < 0) | (u >= n_users)
    if bad.any():
        raise IndexError(f"user index {u[bad][:5].tolist()} outside 0..{n_users - 1}: pass dense indices "
                         "(split.encoded.users.encode(userIds))")
    return u.astype(np.int64)


# --------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------


class RandomScores(Recommender):
    """Uniform random scores, seeded: the floor every model must clear.

    The same seed gives the same scores for a user whatever other users are scored with it.
    """

    name = "random"

    def __init__(self, seed: int = 0, name: str | None = None):
        super().__init__(name)
        self.seed = int(seed)

    def _fit(self, split):
        pass

    def _score(self, split, part, users):
        return np.stack([np.random.default_rng([self.seed, int(u)]).random(split.n_movies, dtype=np.float32)
                         for u in users]) if len(users) else np.zeros((0, split.n_movies), np.float32)


class Popularity(Recommender):
    """Everyone gets the movies with the most training ratings (equal counts: lower movie index first)."""

    name = "popularity"

    def _fit(self, split):
        self.counts_ = split.train_counts().astype(np.float32)

    def _score(self, split, part, users):
        return np.broadcast_to(self.counts_, (len(users), split.n_movies)).copy()


class PureSVD(Recommender):
    """PureSVD (Cremonesi, Koren and Turrin, 2010): a truncated SVD of the user × movie matrix.

    The training interactions (``values="binary"``: 1 per rating; or ``"rating"``: the rating)
    form a matrix ``R`` with missing cells 0, whose top ``k`` right singular vectors ``V_k`` are
    those of chapter 2's :class:`cfcourse.svd.TruncatedSVDRecommender` without its bias baseline
    (computed by :func:`cfcourse.svd.top_right_singular_vectors` from the small users × users
    Gram matrix, which is faster here than ARPACK). A user is scored from the movies known at the evaluation point
    ``r`` (fold-in): ``score = r V_k V_kᵀ``; for the training rows this equals ``U_k Σ_k V_kᵀ``.
    With ``k=None`` the number of factors is chosen from ``ks`` by validation HR@10 (one SVD with
    the largest ``k``, truncated for the others). The defaults were chosen on the validation part
    of the default split: ratings do better than 1s there (HR@10 0.083 against 0.071 at k = 128).
    """

    name = "PureSVD"

    def __init__(self, k: int | None = None, ks: Sequence[int] = (32, 64, 128, 256), values: str = "rating",
                 name: str | None = None):
        super().__init__(name)
        if values not in ("binary", "rating"):
            raise ValueError(f"values must be 'binary' or 'rating', got {values!r}")
        self.k, self.ks, self.values = k, tuple(ks) if k is None else (k,), values
        for value in self.ks:
            check_k(value)

    def _fit(self, split):
        from .svd import top_right_singular_vectors

        largest = max(self.ks)
        if largest > min(split.n_users, split.n_movies):
            raise ValueError(f"k = {largest} factors is more than min(users, movies) = "
                             f"{min(split.n_users, split.n_movies)}: choose a smaller k")
        self.factors_ = top_right_singular_vectors(split.interactions("train", self.values), largest)
        if len(self.ks) == 1:
            self.k_ = self.ks[0]
        else:
            self.validation_ = {k: hit_rate(self._fold_in(split, "valid", np.arange(split.n_users), k),
                                            split.relevant("valid"), split.known("valid"))
                                for k in self.ks}
            self.k_ = max(self.validation_, key=lambda k: (self.validation_[k], -k))

    def _fold_in(self, split, part, users, k):
        r = split.interactions(("train",) if part == "valid" else ("train", "valid"),
                               "binary" if self.values == "binary" else "rating")[users]
        v = self.factors_[:, :k]
        return np.asarray((r @ v) @ v.T, dtype=np.float32)

    def _score(self, split, part, users):
        return self._fold_in(split, part, users, self.k_)


class EASE(Recommender):
    """EASE (Steck, 2019): a movie × movie weight matrix with a zero diagonal, in closed form.

    With the binary training matrix ``X`` (users × movies) and ``P = (XᵀX + λI)⁻¹``, the weights
    are ``B = I − P · diag(1/diag(P))`` and a user with known movies ``x`` gets the scores
    ``x B``. ``XᵀX`` is 9,724 × 9,724 here, but with only 610 users the Woodbury identity gives
    ``P = (I − Xᵀ(λI + XXᵀ)⁻¹X) / λ``, which needs the inverse of a 610 × 610 matrix only, and
    ``x B = x − (x P) / diag(P)`` is computed without ever forming ``P`` or ``B``.

    With ``lam=None``, λ is chosen from ``lambdas`` by HR@10 on the validation part (history:
    training); the validation HR@10 of each λ is kept in ``validation_``.
    """

    name = "EASE"

    def __init__(self, lam: float | None = None, lambdas: Sequence[float] = (50.0, 100.0, 200.0, 400.0, 800.0),
                 name: str | None = None):
        super().__init__(name)
        grid = (lam,) if lam is not None else tuple(lambdas)
        if not grid or any(not (isinstance(v, (int, float, np.number)) and math.isfinite(v) and v > 0) for v in grid):
            raise ValueError(f"λ must be positive numbers, got {grid}")
        self.lam, self.lambdas = lam, tuple(float(v) for v in grid)

    def _fit(self, split):
        self.x_ = split.interactions("train").astype(np.float64).tocsr()  # binary users × movies, sparse
        # XXᵀ = Q diag(w) Qᵀ once; then (λI + XXᵀ)⁻¹ = Q diag(1/(λ + w)) Qᵀ for every λ of the grid,
        # and diag(P) = (1 - diag(XᵀKX)) / λ = (1 - Σ_i (QᵀX)²_ij / (λ + w_i)) / λ.
        self.w_, self.q_ = np.linalg.eigh((self.x_ @ self.x_.T).toarray())
        self.qx2_ = ((self.x_.T @ self.q_).T) ** 2  # (QᵀX)², users × movies
        history = split.known("valid").astype(np.float64)  # validation: the training movies
        self.validation_ = {}
        for lam in self.lambdas:
            self._solve(lam)
            if len(self.lambdas) > 1:
                self.validation_[lam] = hit_rate(self._scores_from(history), split.relevant("valid"),
                                                 split.known("valid"))
        if len(self.lambdas) > 1:
            self._solve(max(self.lambdas, key=lambda lam: (self.validation_[lam], -lam)))

    def _solve(self, lam):
        """Keep ``K = (λI + XXᵀ)⁻¹`` and ``diag(P)`` for one λ."""
        inverse = 1.0 / (lam + self.w_)
        self.lam_ = lam
        self.k_ = (self.q_ * inverse) @ self.q_.T
        self.diag_ = (1.0 - inverse @ self.qx2_) / lam

    def _scores_from(self, history) -> np.ndarray:
        """``x B = x − (x P) / diag(P)`` for each row ``x`` of ``history`` (sparse users × movies).

        ``x P = (x − ((x Xᵀ) K) X) / λ``; every product has the sparse ``x`` or ``X`` on one side.
        With ``c = 1 / (λ diag(P))``: ``x B = ((x Xᵀ) K X) c + x (1 − c)``.
        """
        history = history.tocsr()
        c = 1.0 / (self.lam_ * self.diag_)
        m = (history @ self.x_.T).toarray() @ self.k_  # (rows × users), dense
        out = ((self.x_.T @ m.T).T * c).astype(np.float32)  # m X, from the sparse X, times c
        cells = history.tocoo()
        np.add.at(out, (cells.row, cells.col), (cells.data * (1.0 - c[cells.col])).astype(np.float32))
        return out

    def _score(self, split, part, users):
        return self._scores_from(split.known(part)[users].astype(np.float64))


# --------------------------------------------------------------------------------------
# The course's Keras models
# --------------------------------------------------------------------------------------


def _weights(model, name: str, required: bool = True):
    from .models import layer_weights  # Keras is imported only when a model is used

    return layer_weights(model, name, required)


def embedding_scores(model, users=None) -> tuple[np.ndarray, np.ndarray]:
    """``(user_vectors, movie_vectors)`` whose dot products are the model's scores before any squashing.

    The model needs embedding layers ``user_embedding`` and ``movie_embedding`` and may have
    one-number layers ``user_bias`` and ``movie_bias`` (as ``models.SimpleDot``,
    ``models.DotWithBias`` and ``models.SoftmaxRanker``). The biases are folded in as extra
    columns: user ``[u, 1, b_u]`` and movie ``[m, b_m, 1]``, so ``user · movie = u·m + b_m + b_u``.
    """
    u = _weights(model, "user_embedding")
    m = _weights(model, "movie_embedding")
    bu = _weights(model, "user_bias", required=False)
    bm = _weights(model, "movie_bias", required=False)
    if users is not None:
        u = u[users]
        bu = bu[users] if bu is not None else None
    ones_u, ones_m = np.ones((len(u), 1)), np.ones((len(m), 1))
    user_vectors = np.hstack([u, ones_u, bu.reshape(-1, 1) if bu is not None else np.zeros_like(ones_u)])
    movie_vectors = np.hstack([m, bm.reshape(-1, 1) if bm is not None else np.zeros_like(ones_m), ones_m])
    return user_vectors, movie_vectors


def _is_train_result(value) -> bool:
    """True for what ``training.train`` and ``training.train_ranker`` return (a model and its seconds)."""
    return hasattr(value, "model") and hasattr(value, "seconds") and hasattr(value, "history")


class RatingModel(FoldIn, Recommender):
    """A rating model of the course as a recommender: scores from its embedding matrices.

    By default ``fit`` builds a ``models.DotWithBias`` (chapter 4) and trains it with
    ``training.train`` on ``split.rating_split()`` (temporal training ratings, early stopping on
    the validation ratings), after ``training.seed_everything(seed)``. Pass ``model=`` a trained
    Keras model with ``user_embedding``/``movie_embedding`` (and optional bias) layers to use it
    as it is (it must have been trained on this split's training part only), or the result of
    ``training.train`` / ``training.train_ranker`` (kept as ``result_``; its training seconds
    are then counted in ``fit_seconds``, so tables show the real cost of the model).

    At each evaluation point the user's vector and bias are folded in (:class:`FoldIn`): refitted
    on the user's known ratings (test: training and validation) against the frozen movie vectors
    and biases, with the model's own loss (``new_user.fold_in(loss="rating")``, penalty
    ``fold_in_l2``). ``fold_in=False`` scores with the trained vectors (fitted on training only).

    Scores are ``u·m + b_u + b_m``: the logit before the sigmoid of ``DotWithBias``. The sigmoid
    is increasing, so the order is the order of the predicted ratings, without the ties that
    float32 rounding makes among ratings near the top of the scale. They come from the
    embedding matrices in one matrix product, not from millions of ``predict`` calls.
    """

    name = "rating model (dot + bias)"

    def __init__(self, model=None, *, embedding_dim: int = 64, seed: int = 42, name: str | None = None,
                 fold_in: bool = True, fold_in_l2: float = 30.0, **train_kwargs):
        Recommender.__init__(self, name)
        self.model, self.embedding_dim, self.seed = model, embedding_dim, seed
        self.fold_in, self.fold_in_l2 = bool(fold_in), float(fold_in_l2)
        # steps_per_execution: the same steps in the same order (the same weights), less overhead per step
        self.train_kwargs = dict(epochs=30, batch_size=1024, learning_rate=5e-3, patience=2,
                                 steps_per_execution=16) | train_kwargs

    def fit(self, split: TemporalSplit) -> "RatingModel":
        trained = self.model if _is_train_result(self.model) else None
        super().fit(split)
        if trained is not None:
            self.fit_seconds += float(trained.seconds)
        return self

    def _fit(self, split):
        if _is_train_result(self.model):
            self.result_, self.model = self.model, self.model.model
        if self.model is None:
            from .models import DotWithBias
            from .training import seed_everything, train

            seed_everything(self.seed)
            ratings = split.rating_split()
            model = DotWithBias(split.n_users, split.n_movies, embedding_dim=self.embedding_dim,
                                min_rating=ratings.min_rating, max_rating=ratings.max_rating)
            self.result_ = train(model, ratings, seed=None, **self.train_kwargs)
            self.model = model
        user_vectors, movie_vectors = embedding_scores(self.model)
        if len(user_vectors) != split.n_users or len(movie_vectors) != split.n_movies:
            raise ValueError(f"the model has {len(user_vectors)} users and {len(movie_vectors)} movies, the split "
                             f"{split.n_users} and {split.n_movies}: use a model built for this split's encoder")
        self.user_vectors_, self.movie_vectors_ = user_vectors, movie_vectors
        self._reset_fold_in()

    def _fold_in_part(self, split, part):
        from .new_user import fold_in

        d = self.movie_vectors_.shape[1] - 2
        movies, movie_bias = self.movie_vectors_[:, :d], self.movie_vectors_[:, d]
        start = np.hstack([self.user_vectors_[:, :d], self.user_vectors_[:, d + 1:]])  # [u, b_u]
        if getattr(self.model, "user_bias", None) is None:  # the ranker: softmax over u·m + b_m
            vectors, bias = fold_in(split.interactions(_known_parts(part)), movies, movie_bias=movie_bias,
                                    loss="softmax", l2=self.fold_in_l2, start=start[:, :d],
                                    max_iter=self.fold_in_max_iter)
        else:
            scale = (float(self.model.min_rating), float(self.model.max_rating))
            vectors, bias = fold_in(split.interactions(_known_parts(part), "rating"), movies, movie_bias=movie_bias,
                                    loss="rating", l2=self.fold_in_l2, start=start, scale=scale,
                                    max_iter=self.fold_in_max_iter)
        return np.hstack([vectors, np.ones((len(vectors), 1)), bias[:, None]])

    def _score(self, split, part, users):
        user_vectors = self.user_side(split, part) if self.fold_in else self.user_vectors_
        return (user_vectors[users] @ self.movie_vectors_.T).astype(np.float32)


class SoftmaxModel(RatingModel):
    """The model trained to rank (``models.SoftmaxRanker``) as a recommender.

    ``fit`` builds a ``models.SoftmaxRanker`` (``embedding_dim``, ``l2``, ``user_dropout``) after
    ``training.seed_everything(seed)`` and trains it with ``training.train_ranker`` on the training
    interactions, stopping early on validation HR@10 (other keyword arguments go to
    ``train_ranker``). Scores are its logits ``u·m + b_m``, with the user folded in at each
    evaluation point (``new_user.fold_in(loss="softmax")``, see :class:`FoldIn`). Pass ``model=`` a trained ranker, or
    the result of ``training.train_ranker`` (its seconds count in ``fit_seconds``), to use it as it is.
    """

    name = "ranking model (softmax)"

    def __init__(self, model=None, *, embedding_dim: int = 64, l2: float = 1e-5, user_dropout: float = 0.0,
                 seed: int = 42, name: str | None = None, fold_in: bool = True, fold_in_l2: float = 1.0,
                 **train_kwargs):
        Recommender.__init__(self, name)
        self.model, self.seed, self.train_kwargs = model, seed, train_kwargs
        self.fold_in, self.fold_in_l2 = bool(fold_in), float(fold_in_l2)
        self.model_kwargs = dict(embedding_dim=embedding_dim, l2=l2, user_dropout=user_dropout)

    def _fit(self, split):
        if _is_train_result(self.model):
            self.result_, self.model = self.model, self.model.model
        if self.model is None:
            from .models import SoftmaxRanker
            from .training import seed_everything, train_ranker

            seed_everything(self.seed)
            model = SoftmaxRanker(split.n_users, split.n_movies, **self.model_kwargs)
            self.result_ = train_ranker(model, split, seed=None, **self.train_kwargs)
            self.model = model
        super()._fit(split)
