"""Plot helpers for the chapters. Each returns the matplotlib ``Axes`` it drew on.

Figures are at most :data:`MAX_WIDTH` inches wide, so that their text stays readable when a
390-px phone scales them down; panels are stacked vertically, never side by side.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

#: The widest figure of the book, in inches (at the book's 12-point text).
MAX_WIDTH = 5.2
#: The default size of one panel, in inches.
FIGSIZE = (5.0, 3.2)
#: How wide a phone shows a figure, in CSS pixels (a 390-px screen less the page's margins).
PHONE_WIDTH = 360
#: The smallest text a figure may have at :data:`PHONE_WIDTH`, in CSS pixels.
MIN_TEXT_PX = 9.0
#: The book's figure style (matplotlib rc values), which the book build gives every kernel
#: (book/_ext/cfcourse_sphinx.py): 12-point text, so that "small" (10 pt) on a figure of at most
#: :data:`MAX_WIDTH` inches is still 9 px or more at :data:`PHONE_WIDTH`; never use "x-small".
STYLE = {
    "figure.dpi": 100,
    "font.size": 12,
    "axes.titlesize": "medium",
    "legend.fontsize": "small",
    "figure.figsize": FIGSIZE,
    "figure.hooks": ["cfcourse.plots:record_text_size"],
}
#: The environment variable naming the file where :func:`record_text_size` appends one line per
#: drawn figure (the book build sets it; unset, nothing is recorded).
TEXT_LOG = "CFCOURSE_FIGURE_TEXT_LOG"


def smallest_text_px(fig, shown_width: float = PHONE_WIDTH) -> tuple[float, str]:
    """The height in CSS pixels of the figure's smallest visible text when the figure is shown
    ``shown_width`` pixels wide, and that text. A point is 1/72 inch, and the whole figure's width
    (in inches) is squeezed into ``shown_width`` pixels. A figure without text gives ``(inf, "")``.
    """
    from matplotlib.text import Text

    width_in = float(fig.get_size_inches()[0])
    if not width_in > 0:
        raise ValueError(f"the figure has no width ({width_in} inches)")
    smallest, which = float("inf"), ""
    for text in fig.findobj(Text):
        if not text.get_visible() or not text.get_text().strip():
            continue
        px = text.get_fontsize() / 72 * shown_width / width_in
        if px < smallest:
            smallest, which = px, text.get_text().strip()
    return smallest, which


def check_text_size(fig, shown_width: float = PHONE_WIDTH, minimum: float = MIN_TEXT_PX) -> float:
    """Raise ``ValueError`` when some text of ``fig`` is under ``minimum`` px at ``shown_width`` px;
    return the smallest text's size in px otherwise."""
    px, which = smallest_text_px(fig, shown_width)
    if px < minimum:
        width_in = float(fig.get_size_inches()[0])
        raise ValueError(f"the text {which[:40]!r} is {px:.1f} px high when the figure ({width_in:.1f} inches wide) is "
                         f"shown {shown_width:g} px wide, under {minimum:g} px: use fontsize='small' or larger, "
                         "or a narrower figure")
    return px


def record_text_size(fig) -> None:
    """A matplotlib figure hook (``rcParams["figure.hooks"]``): each time ``fig`` is drawn, append its
    size and smallest text (:func:`smallest_text_px`) as one JSON line to the file named by the
    environment variable :data:`TEXT_LOG`, if set. The book build sets it, and the tests read it."""
    import json
    import os

    def log(event) -> None:
        path = os.environ.get(TEXT_LOG)
        if not path:
            return
        px, which = smallest_text_px(event.canvas.figure)
        titles = [ax.get_title() for ax in event.canvas.figure.axes if ax.get_title()]
        record = {"cwd": os.getcwd(), "width_in": round(float(event.canvas.figure.get_size_inches()[0]), 3),
                  "smallest_px": round(px, 2) if px != float("inf") else None, "text": which[:60],
                  "title": (titles or [""])[0][:60]}
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")

    fig.canvas.mpl_connect("draw_event", log)


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
    ax = _axes(ax, figsize=(5.0, 2.9 + 0.22 * entries))  # room for the legend below
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


