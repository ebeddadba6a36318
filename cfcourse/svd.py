"""Singular value decomposition as a first recommender: the helpers of the SVD chapter.

The chapter factorises a small dense ratings matrix with :func:`numpy.linalg.svd`, then the
(mostly empty) MovieLens training matrix with :func:`scipy.sparse.linalg.svds`. This module
holds the parts that are not the idea itself:

- :func:`rank_k_approximation` and :func:`reconstruction_error` for dense matrices;
- :func:`cosine_similarity` of vectors, or of matrices row by row;
- :func:`ratings_matrix` / :func:`training_matrix`: ratings (or residuals) as a sparse
  users × movies matrix whose missing cells are 0;
- :class:`TruncatedSVDRecommender`: bias baseline + rank-k SVD of its residuals, with the same
  ``fit(x, y)`` / ``predict(x)`` interface on (n, 2) index arrays as the baselines in
  :mod:`cfcourse.metrics`;
- :func:`svd_rmse_by_k`, :func:`plot_rmse_by_k`, :func:`plot_factors` and
  :func:`plot_latent_space` for the chapter.

Everything is deterministic: ``svds`` starts from a vector drawn from a seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .metrics import BiasBaseline, check_pairs, rmse

__all__ = [
    "rank_k_approximation",
    "reconstruction_error",
    "cosine_similarity",
    "ratings_matrix",
    "training_matrix",
    "TruncatedSVDRecommender",
    "top_right_singular_vectors",
    "svd_rmse_by_k",
    "plot_rmse_by_k",
    "plot_factors",
    "plot_latent_space",
]


# --------------------------------------------------------------------------------------
# Dense SVD on small matrices
# --------------------------------------------------------------------------------------


def _as_matrix(matrix, name: str = "matrix") -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional (rows × columns), got shape {m.shape}")
    if m.size == 0:
        raise ValueError(f"{name} is empty (shape {m.shape})")
    if not np.isfinite(m).all():
        raise ValueError(f"{name} holds NaN or infinite values; SVD needs every cell filled with a number")
    return m


def _check_k(k, max_k: int, what: str) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be a whole number, got {k!r}")
    if not 1 <= k <= max_k:
        raise ValueError(f"k must be between 1 and {max_k} ({what}), got {k}")
    return int(k)


def rank_k_approximation(matrix, k: int) -> np.ndarray:
    """The best rank-``k`` approximation of a dense matrix: ``U_k Σ_k V_kᵀ``.

    Keeps the ``k`` largest singular values of :func:`numpy.linalg.svd` and their singular
    vectors. By the Eckart–Young theorem no other matrix of rank ``k`` is closer in the
    Frobenius (root-sum-of-squares) norm. ``k`` may go up to ``min(matrix.shape)``, where the
    matrix is reconstructed exactly (up to rounding).
    """
    m = _as_matrix(matrix)
    k = _check_k(k, min(m.shape), "at most the smaller side of the matrix")
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    return (u[:, :k] * s[:k]) @ vt[:k]


def reconstruction_error(matrix, k: int) -> float:
    """Frobenius norm of ``matrix - rank_k_approximation(matrix, k)``.

    It equals the root of the sum of the squared singular values that were dropped.
    """
    m = _as_matrix(matrix)
    return float(np.linalg.norm(m - rank_k_approximation(m, k)))


# --------------------------------------------------------------------------------------
# Cosine similarity
# --------------------------------------------------------------------------------------


def cosine_similarity(a, b) -> float | np.ndarray:
    """Cosine of the angle between vectors: ``a·b / (‖a‖ ‖b‖)``, between -1 and 1.

    - two vectors of equal length → a float;
    - two matrices of the same shape (n, d) → n cosines, row ``i`` of ``a`` with row ``i`` of ``b``;
    - a matrix (n, d) and a vector (d,) (either order) → n cosines, each row with the vector.

    Raises ``ValueError`` on mismatched shapes and on zero vectors, whose direction (and hence
    cosine) is undefined.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    for name, v in (("a", a), ("b", b)):
        if v.ndim not in (1, 2):
            raise ValueError(f"{name} must be a vector or a matrix of row vectors, got shape {v.shape}")
        if v.shape[-1] == 0:
            raise ValueError(f"{name} has vectors of length 0")
        if not np.isfinite(v).all():
            raise ValueError(f"{name} holds NaN or infinite values")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"the vectors must have the same length, got {a.shape[-1]} (a) and {b.shape[-1]} (b)")
    if a.ndim == 2 and b.ndim == 2 and a.shape != b.shape:
        raise ValueError(f"row-wise cosine needs matrices of the same shape, got {a.shape} and {b.shape}")
    for name, v in (("a", a), ("b", b)):
        norms = np.linalg.norm(v, axis=-1)
        if np.any(norms == 0):
            where = "" if v.ndim == 1 else f" (row(s) {np.flatnonzero(norms == 0)[:5].tolist()})"
            raise ValueError(f"{name} contains a zero vector{where}: it has no direction, so its cosine "
                             "similarity is undefined")
    out = np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
    out = np.clip(out, -1.0, 1.0)  # rounding can push |cos| a hair above 1
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------------------
# Sparse users × movies matrices
# --------------------------------------------------------------------------------------


