"""Side features of movies: genres multi-hot, release year, genre profiles (cfcourse.features)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from cfcourse import data, features

MOVIES = pd.DataFrame({
    "movieId": [10, 20, 30, 40, 50],
    "title": ["Toy Story (1995)", "Heat (1995)", "Babylon 5", "Cosmos", "Alien (1979)"],
    "genres": ["Adventure|Animation|Children", "Action|Crime|Thriller", "Sci-Fi", "(no genres listed)",
               "Horror|Sci-Fi"],
})


def encoded_for(ids):
    ratings = pd.DataFrame({"userId": np.arange(len(ids)) % 2 + 1, "movieId": ids, "rating": 4.0,
                            "timestamp": np.arange(len(ids))})
    return data.encode_ids(ratings)


def test_vocabulary_is_sorted_and_leaves_out_no_genres():
    encoder = features.GenreEncoder.fit(MOVIES["genres"])
    assert encoder.vocabulary == ("Action", "Adventure", "Animation", "Children", "Crime", "Horror", "Sci-Fi",
                                  "Thriller")
    assert features.NO_GENRES not in encoder.vocabulary and len(encoder) == 8


def test_multi_hot_rows():
    encoder = features.GenreEncoder.fit(MOVIES["genres"])
    matrix = encoder.transform(MOVIES["genres"])
    assert matrix.shape == (5, 8) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix.sum(axis=1), [3, 3, 1, 0, 2])
    assert set(np.unique(matrix)) == {0.0, 1.0}
    v = encoder.vocabulary
    assert matrix[4, v.index("Horror")] == 1 and matrix[4, v.index("Sci-Fi")] == 1
    # "(no genres listed)" is a row of zeros, not a genre of its own
    assert not matrix[3].any()


def test_a_genre_unseen_in_training_is_a_clear_error_or_dropped_on_request():
    encoder = features.GenreEncoder.fit(MOVIES["genres"])
    new = ["Comedy|Sci-Fi", "Horror"]
    with pytest.raises(ValueError, match=r"genre\(s\) \['Comedy'\] are not in the vocabulary.*first in row 0.*"
                                         r"unknown='ignore'"):
        encoder.transform(new)
    kept = encoder.transform(new, unknown="ignore")
    assert kept[0].sum() == 1 and kept[0, encoder.vocabulary.index("Sci-Fi")] == 1
    with pytest.raises(ValueError, match="unknown must be"):
        encoder.transform(new, unknown="drop")


def test_missing_genre_text_is_refused_with_the_rows():
    with pytest.raises(ValueError, match=r"1 movie\(s\) have no genre text \(row 1: nan\).*no genres listed"):
        features.GenreEncoder.fit(["Drama", float("nan"), "Comedy"])
    with pytest.raises(TypeError, match="single string"):
        features.split_genres("Drama|Comedy")
    with pytest.raises(ValueError, match="no genre found"):
        features.GenreEncoder.fit([features.NO_GENRES, ""])


def test_year_scaler_flags_titles_without_a_year():
    years = np.array([1990.0, 2000.0, np.nan, 2010.0])
    scaler = features.YearScaler.fit(years)
    assert scaler.mean == pytest.approx(2000.0) and scaler.sd == pytest.approx(np.std([1990, 2000, 2010]))
    out = scaler.transform(years)
    assert out.shape == (4, 2) and out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_allclose(out[:, 0], [-1.2247449, 0.0, 0.0, 1.2247449], atol=1e-6)
    np.testing.assert_array_equal(out[:, 1], [0, 0, 1, 0])
    with pytest.raises(ValueError, match="no release year"):
        features.YearScaler.fit([np.nan, np.nan])
    assert features.YearScaler.fit([1999.0, 1999.0]).sd == 1.0  # one year only: no division by zero


def test_movie_features_follow_the_dense_index():
    encoded = encoded_for([50, 10, 40, 30])  # dense order: 10, 30, 40, 50
    mf = features.movie_features(encoded, MOVIES)
    assert list(mf.titles) == ["Toy Story (1995)", "Babylon 5", "Cosmos", "Alien (1979)"]
    assert mf.vocabulary == ("Adventure", "Animation", "Children", "Horror", "Sci-Fi")  # fitted on these movies
    assert mf.matrix.shape == (4, 5 + 2) and mf.columns[-2:] == ["year (scaled)", "year missing"]
    np.testing.assert_array_equal(mf.year[:, 1], [0, 1, 1, 0])
    assert np.isnan(mf.years[1]) and mf.years[3] == 1979
    assert not mf.genres[2].any()  # Cosmos: no genres listed
    table = mf.table([2, 3])
    assert table["genres"].tolist() == ["(none)", "Horror, Sci-Fi"] and table["year"].tolist() == ["", "1979"]


def test_movie_features_with_an_encoder_fitted_elsewhere():
    encoder = features.GenreEncoder(("Horror", "Sci-Fi"))
    encoded = encoded_for([30, 50])
    mf = features.movie_features(encoded, MOVIES, genre_encoder=encoder)
    assert mf.genres.tolist() == [[0, 1], [1, 1]]
    with pytest.raises(ValueError, match=r"\['Adventure', 'Animation', 'Children'\] are not in the vocabulary"):
        features.movie_features(encoded_for([10, 50]), MOVIES, genre_encoder=encoder)


def test_movie_features_bad_input():
    encoded = encoded_for([10, 99])
    with pytest.raises(ValueError, match=r"1 rated movie id\(s\) are not in the movies table, e\.g\. \[99\]"):
        features.movie_features(encoded, MOVIES)
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['genres'\]"):
        features.movie_features(encoded_for([10]), MOVIES.drop(columns="genres"))
    with pytest.raises(TypeError, match="encode_ids"):
        features.movie_features(MOVIES, MOVIES)


def test_genre_profile_is_each_users_share_of_each_genre():
    genres = np.array([[1, 0], [1, 1], [0, 1]], dtype=np.float32)
    bags = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 5]]))  # any nonzero counts as "in the bag"
    np.testing.assert_allclose(features.genre_profile(bags, genres), [[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"user\(s\) \[1\] have an empty bag.*popularity"):
        features.genre_profile(np.array([[1, 0, 0], [0, 0, 0]]), genres)
    with pytest.raises(ValueError, match="cover 3 movies but the genre matrix has shape"):
        features.genre_profile(bags, genres[:2])


def test_main_genre_prefers_specific_genres():
    out = features.main_genre(MOVIES["genres"])
    assert out.tolist() == ["Animation", "Crime", "Sci-Fi", "other", "Horror"]
    assert features.main_genre(["Comedy|Drama"]).tolist() == ["Comedy"]


def test_real_data_edge_cases():
    from helpers import real_data_dir

    folder = real_data_dir()
    assert folder is not None, f"this test needs the real data: set {data.ENV_DATA}"
    movielens = data.load_movielens(folder)
    encoded = data.encode_ids(movielens.ratings)
    mf = features.movie_features(encoded, movielens.movies)
    assert len(mf.vocabulary) == 19 and mf.matrix.shape == (encoded.n_movies, 21)
    assert np.isfinite(mf.matrix).all()
    no_genres = (mf.genres.sum(axis=1) == 0).sum()
    no_year = int(mf.year[:, 1].sum())
    assert 10 < no_genres < 40 and 5 < no_year < 15
