"""Finding, verifying, loading, validating, re-indexing, splitting and summarising the data.

Tests that need the real files read them from ``$CFCOURSE_DATA`` (copies or links in tmp
only: nothing is ever written next to the data).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import real_data_dir, snapshot

from cfcourse import data

REAL = real_data_dir()


@pytest.fixture(scope="module")
def movielens() -> data.MovieLens:
    """The real data, loaded once for this module."""
    assert REAL is not None, f"these tests need the real data: set {data.ENV_DATA}"
    return data.load_movielens(REAL)


@pytest.fixture
def no_sources(tmp_path, monkeypatch) -> Path:
    """No $CFCOURSE_DATA, an empty cache in tmp, and a download URL on which nothing listens."""
    from helpers import closed_port_url

    monkeypatch.delenv(data.ENV_DATA, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv(data.ENV_CACHE, str(cache))
    monkeypatch.setenv(data.ENV_URL, closed_port_url())
    return cache


def _linked_copy(dest: Path) -> Path:
    """A folder of symlinks to the real files (cheap, and never writes next to the data)."""
    dest.mkdir(parents=True)
    for name in data.REQUIRED:
        (dest / name).symlink_to(REAL / name)
    return dest


def _copy(dest: Path, names=data.REQUIRED) -> Path:
    dest.mkdir(parents=True)
    for name in names:
        shutil.copyfile(REAL / name, dest / name)
    return dest


def ratings_frame(**columns) -> pd.DataFrame:
    base = {"userId": [1, 1, 2, 3], "movieId": [10, 20, 10, 30], "rating": [4.0, 3.5, 5.0, 0.5]}
    base.update(columns)
    return pd.DataFrame(base)


# --------------------------------------------------------------------------------------
# Where the data comes from
# --------------------------------------------------------------------------------------


def test_loads_the_real_data_with_the_documented_schema(movielens):
    r, m = movielens.ratings, movielens.movies
    assert list(r.columns) == ["userId", "movieId", "rating", "timestamp"]
    assert [str(t) for t in r.dtypes] == ["int64", "int64", "float64", "int64"]
    assert list(m.columns) == ["movieId", "title", "genres"]
    assert m["movieId"].dtype == np.int64 and m["movieId"].is_unique
    assert (len(r), len(m)) == (100_836, 9_742)
    assert movielens.source == REAL


def test_explicit_folder_beats_the_environment_variable(tmp_path, no_sources, monkeypatch):
    monkeypatch.setenv(data.ENV_DATA, str(tmp_path / "nowhere"))
    folder = _linked_copy(tmp_path / "explicit")
    assert data.find_data_dir(folder) == folder


def test_environment_variable_beats_the_cache(tmp_path, no_sources, monkeypatch):
    _linked_copy(no_sources / data.DATASET_NAME)
    env_folder = _linked_copy(tmp_path / "env")
    monkeypatch.setenv(data.ENV_DATA, str(env_folder))
    assert data.find_data_dir() == env_folder
    monkeypatch.delenv(data.ENV_DATA)
    assert data.find_data_dir(download=False) == no_sources / data.DATASET_NAME


def test_cache_dir_follows_the_environment_and_otherwise_the_platform(tmp_path, monkeypatch):
    monkeypatch.setenv(data.ENV_CACHE, str(tmp_path / "c"))
    assert data.cache_dir() == tmp_path / "c"
    monkeypatch.delenv(data.ENV_CACHE)
    default = data.cache_dir()
    assert default.name == "cfcourse" and default.is_absolute()


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_a_parent_folder_holding_ml_latest_small_is_accepted(tmp_path, no_sources, monkeypatch, how):
    inner = _linked_copy(tmp_path / "parent" / data.DATASET_NAME)
    if how == "environment":
        monkeypatch.setenv(data.ENV_DATA, str(tmp_path / "parent"))
        assert data.find_data_dir() == inner
    else:
        assert data.load_movielens(tmp_path / "parent").source == inner


def test_explicit_folder_missing_a_file_names_it_and_the_three_ways(tmp_path, no_sources):
    folder = tmp_path / "partial"
    folder.mkdir()
    (folder / "ratings.csv").symlink_to(REAL / "ratings.csv")
    with pytest.raises(data.DataNotFoundError) as info:
        data.load_movielens(folder)
    first, *rest = str(info.value).splitlines()
    assert first == f"The folder you passed ({folder}) has no movies.csv."
    assert "one of three ways" in rest[0]
    assert isinstance(info.value, FileNotFoundError)  # also catchable as the builtin


def test_empty_explicit_folder_names_both_files(tmp_path, no_sources):
    with pytest.raises(data.DataNotFoundError, match=r"has no ratings\.csv and no movies\.csv\."):
        data.load_movielens(tmp_path)


def test_environment_variable_pointing_nowhere(tmp_path, no_sources, monkeypatch):
    missing = tmp_path / "does-not-exist"
    monkeypatch.setenv(data.ENV_DATA, str(missing))
    with pytest.raises(data.DataNotFoundError, match=rf"^CFCOURSE_DATA={missing} does not exist\.\n"):
        data.load_movielens()
    assert not no_sources.exists()  # no silent fall-back to the cache or a download


def test_a_file_instead_of_a_folder_points_at_its_folder(tmp_path, no_sources):
    folder = _linked_copy(tmp_path / "d")
    with pytest.raises(data.DataNotFoundError, match=r"is a file, not a folder: .*here probably .*/d\)"):
        data.load_movielens(folder / "ratings.csv")


@pytest.mark.parametrize("name", data.REQUIRED)
def test_corrupted_local_file_is_a_checksum_error_naming_it(tmp_path, monkeypatch, name):
    folder = _copy(tmp_path / "copy")
    with open(folder / name, "r+b") as fh:  # flip one byte in the middle
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(b"7" if byte != b"7" else b"8")
    monkeypatch.setenv(data.ENV_DATA, str(folder))
    with pytest.raises(data.ChecksumError) as info:
        data.load_movielens()
    message = str(info.value)
    assert message.startswith(f"{folder / name} is not the official ml-latest-small {name}: its SHA-256 is ")
    assert data.SHA256[name] in message
    assert f"Replace it with the {name} from {data.ARCHIVE_URL}" in message
    # verify=False is the documented escape hatch and reads the file anyway
    assert len(data.load_movielens(verify=False).ratings) == 100_836


def test_corrupted_file_in_the_cache_says_to_delete_the_cache(no_sources):
    cached = _copy(no_sources / data.DATASET_NAME)
    (cached / "ratings.csv").write_bytes((REAL / "ratings.csv").read_bytes()[:-10])
    with pytest.raises(data.ChecksumError, match=r"Delete the folder .*ml-latest-small so that the course downloads"):
        data.load_movielens()


def test_verify_file_rejects_unknown_names_and_missing_files(tmp_path):
    with pytest.raises(ValueError, match=r"'notes.txt' is not a file of ml-latest-small"):
        data.verify_file(tmp_path / "notes.txt")
    with pytest.raises(data.DataNotFoundError, match=r"ratings\.csv does not exist"):
        data.verify_file(tmp_path / "ratings.csv")
    assert data.verify_file(REAL / "movies.csv") == REAL / "movies.csv"
    assert data.sha256_of(REAL / "links.csv") == data.SHA256["links.csv"]


def test_unreadable_csv_without_verification_is_a_data_error_not_a_pandas_trace(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,abc,4.0,5\n")
    (folder / "movies.csv").symlink_to(REAL / "movies.csv")
    with pytest.raises(data.DataError, match=r"^Cannot read .*ratings\.csv as a MovieLens table \(") as info:
        data.load_movielens(folder, verify=False)
    assert info.value.__suppress_context__
    (folder / "ratings.csv").write_text("user,item,score\n1,2,3.0\n")
    with pytest.raises(data.DataError, match=r"has no column\(s\) \['userId', 'movieId', 'rating', 'timestamp'\]"):
        data.load_movielens(folder, verify=False)


def test_a_read_only_data_folder_is_never_written_to(tmp_path, no_sources, monkeypatch):
    folder = _copy(tmp_path / "ro" / data.DATASET_NAME)
    for path in folder.iterdir():
        path.chmod(0o444)
    folder.chmod(0o555)
    folder.parent.chmod(0o555)
    try:
        # the tests may run as root, where chmod stops nothing: compare the listings too
        before = snapshot(tmp_path / "ro")
        hashes = {p.name: data.sha256_of(p) for p in folder.iterdir()}
        loaded = data.load_movielens(folder)
        monkeypatch.setenv(data.ENV_DATA, str(folder.parent))
        _, encoded, split = data.load_split()
        data.summarize(loaded.ratings)
        assert snapshot(tmp_path / "ro") == before
        assert {p.name: data.sha256_of(p) for p in folder.iterdir()} == hashes
        assert sorted(os.listdir(folder)) == sorted(data.REQUIRED)
        assert not no_sources.exists()  # and nothing went to the cache either
        assert split.n_users == 610
    finally:
        folder.parent.chmod(0o755)
        folder.chmod(0o755)


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------

BAD_FRAMES = {
    "list": ([(1, 10, 4.0)], r"^Expected a pandas DataFrame of ratings, got list\.$"),
    "ndarray": (np.array([[1, 10, 4.0]]), r"got ndarray"),
    "series": (pd.Series([4.0]), r"got Series"),
    "dict": ({"userId": [1], "movieId": [1], "rating": [4.0]}, r"got dict"),
    "no-columns": (pd.DataFrame(), r"lacks the column\(s\) \['userId', 'movieId', 'rating'\]; it has \[\]"),
    "missing-rating": (ratings_frame().drop(columns="rating"), r"lacks the column\(s\) \['rating'\]"),
    "renamed": (ratings_frame().rename(columns={"userId": "user_id"}), r"lacks the column\(s\) \['userId'\].*Rename"),
    "empty": (ratings_frame().iloc[:0], r"^The ratings frame is empty \(0 rows"),
    "nan-rating": (ratings_frame(rating=[4.0, np.nan, 5.0, 1.0]), r"Column 'rating' has 1 missing value\(s\); first rows:\n.*\n1 +1 +20 +NaN"),
    "nan-user": (ratings_frame(userId=[1.0, np.nan, 2.0, 3.0]), r"Column 'userId' has 1 missing value\(s\)"),
    "none-movie": (ratings_frame(movieId=pd.array([10, None, 10, 30], dtype="Int64")), r"Column 'movieId' has 1 missing"),
    "fractional-id": (ratings_frame(movieId=[10.0, 20.5, 10.0, 30.0]), r"Column 'movieId' must hold whole-number ids, but some are fractional; first rows:\n.*\n1 +1 +20\.5"),
    "float-id": (ratings_frame(userId=[1.0, 1.0, 2.0, 3.0]), r"Column 'userId' must have an integer dtype, got float64\. Convert it with"),
    "string-id": (ratings_frame(userId=["1", "1", "2", "3"]), r"Column 'userId' must hold integer ids, got dtype (str|object) \(for example '1'\)"),
    "bool-id": (ratings_frame(movieId=[True, False, True, False]), r"Column 'movieId' must hold integer ids, got dtype bool \(for example True\)"),
    "bool-rating": (ratings_frame(rating=[True, False, True, True]), r"Column 'rating' must be numeric, got dtype bool \(for example True\)"),
    "string-rating": (ratings_frame(rating=["4", "3.5", "5", "1"]), r"Column 'rating' must be numeric, got dtype (str|object)"),
    "rating-0": (ratings_frame(rating=[4.0, 0.0, 5.0, 1.0]), r"Column 'rating' has 1 value\(s\) outside the scale \[0\.5, 5\.0\]; first rows:\n.*\n1 +1 +20 +0\.0"),
    "rating-5.5": (ratings_frame(rating=[5.5, 3.0, 5.0, 1.0]), r"outside the scale \[0\.5, 5\.0\]; first rows:\n.*\n0 +1 +10 +5\.5"),
    "rating-inf": (ratings_frame(rating=[np.inf, 3.0, 5.0, 1.0]), r"Column 'rating' has 1 value\(s\) outside the scale"),
    "duplicate-pair": (ratings_frame(userId=[1, 1, 1, 3], movieId=[10, 20, 10, 30]),
                       r"^2 rows repeat a \(userId, movieId\) pair; first rows:\n.*\n0 +1 +10 +4\.0\n2 +1 +10 +5\.0"),
    "duplicate-column": (pd.concat([ratings_frame(), ratings_frame()[["rating"]]], axis=1),
                         r"more than one column named \['rating'\]"),
}


@pytest.mark.parametrize("case", list(BAD_FRAMES))
def test_bad_ratings_are_rejected_with_the_column_and_first_rows(case):
    frame, pattern = BAD_FRAMES[case]
    with pytest.raises(data.RatingsValidationError, match=pattern) as info:
        data.validate_ratings(frame)
    assert isinstance(info.value, ValueError)
    with pytest.raises(data.RatingsValidationError):  # every entry point validates
        data.encode_ids(frame)
    with pytest.raises(data.RatingsValidationError):
        data.summarize(frame)


def test_the_first_offending_rows_are_at_most_five_and_show_the_rating_columns():
    frame = ratings_frame(rating=[9.0, 9.0, 9.0, 9.0])
    frame = pd.concat([frame] * 3, ignore_index=True)
    frame["movieId"] = range(len(frame))
    frame["comment"] = "a long free-text column that would only clutter the message"
    message = str(pytest.raises(data.RatingsValidationError, data.validate_ratings, frame).value)
    assert "12 value(s) outside" in message
    table = message.split("first rows:\n")[1].split("\nFix")[0].splitlines()
    assert len(table) == 1 + 5  # header + five rows
    assert table[0].split() == ["userId", "movieId", "rating"]
    assert "comment" not in message


ACCEPTED = {
    "extra-columns": ratings_frame(timestamp=[1, 2, 3, 4], comment=["a", "b", "c", "d"]),
    "single-user": ratings_frame(userId=[7, 7, 7, 7], movieId=[10, 20, 30, 40]),
    "single-rating": ratings_frame().iloc[:1],
    "edges-of-scale": ratings_frame(rating=[0.5, 5.0, 0.5, 5.0]),
    "int32-ids": ratings_frame().astype({"userId": "int32", "movieId": "int32"}),
    "nullable-ints": ratings_frame().astype({"userId": "Int64", "movieId": "Int64"}),
    "uint64-ids": ratings_frame(movieId=np.array([2**63 + 5, 1, 2**63 + 5, 2], dtype=np.uint64)),
    "huge-ids": ratings_frame(userId=[2**62, 2**62, 2**62 + 1, 1], movieId=[2**62 - 1, 2**62, 2**62 - 1, 2**62]),
    "int-ratings": ratings_frame(rating=[1, 2, 3, 4]),
    "non-default-index": ratings_frame().set_axis(["a", "b", "c", "d"]),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_valid_unusual_frames_validate_encode_and_round_trip(case):
    frame = ACCEPTED[case]
    before = frame.copy()
    assert data.validate_ratings(frame) is frame
    encoded = data.encode_ids(frame)
    assert frame.equals(before)  # the input is not modified
    r = encoded.ratings
    assert r["user"].dtype == np.int64 and r["movie"].dtype == np.int64
    assert set(r["user"]) == set(range(encoded.n_users)) and set(r["movie"]) == set(range(encoded.n_movies))
    assert list(encoded.users.decode(r["user"])) == list(frame["userId"])
    assert list(encoded.movies.decode(r["movie"])) == list(frame["movieId"])
    summary = data.summarize(frame)
    assert summary["ratings"] == len(frame) and summary["users"] == frame["userId"].nunique()


def test_huge_ids_keep_their_exact_values():
    ids = [2**62, 2**62 + 1, 2**62 + 2, 2**53 + 1]  # neighbours that float64 would merge
    encoded = data.encode_ids(ratings_frame(movieId=ids))
    assert encoded.n_movies == 4
    assert encoded.movies.raw_ids.tolist() == sorted(ids)
    assert encoded.movies.encode([2**62 + 1, 2**53 + 1]).tolist() == [2, 0]
    assert encoded.movies.encode(np.array([2**62 + 2], dtype=np.uint64)).tolist() == [3]
    assert encoded.movies.decode([1, 2]).tolist() == [2**62, 2**62 + 1]


def test_validate_rejects_a_bad_scale_and_accepts_another():
    frame = ratings_frame(rating=[1.0, 10.0, 7.0, 3.0])
    assert data.validate_ratings(frame, scale=(1, 10)) is frame
    with pytest.raises(ValueError, match=r"scale must be \(min, max\) with min < max"):
        data.validate_ratings(frame, scale=(10, 1))


def test_real_ratings_validate(movielens):
    assert data.validate_ratings(movielens.ratings) is movielens.ratings


# --------------------------------------------------------------------------------------
# Re-indexing
# --------------------------------------------------------------------------------------


def test_encoders_are_dense_sorted_and_invertible():
    frame = ratings_frame(userId=[30, 30, 5, 900], movieId=[7, 193609, 7, 42])
    encoded = data.encode_ids(frame)
    assert encoded.users.raw_ids.tolist() == [5, 30, 900]
    assert encoded.movies.raw_ids.tolist() == [7, 42, 193609]
    assert encoded.ratings["user"].tolist() == [1, 1, 0, 2]
    assert encoded.ratings["movie"].tolist() == [0, 2, 0, 1]
    assert (encoded.n_users, encoded.n_movies) == (3, 3) and len(encoded.users) == 3
    assert encoded.movies.encode(193609) == 2 and encoded.movies.encode([42, 7]).tolist() == [1, 0]
    assert encoded.users.decode([2, 0]).tolist() == [900, 5]
    assert encoded.users.decode([]).tolist() == [] and encoded.users.encode([]).tolist() == []


def test_unknown_ids_at_prediction_time_are_a_key_error_naming_them():
    encoded = data.encode_ids(ratings_frame())
    with pytest.raises(KeyError, match=r"unknown movieId\(s\) \[99, 5\]: they were not in the data"):
        encoded.movies.encode([10, 99, 5, 99])
    with pytest.raises(KeyError, match=r"unknown userId\(s\) \[1\.5\]"):
        encoded.users.encode([1.5])
    with pytest.raises(KeyError, match=r"unknown userId\(s\) \['1'\]"):
        encoded.users.encode(["1"])
    with pytest.raises(KeyError, match=r"unknown userId\(s\) \[100, 101, 102, 103, 104\] and 3 more"):
        encoded.users.encode(list(range(100, 108)))
    assert encoded.users.encode([1.0, 3.0]).tolist() == [0, 2]  # whole floats are fine
    with pytest.raises(IndexError, match=r"movieId index \[3\] out of range 0\.\.2"):
        encoded.movies.decode([1, 3])
    with pytest.raises(IndexError, match=r"userId index \[-1\] out of range"):
        encoded.users.decode([-1])
    with pytest.raises(IndexError, match=r"userId indices must be integers, got dtype float64"):
        encoded.users.decode([0.5])


def test_real_ids_are_reindexed_densely(movielens):
    encoded = data.encode_ids(movielens.ratings)
    assert (encoded.n_users, encoded.n_movies) == (610, 9724)
    assert movielens.ratings["movieId"].max() == 193609  # why re-indexing matters
    assert encoded.ratings["movie"].max() == 9723
    back = encoded.movies.decode(encoded.ratings["movie"].to_numpy())
    assert np.array_equal(back, movielens.ratings["movieId"].to_numpy())


# --------------------------------------------------------------------------------------
# Splitting and summarising
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def encoded_real(movielens) -> data.Encoded:
    return data.encode_ids(movielens.ratings)


def test_default_split_is_80_20_seeded_disjoint_and_complete(encoded_real):
    split = data.split_ratings(encoded_real)
    n = len(encoded_real.ratings)
    assert len(split.y_valid) == round(0.2 * n) and len(split.y_train) == n - round(0.2 * n)
    assert np.intersect1d(split.train_index, split.valid_index).size == 0
    assert np.array_equal(np.sort(np.concatenate([split.train_index, split.valid_index])), np.arange(n))
    assert split.x_train.dtype == np.int32 and split.x_train.shape == (len(split.y_train), 2)
    assert split.y_valid.dtype == np.float32
    assert (split.n_users, split.n_movies, split.min_rating, split.max_rating) == (610, 9724, 0.5, 5.0)
    rows = encoded_real.ratings.iloc[split.valid_index]
    assert np.array_equal(split.x_valid, rows[["user", "movie"]].to_numpy(np.int32))
    assert np.array_equal(split.y_valid, rows["rating"].to_numpy(np.float32))
    assert abs(split.global_mean - 3.5) < 0.01
    again = data.split_ratings(encoded_real, valid_fraction=0.2, seed=42)
    assert np.array_equal(again.valid_index, split.valid_index)  # same seed, same split


def test_split_fraction_and_seed_are_parameters(encoded_real):
    default = data.split_ratings(encoded_real)
    other_seed = data.split_ratings(encoded_real, seed=7)
    assert not np.array_equal(other_seed.valid_index, default.valid_index)
    tenth = data.split_ratings(encoded_real, valid_fraction=0.1)
    assert len(tenth.y_valid) == round(0.1 * len(encoded_real.ratings))


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_split_rejects_impossible_fractions(fraction):
    encoded = data.encode_ids(ratings_frame())
    with pytest.raises(ValueError, match=r"valid_fraction must be strictly between 0 and 1"):
        data.split_ratings(encoded, valid_fraction=fraction)


def test_split_rejects_tiny_data_and_raw_frames():
    single = data.encode_ids(ratings_frame().iloc[:1])
    with pytest.raises(ValueError, match=r"With 1 ratings, valid_fraction=0\.2 leaves an empty train or validation"):
        data.split_ratings(single)
    with pytest.raises(TypeError, match=r"split_ratings expects the result of encode_ids"):
        data.split_ratings(ratings_frame())


def test_summary_of_a_small_frame():
    summary = data.summarize(ratings_frame())  # 4 ratings, 3 users, 3 movies
    assert summary["ratings"] == 4 and summary["users"] == 3 and summary["movies"] == 3
    assert summary["density"] == pytest.approx(4 / 9) and summary["sparsity"] == pytest.approx(5 / 9)
    assert summary["mean_rating"] == pytest.approx(13 / 4)
    assert (summary["min_rating"], summary["max_rating"]) == (0.5, 5.0)
    assert summary["movies_rated_once"] == 2
    assert summary["median_ratings_per_user"] == 1.0 and summary["median_ratings_per_movie"] == 1.0


def test_summary_of_the_real_data(movielens):
    summary = data.summarize(movielens.ratings)
    assert (summary["ratings"], summary["users"], summary["movies"]) == (100_836, 610, 9_724)
    assert round(summary["sparsity"], 3) == 0.983
    assert round(summary["mean_rating"], 2) == 3.50
    assert summary["movies_rated_once"] == 3446


def test_load_split_chains_the_steps(monkeypatch):
    monkeypatch.setenv(data.ENV_DATA, str(REAL))
    movielens, encoded, split = data.load_split(valid_fraction=0.25, seed=1)
    assert len(encoded.ratings) == len(movielens.ratings)
    assert len(split.y_valid) == round(0.25 * len(movielens.ratings))
    assert np.array_equal(split.valid_index, data.split_ratings(encoded, 0.25, 1).valid_index)
