"""The big official MovieLens sets, ml-25m and ml-32m: download, verify, convert to Parquet once.

``cfcourse.data.load_movielens("ml-25m")`` (or ``"ml-32m"``) calls :func:`load_large`. The first
time, the official archive is downloaded into the cache folder (``$CFCOURSE_CACHE`` or the
platform's cache, as for ml-latest-small), checked against the MD5 GroupLens publishes, and its
``ratings.csv`` and ``movies.csv`` are converted, streaming, into ``ratings.parquet`` and
``movies.parquet``; the archive is then deleted. Later calls read the Parquet files.

The ratings stay on disk: :class:`LargeMovieLens` holds the path of ``ratings.parquet``, for
Spark (``spark.read.parquet``), pyarrow or the streaming pipeline of :mod:`cfcourse.streaming`
(25 million ratings are about a gigabyte as a pandas frame; :meth:`LargeMovieLens.ratings` reads
them all only when asked).

Failures follow the small set's rules (see :mod:`cfcourse.data`): one :class:`~cfcourse.data.DataError`
saying what went wrong and what to do, nothing left in the cache after a failed download, and an
existing good copy never touched by one.

Schemas: ``ratings.parquet``: ``userId`` (int32), ``movieId`` (int32), ``rating`` (float32),
``timestamp`` (int64); ``movies.parquet``: ``movieId`` (int64), ``title``, ``genres`` (str).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

import pandas as pd

from .download import (
    RATING_SCALE,
    ChecksumError,
    DataNotFoundError,
    DownloadError,
    cache_dir,
    download_and_install,
    file_digest,
)

DATASETS = ("ml-25m", "ml-32m")
#: The official archives.
URLS: Mapping[str, str] = {name: f"https://files.grouplens.org/datasets/movielens/{name}.zip" for name in DATASETS}
#: MD5 of the official archives, as GroupLens publishes them (``ml-25m.zip.md5``, ``ml-32m.zip.md5``).
MD5: Mapping[str, str] = {
    "ml-25m": "6b51fb2759a8657d3bfcbfc42b592ada",
    "ml-32m": "d472be332d4daa821edc399621853b57",
}
#: The largest size accepted for one unpacked file (ml-32m's ratings.csv is about 0.9 GB).
MAX_MEMBER_BYTES = 4 << 30
#: Written last into a converted folder: what it was converted from, and how many rows it holds.
MARKER = "cfcourse.json"
FORMAT = 1
RATINGS_TYPES = {"userId": "int32", "movieId": "int32", "rating": "float32", "timestamp": "int64"}


def url_variable(name: str) -> str:
    """The environment variable that replaces the official address (a mirror): ``CFCOURSE_ML_25M_URL``."""
    return f"CFCOURSE_{name.upper().replace('-', '_')}_URL"


def _check_name(name: str) -> str:
    if name not in DATASETS:
        raise ValueError(f"{name!r} is not one of the big MovieLens sets {list(DATASETS)}")
    return name


def how_to_provide(name: str) -> str:
    """What a reader can do to make ``name`` available."""
    return (
        f"MovieLens {name} is downloaded from {os.environ.get(url_variable(name)) or URLS[name]} into "
        f"{cache_dir() / name} (about 250 MB; set {url_variable(name)} to use a mirror, or CFCOURSE_CACHE for "
        f"another cache folder), verified against GroupLens' MD5 and converted to Parquet once."
    )


def _failed(name: str, reason: str) -> DownloadError:
    return DownloadError(f"Downloading MovieLens {name} failed: {reason}\n" + how_to_provide(name))


def md5_of(path: str | os.PathLike) -> str:
    """MD5 hex digest of a file, read in chunks (GroupLens publishes MD5 for its big archives)."""
    return file_digest(path, "md5")


# --------------------------------------------------------------------------------------
# The converted data
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LargeMovieLens:
    """A converted big MovieLens set: the movies in memory, the ratings on disk as Parquet."""

    name: str
    source: Path
    movies: pd.DataFrame
    n_ratings: int

    @property
    def ratings_path(self) -> Path:
        """``ratings.parquet``: read it with ``spark.read.parquet``, pyarrow or :mod:`cfcourse.streaming`."""
        return self.source / "ratings.parquet"

    def iter_ratings(self, batch_size: int = 1_000_000) -> Iterator[pd.DataFrame]:
        """The ratings as pandas frames of at most ``batch_size`` rows, one at a time."""
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(self.ratings_path).iter_batches(batch_size=batch_size):
            yield batch.to_pandas()

    def ratings(self, columns: list[str] | None = None) -> pd.DataFrame:
        """Every rating as one pandas frame (ml-25m: about 25 million rows, 0.5 to 1 GB of memory)."""
        import pyarrow.parquet as pq

        return pq.read_table(self.ratings_path, columns=columns).to_pandas()


def _marker(folder: Path) -> dict | None:
    try:
        meta = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (MARKER, "ratings.parquet", "movies.parquet"))


def _verify_folder(name: str, folder: Path) -> dict:
    """The marker of a converted folder, after checking it against the expected MD5 and the files."""
    import pyarrow.parquet as pq

    def damaged(detail: str) -> ChecksumError:
        return ChecksumError(f"{folder} does not hold a complete conversion of the official {name} ({detail}).\n"
                             f"Delete the folder {folder} so that the course downloads it again.")

    meta = _marker(folder)
    if meta is None:
        raise damaged(f"its {MARKER} is missing or unreadable")
    if meta.get("format") != FORMAT or meta.get("dataset") != name:
        raise damaged(f"its {MARKER} describes {meta.get('dataset')!r}, format {meta.get('format')!r}")
    if meta.get("md5") != MD5[name]:
        raise damaged(f"it was converted from an archive with MD5 {meta.get('md5')}, expected {MD5[name]}")
    for file, key in (("ratings.parquet", "ratings"), ("movies.parquet", "movies")):
        try:
            rows = pq.ParquetFile(folder / file).metadata.num_rows
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise damaged(f"{file} cannot be read: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") \
                from None
        if rows != meta.get(key):
            raise damaged(f"{file} has {rows:,} rows, expected {meta.get(key)}")
    return meta


def load_large(name: str, *, download: bool = True, verify: bool = True,
               cache: str | os.PathLike | None = None) -> LargeMovieLens:
    """Load ml-25m or ml-32m from the cache, downloading and converting it first if needed.

    ``verify`` checks the converted folder against the MD5 of the archive it came from and the
    row counts recorded at conversion (cheap: no data is read). A damaged folder is reported,
    never silently replaced; :func:`download_large` replaces it.
    """
    _check_name(name)
    root = Path(cache).expanduser() if cache is not None else cache_dir()
    folder = root / name
    if not (folder.exists() or folder.is_symlink()):
        if not download:
            raise DataNotFoundError(f"MovieLens {name} is not on this machine.\n" + how_to_provide(name))
        download_large(name, cache=root)
    if verify:
        meta = _verify_folder(name, folder)
    elif _complete(folder):
        meta = _marker(folder) or {}
    else:
        raise DataNotFoundError(f"{folder} holds no converted {name}.\nDelete the folder {folder} so that the "
                                "course downloads it again.")
    movies = pd.read_parquet(folder / "movies.parquet")
    return LargeMovieLens(name=name, source=folder, movies=movies, n_ratings=int(meta.get("ratings", -1)))


# --------------------------------------------------------------------------------------
# Download and conversion
# --------------------------------------------------------------------------------------


class _TooLarge(Exception):
    pass


class _LimitedReader(io.RawIOBase):
    """A read-only stream over a zip member that refuses to deliver more than ``limit`` bytes."""

    def __init__(self, raw, limit: int):
        self.raw, self.limit, self.count = raw, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        self.count += len(data)
        if self.count > self.limit:
            raise _TooLarge()
        buffer[: len(data)] = data
        return len(data)


@contextmanager
def _size_guard(info: zipfile.ZipInfo, name: str, url: str) -> Iterator[None]:
    """Turn a member that unpacks beyond MAX_MEMBER_BYTES (a zip bomb) into a clear download error."""
    try:
        yield
    except _TooLarge:
        raise _failed(name, f"{info.filename} in the archive from {url} unpacks to more than {MAX_MEMBER_BYTES:,} "
                            f"bytes, so it is not {name}. Nothing was saved.") from None


def _pick_members(zf: zipfile.ZipFile, name: str, url: str) -> dict[str, zipfile.ZipInfo]:
    """``ratings.csv`` and ``movies.csv`` at ``NAME/file`` or the top level; nothing else is read."""
    picked: dict[str, zipfile.ZipInfo] = {}
    for info in zf.infolist():
        if info.is_dir():
            continue
        parts = info.filename.replace("\\", "/").split("/")
        if not ((len(parts) == 2 and parts[0] == name) or len(parts) == 1):
            continue
        if parts[-1] not in ("ratings.csv", "movies.csv"):
            continue
        if parts[-1] in picked:
            raise _failed(name, f"the archive from {url} holds {parts[-1]} twice, so it is not the official "
                                f"{name} archive. Nothing was saved.")
        picked[parts[-1]] = info
    missing = [n for n in ("ratings.csv", "movies.csv") if n not in picked]
    if missing:
        raise _failed(name, f"the archive from {url} has no {' and no '.join(f'{name}/{n}' for n in missing)}, "
                            f"so it is not {name}. Nothing was saved.")
    return picked


def _convert_ratings(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, name: str, url: str) -> int:
    """Stream ``ratings.csv`` into a Parquet file, block by block; returns the number of rows."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    options = pcsv.ConvertOptions(column_types={k: getattr(pa, v)() for k, v in RATINGS_TYPES.items()},
                                  include_columns=list(RATINGS_TYPES))
    rows = 0
    lo, hi = RATING_SCALE
    with _size_guard(info, name, url), zf.open(info) as member:
        reader = pcsv.open_csv(io.BufferedReader(_LimitedReader(member, MAX_MEMBER_BYTES), 1 << 20),
                               read_options=pcsv.ReadOptions(block_size=16 << 20), convert_options=options)
        with pq.ParquetWriter(dest, reader.schema) as writer:
            for batch in reader:
                if any(batch.column(i).null_count for i in range(batch.num_columns)):
                    raise _failed(name, f"{info.filename} from {url} has empty values, so it is not the official "
                                        f"{name} file. Nothing was saved.")
                low, high = pc.min_max(batch.column("rating")).values()
                if batch.num_rows and (low.as_py() < lo or high.as_py() > hi):
                    raise _failed(name, f"{info.filename} from {url} has ratings outside {lo} to {hi}, so it is "
                                        f"not the official {name} file. Nothing was saved.")
                writer.write_batch(batch)
                rows += batch.num_rows
    return rows


