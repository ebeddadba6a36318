"""The chapter 10 check (pad and truncate a history yourself) accepts right answers and names the usual mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from cfcourse import sequences
from cfcourse.checks import CheckFailed, check_pad_history


def solution(history, length):
    if length < 1:
        raise ValueError("length must be at least 1")
    kept = list(history)[-length:]
    return np.array([0] * (length - len(kept)) + kept, dtype=int)


def test_accepts_the_solution(passes):
    assert "pads with 0 in front" in passes(check_pad_history, solution)


def test_accepts_the_package_and_keras(passes):
    import keras

    def with_keras(history, length):
        if length < 1:
            raise ValueError("length must be positive")
        return keras.utils.pad_sequences([history], maxlen=length)[0]

    passes(check_pad_history, with_keras)
    passes(check_pad_history, lambda history, length: sequences.pad_histories([history], length)[0])


def test_rejects_post_padding():
    def post(history, length):
        kept = history[-length:]
        return np.array(kept + [0] * (length - len(kept)))

    with pytest.raises(CheckFailed, match=r"padded at the end \(post-padding\)"):
        check_pad_history(post)


def test_rejects_cutting_the_most_recent_movies():
    def oldest(history, length):
        kept = history[:length]
        return np.array([0] * (length - len(kept)) + kept)

    with pytest.raises(CheckFailed, match=r"kept the 3 oldest movies and cut the most recent ones"):
        check_pad_history(oldest)


@pytest.mark.parametrize("value, words", [(1, "the out-of-vocabulary index 1"), (5, "a real movie's index"),
                                          (-1, "a negative number")])
def test_rejects_padding_with_anything_but_zero(value, words):
    def padded_with(history, length):
        kept = history[-length:]
        return np.array([value] * (length - len(kept)) + kept)

    with pytest.raises(CheckFailed, match=f"you padded with {value}, {words}: padding must be 0"):
        check_pad_history(padded_with)


def test_rejects_a_reversed_history():
    with pytest.raises(CheckFailed, match="reverse order"):
        check_pad_history(lambda history, length: solution(history[::-1], length))


def test_rejects_a_wrong_length_a_batch_and_floats():
    with pytest.raises(CheckFailed, match=r"returned shape \(5,\); every padded history must have exactly"):
        check_pad_history(lambda history, length: np.array(history))
    with pytest.raises(CheckFailed, match=r"shape \(1, 8\), a batch of one"):
        check_pad_history(lambda history, length: solution(history, length)[None, :])
    with pytest.raises(CheckFailed, match="integer dtype"):
        check_pad_history(lambda history, length: solution(history, length).astype(float))


def test_rejects_an_answer_that_changes_its_input():
    def in_place(history, length):
        while len(history) < length:
            history.insert(0, 0)
        return np.array(history[-length:])

    with pytest.raises(CheckFailed, match="changed the history it was given"):
        check_pad_history(in_place)


def test_requires_a_value_error_for_a_length_below_one():
    def quiet(history, length):
        return solution(history, max(length, 1))[:max(length, 0)]

    with pytest.raises(CheckFailed, match=r"instead of raising an error: a length below 1"):
        check_pad_history(quiet)

    def wrong_error(history, length):
        if length < 1:
            raise IndexError("no")
        return solution(history, length)

    with pytest.raises(CheckFailed, match="raised IndexError; .* ValueError"):
        check_pad_history(wrong_error)


def test_rejects_none_and_a_stub():
    with pytest.raises(CheckFailed, match="returned None"):
        check_pad_history(lambda history, length: None)

    def my_pad(history, length):
        raise NotImplementedError

    with pytest.raises(CheckFailed, match="still raises NotImplementedError"):
        check_pad_history(my_pad)


def allowed(ids):
    ids = np.asarray(ids)
    n = ids.shape[1]
    return (np.tril(np.ones((n, n), dtype=bool))[None] & (ids != 0)[:, None, :]) | np.eye(n, dtype=bool)[None]


def test_attention_mask_accepts_the_solution_and_keras_ops(passes):
    import keras

    from cfcourse.checks import check_attention_mask

    assert "never later ones and never padding" in passes(check_attention_mask, allowed)

    def with_keras(ids):
        step = keras.ops.arange(ids.shape[1])
        causal = step[:, None] >= step[None, :]
        mask = (causal[None] & (keras.ops.convert_to_tensor(ids) != 0)[:, None, :]) | (step[:, None] == step[None, :])
        return keras.ops.convert_to_numpy(mask)

    passes(check_attention_mask, with_keras)


@pytest.mark.parametrize("answer, message", [
    (lambda ids: (np.triu(np.ones((ids.shape[1],) * 2, dtype=bool))[None] & (ids != 0)[:, None, :])
     | np.eye(ids.shape[1], dtype=bool)[None], "reads the movies \\*after\\* it"),
    (lambda ids: np.swapaxes(allowed(ids), 1, 2), "rows and columns are swapped"),
    (lambda ids: np.broadcast_to(np.tril(np.ones((ids.shape[1],) * 2, dtype=bool)), (len(ids),) + (ids.shape[1],) * 2),
     "read the padding"),
    (lambda ids: np.tril(np.ones((ids.shape[1],) * 2, dtype=bool))[None] & (ids != 0)[:, None, :], "empty set"),
    (lambda ids: allowed(ids).astype(int), "dtype"),
    (lambda ids: allowed(ids)[0], "shape"),
    (lambda ids: None, "return line"),
])
def test_attention_mask_names_the_usual_mistakes(answer, message):
    from cfcourse.checks import check_attention_mask

    with pytest.raises(CheckFailed, match=message):
        check_attention_mask(answer)


def test_attention_mask_refuses_an_answer_that_changes_the_ids():
    from cfcourse.checks import check_attention_mask

    def zeroing(ids):
        out = allowed(ids)
        ids[:] = 0
        return out

    with pytest.raises(CheckFailed, match="changed the ids"):
        check_attention_mask(zeroing)

