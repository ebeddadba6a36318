"""Checks for the exercises of chapter 2 (SVD intuition): ``check_cosine`` and ``check_rank_k``."""

from __future__ import annotations

import numpy as np

from ._base import call_answer, fail, passed

__all__ = ["check_cosine", "check_rank_k"]


def _call(func, *args, name: str, hint: str):
    """``call_answer`` with the shapes of the inputs and a hint added to a crash's message."""
    shapes = " and ".join(str(np.shape(a)) for a in args if isinstance(a, np.ndarray))
    return call_answer(func, *args, name=name, hint=f"(on inputs of shape {shapes}). {hint}")


def _as_float_array(value, name: str) -> np.ndarray:
    try:
        out = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{name} should return numbers, got {type(value).__name__}: {value!r}")
    return out


# --------------------------------------------------------------------------------------
# Cosine similarity, row by row
# --------------------------------------------------------------------------------------

_COSINE_AXIS_HINT = ("Each row is one vector, so the sums and norms run along axis=1 (the coordinates), "
                     "not axis=0 (the rows).")


def _reference_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in np.ravel(values)) + "]"


def check_cosine(my_cosine) -> None:
    """Check ``my_cosine(a, b)``: the cosine similarity of each row of ``a`` with the same row of ``b``.

    ``a`` and ``b`` have shape (n, d) (n pairs of d-dimensional vectors); the answer must be
    an array of n numbers between -1 and 1.
    """
    name = "my_cosine"
    cases = [
        # two pairs of 3-d vectors: parallel (different lengths) and orthogonal
        (np.array([[1.0, 2.0, 2.0], [3.0, 0.0, 4.0]]), np.array([[2.0, 4.0, 4.0], [0.0, 5.0, 0.0]])),
        # three pairs of 3-d vectors (a square input, where the wrong axis does not crash)
        (np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [2.0, -1.0, 3.0]]),
         np.array([[-4.0, 0.0, 0.0], [3.0, 1.0, 1.0], [1.0, 2.0, 0.5]])),
        # four pairs of 2-d vectors of very different lengths
        (np.array([[10.0, 0.0], [0.5, 0.5], [3.0, 4.0], [-1.0, 7.0]]),
         np.array([[0.1, 0.1], [-2.0, 2.0], [30.0, 40.0], [2.0, 1.0]])),
    ]
    for a, b in cases:
        expected = _reference_cosine(a, b)
        got = _call(my_cosine, a.copy(), b.copy(), name=name, hint=_COSINE_AXIS_HINT)
        if got is None:
            fail(f"{name} returned None: did you forget the return statement?")
        got = _as_float_array(got, name)
        n = len(a)
        if got.shape != (n,):
            extra = f" {_COSINE_AXIS_HINT}" if got.shape == (a.shape[1],) or got.shape == () else ""
            fail(f"For {n} pairs of vectors (inputs of shape {a.shape}) {name} should return {n} similarities, "
                 f"one per row, as an array of shape ({n},); it returned shape {got.shape}.{extra}")
        if np.allclose(got, expected, atol=1e-6):
            continue
        dots = np.sum(a * b, axis=1)
        na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
        shown = f"for a = {a.tolist()} and b = {b.tolist()} you returned {_fmt(got)}, expected {_fmt(expected)}"
        if np.allclose(got, dots):
            fail(f"{name} returns the plain dot products: {shown}. The dot product grows with the vectors' "
                 "lengths; divide it by the norms of both vectors, ‖a‖ ‖b‖, so that only the angle counts.")
        if np.allclose(got, dots / na) or np.allclose(got, dots / nb):
            fail(f"{name} seems to normalise only one of the two vectors: {shown}. Divide the dot product by "
                 "the product of BOTH norms.")
        if np.allclose(got, dots / (na * nb) ** 2) or np.allclose(got, dots / (na ** 2 * nb ** 2)):
            fail(f"{name} divides by the squared norms: {shown}. Use the norms themselves "
                 "(np.linalg.norm, the square root of the sum of squares).")
        if a.shape[0] == a.shape[1]:
            wrong_axis = dots / (np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0))
            wrong_sum = np.sum(a * b, axis=0) / (na * nb)
            if np.allclose(got, wrong_axis) or np.allclose(got, wrong_sum):
                fail(f"{name} uses the wrong axis: {shown}. {_COSINE_AXIS_HINT}")
        if np.any(np.abs(got) > 1 + 1e-9):
            fail(f"A cosine lies between -1 and 1, but {shown}.")
        fail(f"{name} gives wrong similarities: {shown}. Cosine similarity is a·b / (‖a‖ ‖b‖) for each row.")
    passed(f"{name} matches a·b / (‖a‖ ‖b‖) row by row, whatever the vectors' lengths: "
                  "parallel rows give 1, orthogonal 0, opposite -1.")


