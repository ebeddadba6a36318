"""Checks for the exercises of chapter 6, "Reading the embeddings"."""

from __future__ import annotations

import numpy as np

from ._base import call_answer, fail, passed

# A hand-made matrix where cosine similarity, Euclidean distance and the plain dot product
# all rank the rows around row 0 differently (row 0 points along the first axis):
#   cosine, most similar first:  1, 3, 2, 6, 4, 5
#   Euclidean, closest first:    2, 3, 4, 5, 1, 6
#   dot product, largest first:  6, 1, 3, 2, 4, 5
_TOY = np.array([
    [1.0, 0.0],
    [3.0, 0.3],
    [0.6, 0.45],
    [0.9, -0.6],
    [0.2, 1.0],
    [-1.0, 0.2],
    [5.0, 4.0],
])


def _cosine_order(matrix: np.ndarray, index: int) -> np.ndarray:
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    sims = unit @ unit[index]
    rows = np.delete(np.arange(len(matrix)), index)
    return rows[np.lexsort((rows, -sims[rows]))]


def _variants(matrix: np.ndarray, index: int, k: int) -> dict[str, np.ndarray]:
    """The answers that typical mistakes would give, by the name of the mistake."""
    rows = np.delete(np.arange(len(matrix)), index)
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    cos = unit @ unit[index]
    dist = np.linalg.norm(matrix - matrix[index], axis=1)
    dot = matrix @ matrix[index]
    return {
        "euclidean": rows[np.lexsort((rows, dist[rows]))][:k],
        "dot": rows[np.lexsort((rows, -dot[rows]))][:k],
        "farthest": rows[np.lexsort((rows, cos[rows]))][:k],
    }


def _as_indices(result, k: int) -> np.ndarray:
    if isinstance(result, tuple) and len(result) == 2 and np.ndim(result[0]) == 1 and np.ndim(result[1]) == 1:
        result = result[0]  # (indices, similarities), like explore.cosine_neighbours
    if result is None:
        fail("my_neighbours returned None: did you forget the return line?")
    arr = np.asarray(result)
    if arr.ndim != 1:
        fail(f"my_neighbours should return a 1-d list of k row indices, got an array of shape {arr.shape}.")
    if arr.size and not np.all(np.isclose(arr.astype(np.float64), np.round(arr.astype(np.float64)))):
        fail(f"my_neighbours should return row indices (whole numbers), got {arr.tolist()}: "
             "return the positions of the neighbours (np.argsort gives them), not their similarities.")
    return arr.astype(np.int64)


def _judge(func, matrix: np.ndarray, index: int, k: int, what: str) -> None:
    expected = _cosine_order(matrix, index)[:k]
    got = _as_indices(call_answer(func, matrix.copy(), index, k, name="my_neighbours"), k)
    if len(got) != k:
        fail(f"For k={k} on {what} you returned {len(got)} indices ({got.tolist()}); "
             f"expected exactly {k}: keep the first k after sorting.")
    if index in got.tolist():
        fail(f"Your neighbours of row {index} include row {index} itself ({got.tolist()}). A movie is always "
             "its own most similar movie (similarity 1), so leave it out before taking the top k.")
    if np.array_equal(got, expected):
        return
    wrong = _variants(matrix, index, k)
    if np.array_equal(got, wrong["farthest"]):
        fail(f"For row {index} you returned {got.tolist()}, the {k} LEAST similar rows; the nearest are "
             f"{expected.tolist()}. Sort by similarity from high to low (e.g. np.argsort(-similarities)).")
    if np.array_equal(got, wrong["euclidean"]):
        fail(f"For row {index} you returned {got.tolist()}: those are the closest rows by Euclidean distance. "
             f"Cosine similarity compares directions and ignores lengths; it gives {expected.tolist()}. "
             "Divide each row by its length before taking dot products.")
    if np.array_equal(got, wrong["dot"]):
        fail(f"For row {index} you returned {got.tolist()}: those have the largest plain dot product, which "
             f"favours long vectors. Cosine similarity divides by both lengths and gives {expected.tolist()}.")
    if sorted(got.tolist()) == sorted(expected.tolist()):
        fail(f"For row {index} you found the right rows but in the order {got.tolist()}; put the most similar "
             f"first: {expected.tolist()}.")
    fail(f"For row {index} and k={k} on {what} you returned {got.tolist()}, expected {expected.tolist()} "
         "(the rows with the highest cosine similarity, most similar first, without the row itself).")


def check_neighbours(func) -> None:
    """Check ``my_neighbours(matrix, index, k)``: the k nearest rows by cosine similarity, nearest first."""
    _judge(func, _TOY, 0, 3, "a small hand-made matrix")
    _judge(func, _TOY, 0, 1, "a small hand-made matrix")
    rng = np.random.default_rng(6)
    random = rng.normal(size=(60, 8)) * rng.uniform(0.2, 3.0, size=(60, 1))
    for index, k in ((0, 5), (17, 1), (59, 10)):
        _judge(func, random, index, k, "a random 60 × 8 matrix")
    passed("my_neighbours returns the k most cosine-similar rows, most similar first, without the row "
                  "itself.")