def ranking_curves(history: pd.DataFrame, best_epoch: int | None = None, k: int = 10, axes=None,
                   title: str = "Training a ranking model"):
    """The training loss (top) and the validation HR@k (bottom) per epoch of a ranking model, as
    two panels stacked; ``best_epoch`` (the one kept) is marked on both. ``history`` has the
    columns ``epoch``, ``loss`` and ``val_hr`` (:class:`cfcourse.training.RankerTrainResult`).
    Returns the two ``Axes``.
    """
    import matplotlib.pyplot as plt

    missing = {"epoch", "loss", "val_hr"} - set(history.columns)
    if missing:
        raise ValueError(f"history lacks the column(s) {sorted(missing)}: pass the .history of training.train_ranker "
                         "or of a bags/sequences result")
    if axes is None:
        _, axes = plt.subplots(2, 1, figsize=(5.0, 4.8), sharex=True, layout="constrained")
    top, bottom = axes
    top.plot(history["epoch"], history["loss"], "-o", color="C0")
    top.set_ylabel("training loss")
    top.set_title(title)
    valid = history.dropna(subset=["val_hr"])
    bottom.plot(valid["epoch"], valid["val_hr"], "-o", color="C1")
    bottom.set_ylabel(f"validation HR@{k}")
    bottom.set_xlabel("epoch")
    bottom.set_xticks(history["epoch"].to_numpy())
    if best_epoch is not None:
        for ax in axes:
            ax.axvline(best_epoch, color="grey", lw=1, ls=":")
        bottom.annotate(f"kept: epoch {best_epoch}", (best_epoch, 0.04), xycoords=("data", "axes fraction"),
                        textcoords="offset points", xytext=(4, 0), ha="left", va="bottom", fontsize="small")
    return axes


