"""Checks for the exercises of chapter 10, "Viewing histories as sequences"."""

from __future__ import annotations

import numpy as np

from ._base import call_answer, fail, passed

# A history of vocabulary ids, oldest first: no 0 (padding) in it, one 1 (out of vocabulary).
_HISTORY = [5, 8, 1, 9, 7]


def _expected(history: list[int], length: int) -> np.ndarray:
    kept = history[-length:] if length else []
    return np.array([0] * (length - len(kept)) + kept, dtype=np.int64)


def _describe(got: np.ndarray, history: list[int], length: int) -> str | None:
    """Name the usual mistake that turns ``history`` into ``got``, or None."""
    n = len(history)
    if length >= n:
        fill = length - n
        if np.array_equal(got, np.array(history + [0] * fill)):
            return ("you padded at the end (post-padding): the most recent movie must be the last entry, so put "
                    "the zeros in front")
        if got[fill:].tolist() == history and fill and np.all(got[:fill] == got[0]) and got[0] != 0:
            real = "the out-of-vocabulary index 1" if got[0] == 1 else (
                "a real movie's index" if got[0] in history or got[0] > 1 else "a negative number")
            return (f"you padded with {int(got[0])}, {real}: padding must be 0, the index the mask (and the "
                    "embedding's mask_zero=True) recognises as 'no movie here'")
        if got[:n].tolist() == history and fill and np.all(got[n:] == got[-1]) and got[-1] != 0:
            return f"you padded at the end, and with {int(got[-1])} instead of 0"
        if np.array_equal(got, _expected(history[::-1], length)):
            return "the movies come out in reverse order: keep them oldest first, as in the history"
    else:
        if np.array_equal(got, np.array(history[:length])):
            return (f"you kept the {length} oldest movies and cut the most recent ones (truncating='post'): for "
                    "predicting what comes next, keep the most recent, history[-length:]")
        if np.array_equal(got, np.array(history[-length:][::-1])):
            return "the movies come out in reverse order: keep them oldest first, as in the history"
    return None


def _call(my_pad, history: list[int], length: int) -> np.ndarray:
    original = list(history)
    given = list(history)
    out = call_answer(my_pad, given, length, name="my_pad")
    if given != original:
        fail(f"my_pad changed the history it was given (from {original} to {given}): build a new array instead.")
    if out is None:
        fail("my_pad returned None: did you forget the return line?")
    arr = np.asarray(out)
    if arr.ndim == 2 and arr.shape[0] == 1:
        fail(f"my_pad returned shape {arr.shape}, a batch of one: return the padded history itself, shape "
             f"({length},) (keras.utils.pad_sequences takes and returns a list of histories: take row [0]).")
    if arr.shape != (length,):
        fail(f"my_pad({original}, {length}) returned shape {arr.shape}; every padded history must have exactly "
             f"length = {length} entries, shape ({length},).")
    if arr.dtype.kind not in "iu":
        fail(f"my_pad returned numbers of dtype {arr.dtype}; indices are whole numbers that an embedding looks "
             "up: build the array with an integer dtype, e.g. np.zeros(length, dtype=int).")
    return arr.astype(np.int64)


def check_pad_history(my_pad) -> None:
    """Check ``my_pad(history, length)``: pre-padding with 0 and pre-truncating, as in the chapter."""
    cases = [(_HISTORY, 8), (_HISTORY, 3), (_HISTORY, 5), (_HISTORY, 1), ([], 4), ([6], 3)]
    for history, length in cases:
        got = _call(my_pad, history, length)
        wanted = _expected(history, length)
        if np.array_equal(got, wanted):
            continue
        why = _describe(got, history, length)
        shown = f"my_pad({history}, {length}) returned {got.tolist()}"
        if why:
            fail(f"{shown}: {why}. Expected {wanted.tolist()}.")
        fail(f"{shown}; expected {wanted.tolist()}: zeros in front up to the length, then the most recent movies "
             "in their order.")
    for bad in (0, -2):
        try:
            result = my_pad(list(_HISTORY), bad)
        except ValueError:
            continue
        except Exception as exc:  # another error type: say which
            fail(f"my_pad({_HISTORY}, {bad}) raised {type(exc).__name__}; a length below 1 makes no sense, and "
                 "the clear error for it is a ValueError saying so.")
        fail(f"my_pad({_HISTORY}, {bad}) returned {np.asarray(result).tolist()} instead of raising an error: a "
             "length below 1 cannot hold any movie, so raise ValueError (keras.utils.pad_sequences would quietly "
             "return an empty row).")
    passed("my_pad pads with 0 in front, keeps the most recent movies in order, and refuses a length below 1.")