# --------------------------------------------------------------------------------------
# Rank-k reconstruction
# --------------------------------------------------------------------------------------

_RANK_K_HINT = ("Check the slicing: with U, s, Vt = np.linalg.svd(matrix, full_matrices=False), keep the first k "
                "columns of U (U[:, :k]), the first k singular values (s[:k]) and the first k rows of Vt "
                "(Vt[:k, :]).")


def check_rank_k(my_rank_k) -> None:
    """Check ``my_rank_k(matrix, k)``: the best rank-``k`` approximation ``U_k Σ_k V_kᵀ`` of a matrix."""
    name = "my_rank_k"
    rng = np.random.default_rng(2024)
    matrix = np.round(rng.uniform(0.5, 5.0, size=(5, 4)) * 2) / 2  # half-star "ratings", 5 users × 4 movies
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    for k in (2, 1, 3, 4):
        expected = (u[:, :k] * s[:k]) @ vt[:k]
        given = matrix.copy()
        got = _call(my_rank_k, given, k, name=name, hint=_RANK_K_HINT)
        if not np.array_equal(given, matrix):
            fail(f"{name} changed the matrix it was given; work on the factors, not on the input.")
        if got is None:
            fail(f"{name} returned None: did you forget the return statement?")
        got = _as_float_array(got, name)
        if got.shape != matrix.shape:
            fail(f"For a {matrix.shape[0]} × {matrix.shape[1]} matrix and k={k}, {name} should return a matrix of "
                 f"the same shape {matrix.shape}, got shape {got.shape}. {_RANK_K_HINT}")
        if np.allclose(got, expected, atol=1e-8):
            continue
        worst = float(np.max(np.abs(got - expected)))
        no_sigma = u[:, :k] @ vt[:k]
        smallest = (u[:, -k:] * s[-k:]) @ vt[-k:]
        if np.allclose(got, no_sigma, atol=1e-8):
            fail(f"With k={k}, {name} returns U_k V_kᵀ without Σ_k: the singular values {_fmt(s[:k])} carry the "
                 "scale of the ratings, so the result is far too small. Multiply by np.diag(s[:k]) in between.")
        if k < len(s) and np.allclose(got, matrix, atol=1e-8):
            fail(f"With k={k}, {name} returns the original matrix: all {len(s)} factors were kept. "
                 f"Keep only the first k. {_RANK_K_HINT}")
        if np.allclose(got, smallest, atol=1e-8):
            fail(f"With k={k}, {name} keeps the SMALLEST k singular values {_fmt(s[-k:])}. np.linalg.svd sorts "
                 "them largest first, so the first k are the important ones.")
        rank = int(np.linalg.matrix_rank(got, tol=1e-8))
        if rank > k:
            fail(f"With k={k}, {name} returns a matrix of rank {rank}: a rank-k approximation may have at most k "
                 f"independent rows. {_RANK_K_HINT}")
        fail(f"With k={k}, {name} differs from U_k Σ_k V_kᵀ by up to {worst:.3g} in a cell. {_RANK_K_HINT}")
    passed(f"{name} equals U_k Σ_k V_kᵀ for k = 1 … 4 on a 5 × 4 matrix, and k = 4 rebuilds it exactly.")
