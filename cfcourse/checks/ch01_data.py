"""Checks for the exercises of the chapter "The data: a tour of MovieLens ml-latest-small"."""

from __future__ import annotations

import numpy as np

from ._base import call_answer, fail, passed

# Raw ids with gaps, repeats and an order that is not sorted, like movie ids in the ratings table.
_IDS = np.array([50, 3, 193609, 3, 50, 7, 193609, 1, 50])


def check_dense_index(my_dense_index) -> None:
    """Check ``my_dense_index(ids) -> (index, uniques)``: consecutive 0-based indices for raw ids.

    ``index[i]`` must be the position of ``ids[i]`` in ``uniques``, with each distinct id getting
    exactly one of 0, 1, …, n_distinct - 1.
    """
    result = call_answer(my_dense_index, _IDS.copy(), name="my_dense_index")
    if not isinstance(result, tuple) or len(result) != 2:
        fail(f"my_dense_index should return two things, (index, uniques); it returned {type(result).__name__}"
             f"{'' if not isinstance(result, tuple) else f' of length {len(result)}'}.")
    index, uniques = (np.asarray(part) for part in result)
    n_distinct = len(np.unique(_IDS))
    if index.shape != _IDS.shape:
        fail(f"index should have one entry per rating, shape {_IDS.shape}; got shape {index.shape}.")
    if not np.issubdtype(index.dtype, np.integer):
        fail(f"index should hold integers (row numbers of an embedding table); got dtype {index.dtype}.")
    if uniques.shape != (n_distinct,):
        fail(f"for ids {_IDS.tolist()} there are {n_distinct} distinct ids, so uniques should have shape "
             f"({n_distinct},); got {uniques.shape}.")
    if np.array_equal(index, _IDS):
        fail(f"index is the raw ids unchanged (up to {int(_IDS.max()):,}): an embedding table would need "
             f"{int(_IDS.max()) + 1:,} rows for {n_distinct} movies. Map each distinct id to 0, 1, 2, …")
    if index.min() == 1 and index.max() == n_distinct:
        fail(f"index runs from 1 to {n_distinct}: it must start at 0, because row n_distinct = {n_distinct} "
             f"does not exist in a table with {n_distinct} rows.")
    if index.min() < 0 or index.max() >= n_distinct:
        fail(f"index should lie in 0..{n_distinct - 1} for {n_distinct} distinct ids; it runs from "
             f"{int(index.min())} to {int(index.max())}.")
    if not np.array_equal(uniques[index], _IDS):
        fail(f"uniques[index] should give back the original ids {_IDS.tolist()}, but gives "
             f"{uniques[index].tolist()}: the same id must always get the same index, and uniques[k] must be "
             "the id whose index is k.")
    passed(f"my_dense_index maps {n_distinct} distinct ids (up to {int(_IDS.max()):,}) onto 0..{n_distinct - 1} "
                  "and uniques[index] gives the ids back.")
