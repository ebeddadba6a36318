"""The chapter 9 check accepts a right answer and explains typical wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from cfcourse import bags
from cfcourse.checks import CheckFailed, check_later_labels


def solution(history, cut, window):
    history = np.asarray(history)
    if not 1 <= cut < len(history):
        raise ValueError("cut must leave a bag and at least one label")
    return history[:cut], history[cut:cut + window]


def test_accepts_the_solution_and_the_package(passes):
    assert "never the same movie in both" in passes(check_later_labels, solution)
    passes(check_later_labels, bags.cut_history)
    passes(check_later_labels, lambda h, c, w: tuple(x.tolist() for x in solution(h, c, w)))


def test_rejects_labels_from_the_bag():
    def leaky(history, cut, window):
        bag = np.asarray(history)[:cut]
        return bag, bag[-window:]

    with pytest.raises(CheckFailed, match="both in the bag and among the labels"):
        check_later_labels(leaky)


def test_rejects_off_by_one_labels():
    def early(history, cut, window):
        history = np.asarray(history)
        return history[:cut - 1], history[cut - 1:cut - 1 + window]

    with pytest.raises(CheckFailed, match="start one movie too early"):
        check_later_labels(early)

    def late(history, cut, window):
        history = np.asarray(history)
        return history[:cut], history[cut + 1:cut + 1 + window]

    with pytest.raises(CheckFailed, match="skip the first movie after the bag"):
        check_later_labels(late)


def test_rejects_future_movies_in_the_bag():
    def shuffled(history, cut, window):
        history = np.asarray(history)
        rng = np.random.default_rng(0)
        labels = history[cut:cut + window]
        rest = np.setdiff1d(history, labels)
        return rng.choice(rest, cut, replace=False) if cut <= len(rest) else rest, labels

    with pytest.raises(CheckFailed, match="rated after the cut|another order"):
        check_later_labels(shuffled)


def test_rejects_sorted_bags_and_too_many_labels():
    with pytest.raises(CheckFailed, match="right movies in another order"):
        check_later_labels(lambda h, c, w: (np.sort(np.asarray(h)[:c]), np.asarray(h)[c:c + w]))
    with pytest.raises(CheckFailed, match="at most window"):
        check_later_labels(lambda h, c, w: (np.asarray(h)[:c], np.asarray(h)[c:c + w + 2]))


def test_rejects_empty_bags_and_unclear_errors():
    with pytest.raises(CheckFailed, match="an empty bag .* instead of raising a ValueError"):
        check_later_labels(lambda h, c, w: (np.asarray(h)[:c], np.asarray(h)[c:c + w]))

    def index_error(history, cut, window):
        if cut == 0:
            raise IndexError("oops")
        return solution(history, cut, window)

    with pytest.raises(CheckFailed, match="raised IndexError.*Raise a ValueError"):
        check_later_labels(index_error)


def test_rejects_wrong_return_shapes():
    with pytest.raises(CheckFailed, match="forget the return"):
        check_later_labels(lambda h, c, w: None)
    with pytest.raises(CheckFailed, match=r"two things, \(bag, labels\)"):
        check_later_labels(lambda h, c, w: np.asarray(h)[:c])

    def my_cut(history, cut, window):
        raise NotImplementedError("two slices")

    with pytest.raises(CheckFailed, match="still raises NotImplementedError"):
        check_later_labels(my_cut)


@pytest.mark.parametrize("guard", ["cut == 0 or cut == len(history)", "cut < 1", "cut >= len(history)"])
def test_rejects_cuts_outside_the_history(guard):
    """A solution that refuses only some bad cuts (e.g. lets a cut run past the history's end) fails."""
    def partial(history, cut, window):
        history = np.asarray(history)
        if eval(guard):
            raise ValueError("bad cut")
        return history[:cut], history[cut:cut + window]

    with pytest.raises(CheckFailed, match="instead of raising a ValueError"):
        check_later_labels(partial)
