"""Drawings of the course's models, made with matplotlib (kept as code, drawn when a chapter runs).

Each function draws one diagram on a new figure :data:`WIDTH` inches wide and returns its ``Axes``.
Their text is at least :data:`FONT` points, so that it stays at least 9 px high when a phone shows
the figure 360 px wide (see :func:`cfcourse.plots.smallest_text_px`). In a Jupyter kernel (a chapter
as the book executes it) the diagram is shown as SVG (:func:`svg`): sharp at any width, on a phone
and when zoomed; elsewhere it is left open for the caller, as any matplotlib figure.

- :func:`deep_model`: chapter 8's rating model, embeddings and side features side by side;
- :func:`bag_softmax`: chapter 9's bag of movies, averaged, and a softmax over every movie;
- :func:`windows_gru`: chapter 10's history, cut into a padded window, inputs and shifted targets,
  read by a GRU;
- :func:`causal_attention`: which positions causal self-attention lets each position read;
- :func:`als_steps`: chapter 11's ALS, its two alternating least-squares steps.
"""

from __future__ import annotations

from typing import Sequence

#: The width of every diagram, in inches (within :data:`cfcourse.plots.MAX_WIDTH`).
WIDTH = 5.0
#: The smallest text of a diagram, in points.
FONT = 10
#: Fill colours: inputs, learned layers, fixed values, outputs, padding.
COLOURS = {"input": "#dbe9f6", "layer": "#fde3c8", "fixed": "#e4e4e4", "output": "#d7f0d4", "pad": "#f4f4f4"}


def svg(ax) -> str:
    """The diagram drawn on ``ax`` (or a figure) as SVG text: its text drawn as paths, so that it looks
    the same without the fonts, and the same bytes on every run (fixed ids, no date)."""
    import io

    import matplotlib

    fig = getattr(ax, "figure", ax)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "cfcourse-diagrams"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def _shown(ax):
    """In a Jupyter kernel, show the diagram as SVG and close its figure, so that the inline backend
    does not show it a second time as a PNG; anywhere else leave it as it is. Returns ``ax``."""
    try:
        from IPython import get_ipython
    except ImportError:  # matplotlib without IPython
        return ax
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return ax
    import matplotlib.pyplot as plt
    from IPython.display import SVG, display

    display(SVG(svg(ax)))
    plt.close(ax.figure)
    return ax