def ratings_matrix(x, values, n_users: int, n_movies: int):
    """A ``scipy.sparse`` CSR matrix (users × movies) with ``values`` at the (user, movie) pairs ``x``.

    Every other cell is 0. Repeated pairs are an error (they would silently be added up).
    """
    import scipy.sparse as sp

    x = check_pairs(x, n_users, n_movies)
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(values) != len(x):
        raise ValueError(f"got {len(x)} (user, movie) pairs but {len(values)} values")
    cells = x[:, 0].astype(np.int64) * n_movies + x[:, 1]
    if len(np.unique(cells)) != len(cells):
        raise ValueError("some (user, movie) pairs occur more than once; keep one rating per pair")
    return sp.csr_matrix((values, (x[:, 0], x[:, 1])), shape=(n_users, n_movies))


def training_matrix(split, residual_of=None):
    """The training ratings of a :class:`~cfcourse.data.Split` as a sparse users × movies matrix.

    With ``residual_of`` (a fitted model with ``predict(x)``, e.g. a
    :class:`~cfcourse.metrics.BiasBaseline`), the cells hold ``rating - prediction`` instead.
    Cells without a training rating are 0 either way.
    """
    y = np.asarray(split.y_train, dtype=np.float64)
    if residual_of is not None:
        y = y - np.asarray(residual_of.predict(split.x_train), dtype=np.float64)
    return ratings_matrix(split.x_train, y, split.n_users, split.n_movies)


