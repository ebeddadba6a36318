"""Find, verify, load, validate, re-index and split the MovieLens ml-latest-small data.

The course reads the data from, in this order:

1. an explicit folder passed as ``data_dir``;
2. the folder named by the environment variable ``CFCOURSE_DATA``;
3. the per-user cache folder (``CFCOURSE_CACHE`` or the platform's cache directory);
4. a download of the official archive into that cache.

Every CSV file is checked against its published SHA-256 before it is used. Nothing is ever
written next to the data in (1) or (2); the cache in (3) only ever receives complete,
verified files.

Schemas
-------
``ratings``: ``userId`` (int64), ``movieId`` (int64), ``rating`` (float64), ``timestamp`` (int64)
``movies``: ``movieId`` (int64), ``title`` (str), ``genres`` (str, ``|``-separated)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

ARCHIVE_URL = "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"
DATASET_NAME = "ml-latest-small"
ENV_DATA = "CFCOURSE_DATA"
ENV_CACHE = "CFCOURSE_CACHE"
ENV_URL = "CFCOURSE_DATA_URL"

#: SHA-256 of the official files of ml-latest-small (the September 2018 release).
SHA256: Mapping[str, str] = {
    "ratings.csv": "aa289ca83157595d0df6aea1be6a4ded676ddc4385472e8313a8ed9805352646",
    "movies.csv": "5a5f32dd9bb3797b8e728a1b98958789d2b13f294a69fdfbc5727f8a9611aa07",
    "tags.csv": "92a9f8bb7916dceef6151209845788c3643f794dfa79d1feaec7121b5960399d",
    "links.csv": "97ad18e4e56a09363c65676b6cb3482ce3e2cea2372a24620c1599c843325f31",
}
#: The files the course reads (tags and links are cached and verified, never required).
REQUIRED = ("ratings.csv", "movies.csv")

RATING_SCALE = (0.5, 5.0)
RATINGS_COLUMNS = ("userId", "movieId", "rating")


class DataError(Exception):
    """Base class of every data problem the course reports."""


class DataNotFoundError(DataError, FileNotFoundError):
    """The data could be found neither locally nor by download."""


class ChecksumError(DataError):
    """A file's SHA-256 does not match the official one."""


class DownloadError(DataError):
    """The official archive could not be downloaded or unpacked."""


class RatingsValidationError(DataError, ValueError):
    """A ratings frame does not follow the schema the course expects."""


# --------------------------------------------------------------------------------------
# Where the data lives
# --------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """The per-user cache folder that holds a downloaded copy (not created here)."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("cfcourse"))


def _how_to_provide() -> str:
    return (
        "Provide the MovieLens ml-latest-small data in one of three ways:\n"
        "  1. pass the folder that holds ratings.csv and movies.csv: load_movielens('path/to/ml-latest-small');\n"
        f"  2. set the environment variable {ENV_DATA} to that folder;\n"
        f"  3. let the course download the official archive ({ARCHIVE_URL}) into {cache_dir()}\n"
        "     (needs a network connection; unzip it there yourself if you downloaded it elsewhere)."
    )


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: str | os.PathLike, name: str | None = None) -> Path:
    """Check a MovieLens file against its official SHA-256 and return its path.

    Raises :class:`ChecksumError` naming the file and what to do when it differs.
    """
    path = Path(path)
    name = name or path.name
    expected = SHA256.get(name)
    if expected is None:
        raise ValueError(f"{name!r} is not a file of {DATASET_NAME}; known files: {sorted(SHA256)}")
    actual = sha256_of(path)
    if actual != expected:
        raise ChecksumError(
            f"{path} is not the official {DATASET_NAME} {name}: its SHA-256 is {actual}, "
            f"expected {expected}. The file is damaged or from another release. "
            f"Replace it with the file from {ARCHIVE_URL}"
            + (" (or delete the cache folder to download it again)." if _is_in_cache(path) else ".")
        )
    return path


def _is_in_cache(path: Path) -> bool:
    try:
        path.resolve().relative_to(cache_dir().resolve())
        return True
    except ValueError:
        return False


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in REQUIRED)


