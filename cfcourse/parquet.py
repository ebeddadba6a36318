"""Ratings as Parquet files: the format Spark, pyarrow and the streaming pipeline all read.

A ratings file has the columns ``user`` and ``movie`` (dense int32 indices), ``rating``
(float32) and, when known, ``timestamp`` (int64 seconds). :func:`write_split` writes the course's
train/validation split (chapter 4's) once, so that Spark reads exactly the same ratings as the
Keras models (reading Parquet also avoids handing Spark a pandas frame, which PySpark 4 does not
fully support with pandas 3).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

Source = str | os.PathLike | Sequence[str | os.PathLike]


def parquet_files(source: Source) -> list[Path]:
    """The Parquet files of ``source``: one file, a folder of ``*.parquet`` files, or a list of either."""
    items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    files: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.glob("*.parquet") if not p.name.startswith((".", "_")))
            if not found:
                raise FileNotFoundError(f"{path} holds no .parquet file")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path} does not exist: expected a Parquet file or a folder of them")
    if not files:
        raise FileNotFoundError("no Parquet file given")
    return files


def count_rows(source: Source) -> int:
    """The number of ratings in ``source``, read from the files' metadata (no data is read)."""
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(path).metadata.num_rows for path in parquet_files(source))


def write_ratings(path: str | os.PathLike, pairs: np.ndarray, ratings: np.ndarray,
                  timestamps: np.ndarray | None = None) -> Path:
    """Write ``(user, movie)`` index pairs and their ratings to one Parquet file; returns its path.

    The file is written beside its final name and renamed when complete.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    pairs = np.asarray(pairs)
    ratings = np.asarray(ratings)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or ratings.shape != (len(pairs),):
        raise ValueError(f"expected pairs of shape (n, 2) and ratings of shape (n,), got {pairs.shape} and "
                         f"{ratings.shape}")
    if pairs.dtype.kind not in "iu":
        raise ValueError(f"user and movie indices must be integers, got dtype {pairs.dtype}")
    if len(pairs) and (pairs.min() < 0 or pairs.max() > np.iinfo(np.int32).max):
        raise ValueError("user and movie indices must lie between 0 and 2**31 - 1 (dense indices, as made by "
                         "data.encode_ids)")
    columns = {"user": pairs[:, 0].astype(np.int32), "movie": pairs[:, 1].astype(np.int32),
               "rating": ratings.astype(np.float32)}
    if timestamps is not None:
        timestamps = np.asarray(timestamps)
        if timestamps.shape != (len(pairs),):
            raise ValueError(f"expected one timestamp per rating, got shape {timestamps.shape}")
        columns["timestamp"] = timestamps.astype(np.int64)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(pa.table(columns), partial)
    os.replace(partial, path)
    return path


def write_split(split, folder: str | os.PathLike, encoded=None) -> tuple[Path, Path]:
    """Write a :class:`cfcourse.data.Split` as ``train.parquet`` and ``valid.parquet`` in ``folder``.

    With ``encoded`` (the :class:`cfcourse.data.Encoded` the split was made from) the files also
    get each rating's ``timestamp``. Returns the two paths.
    """
    for attribute in ("x_train", "y_train", "x_valid", "y_valid", "train_index", "valid_index"):
        if not hasattr(split, attribute):
            raise TypeError(f"write_split expects a cfcourse.data.Split, got {type(split).__name__}")
    times = None if encoded is None else encoded.ratings["timestamp"].to_numpy()
    folder = Path(folder)
    paths = []
    for part in ("train", "valid"):
        stamps = None if times is None else times[getattr(split, f"{part}_index")]
        paths.append(write_ratings(folder / f"{part}.parquet", getattr(split, f"x_{part}"),
                                   getattr(split, f"y_{part}"), stamps))
    return paths[0], paths[1]