def _convert_movies(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, name: str, url: str) -> int:
    """``movies.csv`` (tens of thousands of rows) into a Parquet file; returns the number of rows."""
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    with _size_guard(info, name, url), zf.open(info) as member:
        table = pcsv.read_csv(io.BufferedReader(_LimitedReader(member, MAX_MEMBER_BYTES), 1 << 20),
                              convert_options=pcsv.ConvertOptions(
                                  column_types={"movieId": pa.int64(), "title": pa.string(), "genres": pa.string()},
                                  include_columns=["movieId", "title", "genres"]))
    pq.write_table(table, dest)
    return table.num_rows


def download_large(name: str, url: str | None = None, cache: str | os.PathLike | None = None,
                   timeout: float = 60.0) -> Path:
    """Download ``name``'s archive, verify its MD5, convert it to Parquet and install it in the cache.

    ``url`` defaults to ``$CFCOURSE_ML_25M_URL`` (``_32M_`` for ml-32m) or the official address.
    Everything happens in a temporary ``.partial-*`` folder inside the cache, moved into place
    only when complete; on any failure nothing is left behind and an existing copy is untouched.
    Returns the installed folder.
    """
    import pyarrow as pa

    _check_name(name)
    url = url or os.environ.get(url_variable(name)) or URLS[name]
    root = Path(cache).expanduser() if cache is not None else cache_dir()

    def unpack(archive: Path, work: Path) -> Path:
        converted = work / name
        converted.mkdir()
        with zipfile.ZipFile(archive) as zf:
            actual = md5_of(archive)
            if actual != MD5[name]:
                raise ChecksumError(
                    f"The archive from {url} is not the official {name}.zip: its MD5 is {actual}, expected "
                    f"{MD5[name]}. Nothing was saved.\nThe download was damaged or the server holds another "
                    "release; try again.\n" + how_to_provide(name))
            members = _pick_members(zf, name, url)
            try:
                n_ratings = _convert_ratings(zf, members["ratings.csv"], converted / "ratings.parquet", name, url)
                n_movies = _convert_movies(zf, members["movies.csv"], converted / "movies.parquet", name, url)
            except (pa.ArrowException, ValueError, UnicodeDecodeError) as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise _failed(name, f"the archive from {url} could not be read as MovieLens {name} ({reason}). "
                                    "Nothing was saved.") from None
        archive.unlink()
        (converted / MARKER).write_text(json.dumps({"dataset": name, "format": FORMAT, "md5": MD5[name],
                                                    "source": url, "ratings": n_ratings, "movies": n_movies},
                                                   indent=1), encoding="utf-8")
        return converted

    return download_and_install(url, root, name, unpack, failed=lambda reason: _failed(name, reason),
                                env_var=url_variable(name), complete=_complete, timeout=timeout,
                                archive_name=f"{name}.zip")
