"""Checks for the exercises of the chapter "A simple dot-product model"."""

from __future__ import annotations

import numpy as np

from ._base import call_answer, fail, passed

# Small ratings where RMSE, MSE, MAE and the broadcast mistake all give different numbers.
_Y_TRUE = np.array([4.0, 3.0, 5.0, 2.5, 1.0, 3.5])
_Y_PRED = np.array([3.5, 3.0, 3.5, 3.5, 2.0, 4.5])


def _as_number(value, label: str) -> float:
    if isinstance(value, (str, bytes)) or value is None:
        fail(f"{label} returned {value!r}; it should return one number.")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        fail(f"{label} returned {value!r}, which is not a number.")
    if arr.ndim != 0:
        fail(f"{label} returned an array of shape {arr.shape} instead of one number. Take the mean over all "
             "ratings at once (no axis argument), after flattening both inputs with np.ravel.")
    return float(arr)


def check_rmse(my_rmse) -> None:
    """Check a learner's ``my_rmse(y_true, y_pred)`` against the root mean squared error."""
    diff = _Y_PRED - _Y_TRUE
    expected = float(np.sqrt(np.mean(diff ** 2)))
    mse = float(np.mean(diff ** 2))
    mae = float(np.mean(np.abs(diff)))
    root_of_sum = float(np.sqrt(np.sum(diff ** 2)))
    got = _as_number(call_answer(my_rmse, _Y_TRUE.copy(), _Y_PRED.copy(), name="my_rmse"), "my_rmse")
    if not np.isfinite(got):
        fail(f"my_rmse returned {got} for ordinary ratings; expected {expected:.4f}.")
    if np.isclose(got, expected, atol=1e-6):
        pass
    elif np.isclose(got, mse, atol=1e-6):
        fail(f"my_rmse returned {got:.4f}, the mean squared error (in squared stars). Take its square root: "
             f"the RMSE of these ratings is {expected:.4f}.")
    elif np.isclose(got, mae, atol=1e-6):
        fail(f"my_rmse returned {got:.4f}, the mean absolute error. The RMSE squares the differences before "
             f"averaging and takes the square root afterwards; here it is {expected:.4f}.")
    elif np.isclose(got, root_of_sum, atol=1e-6):
        fail(f"my_rmse returned {got:.4f}, the square root of the *sum* of squared differences. Divide by the "
             f"number of ratings (take the mean) before the square root: expected {expected:.4f}.")
    else:
        fail(f"for true ratings {_Y_TRUE.tolist()} and predictions {_Y_PRED.tolist()} my_rmse returned "
             f"{got:.4f}, expected {expected:.4f}.")

    if not np.isclose(_as_number(call_answer(my_rmse, _Y_TRUE, _Y_TRUE.copy(), name="my_rmse"), "my_rmse"), 0.0,
                      atol=1e-9):
        fail("my_rmse of a prediction equal to the truth should be 0.")

    column = _Y_PRED.reshape(-1, 1)
    broadcast = float(np.sqrt(np.mean((_Y_TRUE - column) ** 2)))
    got_col = _as_number(call_answer(my_rmse, _Y_TRUE.copy(), column.copy(), name="my_rmse"), "my_rmse")
    if np.isclose(got_col, broadcast, atol=1e-6):
        fail(f"with predictions of shape {column.shape} (a column, as model.predict often returns) and true "
             f"ratings of shape {_Y_TRUE.shape}, my_rmse returned {got_col:.4f} instead of {expected:.4f}: "
             f"NumPy broadcast the difference into a {len(_Y_TRUE)} × {len(_Y_TRUE)} matrix of every rating "
             "minus every prediction. Flatten both arrays first, e.g. with np.ravel.")
    if not np.isclose(got_col, expected, atol=1e-6):
        fail(f"with predictions of shape {column.shape} my_rmse returned {got_col:.4f}, but with the same "
             f"predictions of shape {_Y_PRED.shape} it returned {expected:.4f}. Flatten both arrays first.")
    got_list = _as_number(call_answer(my_rmse, _Y_TRUE.tolist(), _Y_PRED.tolist(), name="my_rmse"), "my_rmse")
    if not np.isclose(got_list, expected, atol=1e-6):
        fail(f"with plain Python lists my_rmse returned {got_list:.4f} instead of {expected:.4f}; convert the "
             "inputs with np.asarray first.")
    passed(f"my_rmse gives {expected:.4f} on a small example, 0 for a perfect prediction, and the same "
                  "answer for predictions of shape (n,) and (n, 1).")
