"""An honest ranking protocol: temporal hold-out per user, full-ranking metrics with confidence
intervals, top-N lists, and what lies beyond accuracy.

The protocol (used by the recommending chapter and every later chapter that ranks movies):

1. **Temporal hold-out per user** (:func:`temporal_split`). Each user's ratings are ordered by
   time; ratings given in the same second have no order, so they are put in one seeded random
   order (never the order of the movie ids); the last ``n_test`` are the *test* part, the ``n_valid`` just before
   them the *validation* part, everything earlier the *training* part. Models are fitted on the
   training part only; popularity counts and any normalisation see training data only.
2. **Full ranking**. For each user, every movie of the catalogue (all ``n_movies`` of the
   encoder, including movies that occur only in validation or test) is scored; the movies the
   user is *known* to have rated at that point are masked (validation: the training movies; test:
   training and validation movies) and the rest are ranked.
3. **Metrics per user, then averaged over users**, each with a 95% bootstrap confidence interval
   over users (:func:`bootstrap_ci`): ``HR@K`` (the share of the user's held-out movies that land
   in the top ``K``; this is Recall@K, and the classic hit rate when one movie is held out),
   ``NDCG@K`` (binary gains, ``1/log2(rank + 1)`` discounts, normalised by the best possible
   ``DCG@K``) and ``MRR`` (one over the rank of the best-ranked held-out movie, over the whole
   ranking: no cut-off).

The metrics are computed by ``keras_rs.metrics`` (:func:`ranking_metrics`); a plain NumPy
implementation of the same definitions (:func:`reference_metrics`) pins them in the tests.

Semantics settled here (both implementations follow them, bit for bit where it matters):

- **Ties** are broken by column (movie index): of two movies with equal scores, the one with the
  lower index ranks first. keras-rs 0.4 shuffles ties at random whenever a mask reaches its
  sorting, whatever ``shuffle_ties`` says, and its ``update_state`` always builds one (from
  ``labels >= 0``). So the per-user values are taken from each metric's ``compute_metric``,
  called without a mask and with ``shuffle_ties=False`` (keras' ``top_k`` is stable); masked
  movies get a score of ``-inf``, strictly below every candidate, whose scores are clipped to
  the finite float32 range. Scores are compared as float32 (the precision keras-rs computes in).
- **Masked movies** are never recommended. A held-out movie that is also masked (it cannot happen
  with :func:`temporal_split`, where each (user, movie) pair occurs once) is dropped from the
  user's relevant set, as keras-rs does with its own masks; it never counts as a hit.
- **A user without relevant movies** (none held out, or all of them masked) has no value: NaN in
  the per-user table, left out of the averages and the bootstrap (keras-rs itself would count
  such a user with 0).
- ``K`` must be a positive whole number. ``K`` larger than the catalogue is allowed and means the
  whole catalogue (every candidate is in the list); it is not an error, since "HR@K for a large K"
  is a legitimate question.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, NamedTuple, Sequence

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .data import Encoded, Split

__all__ = [
    "DEFAULT_N_HELD_OUT",
    "PARTS",
    "TemporalSplit",
    "temporal_split",
    "random_split",
    "holdout_size_table",
    "check_k",
    "check_scores",
    "ranking_metrics",
    "hit_rate",
    "reference_metrics",
    "bootstrap_ci",
    "summarise",
    "sampled_metrics",
    "top_k_lists",
    "retrieve",
    "coverage",
    "popularity_percentiles",
    "mean_popularity_percentile",
    "readable_title",
    "top_n",
    "last_rated",
    "Evaluation",
    "evaluate",
    "evaluate_details",
    "user_metrics",
    "paired_difference",
    "comparison_table",
    "format_comparison",
    "short_names",
]

#: Movies held out per user for validation and for test in the default protocol: the smallest
#: of 1, 2, 3, 5 and 10 whose 95% CI half-width of popularity's test HR@10 on ml-latest-small is
#: at most 0.01 (see :func:`holdout_size_table`; pinned by a test on the real data).
DEFAULT_N_HELD_OUT = 3

#: The three parts of a :class:`TemporalSplit`, in time order.
PARTS = ("train", "valid", "test")
_EVAL_PARTS = ("valid", "test")
_COLUMNS = ["user", "movie", "rating", "timestamp", "userId", "movieId"]


# --------------------------------------------------------------------------------------
# The temporal split
# --------------------------------------------------------------------------------------


def _check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number of ratings per user, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def _check_part(part: str, allowed: Sequence[str] = _EVAL_PARTS) -> str:
    if part not in allowed:
        raise ValueError(f"part must be one of {', '.join(repr(p) for p in allowed)}, got {part!r}")
    return part


def _csr(users: np.ndarray, movies: np.ndarray, n_users: int, n_movies: int, values=None, dtype=np.float32):
    import scipy.sparse as sp

    values = np.ones(len(users), dtype=dtype) if values is None else np.asarray(values, dtype=dtype)
    matrix = sp.csr_matrix((values, (users, movies)), shape=(n_users, n_movies), dtype=dtype)
    matrix.sort_indices()
    return matrix


@dataclass(frozen=True, eq=False)
class TemporalSplit:
    """Each user's ratings cut in time: training, then validation, then test.

    Build it with :func:`temporal_split` (or :func:`random_split`, the leaky variant, whose
    ``kind`` is ``"random"``). The three parts are DataFrames with columns ``user``,
    ``movie`` (dense indices of ``encoded``), ``rating``, ``timestamp``, ``userId`` and
    ``movieId`` (raw ids), indexed by the row of ``encoded.ratings`` they come from and sorted
    by user, then time; ratings of one user in the same second are in the split's seeded tie
    order (``time_rank``: each row's position in that order), the same for every model. ``n_users`` and ``n_movies`` are those of the encoder: the
    whole catalogue, so a movie rated only in the test part is still a candidate.

    At an evaluation point (``part`` = ``"valid"`` or ``"test"``):

    - :meth:`relevant` holds each user's held-out movies of that part;
    - :meth:`known` holds what is known before it (valid: training; test: training and
      validation). Those movies are masked in the ranking, and every model reads them: history-based
      models as input (e.g. EASE scores a user from all the movies known at that point), id-based
      models by folding the user in on them (``recommenders.FoldIn``); but models are *fitted* on
      the training part only.
    """

    train: pd.DataFrame = field(repr=False)
    valid: pd.DataFrame = field(repr=False)
    test: pd.DataFrame = field(repr=False)
    n_users: int
    n_movies: int
    n_test: int
    n_valid: int
    encoded: "Encoded" = field(repr=False)
    kind: str = "temporal"
    time_rank: pd.Series | None = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    # ---------------------------------------------------------------- parts

    def part(self, name: str) -> pd.DataFrame:
        """The ratings of one part: ``"train"``, ``"valid"`` or ``"test"``."""
        return getattr(self, _check_part(name, PARTS))

    def in_time_order(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Rows of ``frame`` (rows of this split's parts) sorted by user, then time, ties in the split's seeded order."""
        if self.time_rank is None:  # a split built by hand: time, then the row order
            return frame.sort_values(["user", "timestamp"], kind="stable")
        rank = self.time_rank.reindex(frame.index).to_numpy()
        return frame.iloc[np.lexsort((rank, frame["user"].to_numpy()))]

    def _cached(self, key, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def interactions(self, parts: str | Sequence[str] = "train", values: str = "binary"):
        """A ``scipy.sparse`` CSR users × movies matrix of the ratings in ``parts``.

        ``values="binary"`` puts 1 in every rated cell (implicit feedback: a rating is an
        interaction); ``values="rating"`` puts the rating itself. Other cells are 0.
        """
        parts = (parts,) if isinstance(parts, str) else tuple(parts)
        for p in parts:
            _check_part(p, PARTS)
        if values not in ("binary", "rating"):
            raise ValueError(f"values must be 'binary' or 'rating', got {values!r}")

        def build():
            frame = pd.concat([self.part(p) for p in parts]) if len(parts) > 1 else self.part(parts[0])
            vals = None if values == "binary" else frame["rating"].to_numpy()
            return _csr(frame["user"].to_numpy(), frame["movie"].to_numpy(), self.n_users, self.n_movies,
                        vals, np.float64 if values == "rating" else np.float32)

        return self._cached(("interactions", parts, values), build)

    def relevant(self, part: str = "test"):
        """Boolean CSR users × movies matrix: the movies each user holds out in ``part``."""
        _check_part(part)
        return self._cached(("relevant", part), lambda: self.interactions(part).astype(bool))

    def known(self, part: str = "test"):
        """Boolean CSR users × movies matrix: what is known before ``part`` (masked when ranking).

        For ``"valid"`` the training movies; for ``"test"`` the training and validation movies.
        """
        _check_part(part)
        parts = ("train",) if part == "valid" else ("train", "valid")
        return self._cached(("known", part), lambda: self.interactions(parts).astype(bool))

    def history(self, part: str = "test") -> list[np.ndarray]:
        """Each user's known movies before ``part``, in time order (oldest first), as index arrays.

        For sequence models: ``history("test")[u]`` is user ``u``'s training then validation
        movies, ordered by time (ratings in the same second in the split's seeded tie order).
        """
        _check_part(part)

        def build():
            parts = [self.train] if part == "valid" else [self.train, self.valid]
            frame = self.in_time_order(pd.concat(parts))
            movies = frame["movie"].to_numpy(dtype=np.int64)
            bounds = np.searchsorted(frame["user"].to_numpy(), np.arange(self.n_users + 1))
            return [movies[bounds[u]:bounds[u + 1]] for u in range(self.n_users)]

        return self._cached(("history", part), build)

    def train_counts(self) -> np.ndarray:
        """How many training ratings each movie has (``n_movies`` integers): popularity."""
        return self._cached("counts", lambda: np.bincount(self.train["movie"].to_numpy(),
                                                          minlength=self.n_movies).astype(np.int64))

    def ratings(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of one part as the rating models want them: (n, 2) int32 pairs, float32 ratings."""
        frame = self.part(part)
        return (frame[["user", "movie"]].to_numpy(dtype=np.int32), frame["rating"].to_numpy(dtype=np.float32))

    def rating_split(self) -> "Split":
        """A :class:`cfcourse.data.Split` of the temporal training and validation ratings.

        With it the course's rating models (``models.DotWithBias`` with ``training.train``) are
        refitted on the temporal training part only, and stop early on the validation part. The
        rating scale (``min_rating``, ``max_rating``) is read from the training ratings.
        """
        from .data import Split

        if len(self.valid) == 0:
            raise ValueError("this split has no validation part (n_valid=0), and training a rating model "
                             "needs one for early stopping: build it with temporal_split(..., n_valid=1) or more")
        x_train, y_train = self.ratings("train")
        x_valid, y_valid = self.ratings("valid")
        return Split(x_train=x_train, y_train=y_train, x_valid=x_valid, y_valid=y_valid,
                     n_users=self.n_users, n_movies=self.n_movies,
                     min_rating=float(y_train.min()), max_rating=float(y_train.max()),
                     train_index=self.train.index.to_numpy(), valid_index=self.valid.index.to_numpy())

    def summary(self) -> pd.Series:
        """Sizes of the parts, and how many held-out movies never occur in training (shares rounded to 4 digits)."""
        counts = self.train_counts()
        cold = {p: float(np.mean(counts[self.part(p)["movie"].to_numpy()] == 0)) if len(self.part(p)) else 0.0
                for p in _EVAL_PARTS}
        known_last = pd.concat([self.train, self.valid]).groupby("user")["timestamp"].max()
        test_first = self.test.groupby("user")["timestamp"].min()
        shared = int((known_last.reindex(test_first.index) == test_first).sum())
        return pd.Series({
            "users": self.n_users,
            "movies": self.n_movies,
            "held out per user (test)": self.n_test,
            "held out per user (validation)": self.n_valid,
            "training ratings": len(self.train),
            "validation ratings": len(self.valid),
            "test ratings": len(self.test),
            "movies with a training rating": int((counts > 0).sum()),
            "share of test movies never in training": round(cold["test"], 4),
            "share of validation movies never in training": round(cold["valid"], 4),
            "users with a rating before the test part in the same second": shared,
        }, dtype=object)


def temporal_split(encoded, n_test: int = DEFAULT_N_HELD_OUT, n_valid: int | None = None,
                   tie_seed: int = 0) -> TemporalSplit:
    """Hold out each user's last ``n_test`` ratings for test and the ``n_valid`` before for validation.

    Ratings are ordered per user by time. Ratings given in the same second have no order of their
    own: they are put in a random order drawn with ``tie_seed`` (one key per row of
    ``encoded.ratings``), so the split is reproducible and does not depend on the movie ids
    (relabelling the movies leaves it unchanged; ordering ties by id would hold out the highest
    ids, the newest films). ``n_valid`` defaults to
    ``n_test``; ``n_valid=0`` makes no validation part. The classic leave-last-one-out protocol
    is ``temporal_split(encoded, n_test=1, n_valid=1)``.

    Every user needs at least ``n_test + n_valid + 1`` ratings, so that something is left to
    train on; otherwise a ``ValueError`` names the users who have too few and what to do.
    ``encoded`` is the result of :func:`cfcourse.data.encode_ids` (with a ``timestamp`` column).
    """
    from .data import Encoded

    if not isinstance(encoded, Encoded):
        raise TypeError(f"temporal_split expects the result of data.encode_ids(ratings), got {type(encoded).__name__}")
    n_test = _check_count(n_test, "n_test", 1)
    n_valid = n_test if n_valid is None else _check_count(n_valid, "n_valid", 0)
    ratings = encoded.ratings
    _check_timestamps(ratings)
    users = ratings["user"].to_numpy(dtype=np.int64)
    per_user = np.bincount(users, minlength=encoded.n_users)
    _check_enough(encoded, per_user, n_test + n_valid + 1)
    keys = _tie_keys(len(ratings), tie_seed)
    order = np.lexsort((keys, ratings["timestamp"].to_numpy(), users))
    return _cut(encoded, order, per_user, n_test, n_valid, "temporal", keys)


def _tie_keys(n: int, seed) -> np.ndarray:
    """One seeded random key per row: the order of ratings given in the same second."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"tie_seed must be a whole number (it seeds the order of ratings in the same second), "
                        f"got {seed!r}")
    return np.random.default_rng([int(seed), 7919]).random(n)


def random_split(encoded, n_test: int = DEFAULT_N_HELD_OUT, n_valid: int | None = None, seed: int = 0) -> TemporalSplit:
    """Like :func:`temporal_split`, but each user's held-out ratings are drawn at random (seeded).

    This is the leaky protocol, kept to measure the leak: a model then trains on ratings given
    *after* the ones it is tested on (and popularity counts them), so the future helps predict
    the past. The result has ``kind == "random"``; everything else works as for the temporal split.
    """
    from .data import Encoded

    if not isinstance(encoded, Encoded):
        raise TypeError(f"random_split expects the result of data.encode_ids(ratings), got {type(encoded).__name__}")
    n_test = _check_count(n_test, "n_test", 1)
    n_valid = n_test if n_valid is None else _check_count(n_valid, "n_valid", 0)
    _check_timestamps(encoded.ratings)
    users = encoded.ratings["user"].to_numpy(dtype=np.int64)
    per_user = np.bincount(users, minlength=encoded.n_users)
    _check_enough(encoded, per_user, n_test + n_valid + 1)
    keys = np.random.default_rng(seed).random(len(users))
    order = np.lexsort((keys, users))
    return _cut(encoded, order, per_user, n_test, n_valid, "random", _tie_keys(len(users), 0))


def _check_timestamps(ratings: pd.DataFrame) -> None:
    if "timestamp" not in ratings.columns:
        raise ValueError("the ratings have no 'timestamp' column, and the split orders each user's ratings by "
                         "time: keep the timestamp column of ratings.csv")
    if not pd.api.types.is_numeric_dtype(ratings["timestamp"].dtype) or ratings["timestamp"].isna().any():
        raise ValueError("the 'timestamp' column must hold numbers (seconds since 1970) without missing values")


def _check_enough(encoded, per_user: np.ndarray, need: int) -> None:
    short = np.flatnonzero(per_user < need)
    if short.size:
        raw = encoded.users.decode(short)
        shown = ", ".join(f"{uid} ({per_user[u]})" for uid, u in zip(raw[:10].tolist(), short[:10].tolist()))
        more = f" and {short.size - 10} more" if short.size > 10 else ""
        raise ValueError(
            f"{short.size} user(s) have fewer than n_test + n_valid + 1 = {need} ratings, so nothing would be left "
            f"to train on: userId (ratings) {shown}{more}.\nLower n_test/n_valid (the smallest user here has "
            f"{int(per_user.min())} ratings), or drop those users before encoding, e.g. "
            f"ratings[ratings.groupby('userId')['userId'].transform('size') >= {need}]."
        )


def _cut(encoded, order: np.ndarray, per_user: np.ndarray, n_test: int, n_valid: int, kind: str,
         tie_keys: np.ndarray) -> TemporalSplit:
    """Cut each user's ratings, taken in ``order`` (grouped by user), into train / valid / test."""
    ratings = encoded.ratings
    users = ratings["user"].to_numpy(dtype=np.int64)
    in_time = np.lexsort((tie_keys, ratings["timestamp"].to_numpy(), users))
    rank = np.empty(len(in_time), dtype=np.int64)
    rank[in_time] = np.arange(len(in_time))
    time_rank = pd.Series(rank, index=ratings.index)
    sorted_users = ratings["user"].to_numpy(dtype=np.int64)[order]
    starts = np.searchsorted(sorted_users, np.arange(encoded.n_users))
    position = np.arange(len(order)) - starts[sorted_users]
    from_end = per_user[sorted_users] - 1 - position
    frame = ratings.iloc[order][[c for c in _COLUMNS if c in ratings.columns]]
    test = frame[from_end < n_test]
    valid = frame[(from_end >= n_test) & (from_end < n_test + n_valid)]
    train = frame[from_end >= n_test + n_valid]
    if kind != "temporal":  # keep every part in time order, whatever was held out
        test, valid, train = (part.iloc[np.argsort(time_rank.reindex(part.index).to_numpy(), kind="stable")]
                              for part in (test, valid, train))
    return TemporalSplit(train=train, valid=valid, test=test, n_users=encoded.n_users, n_movies=encoded.n_movies,
                         n_test=n_test, n_valid=n_valid, encoded=encoded, kind=kind, time_rank=time_rank)


# --------------------------------------------------------------------------------------
# Checking inputs
# --------------------------------------------------------------------------------------


def check_k(k, n_movies: int | None = None) -> int:
    """``k`` as an int, or an error: it must be a positive whole number.

    A ``k`` larger than ``n_movies`` is allowed and returned clamped to ``n_movies`` (the whole
    catalogue is then in every list).
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be a whole number of movies (the length of the top list), got {k!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1 (the length of the top list), got {k}")
    return int(min(k, n_movies)) if n_movies is not None else int(k)


def check_scores(scores, n_rows: int, n_movies: int, what: str = "scores") -> np.ndarray:
    """``scores`` as a float32 (n_rows, n_movies) array, or a clear error (wrong shape, NaN, text)."""
    s = np.asarray(scores)  # NumPy arrays, and tensors of the Keras backends (they convert themselves)
    if s.dtype.kind not in "iuf" or s.dtype == bool:
        raise TypeError(f"{what} must be numbers (one score per user and movie), got dtype {s.dtype}")
    if s.shape != (n_rows, n_movies):
        raise ValueError(f"{what} must have shape (users, movies) = ({n_rows}, {n_movies}): one row per user "
                         f"evaluated and one column per movie of the catalogue; got shape {s.shape}")
    s = s.astype(np.float32, copy=False)
    bad = np.isnan(s)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise ValueError(f"{what} hold NaN in {int(bad.sum())} cell(s), first in row(s) {rows[:5].tolist()}: "
                         "a NaN has no place in a ranking. Check the model (exploding training, log of 0, "
                         "division by zero) or replace NaN by -inf to rank those movies last.")
    return s


def _as_item_matrix(items, n_rows: int, n_movies: int, name: str):
    """Boolean CSR (n_rows, n_movies) from a sparse/dense matrix or a list of index arrays."""
    import scipy.sparse as sp

    if items is None:
        return sp.csr_matrix((n_rows, n_movies), dtype=bool)
    if sp.issparse(items) or (isinstance(items, np.ndarray) and items.ndim == 2):
        if items.shape != (n_rows, n_movies):
            raise ValueError(f"{name} must have shape ({n_rows}, {n_movies}) like the scores, got {items.shape}")
        return sp.csr_matrix(items, dtype=bool)
    rows = list(items)
    if len(rows) != n_rows:
        raise ValueError(f"{name} must give one list of movie indices per row of the scores ({n_rows}), "
                         f"got {len(rows)}")
    users, movies = [], []
    for u, row in enumerate(rows):
        row = np.asarray(row if row is not None else [], dtype=np.float64).reshape(-1)
        if row.size and (np.any(row != np.floor(row)) or not np.all(np.isfinite(row))):
            raise TypeError(f"{name}[{u}] must hold whole movie indices, got {row[:5].tolist()}")
        row = row.astype(np.int64)
        bad = (row < 0) | (row >= n_movies)
        if bad.any():
            raise IndexError(f"{name}[{u}] holds movie index {row[bad][:5].tolist()} outside 0..{n_movies - 1}: "
                             "use dense indices (encode raw movieIds with the split's encoder)")
        users.append(np.full(row.size, u, dtype=np.int64))
        movies.append(row)
    users = np.concatenate(users) if users else np.zeros(0, np.int64)
    movies = np.concatenate(movies) if movies else np.zeros(0, np.int64)
    matrix = sp.csr_matrix((np.ones(len(users), dtype=bool), (users, movies)), shape=(n_rows, n_movies), dtype=bool)
    matrix.sort_indices()
    return matrix


def _prepare(scores, relevant, known):
    """Float32 scores with masked cells at -inf and the rest finite; relevance without masked cells."""
    s = np.asarray(scores)
    n_rows, n_movies = s.shape
    rel = _as_item_matrix(relevant, n_rows, n_movies, "relevant")
    mask = _as_item_matrix(known, n_rows, n_movies, "known")
    s = check_scores(s, n_rows, n_movies)
    finfo = np.finfo(np.float32)
    s = np.clip(s, finfo.min, finfo.max)
    if mask.nnz:
        rows, cols = mask.nonzero()
        s[rows, cols] = -np.inf
        rel = (rel.astype(np.int8) - rel.multiply(mask).astype(np.int8)).astype(bool)
        rel.eliminate_zeros()
    return s, rel, mask


# --------------------------------------------------------------------------------------
# Metrics: keras-rs, and the NumPy reference
# --------------------------------------------------------------------------------------

METRICS = ("hr", "ndcg", "mrr")


def _top_k(s: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` highest scores of each row, best first (stable: lower index wins ties)."""
    import keras

    _, idx = keras.ops.top_k(keras.ops.convert_to_tensor(s), k=k, sorted=True)
    return keras.ops.convert_to_numpy(idx).astype(np.int64)


def _keras_rs_values(metric, labels: np.ndarray, preds: np.ndarray) -> np.ndarray:
    """Per-list values of a keras-rs ranking metric (what ``update_state`` would average)."""
    import keras

    # compute_metric is called without a mask, because keras-rs shuffles ties whenever a mask is passed.
    values, _ = metric.compute_metric(y_true=keras.ops.convert_to_tensor(labels.astype(np.float32)),
                                      y_pred=keras.ops.convert_to_tensor(preds.astype(np.float32)), mask=None,
                                      sample_weight=keras.ops.ones(labels.shape, dtype="float32"))
    return keras.ops.convert_to_numpy(values).reshape(-1).astype(np.float64)


#: How many top movies per row the metrics look at first (see :func:`_metrics`).
_WINDOW = 200


def _pruned(s: np.ndarray, rel_dense: np.ndarray, top: np.ndarray | None = None,
            keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each row cut down to its ``top`` movies (or the cells of ``keep``) and its relevant movies, in column order.

    Rows are padded at the end with -inf scores and 0 labels. On such a row every movie that
    outranks a kept movie in the full row is kept too, in the same relative order (equal scores
    keep their column order, hence the tie rule), so the rank of each kept movie is unchanged.
    """
    n_rows = s.shape[0]
    keep = rel_dense > 0 if keep is None else keep | (rel_dense > 0)
    if top is not None:
        np.put_along_axis(keep, top, True, axis=1)
    rows, cols = np.nonzero(keep)  # row-major: each row's columns in increasing order
    return _packed(n_rows, rows, s[rows, cols], rel_dense[rows, cols])


def _packed(n_rows: int, rows: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kept cells (``rows`` sorted, each row's cells in column order) packed to the left of
    ``(n_rows, widest row)`` arrays: ``(labels, preds)``, padded with 0 labels and -inf scores."""
    counts = np.bincount(rows, minlength=n_rows)
    position = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    width = int(counts.max())
    preds = np.full((n_rows, width), -np.inf, dtype=np.float32)
    packed = np.zeros((n_rows, width), dtype=np.float32)
    preds[rows, position] = scores
    packed[rows, position] = labels
    return packed, preds


def _pruned_top(s: np.ndarray, rel, top: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_pruned` for each row's ``top`` movies and its relevant movies, with ``rel`` sparse.

    Returns ``(labels, preds, found)``: the same rows as ``_pruned(s, rel.toarray(), top)``, built
    from the kept cells only instead of users × movies dense arrays (this runs after every epoch
    of a ranker's training), and whether each row has a relevant movie among its ``top``.
    """
    n_rows, n_movies = s.shape
    rel = rel.tocsr()
    rel_rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(rel.indptr))
    rel_keys = rel_rows * n_movies + rel.indices.astype(np.int64)
    top_keys = (np.arange(n_rows, dtype=np.int64)[:, None] * n_movies + top).reshape(-1)
    keys = np.unique(np.concatenate([top_keys, rel_keys]))  # row-major: each row's columns in order
    rows, cols = keys // n_movies, keys % n_movies
    labels, preds = _packed(n_rows, rows, s[rows, cols], np.isin(keys, rel_keys, assume_unique=True))
    found = np.isin(top_keys, rel_keys).reshape(top.shape).any(axis=1)
    return labels, preds, found


def _metrics(s: np.ndarray, rel, k: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-row metrics (by keras-rs) and the top-k lists, from prepared scores and relevance.

    keras-rs sorts every list it is given, and sorting 610 rows of 9,724 movies takes about a
    second, so the lists are pruned first without changing any value:

    - each row keeps its best ``max(k, 200)`` movies and its relevant movies (:func:`_pruned`):
      HR@k and NDCG@k only depend on the top k and the relevant movies, and MRR only on the
      movies ranked above the best relevant one, so all three are exact on the pruned rows...
    - ...except MRR for a row whose relevant movies all rank below the window: those rows (and
      only those) keep every movie scored at least as high as their best relevant movie instead.
    """
    import keras_rs

    n_rows, n_movies = s.shape
    rel = rel.tocsr()
    top = _top_k(s, min(n_movies, max(k, _WINDOW)))
    labels, preds, found = _pruned_top(s, rel, top)
    n_rel = np.diff(rel.indptr).astype(np.int64)
    out = {"n_relevant": n_rel,
           "hr": _keras_rs_values(keras_rs.metrics.RecallAtK(k=k, shuffle_ties=False), labels, preds),
           "ndcg": _keras_rs_values(keras_rs.metrics.NDCG(k=k, shuffle_ties=False), labels, preds),
           "mrr": _keras_rs_values(keras_rs.metrics.MeanReciprocalRank(shuffle_ties=False), labels, preds)}
    outside = (n_rel > 0) & ~found
    if outside.any():
        # Such a row keeps every movie scored at least as high as its best relevant movie (and its
        # relevant movies): all that outrank that movie, so its rank, hence the MRR, is unchanged.
        # Rows with about as many kept movies go to keras-rs together, so that little is padding.
        rows_out = np.flatnonzero(outside)
        s_out, rel_out = s[rows_out], rel[rows_out].toarray().astype(np.float32)
        keep = s_out >= np.where(rel_out > 0, s_out, -np.inf).max(axis=1)[:, None]
        by_size = np.argsort(keep.sum(axis=1), kind="stable")
        for chunk in np.array_split(by_size, max(1, len(by_size) // 64)):
            labels, preds = _pruned(s_out[chunk], rel_out[chunk], keep=keep[chunk])
            out["mrr"][rows_out[chunk]] = _keras_rs_values(
                keras_rs.metrics.MeanReciprocalRank(shuffle_ties=False), labels, preds)
    for name in METRICS:
        out[name][n_rel == 0] = np.nan
    top = top[:, :k].copy()
    top[np.isneginf(np.take_along_axis(s, top, axis=1))] = -1  # only masked movies score -inf here
    return pd.DataFrame(out, index=pd.RangeIndex(n_rows)), top


def ranking_metrics(scores, relevant, known=None, k: int = 10) -> pd.DataFrame:
    """Per-row HR@k (= Recall@k), NDCG@k and MRR, computed by ``keras_rs.metrics``.

    ``scores`` is a (rows, movies) array (one row per user); ``relevant`` and ``known`` are
    boolean (rows, movies) matrices (dense or ``scipy.sparse``) or one list of movie indices per
    row: the held-out movies, and the movies to mask. Returns a frame with one row per row of
    ``scores``: ``n_relevant`` (relevant movies that are not masked) and the columns ``hr``,
    ``ndcg`` and ``mrr``, NaN for a row without relevant movies. See the module docstring for
    ties, masks and ``k``. The result is the same, bit for bit, at every run.

    ``keras_rs.metrics.RecallAtK``, ``NDCG`` and ``MeanReciprocalRank`` see each row cut down to
    its best 200 movies and its relevant movies, which gives exactly the same values several
    times faster (rows whose relevant movies all rank lower are given whole to
    ``MeanReciprocalRank``).
    """
    s, rel, _ = _prepare(scores, relevant, known)
    return _metrics(s, rel, check_k(k, s.shape[1]))[0]


def _hr_values(s: np.ndarray, rel, k: int) -> np.ndarray:
    """Per-row HR@k by keras-rs ``RecallAtK`` on each row's top k and relevant movies (NaN: no relevant)."""
    import keras_rs

    rel = rel.tocsr()
    labels, preds, _ = _pruned_top(s, rel, _top_k(s, k))
    values = _keras_rs_values(keras_rs.metrics.RecallAtK(k=k, shuffle_ties=False), labels, preds)
    values[np.diff(rel.indptr) == 0] = np.nan
    return values


def hit_rate(scores, relevant, known=None, k: int = 10) -> float:
    """Mean HR@k (Recall@k) over the rows that have relevant movies, without CIs: for tuning loops.

    The same values as the ``hr`` column of :func:`ranking_metrics` (keras-rs ``RecallAtK`` on
    each row's top k and relevant movies), a few times faster because MRR is not computed.
    """
    s, rel, _ = _prepare(scores, relevant, known)
    values = _hr_values(s, rel, check_k(k, s.shape[1]))
    if np.isnan(values).all():
        raise ValueError("no row has a relevant movie: nothing to measure")
    return float(np.nanmean(values))


def reference_metrics(scores, relevant, known=None, k: int = 10) -> pd.DataFrame:
    """The same table as :func:`ranking_metrics`, computed in plain NumPy from the definitions.

    For each row, the rank of a relevant movie ``i`` (1 = best) is one plus the number of
    unmasked movies that beat it: a higher float32 score, or an equal score and a lower index.
    Then ``hr = #{rank <= k} / n_relevant``, ``ndcg = sum_{rank <= k} 1/log2(rank + 1)`` divided
    by ``sum_{r = 1}^{min(n_relevant, k)} 1/log2(r + 1)``, and ``mrr = 1 / min(rank)``.
    """
    s, rel, _ = _prepare(scores, relevant, known)
    n_rows, n_movies = s.shape
    k = check_k(k, n_movies)
    columns = np.arange(n_movies)
    out = np.full((n_rows, 3), np.nan)
    n_rel = np.zeros(n_rows, dtype=np.int64)
    for u in range(n_rows):
        items = rel.indices[rel.indptr[u]:rel.indptr[u + 1]]
        n_rel[u] = len(items)
        if not len(items):
            continue
        row = s[u]
        ranks = np.array([1 + np.sum((row > row[i]) | ((row == row[i]) & (columns < i))) for i in items])
        ideal = np.sum(1.0 / np.log2(np.arange(2, min(len(items), k) + 2)))
        out[u] = [np.mean(ranks <= k), np.sum(1.0 / np.log2(ranks[ranks <= k] + 1)) / ideal, 1.0 / ranks.min()]
    return pd.DataFrame({"n_relevant": n_rel, "hr": out[:, 0], "ndcg": out[:, 1], "mrr": out[:, 2]})


def bootstrap_ci(values, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of ``values`` and a percentile bootstrap confidence interval.

    NaN values (users without held-out movies) are left out. ``n_boot`` resamples of the values
    with replacement are drawn from a generator seeded with ``seed``, so the interval is the
    same at every run; with the same seed and the same number of users, two models are resampled
    with the same users (a paired comparison).
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be strictly between 0 and 1 (e.g. 0.95), got {level}")
    n_boot = _check_count(n_boot, "n_boot", 1)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    v = v[~np.isnan(v)]
    if v.size == 0:
        raise ValueError("no values to average: every user lacks held-out movies (check the split and the mask)")
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, v.size, size=(n_boot, v.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(v.mean()), float(low), float(high)


def summarise(per_user: pd.DataFrame, k: int = 10, level: float = 0.95, n_boot: int = 2000,
              seed: int = 0) -> dict:
    """Means and bootstrap CIs of a per-user metrics table: ``{"HR@10": …, "HR@10 low": …, …}``."""
    out = {"users": int(per_user["hr"].notna().sum())}
    for metric, label in (("hr", f"HR@{k}"), ("ndcg", f"NDCG@{k}"), ("mrr", "MRR")):
        mean, low, high = bootstrap_ci(per_user[metric], level, n_boot, seed)
        out.update({label: mean, f"{label} low": low, f"{label} high": high})
    return out


# --------------------------------------------------------------------------------------
# Sampled metrics (a warning, not a protocol)
# --------------------------------------------------------------------------------------


def sampled_metrics(scores, split: TemporalSplit, part: str = "test", n_negatives: int = 100, k: int = 10,
                    seed: int = 0) -> pd.DataFrame:
    """Per-user HR@k, NDCG@k and MRR when each held-out movie is ranked among ``n_negatives`` others.

    This is the *sampled* protocol of many papers, shown only to warn against it: each held-out
    movie is ranked among ``n_negatives`` movies drawn at random (seeded, without replacement)
    from those the user has neither rated before nor holds out, instead of among the whole
    catalogue. Each target gets its own list of ``n_negatives + 1`` movies, scored by keras-rs
    with the same tie rule as :func:`ranking_metrics`; a user's value is the mean over their
    targets. Returns the same columns as :func:`ranking_metrics`, one row per user.
    """
    import keras_rs

    _check_part(part)
    n_negatives = _check_count(n_negatives, "n_negatives", 1)
    s = check_scores(scores, split.n_users, split.n_movies)
    k = check_k(k, n_negatives + 1)
    candidates, labels, owners = split._cached(("sampled", part, n_negatives, seed),
                                               lambda: _sampled_candidates(split, part, n_negatives, seed))
    preds = np.clip(s[owners[:, None], candidates], np.finfo(np.float32).min, np.finfo(np.float32).max)
    per_target = {
        "hr": _keras_rs_values(keras_rs.metrics.RecallAtK(k=k, shuffle_ties=False), labels, preds),
        "ndcg": _keras_rs_values(keras_rs.metrics.NDCG(k=k, shuffle_ties=False), labels, preds),
        "mrr": _keras_rs_values(keras_rs.metrics.MeanReciprocalRank(shuffle_ties=False), labels, preds),
    }
    frame = pd.DataFrame({"user": owners, **per_target}).groupby("user").mean()
    n_rel = np.asarray(split.relevant(part).sum(axis=1)).reshape(-1).astype(np.int64)
    out = pd.DataFrame({"n_relevant": n_rel}).join(frame)
    return out[["n_relevant", *METRICS]]


def _sampled_candidates(split: TemporalSplit, part: str, n_negatives: int,
                        seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(candidates, labels, owners)`` of :func:`sampled_metrics`: the same draws for every model.

    Kept with the split, so that comparing several models draws the negatives once.
    """
    rel, known = split.relevant(part), split.known(part)
    rng = np.random.default_rng(seed)
    rows, labels, owners = [], [], []
    every = np.arange(split.n_movies)
    for u in range(split.n_users):
        targets = rel.indices[rel.indptr[u]:rel.indptr[u + 1]]
        if not len(targets):
            continue
        excluded = np.union1d(targets, known.indices[known.indptr[u]:known.indptr[u + 1]])
        pool = np.setdiff1d(every, excluded, assume_unique=True)
        if len(pool) < n_negatives:
            raise ValueError(f"user {u} has only {len(pool)} movies left to sample from, fewer than "
                             f"n_negatives={n_negatives}: lower n_negatives")
        for t in targets:
            candidates = np.sort(np.append(rng.choice(pool, n_negatives, replace=False), t))
            rows.append(candidates)
            labels.append(candidates == t)
            owners.append(u)
    return np.stack(rows), np.stack(labels).astype(np.float32), np.array(owners, dtype=np.int64)


# --------------------------------------------------------------------------------------
# Top-k lists, coverage, popularity bias
# --------------------------------------------------------------------------------------


def top_k_lists(scores, known=None, k: int = 10) -> np.ndarray:
    """The ``k`` best unmasked movies of each row, best first: an int64 (rows, k) array.

    Uses ``keras.ops.top_k`` (stable: equal scores keep the lower movie index first, as in the
    metrics). Where a row has fewer than ``k`` unmasked movies the list is padded with -1.
    ``k`` larger than the catalogue is clamped to it.
    """
    s, _, _ = _prepare(scores, None, known)
    idx = _top_k(s, check_k(k, s.shape[1]))
    # Only masked movies score -inf here (the others were clipped to the finite float32 range).
    idx[np.isneginf(np.take_along_axis(s, idx, axis=1))] = -1
    return idx


def retrieve(user_vectors, movie_vectors, known=None, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` movies by dot product with ``keras_rs.layers.BruteForceRetrieval``: ``(scores, ids)``.

    ``user_vectors`` is (rows, d), ``movie_vectors`` (n_movies, d); the score of a movie is the
    dot product of the two vectors (fold biases in by appending a column of ones to one side and
    the biases to the other). Masked (``known``) movies are never returned: the layer retrieves
    ``k`` plus the largest number of masked movies in a row and they are dropped. Rows with fewer
    than ``k`` candidates are padded with id -1 and score -inf. Same order as :func:`top_k_lists`.
    """
    import keras
    import keras_rs

    users = np.asarray(user_vectors, dtype=np.float32)
    items = np.asarray(movie_vectors, dtype=np.float32)
    if users.ndim != 2 or items.ndim != 2 or users.shape[1] != items.shape[1]:
        raise ValueError(f"user_vectors (rows, d) and movie_vectors (movies, d) must share d, got shapes "
                         f"{users.shape} and {items.shape}")
    n_movies = items.shape[0]
    k = check_k(k, n_movies)
    mask = _as_item_matrix(known, len(users), n_movies, "known")
    extra = int(np.asarray(mask.sum(axis=1)).max()) if mask.nnz else 0
    fetch = min(n_movies, k + extra)
    layer = keras_rs.layers.BruteForceRetrieval(k=fetch, return_scores=True)
    layer.update_candidates(keras.ops.convert_to_tensor(items))
    top_scores, top_ids = layer(keras.ops.convert_to_tensor(users))
    top_scores = keras.ops.convert_to_numpy(top_scores)
    top_ids = keras.ops.convert_to_numpy(top_ids).astype(np.int64)
    out_ids = np.full((len(users), k), -1, dtype=np.int64)
    out_scores = np.full((len(users), k), -np.inf, dtype=np.float32)
    for u in range(len(users)):
        masked = mask.indices[mask.indptr[u]:mask.indptr[u + 1]]
        keep = ~np.isin(top_ids[u], masked)
        ids, sc = top_ids[u][keep][:k], top_scores[u][keep][:k]
        out_ids[u, :len(ids)], out_scores[u, :len(ids)] = ids, sc
    return out_scores, out_ids


def coverage(lists: np.ndarray, n_movies: int) -> float:
    """Catalogue coverage: the share of the ``n_movies`` movies that appear in at least one list."""
    lists = np.asarray(lists)
    valid = lists[lists >= 0]
    return float(np.unique(valid).size / n_movies)


def popularity_percentiles(counts) -> np.ndarray:
    """Each movie's popularity percentile (0-100) among all movies, from its interaction count.

    ``100 * (#movies with a lower count + 0.5 * #movies with the same count) / n_movies``: the
    most popular movie is near 100, a movie nobody rated in training near the bottom.
    """
    c = np.asarray(counts, dtype=np.float64).reshape(-1)
    if c.size == 0:
        raise ValueError("counts is empty: give one count per movie")
    order = np.sort(c)
    below = np.searchsorted(order, c, side="left")
    equal = np.searchsorted(order, c, side="right") - below
    return 100.0 * (below + 0.5 * equal) / c.size


def mean_popularity_percentile(lists: np.ndarray, counts) -> float:
    """Mean popularity percentile (from training ``counts``) of every movie in the top lists."""
    lists = np.asarray(lists)
    valid = lists[lists >= 0]
    if valid.size == 0:
        return float("nan")
    return float(popularity_percentiles(counts)[valid].mean())


# --------------------------------------------------------------------------------------
# One user's top-N list
# --------------------------------------------------------------------------------------


def readable_title(title: str) -> str:
    """A MovieLens title as it reads in prose: ``"Matrix, The (1999)"`` → ``"The Matrix (1999)"``."""
    import re

    match = re.match(r"^(.*), (The|A|An|Les|La|Le|L'|Il|Das|Der|Die|El)( \(.*\))?\s*$", str(title))
    if not match:
        return str(title)
    head, article, tail = match.groups()
    space = "" if article.endswith("'") else " "
    return f"{article}{space}{head}{tail or ''}"


def _user_index(split: TemporalSplit, user_id) -> int:
    try:
        return int(split.encoded.users.encode([user_id])[0])
    except KeyError:
        raise KeyError(f"userId {user_id!r} is not in the data (userIds run from {split.encoded.users.raw_ids[0]} "
                       f"to {split.encoded.users.raw_ids[-1]}); for someone new use cfcourse.new_user") from None


def _titles(movies: pd.DataFrame, movie_ids) -> np.ndarray:
    info = movies.drop_duplicates("movieId").set_index("movieId")["title"]
    return np.array([readable_title(info.get(m, f"movie {m}")) for m in np.asarray(movie_ids).tolist()],
                    dtype=object)


def top_n(model, split: TemporalSplit, user_id, movies: pd.DataFrame, n: int = 10, part: str = "test") -> pd.DataFrame:
    """The ``n`` movies ``model`` recommends to one user, with titles: rank, movieId, title, score, held_out.

    ``model`` is a fitted recommender (see :mod:`cfcourse.recommenders`) or a full
    (n_users, n_movies) score matrix; ``user_id`` is the raw ``userId``. The movies known before
    ``part`` (what the user has already rated by then) are excluded. ``held_out`` tells whether
    the user did rate the movie in ``part`` (a hit). Titles read naturally ("The Matrix (1999)").
    """
    _check_part(part)
    u = _user_index(split, user_id)
    if hasattr(model, "score"):
        row = model.score(split, part, users=np.array([u]))
    else:
        row = check_scores(model, split.n_users, split.n_movies)[[u]]
    row = check_scores(row, 1, split.n_movies)
    known = split.known(part)[[u]]
    ids = top_k_lists(row, known, n)[0]
    ids = ids[ids >= 0]
    raw = split.encoded.movies.decode(ids)
    held = split.relevant(part)[u].toarray().reshape(-1)
    return pd.DataFrame({"rank": np.arange(1, len(ids) + 1), "movieId": raw.astype(np.int64),
                         "title": _titles(movies, raw), "score": row[0, ids].astype(np.float64),
                         "held_out": held[ids]})


def last_rated(split: TemporalSplit, user_id, movies: pd.DataFrame, n: int = 10, part: str = "test") -> pd.DataFrame:
    """The user's ``n`` most recent ratings known before ``part``, latest first: date, movieId, title, rating."""
    _check_part(part)
    n = _check_count(n, "n", 1)
    u = _user_index(split, user_id)
    frames = [split.train] if part == "valid" else [split.train, split.valid]
    rows = pd.concat(frames)
    rows = split.in_time_order(rows[rows["user"] == u]).iloc[::-1].head(n)
    return pd.DataFrame({"date": pd.to_datetime(rows["timestamp"].to_numpy(), unit="s").strftime("%Y-%m-%d"),
                         "movieId": rows["movieId"].to_numpy(dtype=np.int64),
                         "title": _titles(movies, rows["movieId"].to_numpy()),
                         "rating": rows["rating"].to_numpy(dtype=np.float64)})


# --------------------------------------------------------------------------------------
# Evaluating a model, comparing models
# --------------------------------------------------------------------------------------


def _name_of(model, name: str | None) -> str:
    if name is not None:
        return str(name)
    return str(getattr(model, "name", None) or type(model).__name__)


class Evaluation(NamedTuple):
    """What :func:`evaluate_details` returns: the row of :func:`evaluate` and what it was computed from."""

    row: pd.Series  # the row of evaluate()
    per_user: pd.DataFrame  # one row per user: n_relevant, hr, ndcg, mrr (as user_metrics)
    lists: np.ndarray  # (n_users, k) int64: each user's top k movies (dense indices), best first, -1 padding


def evaluate_details(model, split: TemporalSplit, part: str = "test", k: int = 10, name: str | None = None,
                     level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> Evaluation:
    """:func:`evaluate`, keeping what it is computed from: ``Evaluation(row, per_user, lists)``.

    ``row`` is :func:`evaluate`'s Series; ``per_user`` the per-user table of
    :func:`user_metrics` (for :func:`paired_difference`); ``lists`` everyone's top ``k`` (for
    coverage, popularity bias or any other look at what is recommended). The model scores
    every user once, so a chapter needs no second pass for the per-user values.
    """
    _check_part(part)
    if len(split.part(part)) == 0:
        raise ValueError(f"this split holds nothing out for {part!r} (n_valid=0): evaluate on 'test', or build the "
                         "split with temporal_split(..., n_valid=1) or more")
    start = time.perf_counter()
    if hasattr(model, "score"):
        scores = model.score(split, part)
    else:
        scores = model
    scores = check_scores(scores, split.n_users, split.n_movies)
    known, relevant = split.known(part), split.relevant(part)
    if not np.asarray(known.sum(axis=1)).reshape(-1).all():
        empty = np.flatnonzero(np.asarray(known.sum(axis=1)).reshape(-1) == 0)
        raise ValueError(f"user(s) {empty[:5].tolist()} have no history before {part!r}: build the split with "
                         "temporal_split, which keeps at least one training rating per user")
    s, rel, _ = _prepare(scores, relevant, known)
    per_user, lists = _metrics(s, rel, check_k(k, split.n_movies))
    row = summarise(per_user, k, level, n_boot, seed)
    row[f"coverage@{k}"] = coverage(lists, split.n_movies)
    row["popularity percentile"] = mean_popularity_percentile(lists, split.train_counts())
    row["training s"] = float(getattr(model, "fit_seconds", float("nan"))) if hasattr(model, "score") else float("nan")
    row["evaluation s"] = time.perf_counter() - start
    series = pd.Series(row, name=_name_of(model, name) if hasattr(model, "score") else (name or "scores"))
    return Evaluation(series, per_user, lists)


def evaluate(model, split: TemporalSplit, part: str = "test", k: int = 10, name: str | None = None,
             level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> pd.Series:
    """One row of results for a model on the protocol: accuracy with CIs, coverage, popularity bias.

    ``model`` is a fitted recommender (anything with ``score(split, part, users=None)`` returning
    an (n_users, n_movies) array, see :class:`cfcourse.recommenders.Recommender`) or such a
    score matrix itself. Every user is ranked over the whole catalogue with the movies known
    before ``part`` masked. Returns a Series named after the model with: ``users`` evaluated,
    ``HR@k`` and its CI bounds ``HR@k low``/``HR@k high``, the same for ``NDCG@k`` and ``MRR``,
    ``coverage@k`` (share of the catalogue in someone's top k), ``popularity percentile`` (mean,
    over everyone's top k, of the training-popularity percentile), ``training s`` (the model's
    ``fit_seconds``, NaN for a matrix) and ``evaluation s``. To keep the per-user values and
    the top-k lists too, use :func:`evaluate_details`.
    """
    return evaluate_details(model, split, part, k, name, level, n_boot, seed).row


def user_metrics(model, split: TemporalSplit, part: str = "test", k: int = 10) -> pd.DataFrame:
    """Per-user HR@k, NDCG@k and MRR of a fitted recommender (or a score matrix) on the protocol.

    One row per user (index: dense user index) with the columns of :func:`ranking_metrics`; the
    raw material of :func:`evaluate`'s means, and of :func:`paired_difference`.
    """
    _check_part(part)
    scores = model.score(split, part) if hasattr(model, "score") else model
    scores = check_scores(scores, split.n_users, split.n_movies)
    return ranking_metrics(scores, split.relevant(part), split.known(part), k)


def paired_difference(a, b, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """``(mean, low, high)`` of the per-user difference ``a - b`` with a paired bootstrap CI.

    ``a`` and ``b`` are per-user values of two models on the same users (e.g. the ``hr`` columns
    of two :func:`user_metrics` tables). Resampling users keeps each user's two values together,
    which is tighter than comparing two separate CIs: when the interval excludes 0, the gap is
    larger than the noise of which users happen to be in the data.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ValueError(f"a and b must hold one value per user each, got {a.size} and {b.size} values")
    return bootstrap_ci(a - b, level, n_boot, seed)


def comparison_table(rows: Iterable[pd.Series]) -> pd.DataFrame:
    """Stack :func:`evaluate` rows into one frame, one row per model (the index is the model name)."""
    rows = list(rows)
    if not rows:
        raise ValueError("give at least one result of evaluate()")
    table = pd.DataFrame(rows)
    table.index.name = "model"
    return table


#: The compact table's names for models whose own name is too long to sit on one line of a phone's
#: table (the names the chapters give; any other name loses its part in brackets, see :func:`short_names`).
SHORT_NAMES = {
    "crash course softmax (bag + genres)": "crash course",
}
#: The longest name the compact table shows as it is.
SHORT_NAME_LENGTH = 14


def short_names(names: Iterable[str]) -> list[str]:
    """The compact table's row names: short enough not to wrap on a phone, and still distinct.

    A name of at most :data:`SHORT_NAME_LENGTH` characters stays as it is; one of :data:`SHORT_NAMES`
    takes its short form; any other loses its last part in brackets ("rating model (dot + bias)" reads
    "rating model"). Where two names would become the same, both keep their own name.
    """
    names = [str(n) for n in names]

    def short(name: str) -> str:
        if len(name) <= SHORT_NAME_LENGTH:
            return name
        if name in SHORT_NAMES:
            return SHORT_NAMES[name]
        head, bracket, _ = name.rpartition(" (")
        return head if bracket and name.endswith(")") and head else name

    shortened = [short(n) for n in names]
    return [s if shortened.count(s) == 1 else n for n, s in zip(names, shortened)]


def format_comparison(table: pd.DataFrame, k: int = 10, digits: int = 3, compact: bool = True) -> pd.DataFrame:
    """A comparison table formatted for reading, its numbers as text (:func:`cfcourse.book.number`).

    ``compact=True`` (the book's pages): ``HR@k [95% CI]`` (the mean and its interval in one
    column), ``NDCG@k``, ``coverage %`` and, when the table has it, ``training s``; the models' short
    names (:func:`short_names`) are the index, without a title of their own. ``compact=False`` (the benchmark's printed tables):
    one number per column, ``HR@k``, ``low``, ``high`` (the 95% CI of HR@k), ``NDCG@k``, ``MRR``,
    ``coverage %``, ``popularity pct`` (mean popularity percentile of the recommended movies) and
    ``training s``.
    """
    from .book import number

    hr = f"HR@{k}"
    for column in (hr, f"{hr} low", f"{hr} high", f"NDCG@{k}", "MRR"):
        if column not in table.columns:
            raise ValueError(f"the table has no column {column!r}: build it with comparison_table(evaluate(...) ...) "
                             f"using the same k ({k})")

    def num(values, d=digits):
        return [number(v, f".{d}f") for v in values]

    optional = {"coverage %": (f"coverage@{k}", 100, 1), "popularity pct": ("popularity percentile", 1, 1),
                "training s": ("training s", 1, 1)}

    def extra(name):
        column, scale, d = optional[name]
        return num(scale * table[column], d) if column in table else [""] * len(table)

    if compact:
        out = pd.DataFrame({
            f"{hr} [95% CI]": [f"{m} [{lo}, {hi}]" for m, lo, hi in
                               zip(num(table[hr]), num(table[f"{hr} low"]), num(table[f"{hr} high"]))],
            f"NDCG@{k}": num(table[f"NDCG@{k}"]),
            "coverage %": extra("coverage %"),
        }, index=short_names(table.index))
        if "training s" in table and table["training s"].notna().any():
            # whole seconds: a reader compares orders of magnitude, and 16.0 would read as a count
            out["training s"] = ["<1" if v < 1 else number(v, ".0f") for v in table["training s"]]
        return out
    out = pd.DataFrame({
        hr: num(table[hr]),
        "low": num(table[f"{hr} low"]),
        "high": num(table[f"{hr} high"]),
        f"NDCG@{k}": num(table[f"NDCG@{k}"]),
        "MRR": num(table["MRR"]),
        **{name: extra(name) for name in optional},
    }, index=table.index)
    return out


# --------------------------------------------------------------------------------------
# How many movies to hold out per user
# --------------------------------------------------------------------------------------


def holdout_size_table(encoded, ns: Sequence[int] = (1, 2, 3, 5, 10), k: int = 10, n_valid: int = 0,
                       target: float = 0.01, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Popularity's test HR@k and the half-width of its CI for each number ``n`` held out per user.

    For each ``n`` the data is split with :func:`temporal_split` (``n_test=n``, ``n_valid``
    validation ratings; popularity tunes nothing, so by default none are held out for it and its
    counts come from everything before the test part), popularity is scored and evaluated on the
    test part. Columns: ``held out per user``, ``test movies``, ``HR@k``, ``low``, ``high``,
    ``half-width`` and ``meets target`` (half-width <= ``target``). More held-out movies per user
    average out more noise, but move the test further from "the next movie".
    """
    rows = []
    for n in ns:
        split = temporal_split(encoded, n_test=n, n_valid=n_valid)
        scores = np.broadcast_to(split.train_counts().astype(np.float32), (split.n_users, split.n_movies))
        s, rel, _ = _prepare(scores, split.relevant("test"), split.known("test"))
        mean, low, high = bootstrap_ci(_hr_values(s, rel, check_k(k, split.n_movies)), level, n_boot, seed)
        rows.append({"held out per user": int(n), "test movies": int(len(split.test)), f"HR@{k}": mean,
                     "low": low, "high": high, "half-width": (high - low) / 2,
                     "meets target": bool((high - low) / 2 <= target)})
    return pd.DataFrame(rows)
