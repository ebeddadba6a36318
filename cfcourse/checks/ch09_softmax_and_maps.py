"""Checks for the exercises of chapter 9, "The crash course's softmax recommender"."""

from __future__ import annotations

import numpy as np

from ._base import call_answer, fail, passed

# Movie indices in time order; distinct values so that positions can be told apart.
_HISTORY = np.array([31, 4, 15, 92, 65, 35, 89, 79, 32, 38, 46, 26, 43])


def _pair(result):
    if result is None:
        fail("my_cut returned None: did you forget the return line?")
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        fail(f"my_cut should return two things, (bag, labels); got {type(result).__name__}"
             + (f" of length {len(result)}" if hasattr(result, "__len__") else "") + ".")
    bag, labels = (np.asarray(part).reshape(-1) for part in result)
    return bag, labels


def _judge(func, history: np.ndarray, cut: int, window: int) -> None:
    bag, labels = _pair(call_answer(func, history.copy(), cut, window, name="my_cut"))
    want_bag, want_labels = history[:cut], history[cut:cut + window]
    where = f"for cut={cut}, window={window} on a history of {len(history)} movies"
    shared = np.intersect1d(bag, labels)
    if shared.size:
        fail(f"{where}, the movie(s) {shared.tolist()} are both in the bag and among the labels: the model would be "
             "asked to predict what it is shown. Labels must come strictly after the bag.")
    if np.array_equal(bag, want_bag) and np.array_equal(labels, want_labels):
        return
    if np.array_equal(labels, history[cut - 1:cut - 1 + window]):
        fail(f"{where}, your labels start one movie too early (at position {cut - 1}, the bag's last movie).")
    if np.array_equal(labels, history[cut + 1:cut + 1 + window]):
        fail(f"{where}, your labels skip the first movie after the bag (they start at position {cut + 1}, "
             f"not {cut}).")
    if not np.array_equal(bag, want_bag):
        if set(bag.tolist()) == set(want_bag.tolist()):
            fail(f"{where}, your bag has the right movies in another order; keep the time order of the history.")
        later = np.setdiff1d(bag, want_bag)
        if later.size:
            fail(f"{where}, your bag holds movie(s) {later[:5].tolist()} that the user rated after the cut: "
                 f"the bag is the first {cut} movies, history[:cut].")
        fail(f"{where}, the bag should be the first {cut} movies {want_bag.tolist()}, got {bag.tolist()}.")
    if len(labels) > window:
        fail(f"{where}, you returned {len(labels)} labels; at most window={window}.")
    if set(labels.tolist()) == set(want_labels.tolist()):
        fail(f"{where}, your labels are the right movies in another order; keep the time order.")
    fail(f"{where}, the labels should be the next {window} movies {want_labels.tolist()}, got {labels.tolist()}.")


def check_later_labels(func) -> None:
    """Check ``my_cut(history, cut, window)``: the first ``cut`` movies, and the ``window`` that follow."""
    for cut, window in ((5, 3), (1, 4), (10, 10), (12, 1)):
        _judge(func, _HISTORY, cut, window)
    for cut in (0, len(_HISTORY), len(_HISTORY) + 5, -3):
        try:
            result = func(_HISTORY.copy(), cut, 3)
        except ValueError:
            continue
        except NotImplementedError:
            fail("my_cut still raises NotImplementedError: write your code, run that cell, then this check.")
        except Exception as error:
            fail(f"For cut={cut} my_cut raised {type(error).__name__}: {error}. Raise a ValueError that says what "
                 "is wrong instead.")
        bag, labels = _pair(result)
        if cut < 0:
            what = "a bag counted from the end of the history (a negative cut)"
        elif cut == 0:
            what = "an empty bag"
        elif cut == len(_HISTORY):
            what = "no labels"
        else:
            what = "a cut beyond the end of the history, hence no labels"
        fail(f"For cut={cut} on a history of {len(_HISTORY)} movies, my_cut returned {what} (bag {bag.tolist()}, "
             f"labels {labels.tolist()}) instead of raising a ValueError: such an example teaches nothing. "
             f"Accept only 1 <= cut < len(history).")
    passed("my_cut puts the first cut movies in the bag and the next window movies after them in the labels, never "
           "the same movie in both.")
