"""The chapter 8 check accepts a right answer and explains typical wrong ones."""

from __future__ import annotations

import numpy as np
import pytest

from cfcourse import features
from cfcourse.checks import CheckFailed, check_multi_hot

NO = "(no genres listed)"


def solution(genres, vocabulary):
    column = {g: j for j, g in enumerate(vocabulary)}
    out = np.zeros((len(genres), len(vocabulary)))
    for i, text in enumerate(genres):
        for g in text.split("|"):
            if g == NO:
                continue
            if g not in column:
                raise ValueError(f"genre {g!r} is not in the vocabulary")
            out[i, column[g]] = 1.0
    return out


def test_accepts_the_solution(passes):
    assert "refuses unknown genres" in passes(check_multi_hot, solution)


def test_accepts_the_packaged_encoder_and_lists(passes):
    passes(check_multi_hot, lambda genres, vocabulary: features.GenreEncoder(tuple(vocabulary)).transform(genres))
    passes(check_multi_hot, lambda genres, vocabulary: solution(genres, vocabulary).astype(bool).tolist())


def test_rejects_a_transposed_matrix():
    with pytest.raises(CheckFailed, match="transpose it"):
        check_multi_hot(lambda genres, vocabulary: solution(genres, vocabulary).T)


def test_rejects_a_column_for_no_genres():
    def with_marker(genres, vocabulary):
        marker = np.array([[g == NO] for g in genres], float)
        return np.hstack([solution(genres, vocabulary), marker])

    with pytest.raises(CheckFailed, match="column of its own"):
        check_multi_hot(with_marker)


def test_rejects_looking_up_the_no_genres_marker():
    def strict(genres, vocabulary):
        column = {g: j for j, g in enumerate(vocabulary)}
        out = np.zeros((len(genres), len(vocabulary)))
        for i, text in enumerate(genres):
            for g in text.split("|"):
                out[i, column[g]] = 1.0  # KeyError on the marker
        return out

    with pytest.raises(CheckFailed, match="skip that marker"):
        check_multi_hot(strict)


def test_rejects_alphabetical_columns():
    with pytest.raises(CheckFailed, match="alphabetical order"):
        check_multi_hot(lambda genres, vocabulary: solution(genres, sorted(vocabulary)))


def test_rejects_the_wrong_separator():
    def commas(genres, vocabulary):
        column = {g: j for j, g in enumerate(vocabulary)}
        out = np.zeros((len(genres), len(vocabulary)))
        for i, text in enumerate(genres):
            for g in text.split(","):
                if g in column:
                    out[i, column[g]] = 1.0
        return out

    with pytest.raises(CheckFailed, match=r"empty row: split each string on .\|."):
        check_multi_hot(commas)


def test_rejects_counts_and_the_first_genre_only():
    with pytest.raises(CheckFailed, match="0 or 1"):
        check_multi_hot(lambda genres, vocabulary: 2 * solution(genres, vocabulary))

    def first_only(genres, vocabulary):
        return solution([g.split("|")[0] for g in genres], vocabulary)

    with pytest.raises(CheckFailed, match="single 1"):
        check_multi_hot(first_only)


def test_rejects_silently_dropping_an_unknown_genre():
    def lenient(genres, vocabulary):
        return features.GenreEncoder(tuple(vocabulary)).transform(genres, unknown="ignore")

    with pytest.raises(CheckFailed, match="without complaint"):
        check_multi_hot(lenient)


def test_rejects_an_unhelpful_error_for_an_unknown_genre():
    def vague(genres, vocabulary):
        try:
            return solution(genres, vocabulary)
        except ValueError:
            raise ValueError("bad input") from None

    with pytest.raises(CheckFailed, match="should name the genre"):
        check_multi_hot(vague)

    def key_error(genres, vocabulary):
        column = {g: j for j, g in enumerate(vocabulary)}
        out = np.zeros((len(genres), len(vocabulary)))
        for i, text in enumerate(genres):
            for g in text.split("|"):
                if g != NO:
                    out[i, column[g]] = 1.0
        return out

    with pytest.raises(CheckFailed, match="raised KeyError.*Raise a ValueError"):
        check_multi_hot(key_error)


def test_rejects_none_and_stubs():
    with pytest.raises(CheckFailed, match="forget the return"):
        check_multi_hot(lambda genres, vocabulary: None)

    def my_multi_hot(genres, vocabulary):
        raise NotImplementedError("split on |")

    with pytest.raises(CheckFailed, match="still raises NotImplementedError"):
        check_multi_hot(my_multi_hot)
