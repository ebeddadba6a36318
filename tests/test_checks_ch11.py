"""The check of the ALS exercise accepts right answers and names the typical mistakes."""

import numpy as np
import pytest

from cfcourse.checks import CheckFailed, check_als_user_vector


def good(Y, r, reg):
    return np.linalg.solve(Y.T @ Y + reg * len(r) * np.eye(Y.shape[1]), Y.T @ r)


def test_accepts_the_solution(passes):
    assert "ALS-WR" in passes(check_als_user_vector, good)


def test_accepts_an_explicit_inverse_and_lists(passes):
    def with_inverse(Y, r, reg):
        Y = np.asarray(Y)
        return list(np.linalg.inv(Y.T @ Y + reg * Y.shape[0] * np.eye(Y.shape[1])) @ Y.T @ r)

    passes(check_als_user_vector, with_inverse)


def test_rejects_plain_ridge():
    with pytest.raises(CheckFailed, match=r"plain ridge regression .* reg \* n \* I"):
        check_als_user_vector(lambda Y, r, reg: np.linalg.solve(Y.T @ Y + reg * np.eye(Y.shape[1]), Y.T @ r))


def test_rejects_no_penalty():
    with pytest.raises(CheckFailed, match="least-squares solution without any penalty"):
        check_als_user_vector(lambda Y, r, reg: np.linalg.lstsq(Y, r, rcond=None)[0])


def test_rejects_n_squared_and_rank_and_division():
    n = lambda r: len(r)  # noqa: E731
    with pytest.raises(CheckFailed, match="not n squared"):
        check_als_user_vector(lambda Y, r, reg: np.linalg.solve(Y.T @ Y + reg * n(r) ** 2 * np.eye(Y.shape[1]),
                                                                Y.T @ r))
    with pytest.raises(CheckFailed, match="with k the rank"):
        check_als_user_vector(lambda Y, r, reg: np.linalg.solve(Y.T @ Y + reg * Y.shape[1] * np.eye(Y.shape[1]),
                                                                Y.T @ r))
    with pytest.raises(CheckFailed, match=r"reg / n"):
        check_als_user_vector(lambda Y, r, reg: np.linalg.solve(Y.T @ Y + reg / n(r) * np.eye(Y.shape[1]),
                                                                Y.T @ r))


def test_rejects_centred_ratings():
    with pytest.raises(CheckFailed, match="centres the ratings"):
        check_als_user_vector(lambda Y, r, reg: good(Y, r - r.mean(), reg))


def test_rejects_the_n_by_n_gram_matrix():
    with pytest.raises(CheckFailed, match=r"Y @ Y\.T is n x n, use Y\.T @ Y"):
        check_als_user_vector(lambda Y, r, reg: np.linalg.solve(Y @ Y.T + reg * len(r) * np.eye(len(r)), r))


def test_rejects_an_answer_that_only_works_with_enough_ratings():
    def lstsq_then_shrink(Y, r, reg):  # right when n >= k, wrong when the system needs the penalty
        if len(r) >= Y.shape[1]:
            return good(Y, r, reg)
        return np.linalg.lstsq(Y, r, rcond=None)[0]

    with pytest.raises(CheckFailed, match="fewer ratings than unknowns"):
        check_als_user_vector(lstsq_then_shrink)


def test_a_crash_and_a_stub_are_explained():
    with pytest.raises(CheckFailed, match=r"raised ValueError: .*Y\.T @ Y is k x k"):
        check_als_user_vector(lambda Y, r, reg: np.linalg.solve(Y.T @ Y, r))

    def als_user_vector(Y, r, reg):
        raise NotImplementedError("solve the normal equations")

    with pytest.raises(CheckFailed, match="still raises NotImplementedError"):
        check_als_user_vector(als_user_vector)
