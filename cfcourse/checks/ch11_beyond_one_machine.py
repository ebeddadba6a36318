"""Checks for the exercises of the chapter "Beyond one machine"."""

from __future__ import annotations

import warnings

import numpy as np

from ._base import call_answer, fail, passed

_RNG = np.random.default_rng(11)
#: Five movie vectors of rank 3 and one user's ratings of them.
_Y = np.round(_RNG.normal(0.0, 0.6, (5, 3)), 2)
_R = np.array([4.0, 3.5, 5.0, 2.0, 4.5])
_REG = 0.15
#: A user with fewer ratings than the rank: only the penalty makes the system solvable.
_Y_FEW = np.round(_RNG.normal(0.0, 0.6, (2, 4)), 2)
_R_FEW = np.array([3.0, 4.5])


def _ridge(Y: np.ndarray, r: np.ndarray, penalty: float) -> np.ndarray:
    return np.linalg.solve(Y.T @ Y + penalty * np.eye(Y.shape[1]), Y.T @ r)


def _call(func, Y: np.ndarray, r: np.ndarray, reg: float) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = call_answer(func, Y.copy(), r.copy(), reg, name="als_user_vector",
                          hint="Y.T @ Y is k x k; np.linalg.solve(A, b) solves A x = b.")
    try:
        out = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"als_user_vector returned {type(out).__name__}, not an array of numbers.")
    if out.shape != (Y.shape[1],):
        fail(f"als_user_vector should return one vector of length k = {Y.shape[1]} (shape ({Y.shape[1]},)), got "
             f"shape {out.shape}. The system (Y^T Y + reg n I) x = Y^T r has k unknowns"
             + (": Y @ Y.T is n x n, use Y.T @ Y." if out.shape in ((Y.shape[0],), (Y.shape[0], 1)) else "."))
    return out


def check_als_user_vector(als_user_vector) -> None:
    """Check ``als_user_vector(Y, r, reg)``: the ALS-WR solution (Y^T Y + reg * n * I)^-1 Y^T r."""
    n_ratings, rank = _Y.shape  # not the solution's names: a traceback here must not show its lines
    expected = _ridge(_Y, _R, _REG * n_ratings)
    got = _call(als_user_vector, _Y, _R, _REG)
    if not np.allclose(got, expected, atol=1e-6):
        shown = np.array2string(got, precision=4, separator=", ")
        wanted = np.array2string(expected, precision=4, separator=", ")
        candidates = [
            (_ridge(_Y, _R, _REG), "is plain ridge regression with the penalty reg * I: ALS-WR scales the penalty by "
                                   "the user's number of ratings, reg * n * I"),
            (np.linalg.lstsq(_Y, _R, rcond=None)[0], "is the least-squares solution without any penalty: add "
                                                     "reg * n * I to Y^T Y"),
            (_ridge(_Y, _R, _REG * n_ratings ** 2), "uses the penalty reg * n**2 * I: the factor is n, not n squared"),
            (_ridge(_Y, _R, _REG * rank), "uses reg * k * I, with k the rank: the factor is the number of "
                                          "ratings, n = len(r)"),
            (_ridge(_Y, _R, _REG / n_ratings), "uses reg / n * I: the penalty grows with the number of ratings, "
                                               "reg * n * I"),
            (np.linalg.solve(_Y.T @ _Y + _REG * n_ratings * np.eye(rank), _Y.T @ (_R - _R.mean())),
             "centres the ratings first: ALS fits the ratings themselves, Y^T r"),
        ]
        for wrong, why in candidates:
            if np.allclose(got, wrong, atol=1e-6):
                fail(f"With reg={_REG} and {n_ratings} ratings, your vector {shown} {why}. Expected {wanted}.")
        fail(f"With Y={_Y.tolist()}, r={_R.tolist()} and reg={_REG}, als_user_vector returned {shown}; "
             f"expected {wanted}, the solution of (Y^T Y + reg * n * I) x = Y^T r with n = {n_ratings}.")
    few = _call(als_user_vector, _Y_FEW, _R_FEW, _REG)
    expected_few = _ridge(_Y_FEW, _R_FEW, _REG * len(_R_FEW))
    if not np.all(np.isfinite(few)) or not np.allclose(few, expected_few, atol=1e-6):
        fail(f"For a user with 2 ratings and rank 4 (fewer ratings than unknowns), als_user_vector returned "
             f"{few.tolist()}; expected {expected_few.round(4).tolist()}. With the penalty the system is always "
             "solvable: do not drop it, and do not use a least-squares routine that ignores it.")
    passed("als_user_vector solves (Y^T Y + reg * n * I) x = Y^T r: the ALS-WR half-step for one user.")
