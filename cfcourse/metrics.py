"""Error measures and the two baselines every chapter is compared with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def rmse(y_true, y_pred) -> float:
    """Root mean squared error between two equally long sequences of ratings."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"rmse needs equally many true and predicted ratings, got {y_true.size} and {y_pred.size}")
    if y_true.size == 0:
        raise ValueError("rmse of zero ratings is undefined")
    if not (np.isfinite(y_true).all() and np.isfinite(y_pred).all()):
        raise ValueError("rmse got NaN or infinite values; check the predictions")
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def _check_x(x: np.ndarray, n_users: int, n_movies: int) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"expected an array of (user, movie) index pairs with shape (n, 2), got {x.shape}")
    if x.size and (x[:, 0].min() < 0 or x[:, 0].max() >= n_users or x[:, 1].min() < 0 or x[:, 1].max() >= n_movies):
        raise IndexError(f"user or movie index outside 0..{n_users - 1} / 0..{n_movies - 1}")
    return x


@dataclass
class GlobalMean:
    """Predict the mean training rating for everyone: the simplest possible baseline."""

    mean: float = float("nan")

    def fit(self, x_train, y_train) -> "GlobalMean":
        self.mean = float(np.mean(y_train))
        return self

    def predict(self, x) -> np.ndarray:
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
        x = _check_x(x_train, self.n_users, self.n_movies)
        y = np.asarray(y_train, dtype=np.float64)
        users, movies = x[:, 0], x[:, 1]
        self.mean_ = float(y.mean())
        self.user_bias_ = np.zeros(self.n_users)
        self.movie_bias_ = np.zeros(self.n_movies)
        user_count = np.bincount(users, minlength=self.n_users)
        movie_count = np.bincount(movies, minlength=self.n_movies)
        for _ in range(self.n_iter):
            resid = y - self.mean_ - self.user_bias_[users]
            self.movie_bias_ = np.bincount(movies, resid, self.n_movies) / (self.reg_movie + movie_count)
            resid = y - self.mean_ - self.movie_bias_[movies]
            self.user_bias_ = np.bincount(users, resid, self.n_users) / (self.reg_user + user_count)
        return self

    def predict(self, x) -> np.ndarray:
        x = _check_x(x, self.n_users, self.n_movies)
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
