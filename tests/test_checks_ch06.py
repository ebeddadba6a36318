"""The chapter 6 check accepts a right answer and explains typical wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from cfcourse.checks import CheckFailed, check_neighbours


def solution(matrix, index, k):
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    sims = unit @ unit[index]
    sims[index] = -np.inf
    return np.argsort(-sims, kind="stable")[:k]


def test_accepts_the_solution(passes):
    assert "most similar first" in passes(check_neighbours, solution)


def test_accepts_indices_with_similarities_like_explore(passes):
    from cfcourse.explore import cosine_neighbours

    def with_sims(matrix, index, k):
        return cosine_neighbours(matrix, index, k)

    passes(check_neighbours, with_sims)


def test_rejects_euclidean_distance():
    def euclidean(matrix, index, k):
        dist = np.linalg.norm(matrix - matrix[index], axis=1)
        dist[index] = np.inf
        return np.argsort(dist, kind="stable")[:k]

    with pytest.raises(CheckFailed, match="Euclidean distance"):
        check_neighbours(euclidean)


def test_rejects_the_plain_dot_product():
    def dot(matrix, index, k):
        sims = matrix @ matrix[index]
        sims[index] = -np.inf
        return np.argsort(-sims, kind="stable")[:k]

    with pytest.raises(CheckFailed, match="plain dot product"):
        check_neighbours(dot)


def test_rejects_including_the_movie_itself():
    def with_self(matrix, index, k):
        unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
        return np.argsort(-(unit @ unit[index]), kind="stable")[:k]

    with pytest.raises(CheckFailed, match="include row 0 itself"):
        check_neighbours(with_self)


def test_rejects_the_farthest():
    def farthest(matrix, index, k):
        unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
        sims = unit @ unit[index]
        sims[index] = np.inf
        return np.argsort(sims, kind="stable")[:k]

    with pytest.raises(CheckFailed, match="LEAST similar"):
        check_neighbours(farthest)


def test_rejects_a_wrong_number_of_neighbours():
    def always_five(matrix, index, k):
        return solution(matrix, index, 5)

    with pytest.raises(CheckFailed, match=r"k=3 .* returned 5 indices"):
        check_neighbours(always_five)


def test_rejects_the_wrong_order():
    def reversed_order(matrix, index, k):
        return solution(matrix, index, k)[::-1]

    with pytest.raises(CheckFailed, match="right rows but in the order"):
        check_neighbours(reversed_order)


def test_rejects_similarities_instead_of_indices():
    def similarities(matrix, index, k):
        unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
        sims = unit @ unit[index]
        sims[index] = -np.inf
        return np.sort(sims)[::-1][:k]

    with pytest.raises(CheckFailed, match="not their similarities"):
        check_neighbours(similarities)


def test_rejects_none():
    with pytest.raises(CheckFailed, match="forget the return"):
        check_neighbours(lambda matrix, index, k: None)


def test_a_stub_gets_the_not_implemented_message():
    def my_neighbours(matrix, index, k):
        raise NotImplementedError("divide every row by its length")

    with pytest.raises(CheckFailed, match="still raises NotImplementedError"):
        check_neighbours(my_neighbours)
