"""Side features of movies: genres as a multi-hot matrix, the release year, a user's genre profile.

MovieLens describes each movie by a ``|``-separated list of genres (``"Adventure|Animation|Children"``)
and a title that usually ends with the release year in parentheses (``"Toy Story (1995)"``). The deep
models of chapters 8 and 9 read them as numbers:

- :class:`GenreEncoder` turns genre lists into a multi-hot matrix, one column per genre of its
  vocabulary (fitted on the catalogue the model is trained with). ``"(no genres listed)"`` is an
  empty list, a row of zeros; a genre the encoder has never seen is an error (or, if asked, dropped).
- :class:`YearScaler` turns the release year into a standardised number, and a title without a year
  into 0 plus a flag saying that the year is missing.
- :func:`movie_features` builds both for every movie of an encoder (dense index order).
- :func:`genre_profile` is a user's share of each genre among a set of movies (their *bag*).
- :func:`main_genre` picks one genre per movie to colour a map with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "NO_GENRES",
    "SEPARATOR",
    "GenreEncoder",
    "YearScaler",
    "MovieFeatures",
    "split_genres",
    "movie_features",
    "genre_profile",
    "main_genre",
    "MAIN_GENRE_ORDER",
]

#: What MovieLens writes for a movie without genres.
NO_GENRES = "(no genres listed)"
#: The separator between genres in ``movies.csv``.
SEPARATOR = "|"

#: The order in which :func:`main_genre` looks for a movie's genre: specific, telling genres first,
#: the broad ones (which most movies carry) last. Nine groups, plus "other": ten colours on a map.
MAIN_GENRE_ORDER = ("Animation", "Children", "Horror", "Sci-Fi", "Crime", "Action", "Romance", "Comedy", "Drama")


def split_genres(genres) -> list[list[str]]:
    """Each genre string as a list of genres (``NO_GENRES`` and ``""`` give an empty list).

    Raises ``ValueError`` naming the rows whose genres are missing (NaN/None) or not text.
    """
    if isinstance(genres, str):
        raise TypeError(f"genres must be a sequence of genre strings (one per movie), got the single string "
                        f"{genres!r}: wrap it in a list")
    values = list(pd.Series(genres, dtype=object))
    bad = [i for i, v in enumerate(values) if not isinstance(v, str)]
    if bad:
        shown = ", ".join(f"row {i}: {values[i]!r}" for i in bad[:5])
        raise ValueError(f"{len(bad)} movie(s) have no genre text ({shown}); write {NO_GENRES!r} for a movie "
                         "without genres")
    out = []
    for value in values:
        parts = [p.strip() for p in value.split(SEPARATOR)]
        out.append([p for p in parts if p and p != NO_GENRES])
    return out


@dataclass(frozen=True)
class GenreEncoder:
    """A fixed genre vocabulary and the multi-hot matrix it gives.

    ``GenreEncoder.fit(movies["genres"])`` collects the distinct genres (sorted, without
    ``NO_GENRES``); ``transform`` returns a float32 matrix with one row per movie and one column per
    genre of the vocabulary, 1 where the movie has the genre. A movie without genres gets a row of
    zeros. A genre outside the vocabulary raises ``ValueError`` (``unknown="error"``, the default) or
    is left out (``unknown="ignore"``): a model trained on the vocabulary has no weight for it.
    """

    vocabulary: tuple[str, ...]

    @classmethod
    def fit(cls, genres: Iterable[str]) -> "GenreEncoder":
        """The encoder for the genres that occur in ``genres`` (one ``|``-separated string per movie)."""
        vocabulary = sorted({g for row in split_genres(genres) for g in row})
        if not vocabulary:
            raise ValueError(f"no genre found: every movie is {NO_GENRES!r} or empty, so there is nothing to "
                             "encode")
        return cls(tuple(vocabulary))

    def __len__(self) -> int:
        return len(self.vocabulary)

    def transform(self, genres: Iterable[str], unknown: str = "error") -> np.ndarray:
        """The multi-hot matrix (n_movies × n_genres, float32) of ``genres``."""
        if unknown not in ("error", "ignore"):
            raise ValueError(f"unknown must be 'error' or 'ignore', got {unknown!r}")
        rows = split_genres(genres)
        column = {g: j for j, g in enumerate(self.vocabulary)}
        unseen = sorted({g for row in rows for g in row if g not in column})
        if unseen and unknown == "error":
            first = next(i for i, row in enumerate(rows) if any(g in unseen for g in row))
            raise ValueError(f"genre(s) {unseen} are not in the vocabulary the encoder was fitted on "
                             f"({len(self.vocabulary)} genres: {', '.join(self.vocabulary)}); first in row {first}. "
                             "A model trained with this vocabulary has no weight for them: refit the encoder (and "
                             "the model) on data that has them, or pass unknown='ignore' to leave them out")
        out = np.zeros((len(rows), len(self.vocabulary)), dtype=np.float32)
        for i, row in enumerate(rows):
            for g in row:
                j = column.get(g)
                if j is not None:
                    out[i, j] = 1.0
        return out


@dataclass(frozen=True)
class YearScaler:
    """The release year as a model input: ``(year - mean) / sd``, and 0 with a flag when unknown.

    ``fit`` takes the years of the catalogue (NaN where a title has none) and keeps their mean and
    standard deviation; ``transform`` returns an (n, 2) float32 array: the standardised year (0, the
    average, when missing) and a missing-year flag (1.0 when the title had no year).
    """

    mean: float
    sd: float

    @classmethod
    def fit(cls, years) -> "YearScaler":
        y = np.asarray(years, dtype=np.float64).reshape(-1)
        known = y[np.isfinite(y)]
        if known.size == 0:
            raise ValueError("no release year to fit on: none of the titles ends with a year such as '(1995)'")
        sd = float(known.std())
        return cls(mean=float(known.mean()), sd=sd if sd > 0 else 1.0)

    def transform(self, years) -> np.ndarray:
        y = np.asarray(years, dtype=np.float64).reshape(-1)
        missing = ~np.isfinite(y)
        scaled = np.where(missing, 0.0, (np.where(missing, self.mean, y) - self.mean) / self.sd)
        return np.stack([scaled, missing.astype(np.float64)], axis=1).astype(np.float32)


@dataclass(frozen=True)
class MovieFeatures:
    """Side features of every movie of an encoder, in dense index order.

    ``genres`` is the multi-hot matrix (n_movies × n_genres), ``years`` the release years (NaN when
    the title has none), ``year`` the scaled year and missing flag (n_movies × 2). ``matrix`` puts
    them side by side: the input a model reads for each movie.
    """

    genres: np.ndarray
    years: np.ndarray
    year: np.ndarray
    genre_encoder: GenreEncoder
    year_scaler: YearScaler
    titles: np.ndarray

    @property
    def vocabulary(self) -> tuple[str, ...]:
        return self.genre_encoder.vocabulary

    @property
    def columns(self) -> list[str]:
        """Names of the columns of :attr:`matrix`."""
        return [*self.vocabulary, "year (scaled)", "year missing"]

    @property
    def matrix(self) -> np.ndarray:
        """Genres, scaled year and missing-year flag: n_movies × (n_genres + 2), float32."""
        return np.hstack([self.genres, self.year]).astype(np.float32)

    @property
    def n_movies(self) -> int:
        return len(self.genres)

    def table(self, index: Sequence[int]) -> pd.DataFrame:
        """A readable frame of some movies' features: title, genres present, year, missing flag."""
        idx = np.asarray(index, dtype=np.int64)
        names = np.array(self.vocabulary)
        return pd.DataFrame({
            "title": self.titles[idx],
            "genres": [", ".join(names[row > 0]) or "(none)" for row in self.genres[idx]],
            "year": [("" if not np.isfinite(y) else f"{y:.0f}") for y in self.years[idx]],
            "year (scaled)": self.year[idx, 0].round(2),
            "year missing": self.year[idx, 1].astype(int),
        }, index=pd.Index(idx, name="movie"))


