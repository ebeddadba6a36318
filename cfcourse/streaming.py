"""Train and evaluate the course's Keras models on ratings that stay on disk, in Parquet files.

``model.fit(split.x_train, split.y_train)`` needs every rating in memory as a NumPy array. For
tens of millions of ratings that stops being reasonable, so this module streams them instead:
:func:`ratings_dataset` is a ``tf.data`` pipeline that reads the Parquet files a window at a
time with pyarrow, shuffles within the window, and hands Keras batches of ``(user, movie)``
pairs and ratings; :func:`streaming_rmse` evaluates a model file by file. Memory use depends on
the window and the batch, not on the number of ratings.

The files need the columns ``user`` and ``movie`` (dense integer indices, as made by
:func:`cfcourse.data.encode_ids` or :mod:`cfcourse.synthetic`) and ``rating``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .parquet import Source, count_rows, parquet_files

COLUMNS = ("user", "movie", "rating")


def _check_columns(path: Path, columns: Sequence[str]) -> None:
    import pyarrow.parquet as pq

    names = pq.read_schema(path).names
    missing = [c for c in columns if c not in names]
    if missing:
        raise ValueError(f"{path} has no column(s) {missing} (it has {names}); the ratings files need the "
                         f"columns {list(columns)} with dense user and movie indices")


def iter_batches(source: Source, batch_size: int = 65_536,
                 columns: Sequence[str] = COLUMNS) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(pairs, ratings)`` NumPy batches of ``source`` in file order: int32 (n, 2) and float32 (n,)."""
    import pyarrow.parquet as pq

    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    user, movie, rating = columns
    for path in parquet_files(source):
        _check_columns(path, columns)
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size, columns=list(columns)):
            pairs = np.stack([batch.column(user).to_numpy(), batch.column(movie).to_numpy()], axis=1)
            yield pairs.astype(np.int32, copy=False), batch.column(rating).to_numpy().astype(np.float32)


def mean_rating(source: Source) -> float:
    """The mean rating over ``source``, read batch by batch."""
    total, n = 0.0, 0
    for _, ratings in iter_batches(source, columns=COLUMNS):
        total += float(ratings.sum(dtype=np.float64))
        n += len(ratings)
    if n == 0:
        raise ValueError("no ratings in the files")
    return total / n


