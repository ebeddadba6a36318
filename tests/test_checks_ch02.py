"""The chapter-2 checks accept right answers and reject typical wrong ones with a useful message."""

from __future__ import annotations

import numpy as np
import pytest

from cfcourse.checks import CheckFailed, check_cosine, check_rank_k


# --------------------------------------------------------------------------------------
# check_cosine
# --------------------------------------------------------------------------------------


def good_cosine(a, b):
    dots = np.sum(a * b, axis=1)
    return dots / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def loop_cosine(a, b):
    """A correct answer written another way (a Python loop returning a list)."""
    out = []
    for x, y in zip(a, b):
        out.append(float(x @ y) / (np.sqrt(x @ x) * np.sqrt(y @ y)))
    return out


def test_check_cosine_accepts_solutions(passes):
    assert "row by row" in passes(check_cosine, good_cosine)
    passes(check_cosine, loop_cosine)


def test_check_cosine_accepts_the_library_function(passes):
    from cfcourse.svd import cosine_similarity

    passes(check_cosine, cosine_similarity)


@pytest.mark.parametrize("wrong, match", [
    (lambda a, b: np.sum(a * b, axis=1), "plain dot products"),
    (lambda a, b: np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1), "only one of the two vectors"),
    (lambda a, b: np.sum(a * b, axis=1) / np.linalg.norm(b, axis=1), "only one of the two vectors"),
    (lambda a, b: np.sum(a * b, axis=1) / (np.sum(a * a, axis=1) * np.sum(b * b, axis=1)), "squared norms"),
    # wrong axis everywhere: returns d numbers instead of n
    (lambda a, b: np.sum(a * b, axis=0) / (np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0)),
     r"should return 2 similarities.*shape \(3,\).*axis=1"),
    # wrong axis in the norms only: crashes on 2 × 3 inputs
    (lambda a, b: np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0)),
     r"raised ValueError.*axis=1"),
    # a full similarity matrix instead of row pairs
    (lambda a, b: (a / np.linalg.norm(a, axis=1, keepdims=True)) @ (b / np.linalg.norm(b, axis=1, keepdims=True)).T,
     r"shape \(2, 2\)"),
    (lambda a, b: None, "forget the return"),
])
def test_check_cosine_rejects_typical_mistakes(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        check_cosine(wrong)


def test_check_cosine_catches_the_wrong_norm_axis_on_square_inputs():
    calls = []

    def wrong_axis(a, b):
        calls.append(a.shape)
        if a.shape[0] != a.shape[1]:  # behave on the non-square case so the square one is reached
            return good_cosine(a, b)
        return np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0))

    with pytest.raises(CheckFailed, match="wrong axis"):
        check_cosine(wrong_axis)
    assert (3, 3) in calls


def test_check_cosine_stub_and_non_function():
    def my_cosine(a, b):
        raise NotImplementedError("divide the dot product by both norms")

    with pytest.raises(CheckFailed, match="my_cosine still raises NotImplementedError"):
        check_cosine(my_cosine)
    with pytest.raises(CheckFailed, match="Pass the function itself"):
        check_cosine(good_cosine(np.ones((1, 2)), np.ones((1, 2))))


# --------------------------------------------------------------------------------------
# check_rank_k
# --------------------------------------------------------------------------------------


def good_rank_k(matrix, k):
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    return u[:, :k] @ np.diag(s[:k]) @ vt[:k, :]


def good_rank_k_full_matrices(matrix, k):
    u, s, vt = np.linalg.svd(matrix)  # full_matrices=True also works after slicing
    return u[:, :k] @ np.diag(s[:k]) @ vt[:k, :]


def test_check_rank_k_accepts_solutions(passes):
    passes(check_rank_k, good_rank_k)
    passes(check_rank_k, good_rank_k_full_matrices)
    from cfcourse.svd import rank_k_approximation

    passes(check_rank_k, rank_k_approximation)


def _no_sigma(matrix, k):
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    return u[:, :k] @ vt[:k, :]


def _all_factors(matrix, k):
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    return u @ np.diag(s) @ vt


def _smallest(matrix, k):
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    return u[:, -k:] @ np.diag(s[-k:]) @ vt[-k:, :]


def _columns_of_vt(matrix, k):
    u, s, vt = np.linalg.svd(matrix, full_matrices=False)
    return u[:, :k] @ np.diag(s[:k]) @ vt[:, :k]


def _transposed_shape(matrix, k):
    return good_rank_k(matrix, k).T


def _modifies_input(matrix, k):
    matrix[0, 0] = 0.0
    return good_rank_k(matrix, k)


def _noisy(matrix, k):
    return good_rank_k(matrix, k) + 0.01


@pytest.mark.parametrize("wrong, match", [
    (_no_sigma, "without Σ_k"),
    (_all_factors, "returns the original matrix"),
    (_smallest, "SMALLEST k singular values"),
    (_columns_of_vt, r"raised ValueError.*first k rows of Vt"),
    (_transposed_shape, r"same shape \(5, 4\), got shape \(4, 5\)"),
    (_modifies_input, "changed the matrix"),
    (_noisy, r"k=2.*rank 3.*at most k"),  # adding a constant adds one to the rank
    (lambda m, k: None, "forget the return"),
])
def test_check_rank_k_rejects_typical_mistakes(wrong, match):
    with pytest.raises(CheckFailed, match=match):
        check_rank_k(wrong)


def test_check_rank_k_reports_the_size_of_a_small_error():
    def slightly_off(matrix, k):
        out = good_rank_k(matrix, k)
        return out * 1.01  # still rank k, but scaled

    with pytest.raises(CheckFailed, match=r"differs from U_k Σ_k V_kᵀ by up to"):
        check_rank_k(slightly_off)


def test_check_rank_k_stub():
    def my_rank_k(matrix, k):
        raise NotImplementedError("keep the first k columns of U")

    with pytest.raises(CheckFailed, match="my_rank_k still raises NotImplementedError"):
        check_rank_k(my_rank_k)