def movie_features(encoded, movies: pd.DataFrame, genre_encoder: GenreEncoder | None = None,
                   year_scaler: YearScaler | None = None, unknown: str = "error") -> MovieFeatures:
    """Genres and release year of every movie of ``encoded`` (dense index order).

    ``movies`` is the movies table (``movieId``, ``title``, ``genres``). The genre vocabulary and the
    year's mean and spread are fitted on the movies of ``encoded`` unless an encoder and a scaler
    fitted elsewhere are passed (then a genre they have not seen raises, see
    :meth:`GenreEncoder.transform`). Metadata is not a label: using every catalogue movie's genres
    and year leaks nothing about the ratings to predict.
    """
    from .explore import release_year

    if not hasattr(encoded, "movies") or not hasattr(encoded.movies, "raw_ids"):
        raise TypeError(f"movie_features expects the result of data.encode_ids(ratings), got {type(encoded).__name__}")
    missing = [c for c in ("movieId", "title", "genres") if c not in getattr(movies, "columns", [])]
    if missing:
        raise ValueError(f"the movies table lacks the column(s) {missing}: pass the movies table of "
                         "data.load_movielens() (movieId, title, genres)")
    raw_ids = np.asarray(encoded.movies.raw_ids)
    info = movies.drop_duplicates("movieId").set_index("movieId")
    absent = np.setdiff1d(raw_ids, info.index.to_numpy())
    if absent.size:
        raise ValueError(f"{absent.size} rated movie id(s) are not in the movies table, e.g. {absent[:5].tolist()}: "
                         "every rated movie needs a row with its title and genres")
    info = info.loc[raw_ids]
    genre_encoder = genre_encoder or GenreEncoder.fit(info["genres"])
    genres = genre_encoder.transform(info["genres"], unknown=unknown)
    years = release_year(info["title"].to_numpy()).to_numpy(dtype=np.float64)
    year_scaler = year_scaler or YearScaler.fit(years)
    return MovieFeatures(genres=genres, years=years, year=year_scaler.transform(years), genre_encoder=genre_encoder,
                         year_scaler=year_scaler, titles=info["title"].to_numpy(dtype=object))


