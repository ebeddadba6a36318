"""Checks for the exercises of chapter 7, "Recommending"."""

from __future__ import annotations

import math
import warnings

import numpy as np

from ._base import call_answer, fail, passed

# Hand-made cases: one user's scores for 12 movies (all different), the movies the user rated
# before (to leave out) and the movies held out. Built so that each usual mistake gives other
# numbers than the right answer on at least one case.
#   case 1: k=5, 3 held out; the two best-scored movies and two low ones were seen; hits at ranks 1, 4.
#   case 2: k=2, 3 held out (more than k); one hit at rank 2.
#   case 3: k=4, 2 held out, no hit at the top.
_SCORES = np.array([0.91, 0.85, 0.40, 0.77, 0.12, 0.66, 0.05, 0.58, 0.33, 0.71, 0.25, 0.49])
_CASES = [
    # (seen, held_out, k)
    (np.array([0, 1, 6, 10]), np.array([3, 8, 7]), 5),
    (np.array([0, 6]), np.array([3, 10, 4]), 2),
    (np.array([1]), np.array([7, 11]), 4),
]


def _top(scores, seen, k, exclude=True, descending=True):
    s = np.asarray(scores, dtype=np.float64).copy()
    if exclude:
        s[seen] = -np.inf if descending else np.inf
    order = np.argsort(-s if descending else s, kind="stable")
    return order[:k]


def _answer(scores, seen, held_out, k, *, exclude=True, descending=True, hr_by="n", shift=1,
            ideal="min", dcg_log=math.log2):
    """HR@k and NDCG@k of one user, with switches that reproduce the usual mistakes."""
    top = _top(scores, seen, k, exclude, descending)
    held = set(int(m) for m in held_out)
    ranks = [r for r, m in enumerate(top, start=1) if int(m) in held]
    hits = len(ranks)
    n = len(held)
    hr = {"n": hits / n, "k": hits / k, "min": hits / min(n, k), "count": float(hits)}[hr_by]
    dcg = sum(1.0 / dcg_log(r + shift) for r in ranks)
    n_ideal = {"min": min(n, k), "n": n, "k": k, "hits": hits}.get(ideal)
    if ideal == "none":
        return hr, dcg
    idcg = sum(1.0 / math.log2(r + shift) for r in range(1, n_ideal + 1))
    return hr, (dcg / idcg if idcg > 0 else 0.0)


