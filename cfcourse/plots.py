"""Plot helpers for the chapters. Each returns the matplotlib ``Axes`` it drew on.

Figures are at most :data:`MAX_WIDTH` inches wide, so that their text stays readable when a
390-px phone scales them down; panels are stacked vertically, never side by side.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

#: The widest figure of the book, in inches (at the book's 12-point text).
MAX_WIDTH = 5.8
#: The default size of one panel, in inches.
FIGSIZE = (5.6, 3.5)


def _axes(ax=None, figsize=FIGSIZE):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def rating_histogram(ratings: pd.DataFrame, ax=None):
    """Bar chart of how often each rating value (0.5 … 5 in half stars) was given."""
    ax = _axes(ax)
    counts = ratings["rating"].value_counts().sort_index()
    whole = np.isclose(counts.index % 1, 0)
    ax.bar(counts.index, counts.to_numpy(), width=0.4,
           color=np.where(whole, "tab:blue", "tab:orange"))
    ax.set_xticks(counts.index)
    ax.set_xlabel("rating (blue: whole stars, orange: half stars)")
    ax.set_ylabel("number of ratings")
    ax.set_title("How often each rating is given")
    return ax


def ratings_per(ratings: pd.DataFrame, column: str, ax=None, label: str | None = None):
    """Ratings per user or per movie, sorted from most to least, on a log scale (the long tail)."""
    ax = _axes(ax)
    counts = ratings.groupby(column).size().sort_values(ascending=False).to_numpy()
    ax.plot(np.arange(1, len(counts) + 1), counts, label=label or column)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rank (most active first)")
    ax.set_ylabel("number of ratings")
    return ax


def learning_curves(histories: Mapping[str, pd.DataFrame], baselines: Mapping[str, float] | None = None,
                    ax=None, train: bool = True, title: str = "Validation RMSE per epoch"):
    """Train (dashed) and validation (solid) RMSE per epoch for one or more tidy histories.

    ``histories`` maps a label to the ``history`` frame of :func:`cfcourse.training.train`;
    ``baselines`` maps a label to a horizontal reference line (e.g. the bias baseline).
    """
    entries = len(histories) * (2 if train else 1) + len(baselines or {})
    ax = _axes(ax, figsize=(5.6, 3.0 + 0.22 * entries))  # room for the legend below
    for i, (label, hist) in enumerate(histories.items()):
        colour = f"C{i}"
        ax.plot(hist["epoch"], hist["val_rmse"], "-o", color=colour, label=f"{label} (validation)")
        if train:
            ax.plot(hist["epoch"], hist["train_rmse"], "--", color=colour, alpha=0.7, label=f"{label} (train)")
    for j, (label, value) in enumerate((baselines or {}).items()):
        ax.axhline(value, color="grey", lw=1, ls=[":", "-."][j % 2], label=f"{label}: {value:.3f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("RMSE")
    ax.set_title(title)
    legend_below(ax)
    return ax


def legend_below(ax, **kwargs):
    """The legend under the axes (below the x label), where it hides no curve.

    Entries go in two columns when there are more than three and they are short enough to sit
    side by side in a phone-sized figure. Returns the legend.
    """
    from matplotlib.transforms import offset_copy

    handles, labels = ax.get_legend_handles_labels()
    two = len(labels) > 3 and max(len(label) for label in labels) <= 24
    # anchored 38 points under the axes: below the tick labels and the x label
    below = offset_copy(ax.transAxes, fig=ax.figure, y=-38, units="points")
    options = dict(loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below,
                   fontsize="small", ncol=2 if two else 1, frameon=False)
    options.update(kwargs)
    return ax.legend(handles, labels, **options)


def place_labels(ax, xy, labels: Sequence[str], fontsize="small", color=None, pad: float = 3.0) -> list:
    """Label points without overlaps: each label goes to the first free spot around its point.

    For every point (in order), the label is tried to the right, left, above and below of it, then
    diagonally, at growing distances; a spot is free when the label's box overlaps no label placed
    before it, no point, and stays inside the axes. A label placed away from its point gets a thin
    leader line. Returns the annotations. Call it after the axes limits are final.
    """
    import matplotlib.pyplot as plt  # noqa: F401  (the figure needs a canvas)

    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"xy must have shape (n, 2), got {xy.shape}")
    if len(labels) != len(xy):
        raise ValueError(f"got {len(labels)} labels for {len(xy)} points")
    fig = ax.figure
    fig.draw_without_rendering()  # final layout, so that display coordinates hold
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    points = ax.transData.transform(xy)
    dot = 4.0 * fig.dpi / 72  # half the size of a marker, in pixels
    dots = [(x - dot, y - dot, x + dot, y + dot) for x, y in points]
    directions = [(1, 0, "left", "center"), (-1, 0, "right", "center"), (0, 1, "center", "bottom"),
                  (0, -1, "center", "top"), (1, 1, "left", "bottom"), (-1, 1, "right", "bottom"),
                  (1, -1, "left", "top"), (-1, -1, "right", "top")]
    placed: list[tuple[float, float, float, float]] = []
    annotations = []

    def overlap(a, b) -> float:
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return w * h if w > 0 and h > 0 else 0.0

    for i, ((x, y), label) in enumerate(zip(xy, labels)):
        best = None
        for distance in (pad, 3 * pad, 6 * pad, 10 * pad):
            for dx, dy, ha, va in directions:
                text = ax.annotate(str(label), (x, y), xytext=(dx * distance, dy * distance),
                                   textcoords="offset points", ha=ha, va=va, fontsize=fontsize, color=color)
                box = text.get_window_extent(renderer)
                box = (box.x0 - 1, box.y0 - 1, box.x1 + 1, box.y1 + 1)
                outside = (max(frame.x0 - box[0], 0) + max(box[2] - frame.x1, 0)
                           + max(frame.y0 - box[1], 0) + max(box[3] - frame.y1, 0))
                cost = (sum(overlap(box, other) for other in placed)
                        + sum(overlap(box, d) for j, d in enumerate(dots) if j != i) + 100 * outside)
                if best is None or cost < best[0]:
                    if best is not None:
                        best[1].remove()
                    best = (cost, text, box, distance)
                else:
                    text.remove()
                if cost == 0:
                    break
            if best[0] == 0:
                break
        _, text, box, distance = best
        if distance > pad:  # a thin leader line from the point to the nearest edge of its label
            px, py = points[i]
            to_points = 72 / fig.dpi
            edge = ((min(max(px, box[0]), box[2]) - px) * to_points, (min(max(py, box[1]), box[3]) - py) * to_points)
            ax.annotate("", (x, y), xytext=edge, textcoords="offset points",
                        arrowprops={"arrowstyle": "-", "lw": 0.5, "color": color or "grey",
                                    "shrinkA": 0, "shrinkB": 2})
        placed.append(box)
        annotations.append(text)
    return annotations
