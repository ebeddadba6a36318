"""Checks for the exercises of the chapter "Adding user and movie biases"."""

from __future__ import annotations

import warnings

import numpy as np

from ._base import call_answer, fail, passed

_DOT = np.array([0.8, -1.2, 0.1, 2.0, -0.4])
_B_USER = np.array([0.5, -0.3, 0.9, 0.0, -1.1])
_B_MOVIE = np.array([-0.2, 0.7, 0.4, -1.5, 0.3])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _call(func, dot, b_u, b_m, min_r, max_r) -> np.ndarray:
    with warnings.catch_warnings(), np.errstate(over="ignore", under="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        out = call_answer(func, dot.copy(), b_u.copy(), b_m.copy(), min_r, max_r, name="predict_with_bias")
    try:
        out = np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"predict_with_bias returned {type(out).__name__}, not an array of numbers.")
    if out.shape != dot.shape:
        fail(f"predict_with_bias should return one rating per pair, shape {dot.shape}; got shape {out.shape}. "
             "Combine the arrays element-wise (no sum over the pairs, no extra axis).")
    return out


def check_predict_with_bias(predict_with_bias) -> None:
    """Check ``predict_with_bias(dot, b_u, b_m, min_r, max_r)`` against the biased model's output."""
    for min_r, max_r in ((0.5, 5.0), (1.0, 10.0)):
        got = _call(predict_with_bias, _DOT, _B_USER, _B_MOVIE, min_r, max_r)
        logit = _DOT + _B_USER + _B_MOVIE
        expected = min_r + (max_r - min_r) * _sigmoid(logit)
        if np.allclose(got, expected, atol=1e-5):
            continue
        shown = np.array2string(got, precision=3, separator=", ")
        wanted = np.array2string(expected, precision=3, separator=", ")
        candidates = [
            (_sigmoid(logit), "lie between 0 and 1: you forgot to stretch the sigmoid onto the rating scale, "
                              "min_r + (max_r - min_r) * sigmoid(...)"),
            (max_r * _sigmoid(logit), "are max_r * sigmoid(...): the scale must start at min_r, so use "
                                      "min_r + (max_r - min_r) * sigmoid(...)"),
            ((max_r - min_r) * _sigmoid(logit), "are (max_r - min_r) * sigmoid(...) without adding min_r, so they "
                                                "can fall below the lowest rating"),
            (min_r + (max_r - min_r) * _sigmoid(_DOT + _B_MOVIE), "ignore the user bias b_u: add it to the dot "
                                                                  "product inside the sigmoid"),
            (min_r + (max_r - min_r) * _sigmoid(_DOT + _B_USER), "ignore the movie bias b_m: add it to the dot "
                                                                 "product inside the sigmoid"),
            (min_r + (max_r - min_r) * _sigmoid(_DOT), "ignore both biases: add b_u and b_m to the dot product "
                                                       "inside the sigmoid"),
            (min_r + (max_r - min_r) * _sigmoid(_DOT) + _B_USER + _B_MOVIE,
             "add the biases after the sigmoid, so they can push a rating off the scale; add them inside it"),
            (min_r + (max_r - min_r) * logit, "skip the sigmoid, so nothing keeps them on the rating scale"),
            (0.5 + 4.5 * _sigmoid(logit), "use the scale 0.5 to 5 whatever min_r and max_r are: use the arguments "
                                          "instead of fixed numbers"),
        ]
        for wrong, why in candidates:
            if np.allclose(got, wrong, atol=1e-5):
                fail(f"With min_r={min_r}, max_r={max_r} your predictions {shown} {why}. Expected {wanted}.")
        fail(f"With dot={_DOT.tolist()}, b_u={_B_USER.tolist()}, b_m={_B_MOVIE.tolist()}, min_r={min_r} and "
             f"max_r={max_r}, predict_with_bias returned {shown}; expected {wanted}.")

    huge = np.array([1e4, -1e4, 50.0, -50.0])
    zeros = np.zeros_like(huge)
    extreme = _call(predict_with_bias, huge, zeros, zeros, 0.5, 5.0)
    if not np.all(np.isfinite(extreme)):
        fail(f"for very large or very small logits ({huge.tolist()}) predict_with_bias returned {extreme.tolist()}; "
             "expected finite ratings close to 5 and 0.5.")
    if extreme.min() < 0.5 - 1e-6 or extreme.max() > 5.0 + 1e-6:
        fail(f"for very large or very small logits the predictions {extreme.tolist()} leave the scale [0.5, 5].")
    passed("predict_with_bias adds both biases to the dot product, squashes with a sigmoid and maps the "
                  "result onto [min_r, max_r], even for extreme logits.")
