"""check_dense_index accepts the solution and rejects typical wrong answers with a clear message."""

import numpy as np
import pytest

from cfcourse.checks import CheckFailed, check_dense_index


def solution(ids):
    uniques, index = np.unique(ids, return_inverse=True)
    return index, uniques


def test_accepts_the_solution(passes):
    assert "0..4" in passes(check_dense_index, solution)


def test_accepts_first_seen_order_too(passes):
    def first_seen(ids):
        uniques = list(dict.fromkeys(ids.tolist()))
        lookup = {u: i for i, u in enumerate(uniques)}
        return np.array([lookup[i] for i in ids]), np.array(uniques)

    passes(check_dense_index, first_seen)


@pytest.mark.parametrize("wrong, message", [
    (lambda ids: (ids, np.unique(ids)), "raw ids unchanged"),
    (lambda ids: (np.unique(ids, return_inverse=True)[1] + 1, np.unique(ids)), "must start at 0"),
    (lambda ids: (np.arange(len(ids)), np.unique(ids)), "should lie in 0..4"),
    (lambda ids: (np.unique(ids, return_inverse=True)[1], np.unique(ids)[::-1]), "give back the original ids"),
    (lambda ids: np.unique(ids, return_inverse=True)[1], "should return two things"),
    (lambda ids: (np.unique(ids, return_inverse=True)[1].astype(float), np.unique(ids)), "hold integers"),
])
def test_rejects_typical_mistakes(wrong, message):
    with pytest.raises(CheckFailed, match=message):
        check_dense_index(wrong)


def test_a_stub_gets_a_readable_message():
    def stub(ids):
        raise NotImplementedError("Exercise not done yet.")

    with pytest.raises(CheckFailed, match="still raises NotImplementedError"):
        check_dense_index(stub)


def test_every_check_is_found_once_by_name():
    from cfcourse import checks

    found = checks.all_checks()
    assert {"check_dense_index", "check_cosine", "check_rank_k", "check_rmse", "check_predict_with_bias",
            "check_embedding_layer", "check_neighbours"} <= set(found)
    assert checks.check_rmse is found["check_rmse"]
    with pytest.raises(AttributeError, match="no attribute 'check_nothing'"):
        checks.check_nothing  # noqa: B018


def test_a_crash_in_the_learners_code_is_explained():
    def crashes(ids):
        return ids.tolist() - 1  # TypeError: list minus int

    with pytest.raises(CheckFailed, match="my_dense_index raised TypeError: unsupported operand") as info:
        check_dense_index(crashes)
    assert isinstance(info.value.__cause__, TypeError)