def intervals(table: pd.DataFrame, value: str = "HR@10", low: str = "low", high: str = "high",
              reference: str | None = None, ax=None, title: str | None = None):
    """One row per entry of ``table`` (its index: short names), best at the top: a dot at ``value``
    and a bar from ``low`` to ``high`` (its interval). ``reference`` names a row whose value is also
    drawn as a dotted vertical line (e.g. popularity, the baseline to beat). Rows with a missing
    value are left out. Returns the ``Axes``."""
    missing = {value, low, high} - set(table.columns)
    if missing:
        raise ValueError(f"the table lacks the column(s) {sorted(missing)}: give one row per model with "
                         f"{value!r}, {low!r} and {high!r}")
    rows = table.dropna(subset=[value, low, high]).sort_values(value)
    if rows.empty:
        raise ValueError("no row has a value and an interval to draw")
    if ((rows[low] > rows[value] + 1e-9) | (rows[high] < rows[value] - 1e-9)).any():
        raise ValueError("each value must lie within its interval (low <= value <= high)")
    ax = _axes(ax, figsize=(5.0, 1.2 + 0.32 * len(rows)))
    y = np.arange(len(rows))
    centre = rows[value].to_numpy(dtype=float)
    spread = np.vstack([centre - rows[low].to_numpy(dtype=float), rows[high].to_numpy(dtype=float) - centre])
    ax.errorbar(centre, y, xerr=spread, fmt="o", color="C0", ecolor="C0", elinewidth=2, capsize=3)
    ax.set_yticks(y, [str(name) for name in rows.index])
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(left=-0.02 * float(rows[high].max()))  # a dot at 0 shows whole
    if reference is not None:
        if reference not in rows.index:
            raise ValueError(f"the reference {reference!r} is not a row of the table: {list(rows.index)}")
        ax.axvline(rows.loc[reference, value], color="grey", lw=1, ls=":")
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel(f"{value} (dot) and its 95% interval (bar)")
    if title:
        ax.set_title(title)
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
    """Label points without overlaps: each label goes to the best free spot around its point.

    The points with the nearest neighbours are labelled first. For each, the label is tried
    beside the point (right and left, sliding up and down a little) and above and below it
    (sliding sideways); a spot costs its overlap with the labels placed before, with a margin
    around every other point (so that a label never sits where it could be read as another
    point's), and with the outside of the axes, plus a little for its distance. The cheapest spot
    wins; a label moved away from its point gets a thin leader line. ``color`` is one colour for
    every label or a list of one per label. Returns the annotations. Call it after the axes limits
    are final.
    """
    import matplotlib.pyplot as plt  # noqa: F401  (the figure needs a canvas)

    xy = np.asarray(xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"xy must have shape (n, 2), got {xy.shape}")
    if len(labels) != len(xy):
        raise ValueError(f"got {len(labels)} labels for {len(xy)} points")
    colours = list(color) if isinstance(color, (list, tuple)) else [color] * len(xy)
    if len(colours) != len(xy):
        raise ValueError(f"got {len(colours)} colours for {len(xy)} labels: give one colour or one per label")
    fig = ax.figure
    fig.draw_without_rendering()  # final layout, so that display coordinates hold
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    points = ax.transData.transform(xy)
    margin = 9.0 * fig.dpi / 72  # around other points, in pixels
    dots = [(x - margin, y - margin, x + margin, y + margin) for x, y in points]
    # Spots beside the point (sliding up and down), then above and below it (sliding sideways),
    # in points: (dx, dy, horizontal alignment, vertical alignment).
    spots = []
    for away in (pad, 4 * pad, 8 * pad):
        for slide in (0, 7, -7, 14, -14, 21, -21, 28, -28, 36, -36, 45, -45):
            spots += [(away, slide, "left", "center"), (-away, slide, "right", "center")]
        for slide in (0, 20, -20, 40, -40, 60, -60):
            spots += [(slide, away + 2, "center", "bottom"), (slide, -away - 2, "center", "top")]
    gaps = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)
    np.fill_diagonal(gaps, np.inf)
    crowding = (gaps < 60 * fig.dpi / 72).sum(axis=1)
    # the points with the nearest neighbour first (they have the least room), then the most crowded
    order = sorted(range(len(xy)), key=lambda i: (gaps[i].min() if len(xy) > 1 else 0, -crowding[i], i))
    placed: list[tuple[float, float, float, float]] = []
    annotations: dict[int, object] = {}

    def overlap(a, b) -> float:
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return w * h if w > 0 and h > 0 else 0.0

    to_pixels = fig.dpi / 72
    for i in order:
        x, y = xy[i]
        px, py = points[i]
        probe = ax.annotate(str(labels[i]), (x, y), xytext=(0, 0), textcoords="offset points",
                            ha="left", va="bottom", fontsize=fontsize, color=colours[i])
        extent = probe.get_window_extent(renderer)
        probe.remove()
        width, height = extent.width, extent.height
        best = None
        for dx, dy, ha, va in spots:  # the label's box for each spot, without drawing it
            ax_ = px + dx * to_pixels
            ay_ = py + dy * to_pixels
            x0 = {"left": ax_, "right": ax_ - width, "center": ax_ - width / 2}[ha]
            y0 = {"bottom": ay_, "top": ay_ - height, "center": ay_ - height / 2}[va]
            box = (x0 - 1, y0 - 1, x0 + width + 1, y0 + height + 1)
            outside = (max(frame.x0 - box[0], 0) + max(box[2] - frame.x1, 0)
                       + max(frame.y0 - box[1], 0) + max(box[3] - frame.y1, 0))
            clash = (sum(overlap(box, other) for other in placed)
                     + sum(overlap(box, d) for j, d in enumerate(dots) if j != i) + 100 * outside)
            distance = abs(dx) + abs(dy)
            cost = clash * 1000 + distance
            if best is None or cost < best[0]:
                best = (cost, (dx, dy, ha, va), box, distance)
        _, (dx, dy, ha, va), box, distance = best
        text = ax.annotate(str(labels[i]), (x, y), xytext=(dx, dy), textcoords="offset points",
                           ha=ha, va=va, fontsize=fontsize, color=colours[i])
        best = (best[0], text, box, distance)
        _, text, box, distance = best
        if distance > pad + 8:  # a thin leader line from the point to the nearest edge of its label
            to_points = 72 / fig.dpi
            edge = ((min(max(px, box[0]), box[2]) - px) * to_points,
                    (min(max(py, box[1]), box[3]) - py) * to_points)
            ax.annotate("", (x, y), xytext=edge, textcoords="offset points",
                        arrowprops={"arrowstyle": "-", "lw": 0.5, "color": colours[i] or "grey",
                                    "shrinkA": 0, "shrinkB": 2})
        placed.append(box)
        annotations[i] = text
    return [annotations[i] for i in range(len(xy))]