# Left-padded histories (0 is padding): one with two padding positions, one full, one a single movie.
_MASK_CASES = [np.array([[0, 0, 5, 8, 1], [4, 9, 7, 3, 2]]), np.array([[6]]), np.array([[0, 0, 0, 4]])]


def _allowed(ids: np.ndarray) -> np.ndarray:
    n = ids.shape[1]
    causal = np.tril(np.ones((n, n), dtype=bool))
    return (causal[None] & (ids != 0)[:, None, :]) | np.eye(n, dtype=bool)[None]


def _describe_mask(got: np.ndarray, ids: np.ndarray) -> str | None:
    """Name the usual mistake that gives ``got`` for ``ids``, or None."""
    n = ids.shape[1]
    real = (ids != 0)[:, None, :]
    eye = np.eye(n, dtype=bool)[None]
    later = np.triu(np.ones((n, n), dtype=bool))[None]
    causal = np.tril(np.ones((n, n), dtype=bool))[None]
    if np.array_equal(got, (later & real) | eye) or np.array_equal(got, np.broadcast_to(later, got.shape)):
        return ("position t reads the movies *after* it (the upper triangle): the next movie, the one it must "
                "predict, would be in plain sight. Keep i <= t: np.tril, not np.triu")
    if np.array_equal(got, np.swapaxes(_allowed(ids), 1, 2)):
        return "rows and columns are swapped: entry [b, t, i] says whether position t (the row) may read position i"
    if np.array_equal(got, np.broadcast_to(causal, got.shape)):
        return ("positions read the padding in front of the history: a 0 is no movie, so mask it out with "
                "ids != 0 (on the position being read, the last axis)")
    if np.array_equal(got, causal & real):
        return ("a padding position may read nothing at all, so its attention weights would be a softmax over an "
                "empty set (0/0, NaN in the output): let every position read itself, | np.eye(n, dtype=bool)")
    return None


def check_attention_mask(my_allowed) -> None:
    """Check ``my_allowed(ids)``: the causal-and-padding mask of self-attention over left-padded histories."""
    for ids in _MASK_CASES:
        given = ids.copy()
        out = call_answer(my_allowed, given, name="my_allowed")
        if not np.array_equal(given, ids):
            fail("my_allowed changed the ids it was given: build a new array instead.")
        if out is None:
            fail("my_allowed returned None: did you forget the return line?")
        got = np.asarray(out)
        b, n = ids.shape
        if got.shape != (b, n, n):
            fail(f"for ids of shape {ids.shape}, my_allowed returned shape {got.shape}; the mask has one (n, n) "
                 f"grid per row of the batch, shape ({b}, {n}, {n}): [b, t, i] is 'position t may read position i'.")
        if got.dtype != bool:
            fail(f"my_allowed returned numbers of dtype {got.dtype}; MultiHeadAttention's attention_mask is a "
                 "grid of True (may read) and False: compare or combine boolean arrays (& and |), or cast with "
                 ".astype(bool).")
        wanted = _allowed(ids)
        if np.array_equal(got, wanted):
            continue
        why = _describe_mask(got, ids)
        shown = f"for the ids {ids.tolist()}"
        if why:
            fail(f"{shown}: {why}.")
        fail(f"{shown} my_allowed returned {got.astype(int).tolist()}; expected {wanted.astype(int).tolist()} "
             "(1: may read): a real movie at or before t, and every position itself.")
    passed("my_allowed lets each position read the real movies up to it, never later ones and never padding.")