def _canvas(height: float, width: float = WIDTH):
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _box(ax, x: float, y: float, text: str, w: float = 1.5, h: float = 0.5, kind: str = "layer",
         fontsize: float = FONT, **text_options):
    """A rounded box centred on (x, y) with its text in the middle; returns the box's edges."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0,rounding_size=0.08",
                                facecolor=COLOURS[kind], edgecolor="#444444", linewidth=0.9))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, color="#111111", **text_options)
    return {"top": (x, y + h / 2), "bottom": (x, y - h / 2), "left": (x - w / 2, y), "right": (x + w / 2, y)}


def _arrow(ax, start: Sequence[float], end: Sequence[float], colour: str = "#444444", style: str = "-|>"):
    ax.annotate("", xy=end, xytext=start,
                arrowprops={"arrowstyle": style, "lw": 1.0, "color": colour, "shrinkA": 1, "shrinkB": 1,
                            "mutation_scale": 10})


def _note(ax, x: float, y: float, text: str, **options):
    options = {"ha": "center", "va": "center", "fontsize": FONT, "color": "#333333", **options}
    return ax.text(x, y, text, **options)


def deep_model(user_dim: int = 16, movie_dim: int = 16, n_side: int = 21, hidden: int = 64):
    """Chapter 8's deep rating model: the user's and the movie's embeddings and the movie's side
    features (genres, scaled year), side by side, through a ReLU layer to one rating."""
    ax = _canvas(5.4)
    cols = (0.95, 2.5, 4.05)
    top = 5.0
    names = ("user id", "movie id", "movie's genres\nand year")
    for x, name in zip(cols, names):
        _box(ax, x, top, name, w=1.4, h=0.55 if "\n" in name else 0.45, kind="input")
    looked = [_box(ax, cols[0], 3.95, f"user\nembedding ({user_dim})", w=1.4, h=0.62),
              _box(ax, cols[1], 3.95, f"movie\nembedding ({movie_dim})", w=1.4, h=0.62),
              _box(ax, cols[2], 3.95, f"side features ({n_side})\nfixed, not learned", w=1.5, h=0.62, kind="fixed")]
    for x, box in zip(cols, looked):
        _arrow(ax, (x, top - 0.28), box["top"])
    joined = _box(ax, 2.5, 2.85, "side by side (concatenate)", w=3.6, h=0.45, kind="fixed")
    for box in looked:
        _arrow(ax, box["bottom"], (box["bottom"][0], joined["top"][1]))
    dense = _box(ax, 2.5, 1.95, f"dense layer, {hidden} units, ReLU", w=3.0, h=0.45)
    _arrow(ax, joined["bottom"], dense["top"])
    out = _box(ax, 2.5, 1.05, "1 unit, sigmoid, scaled to 0.5–5", w=3.0, h=0.45)
    _arrow(ax, dense["bottom"], out["top"])
    rating = _box(ax, 2.5, 0.3, "predicted rating", w=2.0, h=0.42, kind="output")
    _arrow(ax, out["bottom"], rating["top"])
    _note(ax, 4.55, 1.5, "learned", fontsize=FONT, color="#8a4b08")
    return _shown(ax)


def bag_softmax(embedding_dim: int = 32, hidden: int = 256):
    """Chapter 9's softmax recommender: the bag of movies a user rated before the cut, averaged
    through the movie embedding, next to the bag's genre shares; a hidden layer makes the user's
    vector; one logit per movie, and a softmax over all of them, is compared with the movies the
    user rated after the cut."""
    ax = _canvas(5.6)
    bag = _box(ax, 2.5, 5.2, "the movies a user rated before the cut (a bag)", w=4.6, h=0.45, kind="input")
    avg = _box(ax, 1.4, 4.2, f"their embedding rows\nsummed, ÷ √size ({embedding_dim})", w=2.3, h=0.62)
    genre = _box(ax, 3.85, 4.2, "share of each genre\nin the bag (fixed)", w=2.1, h=0.62, kind="fixed")
    _arrow(ax, (1.4, bag["bottom"][1]), avg["top"])
    _arrow(ax, (3.85, bag["bottom"][1]), genre["top"])
    dense = _box(ax, 2.5, 3.2, f"dense layer, {hidden} units, ReLU", w=3.2, h=0.45)
    _arrow(ax, avg["bottom"], (avg["bottom"][0], dense["top"][1]))
    _arrow(ax, genre["bottom"], (genre["bottom"][0], dense["top"][1]))
    user = _box(ax, 2.5, 2.35, f"the user's vector ({embedding_dim})", w=3.0, h=0.45)
    _arrow(ax, dense["bottom"], user["top"])
    logits = _box(ax, 2.5, 1.45, "one score per movie:\nuser vector · movie vector + bias", w=3.6, h=0.62)
    _arrow(ax, user["bottom"], logits["top"])
    target = _box(ax, 2.5, 0.4, "softmax, compared with the next\nmovies rated (the labels)", w=3.2, h=0.62,
                  kind="output")
    _arrow(ax, logits["bottom"], target["top"])
    return _shown(ax)


def _cells(ax, x0: float, y: float, labels: Sequence[str], kinds: Sequence[str], w: float = 0.62,
           h: float = 0.42) -> list[float]:
    """A row of square cells from x0; returns their centres."""
    centres = []
    for i, (label, kind) in enumerate(zip(labels, kinds)):
        x = x0 + i * w + w / 2
        _box(ax, x, y, label, w=w - 0.06, h=h, kind=kind)
        centres.append(x)
    return centres


def windows_gru(history: Sequence[str] = ("m1", "m2", "m3", "m4"), length: int = 6):
    """Chapter 10's steps: a viewing history is cut into a window of ``length`` movies, padded with
    0 at the front; the window without its last movie is the input, the window without its first
    movie is the target (shifted by one); a GRU reads the input left to right and predicts, at
    every position, the next movie."""
    history = list(history)
    if len(history) >= length:
        raise ValueError(f"draw a history shorter than the window ({length}) so that the padding shows, "
                         f"got {len(history)} movies")
    ax = _canvas(5.7)
    x0, w = 1.25, 0.6
    label_x = 0.05
    pad = length - len(history)
    _note(ax, label_x, 5.3, "history", ha="left")
    _cells(ax, x0 + pad * w, 5.3, history, ["input"] * len(history), w=w)
    window = ["0"] * pad + history
    kinds = ["pad"] * pad + ["input"] * len(history)
    _note(ax, label_x, 4.45, "window,\npadded", ha="left")
    _cells(ax, x0, 4.45, window, kinds, w=w)
    for i in range(len(history)):
        _arrow(ax, (x0 + (pad + i + 0.5) * w, 5.08), (x0 + (pad + i + 0.5) * w, 4.67))
    _note(ax, label_x, 3.55, "inputs", ha="left")
    inputs = _cells(ax, x0, 3.55, window[:-1], kinds[:-1], w=w)
    _note(ax, label_x, 2.45, "GRU", ha="left", fontweight="bold")
    _note(ax, label_x, 1.3, "targets\n(shifted)", ha="left")
    targets = _cells(ax, x0 + w, 1.3, window[1:], kinds[1:], w=w)
    cell = w - 0.14
    for i, (xi, xt) in enumerate(zip(inputs, targets)):
        _box(ax, xi, 2.45, "", w=cell, h=0.5)
        _arrow(ax, (xi, 3.33), (xi, 2.7))
        _arrow(ax, (xi, 2.2), (xt, 1.52))
        if i:
            _arrow(ax, (inputs[i - 1] + cell / 2, 2.45), (xi - cell / 2, 2.45))
    _note(ax, WIDTH / 2, 0.45, "each step predicts the next movie;\nthe padding (0) is masked")
    return _shown(ax)


def causal_attention(labels: Sequence[str] = ("m1", "m2", "m3", "m4", "m5")):
    """Which positions causal self-attention lets each position read: position t reads positions 1
    to t (filled), never a later one (crossed out), so that no position sees the movie it predicts."""
    n = len(labels)
    ax = _canvas(4.7)
    size, x0, y_top = 0.58, 1.75, 3.7
    for i in range(n):  # rows: the position that reads
        _note(ax, x0 - 0.15, y_top - i * size, f"position {i + 1} ({labels[i]})", ha="right")
        for j in range(n):  # columns: the position it may read
            allowed = j <= i
            _box(ax, x0 + j * size + size / 2, y_top - i * size, "✓" if allowed else "×", w=size - 0.06,
                 h=size - 0.06, kind="layer" if allowed else "pad",
                 fontsize=FONT + 1, fontweight="bold" if allowed else "normal")
    for j in range(n):
        _note(ax, x0 + j * size + size / 2, y_top + 0.5, labels[j])
    _note(ax, x0 + n * size / 2, y_top + 0.85, "may read the movie at position …")
    _note(ax, WIDTH / 2, 0.45, "✓ attends (weights sum to 1 over these)   × masked", color="#111111")
    return _shown(ax)


def als_steps():
    """ALS's two alternating steps: with the movie vectors fixed, each user's vector is a small
    least-squares problem of its own; then, with the user vectors fixed, each movie's vector is;
    repeat."""
    from matplotlib.patches import Rectangle

    ax = _canvas(5.6)

    def panel(y: float, solve_users: bool, title: str):
        _note(ax, WIDTH / 2, y + 1.95, title, fontweight="bold")
        # R (users x movies) ≈ U (users x k) times V transposed (k x movies)
        ax.add_patch(Rectangle((0.3, y), 1.6, 1.5, facecolor="#ffffff", edgecolor="#444444"))
        _note(ax, 0.85, y + 0.75, "ratings")
        _note(ax, 2.15, y + 0.75, "≈", fontsize=FONT + 4)
        u_kind, v_kind = ("layer", "fixed") if solve_users else ("fixed", "layer")
        ax.add_patch(Rectangle((2.45, y), 0.45, 1.5, facecolor=COLOURS[u_kind], edgecolor="#444444"))
        _note(ax, 2.675, y + 0.75, "X")
        ax.add_patch(Rectangle((3.1, y + 1.05), 1.6, 0.45, facecolor=COLOURS[v_kind], edgecolor="#444444"))
        _note(ax, 3.9, y + 1.275, "Yᵀ")
        if solve_users:
            ax.add_patch(Rectangle((0.3, y + 0.95), 1.6, 0.2, facecolor="none", edgecolor="#c0392b", lw=1.5))
            ax.add_patch(Rectangle((2.45, y + 0.95), 0.45, 0.2, facecolor="none", edgecolor="#c0392b", lw=1.5))
            _note(ax, 3.9, y + 0.45, "one user's row:\nsolve k × k", color="#c0392b")
        else:
            ax.add_patch(Rectangle((1.6, y), 0.2, 1.5, facecolor="none", edgecolor="#c0392b", lw=1.5))
            ax.add_patch(Rectangle((4.3, y + 1.05), 0.2, 0.45, facecolor="none", edgecolor="#c0392b", lw=1.5))
            _note(ax, 3.9, y + 0.45, "one movie's column:\nsolve k × k", color="#c0392b")

    panel(3.2, True, "step 1: movies Y fixed (grey), solve each user")
    panel(0.35, False, "step 2: users X fixed (grey), solve each movie")
    _arrow(ax, (4.88, 0.8), (4.88, 4.2), style="-|>")
    _note(ax, 4.68, 2.5, "repeat", rotation=90, ha="center")
    return _shown(ax)


__all__ = ["WIDTH", "FONT", "COLOURS", "deep_model", "bag_softmax", "windows_gru", "causal_attention", "als_steps"]
