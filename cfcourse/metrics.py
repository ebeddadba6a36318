"""Error measures and the two baselines every chapter is compared with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _as_ratings(values, what: str) -> np.ndarray:
    """A flat float64 array of ratings, or a ValueError saying what was wrong with ``values``."""
    try:
        if values is None or isinstance(values, (str, bytes)):
            raise TypeError
        array = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} must be numbers (a list, array or Series of ratings), got {type(values).__name__}"
        ) from None
    return array


def rmse(y_true, y_pred) -> float:
    """Root mean squared error between two equally long sequences of ratings."""
    y_true = _as_ratings(y_true, "y_true")
    y_pred = _as_ratings(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"rmse needs equally many true and predicted ratings, got {y_true.size} and {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("rmse of zero ratings is undefined")
    if not (np.isfinite(y_true).all() and np.isfinite(y_pred).all()):
        which = "y_true" if not np.isfinite(y_true).all() else "y_pred"
        raise ValueError(f"rmse got NaN or infinite values in {which}; check the predictions")
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def check_pairs(x, n_users: int, n_movies: int) -> np.ndarray:
    """Validate an (n, 2) array of dense (user, movie) indices for a model of ``n_users`` × ``n_movies``.

    Returns it as int64; raises ``ValueError`` for a wrong shape or non-whole numbers and
    ``IndexError`` naming the first unknown users or movies. Used by every model of the course.
    """
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"expected an array of (user, movie) index pairs with shape (n, 2), got shape {x.shape}")
    if x.dtype.kind not in "iu":
        if x.dtype.kind == "f" and x.size and np.all(np.isfinite(x)) and np.all(x == np.floor(x)):
            x = x.astype(np.int64)
        elif x.size:
            raise ValueError(
                f"user and movie indices must be whole numbers (encode raw ids with "
                f"data.encode_ids / IdEncoder.encode), got dtype {x.dtype}"
            )
        else:
            x = x.astype(np.int64)
    for col, name, n in ((0, "user", n_users), (1, "movie", n_movies)):
        column = x[:, col]
        bad = (column < 0) | (column >= n)
        if bad.any():
            first = list(dict.fromkeys(column[bad].tolist()))[:5]
            raise IndexError(
                f"{name} index {first} outside 0..{n - 1}: the model knows {n} {name}s. "
                f"Encode raw ids with the encoder fitted on the training data; a {name} the model was not "
                f"trained on has nothing learned about it, so predict it with a fallback such as the global "
                f"mean or the bias baseline."
            )
    return x.astype(np.int64, copy=False)


@dataclass
class GlobalMean:
    """Predict the mean training rating for everyone: the simplest possible baseline."""

    mean: float = float("nan")

    def fit(self, x_train, y_train) -> "GlobalMean":
        """Remember the mean of ``y_train`` (``x_train`` is ignored)."""
        y = _as_ratings(y_train, "y_train")
        if y.size == 0 or not np.isfinite(y).all():
            raise ValueError("GlobalMean.fit needs at least one rating and no NaN or infinite values")
        self.mean = float(np.mean(y))
        return self

    def predict(self, x) -> np.ndarray:
        """The training mean, once per row of ``x``."""
        if not np.isfinite(self.mean):
            raise RuntimeError("GlobalMean has not been fitted: call .fit(x_train, y_train) first")
        return np.full(len(x), self.mean, dtype=np.float64)


@dataclass
class BiasBaseline:
    """``mean + b_user + b_movie``, fitted by alternating ridge-regularised averages.

    Each bias is the shrunk average of the residuals it explains: with ``reg`` = λ, a
    movie's bias is ``sum(residuals) / (λ + count)``, so a movie rated once stays near the
    global mean. Users and movies unseen in training get a bias of 0. Predictions are
    clipped to the rating scale.
    """

    n_users: int
    n_movies: int
    reg_user: float = 3.0
    reg_movie: float = 3.0
    n_iter: int = 10
    min_rating: float = 0.5
    max_rating: float = 5.0

    def fit(self, x_train, y_train) -> "BiasBaseline":
        """Fit the global mean and the two bias vectors on dense (user, movie) pairs."""
        x = check_pairs(x_train, self.n_users, self.n_movies)
        y = _as_ratings(y_train, "y_train")
        if len(x) != len(y):
            raise ValueError(f"x_train has {len(x)} rows but y_train {len(y)} ratings")
        if len(y) == 0:
            raise ValueError("BiasBaseline.fit needs at least one rating")
        if not np.isfinite(y).all():
            raise ValueError("y_train holds NaN or infinite ratings")
        if self.reg_user < 0 or self.reg_movie < 0:
            raise ValueError("reg_user and reg_movie must be >= 0")
        users, movies = x[:, 0], x[:, 1]
        self.mean_ = float(y.mean())
        self.user_bias_ = np.zeros(self.n_users)
        self.movie_bias_ = np.zeros(self.n_movies)
        user_count = np.bincount(users, minlength=self.n_users)
        movie_count = np.bincount(movies, minlength=self.n_movies)
        with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 for unseen ids when reg is 0
            for _ in range(self.n_iter):
                resid = y - self.mean_ - self.user_bias_[users]
                self.movie_bias_ = np.nan_to_num(
                    np.bincount(movies, resid, self.n_movies) / (self.reg_movie + movie_count))
                resid = y - self.mean_ - self.movie_bias_[movies]
                self.user_bias_ = np.nan_to_num(
                    np.bincount(users, resid, self.n_users) / (self.reg_user + user_count))
        return self

    def predict(self, x) -> np.ndarray:
        """Predicted ratings for dense (user, movie) pairs, clipped to the rating scale."""
        if not hasattr(self, "mean_"):
            raise RuntimeError("BiasBaseline has not been fitted: call .fit(x_train, y_train) first")
        x = check_pairs(x, self.n_users, self.n_movies)
        pred = self.mean_ + self.user_bias_[x[:, 0]] + self.movie_bias_[x[:, 1]]
        return np.clip(pred, self.min_rating, self.max_rating)


def baseline_rmses(split) -> dict[str, float]:
    """Validation RMSE of the global mean and of the regularised biases on a :class:`Split`."""
    gm = GlobalMean().fit(split.x_train, split.y_train)
    bias = BiasBaseline(split.n_users, split.n_movies, min_rating=split.min_rating,
                        max_rating=split.max_rating).fit(split.x_train, split.y_train)
    return {
        "global_mean": rmse(split.y_valid, gm.predict(split.x_valid)),
        "biases": rmse(split.y_valid, bias.predict(split.x_valid)),
    }
