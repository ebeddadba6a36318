"""The check of the RMSE exercise of the simple dot-product chapter accepts right answers and explains wrong ones."""

import numpy as np
import pytest

from cfcourse.checks import CheckFailed, check_rmse


def good_rmse(y_true, y_pred):
    y_true = np.ravel(np.asarray(y_true, dtype=float))
    y_pred = np.ravel(np.asarray(y_pred, dtype=float))
    return float(np.sqrt(np.mean((y_true - y_pred) ** 2)))


def test_accepts_the_solution(passes):
    passes(check_rmse, good_rmse)


def test_accepts_the_library_rmse(passes):
    from cfcourse.metrics import rmse

    assert "my_rmse" in passes(check_rmse, rmse)


def test_rejects_mse_without_root():
    def mse(y_true, y_pred):
        return float(np.mean((np.ravel(y_true) - np.ravel(y_pred)) ** 2))

    with pytest.raises(CheckFailed, match="mean squared error.*square root"):
        check_rmse(mse)


def test_rejects_mean_absolute_error():
    def mae(y_true, y_pred):
        return float(np.mean(np.abs(np.ravel(y_true) - np.ravel(y_pred))))

    with pytest.raises(CheckFailed, match="mean absolute error"):
        check_rmse(mae)


def test_rejects_sum_instead_of_mean():
    def root_sum(y_true, y_pred):
        return float(np.sqrt(np.sum((np.ravel(y_true) - np.ravel(y_pred)) ** 2)))

    with pytest.raises(CheckFailed, match=r"\*sum\*"):
        check_rmse(root_sum)


def test_rejects_broadcasting_a_column():
    def no_flatten(y_true, y_pred):
        return float(np.sqrt(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2)))

    with pytest.raises(CheckFailed, match=r"broadcast.*6 × 6 matrix.*np\.ravel"):
        check_rmse(no_flatten)


def test_rejects_mean_over_an_axis():
    def per_column(y_true, y_pred):
        y_true = np.asarray(y_true, dtype=float).reshape(-1, 1)
        y_pred = np.asarray(y_pred, dtype=float).reshape(-1, 1)
        return np.sqrt(np.mean((y_true - y_pred) ** 2, axis=0))

    with pytest.raises(CheckFailed, match=r"array of shape \(1,\) instead of one number"):
        check_rmse(per_column)


def test_rejects_a_wrong_number():
    with pytest.raises(CheckFailed, match="returned 1.0000, expected 0.9574"):
        check_rmse(lambda y_true, y_pred: 1.0)


def test_stub_says_not_implemented():
    def my_rmse(y_true, y_pred):
        raise NotImplementedError("square the differences")

    with pytest.raises(CheckFailed, match="still raises NotImplementedError"):
        check_rmse(my_rmse)


def test_rejects_a_non_function():
    with pytest.raises(CheckFailed, match="Expected a function"):
        check_rmse(0.7)
