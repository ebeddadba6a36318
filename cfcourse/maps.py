"""Maps of an embedding space: t-SNE (scikit-learn), and how faithful a 2-d map is (chapter 8).

- :func:`tsne_map`: scikit-learn's ``TSNE`` with the settings the course uses (cosine distances, a
  fixed seed, a PCA start), so that a chapter's map is the same on every build.
- :func:`neighbour_overlap`: the share of each point's ``k`` nearest neighbours in the original space
  that are also among its ``k`` nearest on the map (what t-SNE is built to keep).
- :func:`distance_correlation`: the rank correlation between all pairwise distances in the original
  space and on the map (the large-scale picture, which t-SNE does not promise to keep).
- :func:`same_group_share`: how often a point's neighbours on the map share its group (e.g. its genre).
- :func:`map_plot`: points coloured by group, a few of them labelled (:func:`cfcourse.plots.place_labels`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["tsne_map", "neighbour_overlap", "distance_correlation", "same_group_share", "map_plot"]


def _matrix(x, name: str) -> np.ndarray:
    m = np.asarray(x, dtype=np.float64)
    if m.ndim != 2 or len(m) < 2:
        raise ValueError(f"{name} must be a 2-d array with at least two rows (points), got shape {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return m


def tsne_map(matrix, perplexity: float = 30.0, seed: int = 0, metric: str = "cosine", max_iter: int = 500,
             method: str = "exact") -> np.ndarray:
    """Two-dimensional t-SNE coordinates of the rows of ``matrix`` (scikit-learn ``TSNE``).

    ``perplexity`` is roughly how many neighbours each point pays attention to; it must be smaller
    than the number of rows. The start is the PCA projection (``init="pca"``) and ``seed`` fixes the
    rest, so the same matrix always gives the same map. ``method="exact"`` is fastest for a few
    hundred points; use ``"barnes_hut"`` for thousands. It runs on one thread (see below).
    """
    from sklearn.manifold import TSNE

    m = _matrix(matrix, "matrix")
    if not 0 < perplexity < len(m):
        raise ValueError(f"perplexity must be between 0 and the number of points ({len(m)}), got {perplexity}")
    if metric == "cosine" and np.any(np.linalg.norm(m, axis=1) == 0):
        raise ValueError("a row of zeros has no direction, so no cosine distance: leave such rows out")
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    tsne = TSNE(n_components=2, perplexity=float(perplexity), metric=metric, init="pca", random_state=seed,
                max_iter=max_iter, method=method)
    # One thread (OpenMP and BLAS): on a busy 2-core machine the threads wait for each other, which made
    # the Barnes-Hut map of 1,196 movies 4 to 8 times slower (20-27 s against 3-5 s, measured), and
    # the sums no longer depend on the number of cores.
    with threadpool_limits(1):
        return tsne.fit_transform(m)


def _knn(points: np.ndarray, k: int, metric: str) -> np.ndarray:
    from sklearn.metrics import pairwise_distances

    d = pairwise_distances(points, metric=metric)
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")[:, :k]


def neighbour_overlap(original, projected, k: int = 10, metric: str = "cosine") -> float:
    """The mean share of each point's ``k`` nearest neighbours (``metric`` in ``original``) that are also
    among its ``k`` nearest on the map (Euclidean in ``projected``): 1 means every neighbourhood kept."""
    a, b = _matrix(original, "original"), _matrix(projected, "projected")
    if len(a) != len(b):
        raise ValueError(f"original has {len(a)} points but projected {len(b)}")
    if not 1 <= k < len(a):
        raise ValueError(f"k must be between 1 and the number of points - 1 ({len(a) - 1}), got {k}")
    near_a, near_b = _knn(a, k, metric), _knn(b, k, "euclidean")
    return float(np.mean([len(np.intersect1d(x, y)) / k for x, y in zip(near_a, near_b)]))


def distance_correlation(original, projected, metric: str = "cosine") -> float:
    """Spearman rank correlation between the pairwise distances (``metric``) in ``original`` and the
    Euclidean distances on the map ``projected``: how well the map keeps the large-scale layout."""
    from scipy.spatial.distance import pdist
    from scipy.stats import spearmanr

    a, b = _matrix(original, "original"), _matrix(projected, "projected")
    if len(a) != len(b):
        raise ValueError(f"original has {len(a)} points but projected {len(b)}")
    return float(spearmanr(pdist(a, metric=metric), pdist(b)).statistic)


def same_group_share(projected, groups: Sequence[str], k: int = 10) -> tuple[float, float]:
    """``(share, chance)``: how often a point's ``k`` nearest neighbours on the map share its group, and how
    often two points picked at random do. A share well above chance means the groups gather on the map."""
    b = _matrix(projected, "projected")
    g = np.asarray(list(groups), dtype=object)
    if len(g) != len(b):
        raise ValueError(f"got {len(g)} groups for {len(b)} points")
    if not 1 <= k < len(b):
        raise ValueError(f"k must be between 1 and the number of points - 1 ({len(b) - 1}), got {k}")
    near = _knn(b, k, "euclidean")
    share = float(np.mean(g[near] == g[:, None]))
    _, counts = np.unique(g.astype(str), return_counts=True)
    chance = float(((counts * (counts - 1)).sum()) / (len(g) * (len(g) - 1)))
    return share, chance


def map_plot(coords, groups: Sequence[str], ax=None, labels: dict[int, str] | None = None,
             order: Sequence[str] | None = None, title: str = "", size: float = 12.0):
    """Scatter the 2-d ``coords`` coloured by ``groups`` (one name per point) and label the points of
    ``labels`` (row → text) without overlaps. Returns the ``Axes``."""
    import matplotlib.pyplot as plt

    c = _matrix(coords, "coords")
    groups = np.asarray(list(groups), dtype=object)
    if c.shape[1] != 2 or len(groups) != len(c):
        raise ValueError(f"need 2-d coords and one group per point, got {c.shape} and {len(groups)} groups")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.0, 4.6), layout="constrained")
    names = list(order) if order is not None else sorted(set(groups))
    palette = plt.get_cmap("tab10")
    for i, name in enumerate(names):
        mask = groups == name
        if mask.any():
            ax.scatter(c[mask, 0], c[mask, 1], s=size, color=palette(i % 10), label=name, alpha=0.8, linewidths=0)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize="medium")
    if labels:
        from .plots import place_labels

        rows = list(labels)
        place_labels(ax, c[rows], [labels[r] for r in rows], fontsize="small")
    return ax
