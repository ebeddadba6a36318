"""Checks for the exercises of chapter 8, "Embeddings inside deep networks"."""

from __future__ import annotations

import numpy as np

from ._base import call_answer, fail, passed

_NO_GENRES = "(no genres listed)"
_VOCABULARY = ["Sci-Fi", "Action", "Comedy", "Drama", "Animation", "Children"]  # deliberately not sorted
_GENRES = ["Action|Sci-Fi", "Comedy", _NO_GENRES, "Animation|Children|Comedy", "Drama|Action"]


def _expected(genres, vocabulary) -> np.ndarray:
    column = {g: j for j, g in enumerate(vocabulary)}
    out = np.zeros((len(genres), len(vocabulary)))
    for i, text in enumerate(genres):
        for g in text.split("|"):
            if g != _NO_GENRES:
                out[i, column[g]] = 1.0
    return out


def _as_matrix(result, n_rows: int, n_cols: int) -> np.ndarray:
    if result is None:
        fail("my_multi_hot returned None: did you forget the return line?")
    try:
        matrix = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"my_multi_hot should return a NumPy array of numbers, got {type(result).__name__}.")
    if matrix.shape == (n_cols, n_rows) and n_rows != n_cols:
        fail(f"Your matrix has shape {matrix.shape}: movies in the columns and genres in the rows. Return one row "
             f"per movie and one column per genre, shape ({n_rows}, {n_cols}); transpose it.")
    if matrix.shape == (n_rows, n_cols + 1):
        fail(f"Your matrix has {n_cols + 1} columns for a vocabulary of {n_cols} genres: did you give "
             f"{_NO_GENRES!r} a column of its own? It means 'no genre', a row of zeros.")
    if matrix.shape != (n_rows, n_cols):
        fail(f"Expected one row per movie and one column per genre of the vocabulary, shape ({n_rows}, {n_cols}); "
             f"got {matrix.shape}.")
    return matrix


def _judge(func, genres, vocabulary) -> None:
    expected = _expected(genres, vocabulary)
    try:
        result = call_answer(func, list(genres), list(vocabulary), name="my_multi_hot")
    except Exception as error:  # CheckFailed from call_answer, with the learner's exception chained
        cause = error.__cause__
        if isinstance(cause, (ValueError, KeyError)) and any(g == _NO_GENRES for g in genres):
            raise type(error)(f"{error} For {_NO_GENRES!r} the row must simply stay zeros: skip that marker "
                              "instead of looking it up in the vocabulary.") from cause
        raise
    got = _as_matrix(result, len(genres), len(vocabulary))
    if np.array_equal(got, expected):
        return
    if np.any((got != 0) & (got != 1)):
        fail(f"Every entry must be 0 or 1 (the movie has the genre or not); you returned values "
             f"{sorted(set(np.unique(got).tolist()) - {0.0, 1.0})[:3]}.")
    if np.array_equal(got, _expected(genres, sorted(vocabulary))):
        fail(f"Your columns are in alphabetical order; they must follow the vocabulary you were given "
             f"({vocabulary}): a model's weights are tied to those columns.")
    no_genre_rows = [i for i, g in enumerate(genres) if g == _NO_GENRES]
    if no_genre_rows and got[no_genre_rows].any():
        fail(f"The movie with {_NO_GENRES!r} (row {no_genre_rows[0]}) should be a row of zeros, but you set "
             f"{int(got[no_genre_rows].sum())} entries in it.")
    if not got.any():
        fail("Your matrix is all zeros: split each string on '|' (MovieLens' separator) to get its genres.")
    multi = [i for i, g in enumerate(genres) if "|" in g]
    if multi and not got[multi].any():
        fail(f"The movies with several genres (such as {genres[multi[0]]!r}) get an empty row: split each string "
             "on '|' (MovieLens' separator) to get its genres.")
    if multi and np.array_equal(got[multi].sum(axis=1), np.ones(len(multi))):
        fail("Movies with several genres get a single 1 in your matrix: give every genre of the movie its "
             "column, not only the first or last one.")
    bad_rows = [i for i in range(len(genres)) if not np.array_equal(got[i], expected[i])]
    i = bad_rows[0]
    fail(f"Row {i} (genres {genres[i]!r}) is {got[i].astype(int).tolist()}, expected "
         f"{expected[i].astype(int).tolist()} for the vocabulary {vocabulary}.")


def check_multi_hot(func) -> None:
    """Check ``my_multi_hot(genres, vocabulary)``: the multi-hot genre matrix, unknown genres refused."""
    _judge(func, _GENRES, _VOCABULARY)
    _judge(func, [_NO_GENRES, "Drama"], ["Drama"])
    _judge(func, ["Children|Animation", "Sci-Fi|Drama|Action"], sorted(_VOCABULARY))
    try:
        result = func(["Comedy", "Western|Comedy"], ["Comedy", "Drama"])
    except ValueError as error:
        if "Western" not in str(error):
            fail(f"An unknown genre raised ValueError({str(error)!r}), but the message should name the genre "
                 "('Western') so that the user can see what to fix.")
    except NotImplementedError:
        fail("my_multi_hot still raises NotImplementedError: write your code, run that cell, then this check.")
    except Exception as error:
        fail(f"An unknown genre ('Western') raised {type(error).__name__}: {error}. Raise a ValueError that names "
             "it instead, so that the caller can catch it and knows what went wrong.")
    else:
        fail(f"The genre 'Western' is not in the vocabulary ['Comedy', 'Drama'], but my_multi_hot returned "
             f"{np.asarray(result).tolist()} without complaint. Raise a ValueError naming it: dropping it silently "
             "hides that the data has a genre the model never learned.")
    passed("my_multi_hot gives one 0/1 column per genre of the vocabulary, zeros for '(no genres listed)', "
           "and refuses unknown genres.")