def find_data_dir(data_dir: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """Return the folder holding ``ratings.csv`` and ``movies.csv``, downloading if needed.

    The order is: ``data_dir``; ``$CFCOURSE_DATA``; the cache; a download into the cache.
    An explicit folder or ``$CFCOURSE_DATA`` that lacks the files is an error (the course
    does not silently fall back to other data than the one you named).
    """
    for source, value in (("data_dir", data_dir), (ENV_DATA, os.environ.get(ENV_DATA))):
        if value is None or str(value) == "":
            continue
        folder = Path(value).expanduser()
        if folder.is_dir() and not _complete(folder) and _complete(folder / DATASET_NAME):
            folder = folder / DATASET_NAME
        if not _complete(folder):
            missing = [n for n in REQUIRED if not (folder / n).is_file()]
            raise DataNotFoundError(
                f"{source} points at {folder}, but it has no {', '.join(missing)}.\n" + _how_to_provide()
            )
        return folder
    cached = cache_dir() / DATASET_NAME
    if _complete(cached):
        return cached
    if not download:
        raise DataNotFoundError("The MovieLens data is not on this machine.\n" + _how_to_provide())
    return download_movielens()


# --------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------


def download_movielens(url: str | None = None, cache: str | os.PathLike | None = None,
                       timeout: float = 60.0) -> Path:
    """Download the official archive, verify every file and install it in the cache.

    The archive is fetched into a temporary folder inside the cache; only the four known
    CSV files are taken from it (never other members, so a hostile archive cannot write
    elsewhere), each is verified, and only then is the folder moved into place. On any
    failure nothing is left behind and an existing cached copy is untouched.
    """
    import pooch
    import requests

    url = url or os.environ.get(ENV_URL) or ARCHIVE_URL
    root = Path(cache) if cache is not None else cache_dir()
    target = root / DATASET_NAME
    created_root = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".partial-", dir=root))
    try:
        archive = work / "archive.zip"
        downloader = pooch.HTTPDownloader(progressbar=False, timeout=timeout)
        try:
            downloader(url, str(archive), None)
        except requests.exceptions.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else "an error"
            raise DownloadError(
                f"The server answered {status} for {url}; nothing was saved.\n" + _how_to_provide()
            ) from None
        except (requests.exceptions.RequestException, OSError) as exc:
            raise DownloadError(
                f"Could not download {url} ({type(exc).__name__}: the connection failed or was cut); "
                "nothing was saved. Check your network connection and try again.\n" + _how_to_provide()
            ) from None
        unpacked = work / DATASET_NAME
        unpacked.mkdir()
        try:
            with zipfile.ZipFile(archive) as zf:
                members = {Path(info.filename).name: info for info in zf.infolist()
                           if not info.is_dir() and Path(info.filename).name in SHA256}
                missing = [n for n in REQUIRED if n not in members]
                if missing:
                    raise DownloadError(
                        f"The archive from {url} has no {', '.join(missing)}; it is not {DATASET_NAME}."
                    )
                for name, info in members.items():
                    with zf.open(info) as src, open(unpacked / name, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
        except zipfile.BadZipFile:
            raise DownloadError(
                f"The file downloaded from {url} is not a valid zip archive (truncated or damaged). "
                "Try again.\n" + _how_to_provide()
            ) from None
        for name in members:
            try:
                verify_file(unpacked / name, name)
            except ChecksumError as exc:
                raise ChecksumError(
                    f"The downloaded {name} does not match the official SHA-256; nothing was saved. "
                    f"({exc})"
                ) from None
        if target.exists():
            shutil.rmtree(target)
        os.replace(unpacked, target)
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if created_root and root.is_dir() and not any(root.iterdir()):
            root.rmdir()


# --------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MovieLens:
    """The ratings and movies tables, and the folder they were read from."""

    ratings: pd.DataFrame
    movies: pd.DataFrame
    source: Path


def load_movielens(data_dir: str | os.PathLike | None = None, *, download: bool = True,
                   verify: bool = True) -> MovieLens:
    """Load ml-latest-small as two DataFrames (see the module docstring for the schema).

    ``data_dir`` overrides ``$CFCOURSE_DATA``; with neither, the cache is used and, if it is
    empty and ``download`` is true, the official archive is downloaded into it.
    """
    folder = find_data_dir(data_dir, download=download)
    if verify:
        for name in REQUIRED:
            verify_file(folder / name, name)
    ratings = pd.read_csv(folder / "ratings.csv",
                          dtype={"userId": "int64", "movieId": "int64", "rating": "float64",
                                 "timestamp": "int64"})
    movies = pd.read_csv(folder / "movies.csv", dtype={"movieId": "int64", "title": str, "genres": str})
    validate_ratings(ratings)
    return MovieLens(ratings=ratings, movies=movies, source=folder)


def _first_rows(frame: pd.DataFrame, mask: pd.Series | np.ndarray, n: int = 5) -> str:
    rows = frame.loc[np.asarray(mask)].head(n)
    return rows.to_string()


def validate_ratings(ratings: pd.DataFrame, scale: tuple[float, float] = RATING_SCALE) -> pd.DataFrame:
    """Check a ratings frame and return it unchanged, or raise :class:`RatingsValidationError`.

    The frame needs columns ``userId``, ``movieId`` (integers) and ``rating`` (numbers within
    ``scale``), at least one row, no missing values and no repeated (user, movie) pair. Each
    error names the column and shows the first offending rows. Extra columns are allowed.
    """
    if not isinstance(ratings, pd.DataFrame):
        raise RatingsValidationError(
            f"Expected a pandas DataFrame of ratings, got {type(ratings).__name__}."
        )
    missing = [c for c in RATINGS_COLUMNS if c not in ratings.columns]
    if missing:
        raise RatingsValidationError(
            f"The ratings frame lacks the column(s) {missing}; it has {list(ratings.columns)}. "
            "Rename your columns to userId, movieId and rating."
        )
    if len(ratings) == 0:
        raise RatingsValidationError("The ratings frame is empty: there is nothing to learn from.")
    for col in RATINGS_COLUMNS:
        na = ratings[col].isna()
        if na.any():
            raise RatingsValidationError(
                f"Column {col!r} has {int(na.sum())} missing value(s); first rows:\n"
                f"{_first_rows(ratings, na)}\nDrop or fill them before training."
            )
    for col in ("userId", "movieId"):
        series = ratings[col]
        if not pd.api.types.is_integer_dtype(series.dtype):
            if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
                bad = series != np.floor(series)
                if bad.any():
                    raise RatingsValidationError(
                        f"Column {col!r} must hold whole-number ids, but some are fractional; first rows:\n"
                        f"{_first_rows(ratings, bad)}"
                    )
                raise RatingsValidationError(
                    f"Column {col!r} must have an integer dtype, got {series.dtype}. "
                    f"Convert it with ratings[{col!r}] = ratings[{col!r}].astype('int64')."
                )
            raise RatingsValidationError(
                f"Column {col!r} must hold integer ids, got dtype {series.dtype} "
                f"(for example {series.iloc[0]!r}). Map your ids to integers first."
            )
    rating = ratings["rating"]
    if not pd.api.types.is_numeric_dtype(rating.dtype) or pd.api.types.is_bool_dtype(rating.dtype):
        raise RatingsValidationError(
            f"Column 'rating' must be numeric, got dtype {rating.dtype} (for example {rating.iloc[0]!r})."
        )
    lo, hi = scale
    out = (rating < lo) | (rating > hi)
    if out.any():
        raise RatingsValidationError(
            f"Column 'rating' has {int(out.sum())} value(s) outside the scale [{lo}, {hi}]; first rows:\n"
            f"{_first_rows(ratings, out)}\nFix the values or pass scale=(min, max) for another scale."
        )
    dup = ratings.duplicated(subset=["userId", "movieId"], keep=False)
    if dup.any():
        raise RatingsValidationError(
            f"{int(dup.sum())} rows repeat a (userId, movieId) pair; first rows:\n"
            f"{_first_rows(ratings, dup)}\nKeep one rating per pair, e.g. "
            "ratings.drop_duplicates(['userId', 'movieId'], keep='last')."
        )
    return ratings


# --------------------------------------------------------------------------------------
# Re-indexing, splitting, summarising
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdEncoder:
    """A dense 0..n-1 index for a set of raw ids, with lookups both ways."""

    name: str
    raw_ids: np.ndarray  # sorted unique raw ids; position = dense index

    @classmethod
    def fit(cls, values: pd.Series | np.ndarray, name: str = "id") -> "IdEncoder":
        return cls(name=name, raw_ids=np.unique(np.asarray(values)))

    def __len__(self) -> int:
        return len(self.raw_ids)

    def encode(self, values) -> np.ndarray:
        """Raw ids → dense indices; raises ``KeyError`` naming unknown ids."""
        values = np.asarray(values)
        idx = np.searchsorted(self.raw_ids, values)
        idx_clipped = np.minimum(idx, len(self.raw_ids) - 1)
        unknown = self.raw_ids[idx_clipped] != values
        if unknown.any():
            first = np.unique(values[unknown])[:5].tolist()
            raise KeyError(f"unknown {self.name}(s) {first}: they were not in the data the encoder was fitted on")
        return idx_clipped.astype(np.int64)

    def decode(self, indices) -> np.ndarray:
        """Dense indices → raw ids."""
        indices = np.asarray(indices)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self.raw_ids)):
            raise IndexError(f"{self.name} index out of range 0..{len(self.raw_ids) - 1}")
        return self.raw_ids[indices]


