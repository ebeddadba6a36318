"""The chapter 7 check accepts a right answer and explains typical wrong ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cfcourse.checks import CheckFailed, check_hr_ndcg


def make(exclude=True, descending=True, hr_by="n", first_rank=1, shift=1, ideal="min", dcg_log=np.log2,
         ideal_log=np.log2):
    """A learner's answer with the given habits (the defaults are right)."""

    def my_hr_ndcg(scores, seen, held_out, k):
        scores = np.array(scores, dtype=float)
        if exclude:
            scores[seen] = -np.inf if descending else np.inf
        order = np.argsort(-scores if descending else scores, kind="stable")[:k]
        ranks = np.flatnonzero(np.isin(order, held_out)) + first_rank
        hits, n = len(ranks), len(held_out)
        hr = {"n": hits / n, "k": hits / k, "min": hits / min(n, k), "count": hits}[hr_by]
        dcg = np.sum(1.0 / dcg_log(ranks + shift))
        if ideal == "none":
            return hr, dcg
        m = {"min": min(n, k), "n": n, "k": k, "hits": hits}[ideal]
        idcg = np.sum(1.0 / ideal_log(np.arange(first_rank, first_rank + m) + shift))
        return hr, dcg / idcg

    return my_hr_ndcg


def test_accepts_the_solution(passes):
    assert "HR@k and NDCG@k" in passes(check_hr_ndcg, make())


def test_accepts_the_natural_log_in_both_places(passes):
    passes(check_hr_ndcg, make(dcg_log=np.log, ideal_log=np.log))  # the base cancels out in the ratio


def test_accepts_a_loop_with_python_floats(passes):
    def loop(scores, seen, held_out, k):
        candidates = [m for m in range(len(scores)) if m not in set(seen)]
        top = sorted(candidates, key=lambda m: -scores[m])[:k]
        gains = [1 / math.log2(r + 2) for r, m in enumerate(top) if m in set(held_out)]
        ideal = sum(1 / math.log2(r + 2) for r in range(min(k, len(held_out))))
        return len(gains) / len(held_out), sum(gains) / ideal

    passes(check_hr_ndcg, loop)


@pytest.mark.parametrize("habits, message", [
    (dict(exclude=False), "already rated"),
    (dict(descending=False), "k LOWEST scores"),
    (dict(exclude=False, descending=False), "lowest scores and kept the seen movies"),
    (dict(hr_by="k"), r"precision@k"),
    (dict(hr_by="min"), r"min\(k, number held out\)"),
    (dict(hr_by="count"), "number of hits"),
    (dict(shift=2), "off-by-one"),
    (dict(first_rank=0), "not finite"),
    (dict(ideal="none"), "not normalised"),
    (dict(ideal="n"), "one term per held-out movie"),
    (dict(ideal="k"), "as if k movies were held out"),
    (dict(ideal="hits"), "counts only the hits"),
    (dict(dcg_log=np.log), "natural log"),
    (dict(dcg_log=np.log10), "log10"),
])
def test_rejects_the_usual_mistakes(habits, message):
    with pytest.raises(CheckFailed, match=message):
        check_hr_ndcg(make(**habits))


def test_rejects_swapped_values():
    right = make()
    with pytest.raises(CheckFailed, match="swapped"):
        check_hr_ndcg(lambda *args: right(*args)[::-1])


def test_a_division_by_zero_gets_the_hint_about_ranks():
    def python_zero(scores, seen, held_out, k):
        scores = np.array(scores, dtype=float)
        scores[seen] = -np.inf
        top = np.argsort(-scores)[:k]
        dcg = sum(1 / math.log2(r) for r, m in enumerate(top, start=1) if m in held_out)
        return 0.0, dcg

    with pytest.raises(CheckFailed, match="ZeroDivisionError.*ranks start at 1"):
        check_hr_ndcg(python_zero)


def test_rejects_none_and_a_single_value():
    with pytest.raises(CheckFailed, match="forget the return"):
        check_hr_ndcg(lambda scores, seen, held_out, k: None)
    with pytest.raises(CheckFailed, match=r"two numbers, \(hr, ndcg\)"):
        check_hr_ndcg(lambda scores, seen, held_out, k: 0.5)
    with pytest.raises(CheckFailed, match="single number"):
        check_hr_ndcg(lambda scores, seen, held_out, k: ([0.5, 0.1], 0.3))


def test_a_stub_gets_the_not_implemented_message():
    def my_hr_ndcg(scores, seen, held_out, k):
        raise NotImplementedError("rank, then count")

    with pytest.raises(CheckFailed, match="still raises NotImplementedError"):
        check_hr_ndcg(my_hr_ndcg)


def test_the_learners_arrays_are_not_shared_between_calls():
    """An answer that writes -inf into the scores it is given must not spoil the next case."""
    calls = []

    def mutating(scores, seen, held_out, k):
        calls.append(scores)
        return make()(scores, seen, held_out, k)

    check_hr_ndcg(mutating)
    assert len({id(s) for s in calls}) == len(calls)
