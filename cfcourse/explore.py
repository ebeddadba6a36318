"""Reading trained embeddings: weights, PCA, per-movie tables, neighbours and plots (chapter 6).

Nothing here trains a model. The functions take a trained cfcourse model (or its weights as a
NumPy matrix) and the tables of :mod:`cfcourse.data`, and return plain NumPy arrays, pandas
frames or matplotlib ``Axes``.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd

from .plots import _axes, place_labels
from .svd import _as_matrix

__all__ = [
    "PCAResult",
    "embedding_matrix",
    "pca",
    "movie_table",
    "release_year",
    "extreme_movies",
    "cosine_neighbours",
    "find_movie",
    "embedding_heatmap",
    "variance_explained_plot",
    "scatter_titles",
]


# --------------------------------------------------------------------------------------
# Weights
# --------------------------------------------------------------------------------------


def embedding_matrix(model, layer_name: str = "movie_embedding") -> np.ndarray:
    """The weights of an embedding layer of a cfcourse model, as a ``(rows, dim)`` NumPy array.

    Works for ``keras.layers.Embedding`` and for :class:`cfcourse.models.SimpleEmbedding`
    (both keep their table in ``.embeddings``). Row ``i`` belongs to dense index ``i`` (see
    :func:`cfcourse.data.encode_ids`). The array is a copy: changing it does not change the model.
    """
    layer = None
    try:
        layer = model.get_layer(layer_name)
    except (ValueError, AttributeError):
        layer = getattr(model, layer_name, None)
    if layer is None:
        names = sorted(getattr(lay, "name", "?") for lay in getattr(model, "layers", []))
        raise ValueError(f"the model has no layer named {layer_name!r}; its layers are {names}")
    if not getattr(layer, "built", True) or not getattr(layer, "weights", None):
        raise ValueError(
            f"layer {layer_name!r} has no weights yet: train the model (or call it on a batch) first"
        )
    table = getattr(layer, "embeddings", None)
    if table is None:
        raise ValueError(f"layer {layer_name!r} ({type(layer).__name__}) is not an embedding layer")
    values = table.numpy() if hasattr(table, "numpy") else table
    matrix = np.array(values, dtype=np.float64, copy=True)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-d embedding table in {layer_name!r}, got shape {matrix.shape}")
    return matrix


# --------------------------------------------------------------------------------------
# PCA
# --------------------------------------------------------------------------------------


class PCAResult(NamedTuple):
    """What :func:`pca` returns (unpacks as ``scores, components, ratio``).

    - ``scores``: ``(rows, k)``, the coordinates of every row on the components;
    - ``components``: ``(k, dim)``, one unit-length principal axis per row, sorted by
      explained variance;
    - ``explained_variance_ratio``: ``(k,)``, each component's share of the total (sums to 1
      when all components are kept), descending.
    """

    scores: np.ndarray
    components: np.ndarray
    explained_variance_ratio: np.ndarray


def pca(matrix, center: bool = False, n_components: int | None = None) -> PCAResult:
    """Principal component analysis of the rows of ``matrix`` by singular value decomposition.

    ``center=False`` (the default) mirrors R's ``prcomp(center = FALSE)`` used by the blog
    post: the axes are then the directions of largest *mean square* around the origin, not
    around the mean row, and the "variance explained" is each squared singular value over
    their sum. With ``center=True`` the column means are subtracted first (classical PCA).
    In both cases ``scores @ components`` gives back the (centred) matrix when all
    components are kept.

    Signs: a principal axis ``v`` and ``-v`` are equally good. To make the output
    reproducible, each component is flipped so that its largest-magnitude loading is
    positive. This only makes one fit deterministic: a model trained from another seed
    learns another embedding, and which end of PC1 is "positive" there is arbitrary.
    """
    m = _as_matrix(matrix)
    if center:
        m = m - m.mean(axis=0, keepdims=True)
    rank_max = min(m.shape)
    if n_components is None:
        n_components = rank_max
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)):
        raise TypeError(f"n_components must be an integer or None, got {n_components!r}")
    if not 1 <= n_components <= rank_max:
        raise ValueError(f"n_components must be between 1 and {rank_max} for a {m.shape} matrix, "
                         f"got {n_components}")
    u, s, vt = np.linalg.svd(m, full_matrices=False)
    total = float(np.sum(s ** 2))
    if total == 0.0:
        raise ValueError("the matrix is all zeros (after centring): it has no variance to explain")
    # Deterministic signs: the largest |loading| of each component is positive.
    biggest = np.argmax(np.abs(vt), axis=1)
    signs = np.sign(vt[np.arange(vt.shape[0]), biggest])
    signs[signs == 0] = 1.0
    vt = vt * signs[:, None]
    u = u * signs[None, :]
    k = int(n_components)
    scores = u[:, :k] * s[:k]
    return PCAResult(scores=scores, components=vt[:k].copy(), explained_variance_ratio=s[:k] ** 2 / total)


# --------------------------------------------------------------------------------------
# Movie tables
# --------------------------------------------------------------------------------------

#: The book reads individual movies (their biases, components, neighbours) only when they have at
#: least this many ratings, i.e. more than 20, the blog post's filter: below that, what a model
#: learned about a movie rests on a handful of people.
MIN_RATINGS = 21

_YEAR = re.compile(r"\((\d{4})(?:\s*[-–]\s*\d{0,4}\s*)?\)\s*$")


def release_year(titles) -> pd.Series:
    """The year in parentheses at the end of each MovieLens title, as floats (NaN when absent).

    ``"Toy Story (1995)"`` gives 1995.0; ``"Babylon 5"`` gives NaN.
    """
    titles = pd.Series(titles)
    years = titles.astype(str).str.strip().str.extract(_YEAR, expand=False)
    return pd.to_numeric(years, errors="coerce").astype("float64").rename("year")


_ARTICLE = re.compile(r"^(?P<body>.+?), (?P<article>The|A|An|Les|Le|La|L'|Los|Las|El|Il|Lo|Die|Der|Das|Den|Det|"
                      r"De|Het|Ein|Eine|Une|Un)$")
_PARENS = re.compile(r"\s*\(([^()]*)\)\s*$")


def _article_first(text: str) -> str:
    match = _ARTICLE.match(text.strip())
    if not match:
        return text.strip()
    article, body = match.group("article"), match.group("body")
    return f"{article}{body}" if article.endswith("'") else f"{article} {body}"


def natural_title(title: str, year: bool = True, alternative: bool = True) -> str:
    """A MovieLens title as it reads in a sentence: the article moved back to the front.

    ``"Shawshank Redemption, The (1994)"`` gives ``"The Shawshank Redemption (1994)"``, and
    ``"Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)"`` gives
    ``"Amelie (Le Fabuleux destin d'Amélie Poulain) (2001)"``. ``year=False`` drops the year, and
    ``alternative=False`` drops alternative titles in parentheses (``"Seven (a.k.a. Se7en)"`` gives
    ``"Seven"``), for short labels.
    """
    text = str(title).strip()
    found_year = ""
    match = _YEAR.search(text)
    if match:
        found_year, text = match.group(0).strip(), text[: match.start()].rstrip()
    others = []
    while (inner := _PARENS.search(text)) and inner.start() > 0:
        others.insert(0, _article_first(inner.group(1)))
        text = text[: inner.start()].rstrip()
    parts = [_article_first(text)]
    if alternative:
        parts += [f"({other})" for other in others]
    if year and found_year:
        parts.append(found_year)
    return " ".join(parts)


def table_for_reading(frame: pd.DataFrame, precision: int = 2, hide_index: bool = False):
    """A movie table as a reader should see it: titles as they read (:func:`natural_title`),
    genres separated by commas, numbers with ``precision`` decimals, counts as whole numbers,
    no cell cut short.

    Returns a pandas ``Styler`` (the notebook shows it as a table); the frame is not changed.
    """
    shown = frame.copy()
    if "title" in shown.columns:
        shown["title"] = shown["title"].map(natural_title)
    if "genres" in shown.columns:  # "Action|Adventure" wraps on a narrow screen as "Action, Adventure"
        shown["genres"] = shown["genres"].astype(str).str.replace("|", ", ", regex=False)
    styler = shown.style.format(precision=precision, thousands=",")
    counts = [c for c in shown.columns if pd.api.types.is_integer_dtype(shown[c])]
    if counts:
        styler = styler.format("{:,}", subset=counts)
    return styler.hide(axis="index") if hide_index else styler


def movie_table(encoded, movies: pd.DataFrame) -> pd.DataFrame:
    """One row per dense movie index (0 … n_movies-1): movieId, title, genres, n_ratings, mean_rating.

    ``encoded`` is the result of :func:`cfcourse.data.encode_ids`; the counts and means are
    taken from all of its ratings (training and validation). ``movies`` is the movies table
    of :func:`cfcourse.data.load_movielens`.
    """
    for attr in ("ratings", "movies"):
        if not hasattr(encoded, attr):
            raise TypeError("movie_table expects the result of data.encode_ids(ratings) as `encoded`")
    missing = [c for c in ("movieId", "title", "genres") if c not in movies.columns]
    if missing:
        raise ValueError(f"the movies table lacks the column(s) {missing}; it has {list(movies.columns)}")
    raw_ids = np.asarray(encoded.movies.raw_ids)
    n = len(raw_ids)
    ratings = encoded.ratings
    counts = np.bincount(ratings["movie"].to_numpy(), minlength=n)
    sums = np.bincount(ratings["movie"].to_numpy(), weights=ratings["rating"].to_numpy(dtype=np.float64),
                       minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    info = movies.drop_duplicates("movieId").set_index("movieId")
    unknown = np.setdiff1d(raw_ids, info.index.to_numpy())
    if unknown.size:
        raise ValueError(f"{unknown.size} rated movie id(s) are not in the movies table, e.g. "
                         f"{unknown[:5].tolist()}: pass the movies table of the same data set")
    info = info.loc[raw_ids]
    table = pd.DataFrame({
        "movieId": raw_ids.astype(np.int64),
        "title": info["title"].to_numpy(),
        "genres": info["genres"].to_numpy(),
        "n_ratings": counts.astype(np.int64),
        "mean_rating": means,
    })
    table.index.name = "movie"
    return table


def _check_scores_table(scores, table: pd.DataFrame) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim == 1:
        s = s[:, None]
    if s.ndim != 2:
        raise ValueError(f"scores must be 1-d or 2-d (movies × components), got shape {s.shape}")
    if len(s) != len(table):
        raise ValueError(f"scores has {len(s)} rows but the movie table has {len(table)}: "
                         "both must have one row per dense movie index")
    return s


def extreme_movies(scores, table: pd.DataFrame, component: int, n: int = 10,
                   min_ratings: int = MIN_RATINGS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``n`` movies with the lowest and the ``n`` with the highest score on one component.

    ``component`` is a 0-based column of ``scores`` (0 = PC1). Only movies with at least
    ``min_ratings`` ratings take part; the default :data:`MIN_RATINGS` keeps the movies rated
    *more than 20 times*, as in the blog post. Returns ``(lowest, highest)``: two frames with the columns
    title, genres, mean_rating, n_ratings and the score (named ``PC1``, ``PC2``, …),
    ``lowest`` sorted from the lowest score up and ``highest`` from the highest down.
    """
    s = _check_scores_table(scores, table)
    if isinstance(component, bool) or not isinstance(component, (int, np.integer)):
        raise TypeError(f"component must be an integer column index (0 = PC1), got {component!r}")
    if not 0 <= component < s.shape[1]:
        raise ValueError(f"component must be between 0 and {s.shape[1] - 1} (0 = PC1), got {component}")
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    for col in ("title", "genres", "n_ratings", "mean_rating"):
        if col not in table.columns:
            raise ValueError(f"the movie table lacks the column {col!r}; build it with movie_table()")
    name = f"PC{component + 1}"
    frame = table[["title", "genres", "mean_rating", "n_ratings"]].copy()
    frame[name] = s[:, component]
    frame = frame[frame["n_ratings"].to_numpy() >= min_ratings]
    if frame.empty:
        raise ValueError(f"no movie has at least {min_ratings} ratings")
    ordered = frame.sort_values(name, kind="mergesort")
    lowest = ordered.head(n)
    highest = ordered.iloc[::-1].head(n)
    return lowest, highest