@dataclass(frozen=True)
class Encoded:
    """Ratings with dense ``user`` and ``movie`` columns, and the two encoders."""

    ratings: pd.DataFrame
    users: IdEncoder
    movies: IdEncoder

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_movies(self) -> int:
        return len(self.movies)


def encode_ids(ratings: pd.DataFrame) -> Encoded:
    """Validate ``ratings`` and add dense ``user`` and ``movie`` indices (0-based).

    Movie ids in ml-latest-small run up to 193,609 for 9,724 movies: an embedding table
    indexed by raw id would be twenty times larger than needed, so both ids are mapped to
    consecutive integers in increasing order of the raw id.
    """
    validate_ratings(ratings)
    users = IdEncoder.fit(ratings["userId"], "userId")
    movies = IdEncoder.fit(ratings["movieId"], "movieId")
    out = ratings.copy()
    out["user"] = users.encode(ratings["userId"].to_numpy())
    out["movie"] = movies.encode(ratings["movieId"].to_numpy())
    return Encoded(ratings=out, users=users, movies=movies)


@dataclass(frozen=True)
class Split:
    """A train/validation split ready for Keras.

    ``x_*`` are ``int32`` arrays of shape (n, 2) holding (user, movie) dense indices;
    ``y_*`` are ``float32`` ratings of shape (n,).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    n_users: int
    n_movies: int
    min_rating: float
    max_rating: float
    train_index: np.ndarray = field(repr=False)
    valid_index: np.ndarray = field(repr=False)

    @property
    def global_mean(self) -> float:
        return float(self.y_train.mean())


def split_ratings(encoded: Encoded, valid_fraction: float = 0.2, seed: int = 42) -> Split:
    """Shuffle the ratings with ``seed`` and hold out ``valid_fraction`` of them for validation.

    As in the post, the split is over ratings, not users: most users and movies appear in
    both parts, but some movies are only in the validation part.
    """
    if not isinstance(encoded, Encoded):
        raise TypeError("split_ratings expects the result of encode_ids(ratings)")
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(f"valid_fraction must be strictly between 0 and 1, got {valid_fraction}")
    n = len(encoded.ratings)
    n_valid = int(round(n * valid_fraction))
    if n_valid == 0 or n_valid == n:
        raise ValueError(
            f"With {n} ratings, valid_fraction={valid_fraction} leaves an empty train or validation part."
        )
    order = np.random.default_rng(seed).permutation(n)
    train_index, valid_index = np.sort(order[: n - n_valid]), np.sort(order[n - n_valid:])
    x = encoded.ratings[["user", "movie"]].to_numpy(dtype=np.int32)
    y = encoded.ratings["rating"].to_numpy(dtype=np.float32)
    return Split(
        x_train=x[train_index], y_train=y[train_index],
        x_valid=x[valid_index], y_valid=y[valid_index],
        n_users=encoded.n_users, n_movies=encoded.n_movies,
        min_rating=float(y.min()), max_rating=float(y.max()),
        train_index=train_index, valid_index=valid_index,
    )


def summarize(ratings: pd.DataFrame) -> pd.Series:
    """Counts and sparsity of a ratings frame, as a labelled Series."""
    validate_ratings(ratings)
    n_users = ratings["userId"].nunique()
    n_movies = ratings["movieId"].nunique()
    n = len(ratings)
    per_user = ratings.groupby("userId").size()
    per_movie = ratings.groupby("movieId").size()
    return pd.Series({
        "ratings": int(n),
        "users": int(n_users),
        "movies": int(n_movies),
        "density": n / (n_users * n_movies),
        "sparsity": 1 - n / (n_users * n_movies),
        "mean_rating": float(ratings["rating"].mean()),
        "min_rating": float(ratings["rating"].min()),
        "max_rating": float(ratings["rating"].max()),
        "median_ratings_per_user": float(per_user.median()),
        "median_ratings_per_movie": float(per_movie.median()),
        "movies_rated_once": int((per_movie == 1).sum()),
    }, dtype=object)


def load_split(data_dir: str | os.PathLike | None = None, valid_fraction: float = 0.2,
               seed: int = 42) -> tuple[MovieLens, Encoded, Split]:
    """Convenience for the chapters: load, re-index and split in one call."""
    data = load_movielens(data_dir)
    encoded = encode_ids(data.ratings)
    return data, encoded, split_ratings(encoded, valid_fraction, seed)
