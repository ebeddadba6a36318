"""Find, verify, load, validate, re-index and split the MovieLens ml-latest-small data.

The course reads the data from, in this order:

1. an explicit folder passed as ``data_dir``;
2. the folder named by the environment variable ``CFCOURSE_DATA``;
3. the per-user cache folder (``CFCOURSE_CACHE`` or the platform's cache directory);
4. a download of the official archive (or of ``CFCOURSE_DATA_URL``) into that cache.

Every CSV file is checked against its published SHA-256 before it is used. Nothing is ever
written next to the data in (1) or (2); the cache in (3) only ever receives complete,
verified files (a failed download leaves nothing behind).

Every problem is reported as a :class:`DataError` subclass whose message says, on its first
line, what went wrong and, below, what to do; library tracebacks are not chained to it.

Schemas
-------
``ratings``: ``userId`` (int64), ``movieId`` (int64), ``rating`` (float64), ``timestamp`` (int64)
``movies``: ``movieId`` (int64), ``title`` (str), ``genres`` (str, ``|``-separated)
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from .download import (  # noqa: F401 - the errors and the cache are part of this module's API
    ENV_CACHE,
    RATING_SCALE,
    ChecksumError,
    DataError,
    DataNotFoundError,
    DownloadError,
    cache_dir,
    download_and_install,
    file_digest,
)

ARCHIVE_URL = "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"
DATASET_NAME = "ml-latest-small"
ENV_DATA = "CFCOURSE_DATA"
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

RATINGS_COLUMNS = ("userId", "movieId", "rating")


class RatingsValidationError(DataError, ValueError):
    """A ratings frame does not follow the schema the course expects."""


# --------------------------------------------------------------------------------------
# Where the data lives
# --------------------------------------------------------------------------------------


def _how_to_provide() -> str:
    url = os.environ.get(ENV_URL) or ARCHIVE_URL
    return (
        "Provide the MovieLens ml-latest-small data in one of three ways:\n"
        "  1. pass the folder that holds ratings.csv and movies.csv: load_movielens('path/to/ml-latest-small');\n"
        f"  2. set the environment variable {ENV_DATA} to that folder;\n"
        f"  3. let the course download the official archive ({url}) into {cache_dir()}\n"
        f"     (needs a network connection; set {ENV_CACHE} to use another cache folder, or unzip the\n"
        "     archive there yourself if you downloaded it elsewhere)."
    )


def sha256_of(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    return file_digest(path, "sha256")


def verify_file(path: str | os.PathLike, name: str | None = None) -> Path:
    """Check a MovieLens file against its official SHA-256 and return its path.

    ``name`` is the official file name (``ratings.csv`` ...); it defaults to the path's name.
    Raises :class:`ChecksumError` naming the file and what to do when it differs, and
    :class:`DataNotFoundError` when the file is missing.
    """
    path = Path(path)
    name = name or path.name
    expected = SHA256.get(name)
    if expected is None:
        raise ValueError(f"{name!r} is not a file of {DATASET_NAME}; known files: {sorted(SHA256)}")
    try:
        actual = sha256_of(path)
    except FileNotFoundError:
        raise DataNotFoundError(f"{path} does not exist.\n" + _how_to_provide()) from None
    except OSError as exc:
        raise DataError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    if actual != expected:
        in_cache = _is_in_cache(path)
        raise ChecksumError(
            f"{path} is not the official {DATASET_NAME} {name}: its SHA-256 is {actual}, "
            f"expected {expected}.\nThe file is damaged, edited or from another release. "
            + (f"Delete the folder {path.parent} so that the course downloads it again."
               if in_cache else f"Replace it with the {name} from {ARCHIVE_URL}.")
        )
    return path


def _is_in_cache(path: Path) -> bool:
    try:
        path.resolve().relative_to(cache_dir().resolve())
        return True
    except (ValueError, OSError):
        return False


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in REQUIRED)


def find_data_dir(data_dir: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """Return the folder holding ``ratings.csv`` and ``movies.csv``, downloading if needed.

    The order is: ``data_dir``; ``$CFCOURSE_DATA``; the cache; a download into the cache.
    A folder that holds an ``ml-latest-small`` folder is accepted too. An explicit folder or
    ``$CFCOURSE_DATA`` that lacks the files is an error (the course does not silently fall
    back to other data than the one you named). Nothing is written here except by a download
    into the cache.
    """
    for source, value in (("data_dir", data_dir), (ENV_DATA, os.environ.get(ENV_DATA))):
        if value is None or str(value).strip() == "":
            continue
        folder = Path(value).expanduser()
        label = f"The folder you passed ({folder})" if source == "data_dir" else f"{ENV_DATA}={folder}"
        if not folder.exists():
            raise DataNotFoundError(f"{label} does not exist.\n" + _how_to_provide())
        if not folder.is_dir():
            raise DataNotFoundError(
                f"{label} is a file, not a folder: name the folder that holds ratings.csv and "
                f"movies.csv (here probably {folder.parent}).\n" + _how_to_provide()
            )
        if not _complete(folder) and _complete(folder / DATASET_NAME):
            folder = folder / DATASET_NAME
        if not _complete(folder):
            missing = [n for n in REQUIRED if not (folder / n).is_file()]
            raise DataNotFoundError(
                f"{label} has no {' and no '.join(missing)}.\n" + _how_to_provide()
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

#: The largest size accepted for one unpacked file of the archive (the real ones are < 3 MB).
MAX_MEMBER_BYTES = 64 << 20


def _download_failed(reason: str) -> DownloadError:
    return DownloadError(f"Downloading the MovieLens data failed: {reason}\n" + _how_to_provide())


def _pick_members(zf: zipfile.ZipFile, url: str) -> dict[str, zipfile.ZipInfo]:
    """The archive's official files, found at ``ml-latest-small/NAME`` or at the top level.

    Any other member (other folders, ``../`` or absolute names, links) is ignored: it is never
    read, let alone written.
    """
    picked: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        parts = info.filename.replace("\\", "/").split("/")
        if (len(parts) == 2 and parts[0] == DATASET_NAME) or len(parts) == 1:
            name = parts[-1]
        else:
            continue
        if name not in SHA256:
            continue
        if name in picked:
            raise _download_failed(
                f"the archive from {url} holds {name} twice, so it is not the official "
                f"{DATASET_NAME} archive. Nothing was saved."
            )
        picked[name] = info
    missing = [n for n in REQUIRED if n not in picked]
    if missing:
        raise _download_failed(
            f"the archive from {url} has no {' and no '.join(f'{DATASET_NAME}/{n}' for n in missing)}, "
            f"so it is not {DATASET_NAME}. Nothing was saved."
        )
    return picked


def _extract(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, url: str) -> None:
    """Copy one member to ``dest`` (a fixed path), refusing more than MAX_MEMBER_BYTES."""
    written = 0
    with zf.open(info) as src, open(dest, "wb") as dst:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            written += len(chunk)
            if written > MAX_MEMBER_BYTES:
                raise _download_failed(
                    f"{info.filename} in the archive from {url} unpacks to more than "
                    f"{MAX_MEMBER_BYTES:,} bytes, so it is not {DATASET_NAME}. Nothing was saved."
                )
            dst.write(chunk)


def download_movielens(url: str | None = None, cache: str | os.PathLike | None = None,
                       timeout: float = 60.0) -> Path:
    """Download the official archive, verify every file and install it in the cache.

    ``url`` defaults to ``$CFCOURSE_DATA_URL`` or the official address, ``cache`` to
    :func:`cache_dir`. The archive is fetched into a temporary ``.partial-*`` folder inside
    the cache; only the four known CSV files are taken from it, from fixed member names
    (never other members, so a hostile archive cannot write elsewhere), each is verified,
    and only then is the folder moved into place (:func:`cfcourse.download.download_and_install`).
    On any failure nothing is left behind, and an existing cached copy is untouched. Returns
    the installed ``ml-latest-small`` folder.
    """
    url = url or os.environ.get(ENV_URL) or ARCHIVE_URL
    root = Path(cache).expanduser() if cache is not None else cache_dir()

    def unpack(archive: Path, work: Path) -> Path:
        unpacked = work / DATASET_NAME
        unpacked.mkdir()
        with zipfile.ZipFile(archive) as zf:
            members = _pick_members(zf, url)
            for name, info in members.items():
                _extract(zf, info, unpacked / name, url)
        for name in members:
            expected, actual = SHA256[name], sha256_of(unpacked / name)
            if actual != expected:
                raise ChecksumError(
                    f"The {name} in the archive from {url} is not the official {DATASET_NAME} file: "
                    f"its SHA-256 is {actual}, expected {expected}. Nothing was saved.\n"
                    "The download was damaged or the server holds another release; try again.\n"
                    + _how_to_provide()
                )
        return unpacked

    return download_and_install(url, root, DATASET_NAME, unpack, failed=_download_failed, env_var=ENV_URL,
                                complete=_complete, timeout=timeout)


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
                   verify: bool = True):
    """Load ml-latest-small as two DataFrames (see the module docstring for the schema).

    ``data_dir`` overrides ``$CFCOURSE_DATA``; with neither, the cache is used and, if it is
    empty and ``download`` is true, the official archive is downloaded into it.

    ``load_movielens("ml-25m")`` and ``load_movielens("ml-32m")`` (these exact strings) load the
    big official sets instead, downloaded into the cache, verified against GroupLens' MD5 and
    converted to Parquet once: they return a :class:`cfcourse.bigdata.LargeMovieLens`, whose
    ratings stay on disk (see :mod:`cfcourse.bigdata`). To read a folder that happens to be
    called ``ml-25m``, pass it as a path (``Path("ml-25m")`` or ``"./ml-25m"``).
    """
    if isinstance(data_dir, str):
        from . import bigdata

        if data_dir in bigdata.DATASETS:
            return bigdata.load_large(data_dir, download=download, verify=verify)
    folder = find_data_dir(data_dir, download=download)
    if verify:
        for name in REQUIRED:
            verify_file(folder / name, name)
    ratings = _read_csv(folder / "ratings.csv",
                        {"userId": "int64", "movieId": "int64", "rating": "float64", "timestamp": "int64"})
    movies = _read_csv(folder / "movies.csv", {"movieId": "int64", "title": str, "genres": str})
    validate_ratings(ratings)
    return MovieLens(ratings=ratings, movies=movies, source=folder)


def _read_csv(path: Path, dtype: dict) -> pd.DataFrame:
    """``pd.read_csv`` whose failures become one readable :class:`DataError`."""
    try:
        frame = pd.read_csv(path, dtype=dtype)
    except (ValueError, TypeError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"Cannot read {path} as a MovieLens table ({reason}). The file is damaged or not from "
            f"{DATASET_NAME}; replace it with the one from {ARCHIVE_URL}."
        ) from None
    missing = [c for c in dtype if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path} has no column(s) {missing} (it has {list(frame.columns)}); it is not the "
            f"{DATASET_NAME} {path.name}. Replace it with the one from {ARCHIVE_URL}."
        )
    return frame


def _plain(value):
    """A NumPy scalar as the plain Python value (so messages show ``True``, not ``np.True_``)."""
    return value.item() if isinstance(value, np.generic) else value


def _first_rows(frame: pd.DataFrame, mask: pd.Series | np.ndarray, n: int = 5) -> str:
    """The first ``n`` rows where ``mask`` holds, showing only the three rating columns."""
    rows = frame.loc[np.asarray(mask, dtype=bool), list(RATINGS_COLUMNS)].head(n)
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
    repeated = sorted({c for c in ratings.columns[ratings.columns.duplicated()] if c in RATINGS_COLUMNS})
    if repeated:
        raise RatingsValidationError(
            f"The ratings frame has more than one column named {repeated}; keep exactly one of each."
        )
    if len(ratings) == 0:
        raise RatingsValidationError(
            "The ratings frame is empty (0 rows, columns userId, movieId and rating present): "
            "there is nothing to learn from."
        )
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
                f"(for example {_plain(series.iloc[0])!r}). Map your ids to integers first."
            )
    rating = ratings["rating"]
    if not pd.api.types.is_numeric_dtype(rating.dtype) or pd.api.types.is_bool_dtype(rating.dtype):
        raise RatingsValidationError(
            f"Column 'rating' must be numeric, got dtype {rating.dtype} (for example {_plain(rating.iloc[0])!r})."
        )
    lo, hi = scale
    if not lo < hi:
        raise ValueError(f"scale must be (min, max) with min < max, got {scale}")
    out = ~((rating >= lo) & (rating <= hi))  # also catches +-inf
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
        """An encoder for the distinct values of ``values`` (sorted, so index order = id order)."""
        return cls(name=name, raw_ids=np.unique(np.asarray(values)))

    def __len__(self) -> int:
        return len(self.raw_ids)

    def _keys(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``values`` converted exactly to the dtype of ``raw_ids``, and a mask of those that could be.

        Comparing int64 ids with uint64 or float values directly goes through float64, which
        confuses ids above 2**53; so whole-number inputs are converted exactly, and values that
        cannot be ids of this encoder (fractions, out of range, bools, text) count as unknown.
        """
        ids = self.raw_ids
        if ids.dtype.kind not in "iu" or values.dtype == ids.dtype:
            return values, np.ones(values.shape, dtype=bool)
        info = np.iinfo(ids.dtype)
        flat = values.reshape(-1)
        keys = np.zeros(flat.shape, dtype=ids.dtype)
        if flat.dtype.kind in "iuf":
            ok = np.ones(flat.shape, dtype=bool)
            if flat.dtype.kind == "f":
                with np.errstate(invalid="ignore"):
                    ok = np.isfinite(flat) & (flat == np.floor(flat))
            exact = flat.astype(object)  # Python numbers compare exactly at any size
            ok &= np.array([bool(info.min <= v <= info.max) for v in exact], dtype=bool) if flat.size else ok
            keys[ok] = np.array([int(v) for v in exact[ok]], dtype=ids.dtype)
        else:  # bools, text, objects: only plain integers stored as objects can match
            ok = np.array([isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                           and info.min <= v <= info.max for v in flat], dtype=bool)
            keys[ok] = np.array([int(v) for v in flat[ok]], dtype=ids.dtype)
        return keys.reshape(values.shape), ok.reshape(values.shape)

    def encode(self, values) -> np.ndarray:
        """Raw ids → dense indices (``int64``, same shape); raises ``KeyError`` naming unknown ids."""
        values = np.asarray(values)
        if len(self.raw_ids) == 0:
            if values.size:
                raise KeyError(f"unknown {self.name}(s) {values.reshape(-1)[:5].tolist()}: "
                               "the encoder was fitted on no ids at all")
            return np.zeros(values.shape, dtype=np.int64)
        keys, ok = self._keys(values)
        try:
            idx = np.searchsorted(self.raw_ids, keys)
            idx_clipped = np.minimum(idx, len(self.raw_ids) - 1)
            unknown = ~ok | (self.raw_ids[idx_clipped] != keys)
        except TypeError:  # values not comparable with the ids (e.g. strings for integer ids)
            idx_clipped, unknown = np.zeros(values.shape, dtype=np.int64), np.ones(values.shape, dtype=bool)
        unknown = np.asarray(unknown, dtype=bool)
        if unknown.any():
            bad = values[unknown].reshape(-1)
            first = list(dict.fromkeys(bad.tolist()))[:5]
            raise KeyError(
                f"unknown {self.name}(s) {first}"
                + (f" and {len(set(bad.tolist())) - 5} more" if len(set(bad.tolist())) > 5 else "")
                + ": they were not in the data the encoder was fitted on"
            )
        return np.asarray(idx_clipped, dtype=np.int64)

    def decode(self, indices) -> np.ndarray:
        """Dense indices → raw ids."""
        indices = np.asarray(indices)
        if indices.size == 0:
            return self.raw_ids[:0].reshape(indices.shape)
        if indices.dtype.kind not in "iu":
            raise IndexError(f"{self.name} indices must be integers, got dtype {indices.dtype}")
        bad = (indices < 0) | (indices >= len(self.raw_ids))
        if np.any(bad):
            first = list(dict.fromkeys(np.asarray(indices[bad]).reshape(-1).tolist()))[:5]
            raise IndexError(f"{self.name} index {first} out of range 0..{len(self.raw_ids) - 1}")
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
