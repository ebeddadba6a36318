"""A recency baseline: the neighbours of the last movies a user rated (chapter 10).

A sequence model such as the GRU can tell the order of a history, but it can also simply weigh
the latest movies most. This baseline does only the second: it reads the user's ``n_last`` most
recent known movies (``split.history(part)``, the same movies as ``split.known(part)``, in time
order, ratings in one second in the split's seeded order: nothing is ordered by movie id) and
scores every movie by its item-item cosine similarity to them, the most recent weighted highest::

    score(j) = Σ_r decay**r · cos(m_r, j),     r = 0 for the latest movie, 1 for the one before, ...

where ``cos(i, j) = c_ij / √(c_i c_j)`` is the cosine of the two movies' columns in the binary
*training* matrix (``c_ij`` users who rated both, ``c_i`` users who rated ``i``). A movie rated
twice counts at its latest place. With ``decay = 1`` every one of the last movies weighs the same;
with a small ``decay`` the latest movie decides almost alone.

:class:`RecentNeighbours` puts it behind the :class:`~cfcourse.recommenders.Recommender`
interface. ``n_last`` and ``decay`` are chosen from a grid by HR@10 on the validation part (history:
the training movies), unless given.
"""

from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

from .ranking import TemporalSplit, hit_rate
from .recommenders import Recommender

__all__ = ["recency_weights", "RecentNeighbours"]


def recency_weights(histories: Sequence[np.ndarray], n_movies: int, n_last: int, decay: float):
    """Users × movies CSR float64: ``decay**r`` on each user's ``r``-th most recent distinct movie, ``r < n_last``.

    ``histories[u]`` holds user ``u``'s movies oldest first (``split.history(part)``). A movie that
    appears twice counts once, at its latest place. An empty history gives an empty row.
    """
    import scipy.sparse as sp

    if isinstance(n_last, bool) or not isinstance(n_last, (int, np.integer)) or n_last < 1:
        raise ValueError(f"n_last must be a positive whole number of movies, got {n_last!r}")
    if not (isinstance(decay, (int, float, np.number)) and 0 < decay <= 1):
        raise ValueError(f"decay must be in (0, 1] (1: the last movies weigh the same), got {decay!r}")
    rows, cols, vals = [], [], []
    for u, history in enumerate(histories):
        seen: set[int] = set()
        for movie in np.asarray(history, dtype=np.int64)[::-1]:  # latest first
            if len(seen) == n_last:
                break
            if int(movie) in seen:
                continue
            rows.append(u)
            cols.append(int(movie))
            vals.append(float(decay) ** len(seen))
            seen.add(int(movie))
    return sp.csr_matrix((np.asarray(vals, np.float64), (np.asarray(rows, np.int64), np.asarray(cols, np.int64))),
                         shape=(len(histories), n_movies))


class RecentNeighbours(Recommender):
    """The movies most like a user's last few movies (item-item cosine), the latest weighted highest.

    See the module docstring. ``n_last`` and ``decay`` are chosen from ``n_lasts`` × ``decays`` by
    HR@10 on the validation part when not given (the validation HR@10 of each pair is kept in
    ``validation_``). The defaults ``n_last=5, decay=0.5`` were chosen that way on the default
    split of MovieLens ml-latest-small.
    """

    name = "recent movies' neighbours"

    def __init__(self, n_last: int | None = None, decay: float | None = None,
                 n_lasts: Sequence[int] = (1, 3, 5, 10, 20), decays: Sequence[float] = (0.3, 0.5, 0.8, 1.0),
                 name: str | None = None):
        super().__init__(name)
        self.n_lasts = (n_last,) if n_last is not None else tuple(n_lasts)
        self.decays = (decay,) if decay is not None else tuple(decays)
        if not self.n_lasts or not self.decays:
            raise ValueError("give n_last and decay, or non-empty grids n_lasts and decays to choose them from")
        for value in self.n_lasts:
            recency_weights([], 1, value, 1.0)
        for value in self.decays:
            recency_weights([], 1, 1, value)

    def _fit(self, split: TemporalSplit) -> None:
        x = split.interactions("train").astype(np.float64).tocsr()
        x.data[:] = 1.0
        self.x_ = x
        counts = np.asarray(x.sum(axis=0)).reshape(-1)
        self.inverse_norms_ = np.where(counts > 0, 1.0 / np.sqrt(np.maximum(counts, 1.0)), 0.0)
        pairs = list(itertools.product(self.n_lasts, self.decays))
        self.validation_ = {}
        if len(pairs) > 1:
            relevant, known, histories = split.relevant("valid"), split.known("valid"), split.history("valid")
            for n_last, decay in pairs:
                scores = self._scores_from(recency_weights(histories, split.n_movies, n_last, decay))
                self.validation_[(n_last, decay)] = hit_rate(scores, relevant, known)
            # best HR@10; on a tie, fewer movies and a stronger decay (the simpler, more recent rule)
            self.n_last_, self.decay_ = max(pairs, key=lambda p: (self.validation_[p], -p[0], -p[1]))
        else:
            self.n_last_, self.decay_ = pairs[0]

    def _scores_from(self, weights) -> np.ndarray:
        """``Σ_i w_i cos(i, ·)`` for each row ``w`` of ``weights`` (users × movies, sparse)."""
        import scipy.sparse as sp

        w = sp.csr_matrix(weights) @ sp.diags(self.inverse_norms_)  # w_i / √c_i
        co = (w @ self.x_.T) @ self.x_  # Σ_i w_i c_ij / √c_i
        return np.asarray(sp.csr_matrix(co).toarray() * self.inverse_norms_, dtype=np.float32)

    def _score(self, split: TemporalSplit, part: str, users: np.ndarray) -> np.ndarray:
        histories = split.history(part)
        weights = recency_weights([histories[u] for u in users], split.n_movies, self.n_last_, self.decay_)
        return self._scores_from(weights)
