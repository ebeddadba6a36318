"""The check of the bias exercise accepts right answers and names the typical mistakes."""

import numpy as np
import pytest

from cfcourse.checks import CheckFailed, check_predict_with_bias


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def good(dot, b_u, b_m, min_r, max_r):
    return min_r + (max_r - min_r) * sigmoid(dot + b_u + b_m)


def test_accepts_the_solution(passes):
    passes(check_predict_with_bias, good)


def test_accepts_a_keras_ops_version(passes):
    from keras import ops

    def with_ops(dot, b_u, b_m, min_r, max_r):
        return ops.convert_to_numpy(min_r + (max_r - min_r) * ops.sigmoid(dot + b_u + b_m))

    assert "both biases" in passes(check_predict_with_bias, with_ops)


def test_rejects_forgetting_the_scaling():
    with pytest.raises(CheckFailed, match="between 0 and 1: you forgot to stretch"):
        check_predict_with_bias(lambda dot, b_u, b_m, lo, hi: sigmoid(dot + b_u + b_m))


def test_rejects_forgetting_the_minimum():
    with pytest.raises(CheckFailed, match="max_r \\* sigmoid"):
        check_predict_with_bias(lambda dot, b_u, b_m, lo, hi: hi * sigmoid(dot + b_u + b_m))


def test_rejects_forgetting_the_user_bias():
    with pytest.raises(CheckFailed, match="ignore the user bias b_u"):
        check_predict_with_bias(lambda dot, b_u, b_m, lo, hi: lo + (hi - lo) * sigmoid(dot + b_m))


def test_rejects_forgetting_the_movie_bias():
    with pytest.raises(CheckFailed, match="ignore the movie bias b_m"):
        check_predict_with_bias(lambda dot, b_u, b_m, lo, hi: lo + (hi - lo) * sigmoid(dot + b_u))


def test_rejects_biases_outside_the_sigmoid():
    with pytest.raises(CheckFailed, match="after the sigmoid"):
        check_predict_with_bias(lambda dot, b_u, b_m, lo, hi: lo + (hi - lo) * sigmoid(dot) + b_u + b_m)


def test_rejects_a_hard_coded_scale():
    with pytest.raises(CheckFailed, match="min_r=1.0, max_r=10.0.*fixed numbers"):
        check_predict_with_bias(lambda dot, b_u, b_m, lo, hi: 0.5 + 4.5 * sigmoid(dot + b_u + b_m))


def test_rejects_a_wrong_shape():
    with pytest.raises(CheckFailed, match=r"shape \(5,\); got shape \(5, 1\)"):
        check_predict_with_bias(lambda *args: good(*args).reshape(-1, 1))


def test_rejects_nan_for_extreme_logits():
    def unstable(dot, b_u, b_m, lo, hi):
        e = np.exp(dot + b_u + b_m)  # overflows to inf for a logit of 10,000: inf / inf is NaN
        return lo + (hi - lo) * e / (1 + e)

    with pytest.raises(CheckFailed, match="very large or very small logits"):
        check_predict_with_bias(unstable)


def test_stub_says_not_implemented():
    def predict_with_bias(dot, b_u, b_m, min_r, max_r):
        raise NotImplementedError("add the biases")

    with pytest.raises(CheckFailed, match="still raises NotImplementedError"):
        check_predict_with_bias(predict_with_bias)
