"""Spark MLlib's ALS as a recommender on the ranking protocol of :mod:`cfcourse.ranking`.

:class:`ALSRecommender` follows the :class:`cfcourse.recommenders.Recommender` interface: ``fit``
writes the protocol's temporal *training* part to Parquet, fits ``pyspark.ml.recommendation.ALS``
on it in Spark and collects the user and movie vectors; ``score`` ranks every movie for each user by
the dot product of their vectors (the predicted rating, or preference with ``implicit=True``),
computed with NumPy. Movies that ALS never saw in training have no vector and rank last.

Give it an open session (``spark=``), or it starts a local one for the fit and stops it after.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .recommenders import FoldIn, Recommender, _known_parts

__all__ = ["ALSRecommender"]


class ALSRecommender(FoldIn, Recommender):
    """ALS (explicit ratings, or implicit feedback with ``implicit=True``) fitted in Spark.

    ``rank``, ``max_iter``, ``reg_param``, ``alpha`` (implicit only), ``blocks`` and ``seed`` are
    ALS's settings (``blocks`` sets ``numUserBlocks`` and ``numItemBlocks``; None: Spark's
    default of 10). ``spark`` is an open SparkSession to use; without it a quiet local one is
    started (:func:`cfcourse.spark.start_session`) and stopped when the fit ends.

    At each evaluation point every user is folded in (:class:`cfcourse.recommenders.FoldIn`): ALS's
    own user step, solved exactly against the frozen movie factors with ``reg_param`` scaled by
    the user's number of ratings, on every rating known at that point (test: training and
    validation), so the test scores use the same history as every other model. ``fold_in=False``
    keeps the vectors Spark fitted on the training part.
    """

    name = "ALS (Spark), ratings"

    def __init__(self, spark=None, *, rank: int = 10, max_iter: int = 10, reg_param: float = 0.15,
                 implicit: bool = False, alpha: float = 1.0, blocks: int | None = None, seed: int = 42,
                 name: str | None = None, fold_in: bool = True):
        Recommender.__init__(self, name or ("ALS (Spark), implicit" if implicit else None))
        self.fold_in = bool(fold_in)
        for label, value in (("rank", rank), ("max_iter", max_iter)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{label} must be a positive whole number, got {value!r}")
        if not reg_param >= 0 or not alpha > 0:
            raise ValueError(f"reg_param must be >= 0 and alpha > 0, got {reg_param} and {alpha}")
        self.spark = spark
        self.rank, self.max_iter, self.reg_param = int(rank), int(max_iter), float(reg_param)
        self.implicit, self.alpha, self.blocks, self.seed = bool(implicit), float(alpha), blocks, int(seed)

    def _fit(self, split) -> None:
        from . import spark as sp
        from .parquet import write_ratings

        x, y = split.ratings("train")
        session = self.spark if self.spark is not None else sp.start_session(small_data=True)
        try:
            with tempfile.TemporaryDirectory(prefix="cfcourse-als-") as folder:
                path = write_ratings(Path(folder) / "train.parquet", x, y)
                ratings = sp.read_ratings(session, path)
                from pyspark.ml.recommendation import ALS

                options = dict(userCol="user", itemCol="movie", ratingCol="rating", rank=self.rank,
                               maxIter=self.max_iter, regParam=self.reg_param, implicitPrefs=self.implicit,
                               alpha=self.alpha, seed=self.seed, coldStartStrategy="nan")
                if self.blocks is not None:
                    options.update(numUserBlocks=self.blocks, numItemBlocks=self.blocks)
                model = ALS(**options).fit(ratings)
                self.user_vectors_, self.known_users_ = sp.factor_matrix(model.userFactors, split.n_users)
                self.movie_vectors_, self.known_movies_ = sp.factor_matrix(model.itemFactors, split.n_movies)
        finally:
            if self.spark is None:
                sp.stop_session(session)
        self._reset_fold_in()

    def _fold_in_part(self, split, part):
        from .new_user import fold_in

        known = split.interactions(_known_parts(part), "rating")
        keep = self.known_movies_.astype(np.float64)  # movies without factors cannot be folded in
        import scipy.sparse as sp

        known = known @ sp.diags(keep)
        vectors, _ = fold_in(known, self.movie_vectors_, loss="implicit" if self.implicit else "squared",
                             l2=self.reg_param, alpha=self.alpha, start=self.user_vectors_)
        return vectors

    def _score(self, split, part, users) -> np.ndarray:
        user_vectors = self.user_side(split, part) if self.fold_in else self.user_vectors_
        scores = user_vectors[users] @ self.movie_vectors_.T
        scores[:, ~self.known_movies_] = -np.inf  # no vector, no prediction: last in every list
        return scores