def genre_profile(bags, genres) -> np.ndarray:
    """Each user's share of each genre among the movies of their bag: (n_users, n_genres), float32.

    ``bags`` is a users × movies matrix (scipy sparse or dense; nonzero = in the bag), ``genres`` the
    multi-hot matrix of :class:`GenreEncoder` (movies × genres). A row is the mean genre vector of the
    user's movies, so a user whose movies are half comedies has 0.5 in the Comedy column. A user with
    an empty bag has no profile: ``ValueError`` names them.
    """
    import scipy.sparse as sp

    x = sp.csr_matrix(bags, dtype=np.float32)
    x.data = (x.data != 0).astype(np.float32)
    g = np.asarray(genres, dtype=np.float32)
    if g.ndim != 2 or g.shape[0] != x.shape[1]:
        raise ValueError(f"the bags cover {x.shape[1]} movies but the genre matrix has shape {g.shape}: pass the "
                         "multi-hot matrix of the same movies (one row per movie)")
    sizes = np.asarray(x.sum(axis=1)).reshape(-1)
    if np.any(sizes == 0):
        empty = np.flatnonzero(sizes == 0)
        raise ValueError(f"user(s) {empty[:5].tolist()} have an empty bag (no movie), so they have no genre profile; "
                         "recommend to them from popularity until they have rated a movie")
    return (np.asarray(x @ g) / sizes[:, None]).astype(np.float32)


def main_genre(genres, order: Sequence[str] = MAIN_GENRE_ORDER, other: str = "other") -> np.ndarray:
    """One genre per movie, for colouring a map: the first of ``order`` that the movie has, else ``other``.

    ``genres`` is a sequence of ``|``-separated genre strings. The default order puts specific genres
    (Animation, Horror, Documentary...) before the broad ones that most movies carry (Comedy, Drama),
    so that *Toy Story* is an animation rather than a comedy.
    """
    rows = split_genres(genres)
    rank = {g: i for i, g in enumerate(order)}
    out = []
    for row in rows:
        found = [g for g in row if g in rank]
        out.append(min(found, key=rank.__getitem__) if found else other)
    return np.array(out, dtype=object)