def _truncated_svd(matrix, k: int, seed: int):
    """Top-``k`` SVD of a sparse or dense matrix, largest singular value first, signs fixed.

    Uses ARPACK (``svds``) started from a seeded vector when ``k < min(shape)``, the dense
    LAPACK SVD otherwise. Each pair of singular vectors is flipped so that the largest
    entry (in absolute value) of the movie vector is positive, which makes the factors
    reproducible across libraries (the product ``U Σ Vᵀ`` does not depend on the signs).
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import svds

    n = min(matrix.shape)
    if k < n:
        v0 = np.random.default_rng(seed).standard_normal(n)
        u, s, vt = svds(sp.csr_matrix(matrix, dtype=np.float64), k=k, v0=v0)
        order = np.argsort(s)[::-1]
        u, s, vt = u[:, order], s[order], vt[order]
    else:
        dense = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix, dtype=np.float64)
        u, s, vt = np.linalg.svd(dense, full_matrices=False)
        u, s, vt = u[:, :k], s[:k], vt[:k]
    signs = np.sign(vt[np.arange(len(s)), np.argmax(np.abs(vt), axis=1)])
    signs[signs == 0] = 1.0
    return u * signs, s, vt * signs[:, None]


# --------------------------------------------------------------------------------------
# The recommender
# --------------------------------------------------------------------------------------


def top_right_singular_vectors(matrix, k: int) -> np.ndarray:
    """The ``k`` leading right singular vectors of a (sparse or dense) matrix, as the columns of an array.

    For a wide matrix ``R`` (here 610 users × 9,724 movies) they come from the small Gram matrix:
    ``R Rᵀ = U Σ² Uᵀ``, so ``V = Rᵀ U Σ⁻¹``. One eigen-decomposition of a 610 × 610 matrix is
    several times faster than ARPACK's iterations for ``k`` in the hundreds, and the leading
    vectors are as accurate. The result spans the same space as the ``movie_factors_`` of
    :class:`TruncatedSVDRecommender` (signs and, for equal singular values, the basis may
    differ; products such as ``V Vᵀ`` do not). Directions with a zero singular value (``k``
    beyond the matrix's rank) are returned as zero columns, which add nothing to ``V Vᵀ``.
    """
    import scipy.sparse as sp

    m = sp.csr_matrix(matrix, dtype=np.float64) if sp.issparse(matrix) else np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"matrix must be 2-dimensional, got shape {m.shape}")
    k = _check_k(k, min(m.shape), "at most min(rows, columns) of the matrix")
    wide = m.shape[0] <= m.shape[1]
    gram = m @ m.T if wide else m.T @ m
    gram = gram.toarray() if sp.issparse(gram) else np.asarray(gram)
    values, vectors = np.linalg.eigh(gram)
    order = np.argsort(values)[::-1][:k]
    values, vectors = values[order], vectors[:, order]
    if not wide:
        return vectors
    keep = values > max(values[0], 0.0) * 1e-12
    out = np.zeros((m.shape[1], k))
    out[:, keep] = np.asarray(m.T @ vectors[:, keep]) / np.sqrt(values[keep])
    return out


@dataclass
class TruncatedSVDRecommender:
    """Bias baseline plus a rank-``k`` SVD of its residuals, missing cells treated as 0.

    ``fit(x, y)`` fits a :class:`~cfcourse.metrics.BiasBaseline` (with ``reg_user`` and
    ``reg_movie``), puts the residuals ``rating - baseline`` into a sparse users × movies
    matrix whose missing cells are 0, and keeps its top ``k`` singular triplets.
    ``predict(x)`` returns, for each (user, movie) pair, ``baseline + U_k[u] Σ_k V_k[m]``,
    clipped to the rating scale. With ``remove_baseline=False`` the raw ratings are
    factorised instead (plain SVD with missing = 0, for comparison).

    After fitting: ``user_factors_`` (n_users × k), ``singular_values_`` (k, largest first),
    ``movie_factors_`` (n_movies × k) and ``baseline_`` (or ``None``).
    """

    n_users: int
    n_movies: int
    k: int = 30
    reg_user: float = 3.0
    reg_movie: float = 3.0
    remove_baseline: bool = True
    min_rating: float = 0.5
    max_rating: float = 5.0
    seed: int = 42

    def fit(self, x_train, y_train) -> "TruncatedSVDRecommender":
        """Fit the baseline and the truncated SVD on (n, 2) index pairs and their ratings."""
        _check_k(self.k, min(self.n_users, self.n_movies), "at most min(n_users, n_movies)")
        x = check_pairs(x_train, self.n_users, self.n_movies)
        y = np.asarray(y_train, dtype=np.float64).reshape(-1)
        if len(y) != len(x):
            raise ValueError(f"got {len(x)} (user, movie) pairs but {len(y)} ratings")
        if len(y) == 0:
            raise ValueError("cannot fit on zero ratings")
        if self.remove_baseline:
            self.baseline_ = BiasBaseline(self.n_users, self.n_movies, reg_user=self.reg_user,
                                          reg_movie=self.reg_movie, min_rating=self.min_rating,
                                          max_rating=self.max_rating).fit(x, y)
            y = y - self.baseline_.predict(x)
        else:
            self.baseline_ = None
        matrix = ratings_matrix(x, y, self.n_users, self.n_movies)
        u, s, vt = _truncated_svd(matrix, self.k, self.seed)
        self.user_factors_, self.singular_values_, self.movie_factors_ = u, s, vt.T
        return self

    def _fitted(self) -> None:
        if not hasattr(self, "singular_values_"):
            raise RuntimeError("this TruncatedSVDRecommender is not fitted yet: call fit(x_train, y_train) first")

    def predict(self, x, k: int | None = None) -> np.ndarray:
        """Predicted ratings for (n, 2) (user, movie) index pairs, clipped to the rating scale.

        ``k`` (at most the fitted ``k``) uses only the leading ``k`` factors: the rank-``k``
        truncation of a rank-``K`` truncated SVD is the rank-``k`` truncated SVD.
        """
        self._fitted()
        x = check_pairs(x, self.n_users, self.n_movies)
        k = self.k if k is None else _check_k(k, self.k, "at most the fitted k")
        u = self.user_factors_[x[:, 0], :k]
        v = self.movie_factors_[x[:, 1], :k]
        pred = np.einsum("ij,j,ij->i", u, self.singular_values_[:k], v)
        if self.baseline_ is not None:
            pred = pred + self.baseline_.predict(x)
        return np.clip(pred, self.min_rating, self.max_rating)

    def embeddings(self) -> tuple[np.ndarray, np.ndarray]:
        """User and movie vectors in one latent space: ``U_k √Σ_k`` and ``V_k √Σ_k``.

        The dot product of a user's row and a movie's row is the SVD part of the prediction.
        """
        self._fitted()
        root = np.sqrt(self.singular_values_)
        return self.user_factors_ * root, self.movie_factors_ * root


def svd_rmse_by_k(split, ks: Iterable[int], **kwargs) -> pd.DataFrame:
    """Train and validation RMSE of :class:`TruncatedSVDRecommender` for each ``k`` in ``ks``.

    One SVD with the largest ``k`` is computed and truncated for the others. Extra keyword
    arguments go to the recommender (e.g. ``remove_baseline=False``). Returns a frame with
    columns ``k``, ``train_rmse``, ``val_rmse``, sorted by ``k``.
    """
    ks = sorted({int(k) for k in ks})
    if not ks:
        raise ValueError("give at least one k")
    model = TruncatedSVDRecommender(split.n_users, split.n_movies, k=ks[-1], min_rating=split.min_rating,
                                    max_rating=split.max_rating, **kwargs).fit(split.x_train, split.y_train)
    rows = [{"k": k,
             "train_rmse": rmse(split.y_train, model.predict(split.x_train, k=k)),
             "val_rmse": rmse(split.y_valid, model.predict(split.x_valid, k=k))} for k in ks]
    return pd.DataFrame(rows, columns=["k", "train_rmse", "val_rmse"])


# --------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------


def plot_rmse_by_k(table: pd.DataFrame, baselines: Mapping[str, float] | None = None, ax=None,
                   train: bool = False, title: str = "Truncated SVD of the bias residuals: RMSE by k"):
    """Validation RMSE against ``k`` (from :func:`svd_rmse_by_k`), with baselines as horizontal lines."""
    import matplotlib.pyplot as plt

    from .plots import legend_below

    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 3.6), layout="constrained")
    ax.plot(table["k"], table["val_rmse"], "-o", color="C0", label="SVD (validation)")
    if train:
        ax.plot(table["k"], table["train_rmse"], "--o", color="C0", alpha=0.6, label="SVD (train)")
    for j, (label, value) in enumerate((baselines or {}).items()):
        ax.axhline(value, color=f"C{j + 1}", lw=1.2, ls=["--", ":", "-."][j % 3], label=f"{label}: {value:.3f}")
    ax.set_xscale("log")
    ax.set_xticks(table["k"], [str(k) for k in table["k"]])
    ax.minorticks_off()
    ax.set_xlabel("number of latent factors k (log scale)")
    ax.set_ylabel("RMSE")
    ax.set_title(title)
    legend_below(ax)
    return ax


def _heatmap(ax, values: np.ndarray, title: str, row_labels: Sequence[str] | None,
             col_labels: Sequence[str] | None, vmax: float, fmt: str = ".1f", cmap: str = "RdBu_r",
             vmin: float | None = None):
    vmin = -vmax if vmin is None else vmin
    im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_title(title, fontsize="medium")
    ax.set_xticks(range(values.shape[1]), col_labels if col_labels is not None else range(1, values.shape[1] + 1),
                  rotation=90 if col_labels is not None else 0, fontsize="small")
    ax.set_yticks(range(values.shape[0]), row_labels if row_labels is not None else range(1, values.shape[0] + 1),
                  fontsize="small")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize="small",
                color="white" if abs(v - (vmin + vmax) / 2) > 0.3 * (vmax - vmin) else "black")
    return im


def plot_factors(matrix, k: int = 2, row_labels: Sequence[str] | None = None,
                 col_labels: Sequence[str] | None = None):
    """Heatmaps of a small matrix and of its rank-``k`` factors ``U_k``, ``Σ_k`` and ``V_kᵀ``.

    Returns the four ``Axes``: the matrix on top, ``U_k`` and ``Σ_k`` side by side below it (both
    narrow), ``V_kᵀ`` at the bottom, so that the figure stays narrow enough for a phone. The factors
    are those of :func:`numpy.linalg.svd`, as printed in the chapter (the sign of each pair of
    singular vectors is arbitrary).
    """
    import matplotlib.pyplot as plt

    m = _as_matrix(matrix)
    k = _check_k(k, min(m.shape), "at most the smaller side of the matrix")
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    u, s, vt = u[:, :k], s[:k], vt[:k]
    fig = plt.figure(figsize=(5.0, 2.2 + 0.42 * (2 * m.shape[0] + k)), layout="constrained")
    grid = fig.add_gridspec(3, 2, height_ratios=[m.shape[0], m.shape[0], k + 2.2], width_ratios=[k, k])
    axes = [fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1]),
            fig.add_subplot(grid[2, :])]
    factors = [f"factor {i + 1}" for i in range(k)]
    _heatmap(axes[0], m, "ratings R", row_labels, col_labels, np.abs(m).max(), "g", cmap="Greens", vmin=0.0)
    _heatmap(axes[1], u, "$U_k$ (users)", row_labels, factors, 1.0, ".2f")
    _heatmap(axes[2], np.diag(s), r"$\Sigma_k$", factors, factors, s.max(), ".1f")
    _heatmap(axes[3], vt, r"$V_k^\top$ (movies)", factors, col_labels, 1.0, ".2f")
    axes[0].set_xticks(axes[0].get_xticks(), [])  # the movies are named under V_k^T
    return axes


def plot_latent_space(user_vectors, movie_vectors, user_labels: Sequence[str], movie_labels: Sequence[str],
                      ax=None, title: str = "Users (dots) and movies (arrows) in one latent space"):
    """Users as labelled points and movies as labelled arrows from the origin, on two latent factors.

    Only the first two columns of the vectors are drawn. A user's rating of a movie is the
    dot product of the two: the length of the movie's arrow times how far the user lies
    along it.
    """
    import matplotlib.pyplot as plt

    users = np.asarray(user_vectors, dtype=np.float64)
    movies = np.asarray(movie_vectors, dtype=np.float64)
    if users.ndim != 2 or movies.ndim != 2 or users.shape[1] < 2 or movies.shape[1] < 2:
        raise ValueError(f"need (n, >=2) user and movie vectors, got shapes {users.shape} and {movies.shape}")
    if len(user_labels) != len(users) or len(movie_labels) != len(movies):
        raise ValueError("give one label per user and per movie")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 4.6), layout="constrained")
    ax.axhline(0, color="grey", lw=0.5)
    ax.axvline(0, color="grey", lw=0.5)
    ax.scatter(users[:, 0], users[:, 1], color="C0", zorder=3, label="users")
    for (x, y), label in zip(movies[:, :2], movie_labels):
        ax.annotate("", (x, y), xytext=(0, 0), arrowprops={"arrowstyle": "->", "color": "C3"})
    # movies sharing a vector (identical columns) share one label
    groups: dict[tuple[float, float], list[str]] = {}
    for (x, y), label in zip(movies[:, :2], movie_labels):
        groups.setdefault((round(x, 6), round(y, 6)), []).append(str(label))
    ax.plot([], [], color="C3", label="movies")
    ax.set_xlabel("latent factor 1")
    ax.set_ylabel("latent factor 2")
    ax.set_title(title, fontsize="medium")
    # room for the movie labels, which sit beyond the arrow tips
    xs = np.concatenate([users[:, 0], movies[:, 0], [0.0]])
    ys = np.concatenate([users[:, 1], movies[:, 1], [0.0]])
    xspan, yspan = max(np.ptp(xs), 1e-9), max(np.ptp(ys), 1e-9)
    ax.set_xlim(xs.min() - (0.5 if (movies[:, 0] < 0).any() else 0.1) * xspan,
                xs.max() + (0.5 if (movies[:, 0] > 0).any() else 0.1) * xspan)
    ax.set_ylim(ys.min() - 0.15 * yspan, ys.max() + 0.15 * yspan)
    # One unit is as long on both axes, so that angles and lengths read off the plot are true.
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize="small", loc="best")
    # Labels last, where they collide with nothing: users in blue, movies (one label for movies that
    # share a vector) in red at their arrow's tip.
    from .plots import place_labels

    tips = list(groups)
    place_labels(ax, np.vstack([users[:, :2], np.array(tips, dtype=np.float64).reshape(-1, 2)]),
                 [str(label) for label in user_labels] + [" / ".join(groups[tip]) for tip in tips],
                 color=["C0"] * len(users) + ["C3"] * len(tips))
    return ax
