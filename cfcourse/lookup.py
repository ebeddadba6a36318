"""Helpers for the do-it-yourself embedding chapter: lookups, their gradients and their cost.

An embedding layer multiplies a one-hot vector by a weight matrix, or, equivalently and
much more cheaply, gathers one row of it. This module computes both (so that the chapter
can compare them), turns Keras' sparse gradients into plain arrays, and measures time and
memory. The functions are meant for eager use in a notebook, not inside a compiled model.

Out-of-range ids: :func:`one_hot`, :func:`one_hot_product` and :func:`row_lookup` raise
:class:`IndexError` for an id outside ``0 .. n_rows - 1`` (a one-hot encoding would
silently turn it into a row of zeros, and ``keras.ops.take`` counts negative ids from the
end), and :class:`TypeError` for ids that are not integers.
"""

from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd


# --------------------------------------------------------------------------------------
# Ids and lookups
# --------------------------------------------------------------------------------------


def check_ids(ids, n_rows: int) -> np.ndarray:
    """Return ``ids`` as an integer NumPy array, or raise if any id cannot address ``n_rows`` rows.

    Whole-number floats (``3.0``) are accepted, as Keras' own layers cast them. Raises
    :class:`TypeError` for other non-integer ids (e.g. ``2.5``) and :class:`IndexError`
    naming the first offending id when one is negative or ``>= n_rows``.
    """
    if int(n_rows) < 1:
        raise ValueError(f"n_rows must be a positive integer, got {n_rows}")
    arr = np.asarray(ids)
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(np.mod(arr, 1) == 0):
            arr = arr.astype(np.int64)
        elif arr.size == 0:
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"ids must be integers (row numbers), got dtype {arr.dtype}")
    bad = (arr < 0) | (arr >= int(n_rows))
    if bad.any():
        first = arr[bad].reshape(-1)[0]
        raise IndexError(f"id {first} is outside 0..{int(n_rows) - 1}: the table has only {int(n_rows)} rows")
    return arr


def one_hot(ids, n_rows: int, dtype="float32") -> np.ndarray:
    """One-hot encode ``ids``: shape ``(*ids.shape, n_rows)``, a single 1 per id, zeros elsewhere."""
    arr = check_ids(ids, n_rows)
    out = np.zeros((*arr.shape, int(n_rows)), dtype=dtype)
    np.put_along_axis(out, arr[..., None], 1, axis=-1)
    return out


def one_hot_product(ids, table):
    """Look rows of ``table`` up the expensive way: ``one_hot(ids) @ table``.

    ``table`` is a 2-d array or Keras/TF variable of shape ``(n_rows, dim)``; the result
    has shape ``(*ids.shape, dim)`` and is a backend tensor.
    """
    from keras import ops

    n_rows = _n_rows(table)
    arr = check_ids(ids, n_rows)
    return _one_hot_product(ops.convert_to_tensor(arr.astype("int32")), table, n_rows)


def row_lookup(ids, table):
    """Look rows of ``table`` up the cheap way: gather row ``i`` for every id ``i``."""
    from keras import ops

    n_rows = _n_rows(table)
    arr = check_ids(ids, n_rows)
    return _gather(ops.convert_to_tensor(arr.astype("int32")), table)


def _n_rows(table) -> int:
    shape = tuple(table.shape)
    if len(shape) != 2:
        raise ValueError(f"table must be a 2-d (n_rows, dim) matrix, got shape {shape}")
    return int(shape[0])


def _one_hot_product(ids, table, n_rows: int):
    from keras import ops

    return ops.matmul(ops.one_hot(ids, n_rows, dtype=table.dtype), table)


def _gather(ids, table):
    from keras import ops

    return ops.take(table, ids, axis=0)


# --------------------------------------------------------------------------------------
# Gradients
# --------------------------------------------------------------------------------------