# --------------------------------------------------------------------------------------
# Neighbours and look-ups
# --------------------------------------------------------------------------------------


def cosine_neighbours(matrix, index: int, k: int = 10, exclude_self: bool = True,
                      candidates=None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` rows most similar to row ``index`` by cosine similarity, most similar first.

    Cosine similarity is ``x·y / (|x| |y|)``: it compares directions and ignores lengths.
    ``candidates`` (optional) restricts the search to some rows: a boolean mask with one
    entry per row, or an array of row indices. Rows of length zero have no direction and are
    never returned. Returns ``(indices, similarities)``, two arrays of length ``k``.
    Ties are broken by the lower index.
    """
    m = _as_matrix(matrix)
    n = m.shape[0]
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"index must be an integer row number, got {index!r}")
    if not 0 <= index < n:
        raise IndexError(f"index {index} is out of range: the matrix has rows 0 … {n - 1}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    norms = np.linalg.norm(m, axis=1)
    if norms[index] == 0:
        raise ValueError(f"row {index} is a zero vector: it has no direction, so cosine similarity "
                         "is undefined for it")
    pool = np.ones(n, dtype=bool)
    if candidates is not None:
        cand = np.asarray(candidates)
        if cand.dtype == bool:
            if cand.shape != (n,):
                raise ValueError(f"a boolean candidates mask needs {n} entries, got shape {cand.shape}")
            pool = cand.copy()
        else:
            cand = cand.astype(np.int64).reshape(-1)
            if cand.size and (cand.min() < 0 or cand.max() >= n):
                raise IndexError(f"candidates must be row numbers between 0 and {n - 1}")
            pool = np.zeros(n, dtype=bool)
            pool[cand] = True
    if exclude_self:
        pool[index] = False
    pool &= norms > 0
    available = int(pool.sum())
    if k > available:
        raise ValueError(f"asked for k={k} neighbours but only {available} candidate rows are available")
    sims = (m @ m[index]) / (np.maximum(norms, np.finfo(float).tiny) * norms[index])
    rows = np.flatnonzero(pool)
    order = np.lexsort((rows, -sims[rows]))[:k]
    chosen = rows[order]
    return chosen, sims[chosen]


def find_movie(table: pd.DataFrame, title_substring: str) -> int:
    """The dense index of the one movie whose title contains ``title_substring`` (case-insensitive).

    An exact (case-insensitive) title match wins over partial matches, so ``"Alien (1979)"``
    finds that film even though "Aliens (1986)" also contains "Alien". Raises ``KeyError`` when
    nothing matches, and ``ValueError`` listing the candidates when several do.
    """
    if not isinstance(title_substring, str) or not title_substring.strip():
        raise ValueError("title_substring must be a non-empty string, e.g. 'Toy Story (1995)'")
    if "title" not in table.columns:
        raise ValueError("the table has no 'title' column; build it with movie_table()")
    titles = table["title"].astype(str)
    wanted = title_substring.strip().lower()
    exact = titles.str.lower() == wanted
    if exact.sum() == 1:
        return int(table.index[np.flatnonzero(exact.to_numpy())[0]])
    hits = titles.str.lower().str.contains(wanted, regex=False).to_numpy()
    if exact.sum() > 1:
        hits = exact.to_numpy()
    if hits.sum() == 0:
        raise KeyError(f"no movie title contains {title_substring!r}; check the spelling (MovieLens "
                       "writes e.g. 'Matrix, The (1999)')")
    if hits.sum() > 1:
        found = titles[hits]
        shown = "; ".join(found.head(8).tolist()) + (" …" if len(found) > 8 else "")
        raise ValueError(f"{len(found)} titles contain {title_substring!r}: {shown}. "
                         "Make the text longer, e.g. add the year in parentheses.")
    return int(table.index[np.flatnonzero(hits)[0]])


# --------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------


def embedding_heatmap(matrix, rows, ax=None, labels: Sequence[str] | None = None, colorbar: bool = True):
    """Heat map of some rows of an embedding matrix: one row per item, one column per dimension.

    The colour scale is symmetric around zero (blue negative, red positive). ``rows`` are
    row indices (or a slice); ``labels`` optionally names them on the y axis.
    """
    m = _as_matrix(matrix)
    picked = m[rows] if isinstance(rows, slice) else m[np.asarray(rows, dtype=np.int64).reshape(-1)]
    if picked.shape[0] == 0:
        raise ValueError("rows selects no row of the matrix")
    ax = _axes(ax, figsize=(5.0, 0.24 * picked.shape[0] + 1.9))
    limit = float(np.abs(picked).max()) or 1.0
    image = ax.imshow(picked, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_xlabel("embedding dimension")
    if labels is not None:
        if len(labels) != picked.shape[0]:
            raise ValueError(f"got {len(labels)} labels for {picked.shape[0]} rows")
        ax.set_yticks(np.arange(picked.shape[0]), labels=list(labels), fontsize="small")
    else:
        ax.set_ylabel("movie")
    if colorbar:  # below the map, so that the cells keep the figure's width
        ax.figure.colorbar(image, ax=ax, label="weight", location="bottom", shrink=0.8, aspect=30)
    return ax


def variance_explained_plot(ratio, ax=None, cumulative: bool = True):
    """Bar chart of each principal component's share of the variance (a scree plot).

    With ``cumulative=True`` the running total is drawn as a line on a second y axis.
    """
    r = np.asarray(ratio, dtype=np.float64).reshape(-1)
    if r.size == 0 or not np.isfinite(r).all() or (r < 0).any():
        raise ValueError("ratio must be a non-empty array of non-negative shares")
    ax = _axes(ax)
    x = np.arange(1, r.size + 1)
    ax.bar(x, r, color="tab:blue", width=0.8)
    ax.set_xlabel("principal component")
    ax.set_ylabel("share of variance")
    ax.set_title("Variance explained per component")
    if cumulative:
        twin = ax.twinx()
        twin.plot(x, np.cumsum(r), color="tab:orange", lw=1.5)
        twin.set_ylim(0, 1.02)
        twin.set_ylabel("cumulative share", color="tab:orange")
    return ax


def scatter_titles(scores2d, labels: Sequence[str], ax=None, fontsize: str = "small"):
    """Scatter plot of 2-d coordinates (e.g. PC1 vs PC2), each point labelled with its title.

    The labels are placed where they overlap neither each other nor the points
    (:func:`cfcourse.plots.place_labels`), long ones on two lines; the axes leave room for them.
    """
    s = _as_matrix(scores2d, "scores2d")
    if s.shape[1] != 2:
        raise ValueError(f"scores2d must have two columns (x, y), got shape {s.shape}")
    if len(labels) != len(s):
        raise ValueError(f"got {len(labels)} labels for {len(s)} points")
    ax = _axes(ax, figsize=(5.0, 5.6))
    ax.axhline(0, color="grey", lw=0.6)
    ax.axvline(0, color="grey", lw=0.6)
    ax.scatter(s[:, 0], s[:, 1], s=14, color="tab:blue", zorder=3)
    ax.set_xlabel("PC1")
    ax.set_ylabel("PC2")
    (x0, x1), (y0, y1) = (s[:, 0].min(), s[:, 0].max()), (s[:, 1].min(), s[:, 1].max())
    ax.set_xlim(x0 - 0.4 * (x1 - x0), x1 + 0.4 * (x1 - x0))
    ax.set_ylim(y0 - 0.15 * (y1 - y0), y1 + 0.15 * (y1 - y0))
    import textwrap

    # long titles on two lines: narrower labels find free room more easily
    wrapped = [textwrap.fill(str(label), 18, break_on_hyphens=False) for label in labels]
    place_labels(ax, s, wrapped, fontsize=fontsize)
    return ax