def _window_batches(path: str, epoch: int, index: int, seed: int, batch_size: int, window: int,
                    shuffle: bool, columns: Sequence[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches of one file: read ``window`` rows at a time, shuffle them, cut them into batches."""
    import pyarrow.parquet as pq

    rng = np.random.default_rng([seed, epoch, index])
    user, movie, rating = columns
    carry_x = np.zeros((0, 2), dtype=np.int32)
    carry_y = np.zeros(0, dtype=np.float32)
    for batch in pq.ParquetFile(path).iter_batches(batch_size=window, columns=list(columns)):
        x = np.stack([batch.column(user).to_numpy(), batch.column(movie).to_numpy()], axis=1).astype(np.int32)
        y = batch.column(rating).to_numpy().astype(np.float32)
        if shuffle:
            order = rng.permutation(len(y))
            x, y = x[order], y[order]
        x, y = np.concatenate([carry_x, x]), np.concatenate([carry_y, y])
        full = len(y) - len(y) % batch_size
        for start in range(0, full, batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]
        carry_x, carry_y = x[full:], y[full:]
    if len(carry_y):
        yield carry_x, carry_y


def ratings_dataset(source: Source, *, batch_size: int = 1024, shuffle: bool = True, seed: int = 42,
                    window: int = 65_536, cycle_length: int = 4, columns: Sequence[str] = COLUMNS):
    """A ``tf.data.Dataset`` of ``(pairs, ratings)`` batches streamed from Parquet files.

    Each pass reads the files in a new random order (``shuffle``), ``cycle_length`` at a time
    interleaved, each ``window`` rows at a time shuffled within the window. Every rating is
    seen exactly once per pass; only about ``cycle_length * window`` ratings are in memory.
    """
    import pyarrow.parquet as pq
    import tensorflow as tf

    for label, value in (("batch_size", batch_size), ("window", window), ("cycle_length", cycle_length)):
        if int(value) < 1:
            raise ValueError(f"{label} must be positive, got {value}")
    files = [str(p) for p in parquet_files(source)]
    for path in files:
        _check_columns(Path(path), columns)
    passes: dict[int, int] = {}

    def file_batches(path, index):
        index = int(index)
        epoch = passes.get(index, 0)
        passes[index] = epoch + 1
        yield from _window_batches(path.decode(), epoch, index, seed, batch_size, window, shuffle, columns)

    signature = (tf.TensorSpec((None, 2), tf.int32), tf.TensorSpec((None,), tf.float32))
    names = tf.data.Dataset.from_tensor_slices((files, np.arange(len(files), dtype=np.int64)))
    if shuffle:
        names = names.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    dataset = names.interleave(
        lambda path, index: tf.data.Dataset.from_generator(file_batches, args=(path, index),
                                                           output_signature=signature),
        cycle_length=min(int(cycle_length), len(files)), block_length=1)
    # Every file ends with at most one short batch, so the number of batches is known in advance;
    # telling tf.data lets Keras count the steps of a pass (and checks the count while streaming).
    n_batches = sum(-(-pq.ParquetFile(path).metadata.num_rows // int(batch_size)) for path in files)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(n_batches))
    return dataset.prefetch(tf.data.AUTOTUNE)


def streaming_rmse(model, source: Source, batch_size: int = 65_536, fallback: float | None = None) -> float:
    """RMSE of ``model`` on every rating of ``source``, predicted batch by batch.

    ``fallback`` replaces predictions that are not finite (none, for the course's models).
    """
    total, n = 0.0, 0
    for pairs, ratings in iter_batches(source, batch_size):
        predicted = np.asarray(model(pairs, training=False), dtype=np.float64).reshape(-1)
        if fallback is not None:
            predicted = np.where(np.isfinite(predicted), predicted, fallback)
        total += float(np.sum((predicted - ratings) ** 2))
        n += len(ratings)
    if n == 0:
        raise ValueError("no ratings to evaluate")
    return float(np.sqrt(total / n))


@dataclass
class StreamingFit:
    """What :func:`fit_streaming` returns."""

    model: object
    passes: int
    n_train: int
    seconds: float          # training only (not compiling the model, not the evaluation)
    train_rmse: list[float]  # per pass, as Keras measured it during the pass
    val_rmse: float | None

    @property
    def seconds_per_million_per_pass(self) -> float:
        return self.seconds / (self.n_train / 1e6) / self.passes


def fit_streaming(model, train: Source, valid: Source | None = None, *, passes: int = 1,
                  batch_size: int = 1024, learning_rate: float = 5e-3, seed: int = 42,
                  window: int = 65_536) -> StreamingFit:
    """Fit ``model`` with Adam and MSE for ``passes`` passes over the ratings of ``train``.

    The ratings are streamed by :func:`ratings_dataset`; ``valid`` (if given) is evaluated
    after training with :func:`streaming_rmse`. Seed before building the model
    (:func:`cfcourse.training.seed_everything`) for a reproducible run.
    """
    import keras

    if int(passes) < 1:
        raise ValueError(f"passes must be at least 1, got {passes}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    n_train = count_rows(train)
    dataset = ratings_dataset(train, batch_size=batch_size, seed=seed, window=window)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse",
                  metrics=[keras.metrics.RootMeanSquaredError(name="rmse")])
    first = next(iter(dataset.take(1)))[0]
    model(first, training=False)  # build the weights before the clock starts
    start = time.perf_counter()
    history = model.fit(dataset, epochs=int(passes), verbose=0, shuffle=False)  # the pipeline shuffles
    seconds = time.perf_counter() - start
    val = streaming_rmse(model, valid) if valid is not None else None
    return StreamingFit(model=model, passes=int(passes), n_train=n_train, seconds=seconds,
                        train_rmse=[float(v) for v in history.history["rmse"]], val_rmse=val)