def to_dense(gradient) -> np.ndarray:
    """A gradient as a plain NumPy array.

    Keras' ``Embedding`` (and any ``take``/``gather``) gives TensorFlow an
    ``IndexedSlices`` gradient: only the looked-up rows, with their indices, repeated ids
    not yet summed. Converting it to a dense tensor sums the repeats and fills the other
    rows with zeros, so it can be compared element by element.
    """
    if gradient is None:
        raise ValueError("the gradient is None: the output does not depend on this weight")
    import tensorflow as tf

    return np.asarray(tf.convert_to_tensor(gradient))


def output_and_gradient(layer, ids, upstream=None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Call ``layer`` on ``ids`` and return its output and the gradient of a simple loss.

    The loss is ``sum(output * upstream)`` (``upstream`` defaults to fixed random numbers
    of the output's shape), so the gradient with respect to the layer's single trainable
    matrix is the upstream signal scattered onto the looked-up rows. Builds the layer if
    needed. Returns ``(output, dense gradient)`` as NumPy arrays.
    """
    import tensorflow as tf
    from keras import ops

    ids = ops.convert_to_tensor(np.asarray(ids))
    if not layer.built:
        layer(ids)
    weights = layer.trainable_weights
    if len(weights) != 1:
        raise ValueError(f"expected a layer with exactly one trainable weight, got {len(weights)}")
    with tf.GradientTape() as tape:
        out = layer(ids)
        if upstream is None:
            upstream = np.random.default_rng(seed).standard_normal(tuple(out.shape)).astype("float32")
        loss = ops.sum(out * ops.convert_to_tensor(upstream))
    grad = tape.gradient(loss, weights[0])
    return np.asarray(out), to_dense(grad)


def scatter_rows(ids, upstream, n_rows: int) -> np.ndarray:
    """The gradient a lookup should have: ``upstream`` rows added onto the rows named by ``ids``.

    This is ``one_hot(ids).T @ upstream``, computed without the one-hot matrix.
    """
    arr = check_ids(ids, n_rows).reshape(-1)
    up = np.asarray(upstream, dtype=np.float64)
    up = up.reshape(arr.size, -1)
    out = np.zeros((int(n_rows), up.shape[1]), dtype=np.float64)
    np.add.at(out, arr, up)
    return out


# --------------------------------------------------------------------------------------
# Cost: time and memory
# --------------------------------------------------------------------------------------


def median_ms(fn: Callable[[], object], repeats: int = 7, warmup: int = 2) -> float:
    """Median wall time of ``fn()`` in milliseconds over ``repeats`` calls, after ``warmup`` calls.

    The result of each call is converted to NumPy inside the timed region, so lazy or
    asynchronous backends are timed to completion.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0, got {repeats} and {warmup}")
    for _ in range(warmup):
        _materialise(fn())
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _materialise(fn())
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1e3)


def _materialise(result) -> None:
    if isinstance(result, (tuple, list)):
        for item in result:
            _materialise(item)
    elif result is not None:
        values = getattr(result, "values", None)  # IndexedSlices
        np.asarray(values if values is not None and not isinstance(result, np.ndarray) else result)


def time_lookups(n_rows: int = 9_724, dim: int = 64, batch_size: int = 1024, repeats: int = 7,
                 seed: int = 42) -> pd.DataFrame:
    """Median milliseconds per batch of the one-hot product and of the row lookup.

    Both look up ``batch_size`` random ids in the same random ``(n_rows, dim)`` table. The
    column ``lookup_ms`` times the forward pass alone; ``with_gradient_ms`` adds the
    gradient of ``sum(output**2)`` with respect to the table, as one training step needs.
    The measurements are interleaved (each repetition times all four once), after two
    warm-up rounds. Timings depend on the machine and its load: compare the rows, not the
    absolute numbers.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    import tensorflow as tf
    from keras import ops

    rng = np.random.default_rng(seed)
    table = tf.Variable(rng.uniform(-0.05, 0.05, (n_rows, dim)).astype("float32"))
    ids = ops.convert_to_tensor(rng.integers(0, n_rows, batch_size).astype("int32"))
    methods = {
        "one-hot product": lambda: _one_hot_product(ids, table, n_rows),
        "row lookup": lambda: _gather(ids, table),
    }

    def with_gradient(lookup):
        def step():
            with tf.GradientTape() as tape:
                loss = ops.sum(ops.square(lookup()))
            return tape.gradient(loss, table)
        return step

    # Interleave the four measurements, so that a change in the machine's load hits all of them alike.
    fns = {}
    for name, lookup in methods.items():
        fns[(name, "lookup_ms")] = lookup
        fns[(name, "with_gradient_ms")] = with_gradient(lookup)
    times = {key: [] for key in fns}
    for _ in range(2):
        for fn in fns.values():
            _materialise(fn())
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.perf_counter()
            _materialise(fn())
            times[key].append(time.perf_counter() - start)
    rows = [{"method": name,
             "lookup_ms": float(np.median(times[(name, "lookup_ms")]) * 1e3),
             "with_gradient_ms": float(np.median(times[(name, "with_gradient_ms")]) * 1e3)}
            for name in methods]
    return pd.DataFrame(rows).set_index("method")


@dataclass(frozen=True)
class LookupMemory:
    """Bytes held by one batch of lookups, worked out from the shapes alone."""

    batch_size: int
    n_rows: int
    dim: int
    itemsize: int = 4  # float32

    @property
    def one_hot_bytes(self) -> int:
        """The ``(batch_size, n_rows)`` one-hot matrix."""
        return self.batch_size * self.n_rows * self.itemsize

    @property
    def gathered_bytes(self) -> int:
        """The ``(batch_size, dim)`` looked-up rows (the output of either method)."""
        return self.batch_size * self.dim * self.itemsize

    @property
    def table_bytes(self) -> int:
        """The ``(n_rows, dim)`` weight matrix itself."""
        return self.n_rows * self.dim * self.itemsize

    @property
    def ratio(self) -> float:
        """How many times larger the one-hot batch is than the gathered rows: ``n_rows / dim``."""
        return self.one_hot_bytes / self.gathered_bytes

    def table(self) -> pd.DataFrame:
        """The three sizes as a small table, in bytes and MiB."""
        sizes = {
            f"one-hot batch ({self.batch_size} x {self.n_rows})": self.one_hot_bytes,
            f"gathered rows ({self.batch_size} x {self.dim})": self.gathered_bytes,
            f"weight matrix ({self.n_rows} x {self.dim})": self.table_bytes,
        }
        frame = pd.DataFrame({"bytes": pd.Series(sizes, dtype="int64")})
        frame["MiB"] = frame["bytes"] / 2**20
        return frame


def lookup_memory(batch_size: int = 1024, n_rows: int = 9_724, dim: int = 64, dtype="float32") -> LookupMemory:
    """Memory accounting of one batch: one-hot matrix versus gathered rows (see :class:`LookupMemory`)."""
    for label, value in (("batch_size", batch_size), ("n_rows", n_rows), ("dim", dim)):
        if int(value) < 1:
            raise ValueError(f"{label} must be a positive integer, got {value}")
    return LookupMemory(int(batch_size), int(n_rows), int(dim), int(np.dtype(dtype).itemsize))


def peak_bytes(fn: Callable, *args, **kwargs) -> int:
    """Peak bytes that Python and NumPy allocate while ``fn(*args, **kwargs)`` runs (tracemalloc).

    NumPy reports its array buffers to :mod:`tracemalloc`, so this measures NumPy code;
    memory that TensorFlow allocates is invisible to it.
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = fn(*args, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
        del result
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return int(peak - before)


def numpy_one_hot_product(ids, table: np.ndarray) -> np.ndarray:
    """``one_hot(ids) @ table`` in NumPy (for :func:`peak_bytes`)."""
    table = np.asarray(table)
    return one_hot(ids, table.shape[0], dtype=table.dtype) @ table


def numpy_row_lookup(ids, table: np.ndarray) -> np.ndarray:
    """``table[ids]`` in NumPy (for :func:`peak_bytes`)."""
    table = np.asarray(table)
    return table[check_ids(ids, table.shape[0])]
