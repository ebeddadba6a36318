"""Plot helpers for the chapters. Each returns the matplotlib ``Axes`` it drew on."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd


def _axes(ax=None, figsize=(6.4, 3.6)):
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
    ax = _axes(ax, figsize=(6.4, 4.0))
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
    ax.legend(fontsize="small")
    return ax