def _as_pair(result):
    if result is None:
        fail("my_hr_ndcg returned None: did you forget the return line (return hr, ndcg)?")
    if isinstance(result, dict) or not hasattr(result, "__len__") or isinstance(result, str) or len(result) != 2:
        fail(f"my_hr_ndcg should return two numbers, (hr, ndcg); got {result!r}.")
    try:
        hr, ndcg = (float(np.asarray(v, dtype=np.float64).reshape(())) for v in result)
    except (TypeError, ValueError):
        fail(f"my_hr_ndcg should return two numbers, (hr, ndcg); got {result!r}: each must be a single number, "
             "not a list or an array of several values.")
    return hr, ndcg


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def _judge(func, scores, seen, held_out, k, what):
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        result = call_answer(func, scores.copy(), seen.copy(), held_out.copy(), k, name="my_hr_ndcg",
                             hint="If it is a division by zero in the discount, remember that ranks start at 1: "
                                  "the movie at the top gets 1 / log2(1 + 1) = 1.")
    hr, ndcg = _as_pair(result)
    want_hr, want_ndcg = _answer(scores, seen, held_out, k)
    setting = (f"On {what} (k={k}, seen movies {seen.tolist()}, held-out movies {held_out.tolist()}) you "
               f"returned hr={hr:.4g}, ndcg={ndcg:.4g}")
    expected = f"expected hr={want_hr:.4g}, ndcg={want_ndcg:.4g}"
    if _same(hr, want_hr) and _same(ndcg, want_ndcg):
        return
    if _same(hr, want_ndcg) and _same(ndcg, want_hr) and not _same(want_hr, want_ndcg):
        fail(f"{setting}: the two values are swapped; return them as (hr, ndcg).")
    if not (math.isfinite(hr) and math.isfinite(ndcg)):
        fail(f"{setting}: a value is not finite. The discount of rank r is 1 / log2(r + 1), with ranks starting "
             "at 1, so the top movie gets 1 / log2(2) = 1; with ranks from 0 (or log2(r) with ranks from 1) the "
             f"top movie divides by log2(1) = 0. {expected}.")
    for options, why in (
        (dict(exclude=False), "your top k still contains movies the user has already rated. Remove the seen "
                              "movies (e.g. give them a score of -inf) before taking the k best"),
        (dict(descending=False), "you took the k LOWEST scores. The best movies have the highest scores: sort "
                                 "from high to low (e.g. np.argsort(-scores))"),
        (dict(exclude=False, descending=False), "you took the k lowest scores and kept the seen movies: sort "
                                                "from high to low after removing the seen movies"),
    ):
        if (_same(hr, _answer(scores, seen, held_out, k, **options)[0])
                and _same(ndcg, _answer(scores, seen, held_out, k, **options)[1])):
            fail(f"{setting}: {why}; {expected}.")
    if not _same(hr, want_hr):
        # "min" first: it equals the right answer when k >= the number held out, and "k" otherwise,
        # so a learner who divides by min(k, n) passes the first case and fails here.
        for hr_by, why in (
            ("min", "that divides the hits by min(k, number held out). HR@k, as in this chapter, divides by the "
                    "number of held-out movies, so a user with more held-out movies than k cannot reach 1"),
            ("k", "that is hits / k (precision@k). HR@k divides the hits by the number of held-out movies"),
            ("count", "that is the number of hits. HR@k is the share of the held-out movies that are in the top "
                      "k: divide by the number of held-out movies"),
        ):
            if _same(hr, _answer(scores, seen, held_out, k, hr_by=hr_by)[0]):
                fail(f"{setting}: for hr {why}; {expected}.")
        fail(f"{setting}: hr is wrong; {expected}. HR@k = (held-out movies in the top k) / (held-out movies).")
    for options, why in (
        (dict(shift=2), "the discounts are 1 / log2(r + 2): an off-by-one in the ranks. With ranks starting at 1 "
                        "the discount is 1 / log2(r + 1), so a hit at the top counts 1"),
        (dict(ideal="none"), "that is the DCG, not normalised. Divide it by the ideal DCG, the DCG of a list with "
                             "every held-out movie at the top"),
        (dict(ideal="n"), "the ideal DCG has one term per held-out movie even when there are more than k of them. "
                          "A top-k list holds at most k movies: sum the ideal discounts over the first "
                          "min(k, number held out) ranks"),
        (dict(ideal="k"), "the ideal DCG sums k discounts, as if k movies were held out: sum over the first "
                          "min(k, number held out) ranks"),
        (dict(ideal="hits"), "the ideal DCG counts only the hits the list found, so any list with its hits at the "
                             "top scores 1. The ideal list puts every held-out movie at the top: sum over the "
                             "first min(k, number held out) ranks"),
        (dict(dcg_log=math.log), "the DCG uses the natural log while the ideal DCG uses log2 (or the other way "
                                 "round). Use the same discount, 1 / log2(r + 1), in both"),
        (dict(dcg_log=math.log10), "the DCG uses log10 while the ideal DCG uses log2 (or the other way round). "
                                   "Use the same discount, 1 / log2(r + 1), in both"),
    ):
        if _same(ndcg, _answer(scores, seen, held_out, k, **options)[1]):
            fail(f"{setting}: for ndcg {why}; {expected}.")
    fail(f"{setting}: ndcg is wrong; {expected}. NDCG@k = sum over hits of 1 / log2(rank + 1), divided by the "
         "sum of 1 / log2(r + 1) for r = 1 ... min(k, number held out).")


def check_hr_ndcg(my_hr_ndcg) -> None:
    """Check ``my_hr_ndcg(scores, seen, held_out, k)``: one user's HR@k and NDCG@k, seen movies left out."""
    for n, (seen, held_out, k) in enumerate(_CASES, start=1):
        _judge(my_hr_ndcg, _SCORES, seen, held_out, k, f"hand-made case {n}")
    rng = np.random.default_rng(7)
    for _ in range(4):
        n_movies = int(rng.integers(30, 60))
        scores = rng.permutation(n_movies).astype(np.float64) / n_movies
        picked = rng.choice(n_movies, size=int(rng.integers(6, 15)), replace=False)
        n_seen = int(rng.integers(2, len(picked) - 2))
        seen, held_out = np.sort(picked[:n_seen]), picked[n_seen:]
        _judge(my_hr_ndcg, scores, seen, held_out, int(rng.integers(3, 12)), f"a random user of {n_movies} movies")
    passed("my_hr_ndcg masks the seen movies, ranks from the highest score and gives HR@k and NDCG@k.")
