"""The big official sets (ml-25m, ml-32m): download, MD5, conversion to Parquet, and every fault
of the small set's download refused the same way.

The archives are built at test time (a few hundred ratings laid out like the official ones) and
served on 127.0.0.1; the expected MD5 is replaced by the test archive's (the real ones are pinned
by a test of their own). Nothing of MovieLens 25M is downloaded or held.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import (  # noqa: F401 - fixture
    CacheEnv,
    assert_cache_clean,
    closed_port_url,
    http_server,
    make_zip,
    prepare_download_env,
    snapshot,
)

from cfcourse import bigdata, data

NAME = "ml-25m"


def _ratings_csv(n_users: int = 30, n_movies: int = 25) -> bytes:
    rows = [f"{u},{m},{0.5 + ((u * 7 + m * 3) % 10) / 2:.1f},{1_500_000_000 + 97 * u + m}"
            for u in range(1, n_users + 1) for m in range(1, n_movies + 1) if (u + m) % 3]
    return ("userId,movieId,rating,timestamp\n" + "\n".join(rows) + "\n").encode()


MOVIES = ('movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n2,"Usual Suspects, The (1995)",Crime\n'
          + "".join(f"{m},Movie {m} (2001),Drama\n" for m in range(3, 26))).encode()
FILES = {"ratings.csv": _ratings_csv(), "movies.csv": MOVIES, "tags.csv": b"userId,movieId,tag,timestamp\n",
         "README.txt": b"a test archive laid out like the official one"}


def members(name: str = NAME, files: dict | None = None) -> dict[str, bytes]:
    return {f"{name}/{file}": content for file, content in (files or FILES).items()}


def md5(body: bytes) -> str:
    return hashlib.md5(body).hexdigest()


@dataclass
class Env(CacheEnv):
    monkeypatch: object = None

    def installed(self, name: str = NAME) -> Path:
        return self.cache / name

    def expect(self, body: bytes, name: str = NAME) -> None:
        """Make ``body`` the archive whose MD5 the course expects (as if GroupLens had published it)."""
        self.monkeypatch.setitem(bigdata.MD5, name, md5(body))


@pytest.fixture
def env(tmp_path, monkeypatch, http_server) -> Env:
    good = make_zip(members())
    monkeypatch.setattr(bigdata, "MD5", dict(bigdata.MD5))
    host, port = http_server.server_address[:2]
    cache = prepare_download_env(tmp_path, monkeypatch, http_server, good,
                                 {bigdata.url_variable(name): f"http://{host}:{port}/{name}.zip"
                                  for name in bigdata.DATASETS})
    result = Env(root=tmp_path, cache=cache, server=http_server, good_zip=good, monkeypatch=monkeypatch)
    result.expect(good)
    return result


def _assert_retry_succeeds(env: Env) -> None:
    env.server.mode, env.server.body = "ok", env.good_zip
    env.expect(env.good_zip)
    loaded = data.load_movielens(NAME)
    assert loaded.source == env.installed()
    assert loaded.n_ratings == FILES["ratings.csv"].count(b"\n") - 1


def test_the_official_checksums_are_pinned():
    assert bigdata.MD5 == {"ml-25m": "6b51fb2759a8657d3bfcbfc42b592ada", "ml-32m": "d472be332d4daa821edc399621853b57"}
    assert bigdata.URLS["ml-25m"] == "https://files.grouplens.org/datasets/movielens/ml-25m.zip"


def test_download_converts_to_parquet_once_and_keeps_only_the_converted_files(env):
    before = env.outside()
    loaded = data.load_movielens(NAME)
    assert isinstance(loaded, bigdata.LargeMovieLens) and loaded.source == env.installed()
    assert env.server.hits == [f"/{NAME}.zip"]
    assert sorted(p.name for p in env.cache.iterdir()) == [NAME]  # no .partial-*, no archive
    assert sorted(p.name for p in env.installed().iterdir()) == ["cfcourse.json", "movies.parquet", "ratings.parquet"]
    assert env.outside() == before
    # the Parquet ratings are exactly the CSV's rows, with compact types
    expected = pd.read_csv(__import__("io").BytesIO(FILES["ratings.csv"]))
    ratings = loaded.ratings()
    assert list(ratings.dtypes.astype(str)) == ["int32", "int32", "float32", "int64"]
    assert loaded.n_ratings == len(expected) == len(ratings)
    np.testing.assert_array_equal(ratings["userId"], expected["userId"])
    np.testing.assert_allclose(ratings["rating"], expected["rating"])
    np.testing.assert_array_equal(ratings["timestamp"], expected["timestamp"])
    assert sum(len(b) for b in loaded.iter_ratings(batch_size=100)) == len(expected)
    assert loaded.movies.loc[1, "title"] == "Usual Suspects, The (1995)"
    # second call: no network, nothing rewritten
    files = snapshot(env.cache)
    again = data.load_movielens(NAME)
    assert env.server.hits == [f"/{NAME}.zip"] and snapshot(env.cache) == files
    assert again.n_ratings == loaded.n_ratings


def test_ml_32m_has_its_own_folder_and_checksum(env):
    body = make_zip(members("ml-32m"))
    env.server.body = body
    with pytest.raises(data.ChecksumError, match=r"is not the official ml-32m\.zip: its MD5 is"):
        data.load_movielens("ml-32m")  # the expected MD5 is still the real one
    assert_cache_clean(env.cache)
    env.expect(body, "ml-32m")
    loaded = data.load_movielens("ml-32m")
    assert loaded.source == env.installed("ml-32m") and loaded.name == "ml-32m"
    assert env.server.hits[-1] == "/ml-32m.zip"


def test_cache_is_used_even_when_the_network_is_gone(env, monkeypatch):
    data.load_movielens(NAME)
    monkeypatch.setenv(bigdata.url_variable(NAME), closed_port_url())
    assert data.load_movielens(NAME).source == env.installed()


def _altered(env: Env) -> bytes:
    files = dict(FILES)
    files["ratings.csv"] = files["ratings.csv"].replace(b"1500000098", b"1500000099", 1)
    assert files["ratings.csv"] != FILES["ratings.csv"]
    return make_zip(members(files=files))


def _structured(build):
    """An archive whose structure is wrong but whose MD5 the test declares official: the members are checked."""
    def make(env: Env) -> bytes:
        body = build(env)
        env.expect(body)
        return body
    return make


# (server mode, archive builder or None for the good one, exception, regex on the first line)
FAULTS = {
    "http-404": ("404", None, data.DownloadError, r"failed: the server answered 404 Not Found for http://127\.0\.0\.1"),
    "http-500": ("500", None, data.DownloadError, r"failed: the server answered 500 Internal Server Error"),
    "truncated": ("truncated", None, data.DownloadError, r"connection was cut before the whole file arrived"),
    "content-length-too-large": ("overlong", None, data.DownloadError,
                                 r"connection was cut before the whole file arrived"),
    "connection-reset-mid-file": ("drop", None, data.DownloadError,
                                  r"connection was cut before the whole file arrived"),
    "not-a-zip": ("ok", lambda env: b"<html><body>Please log in to the hotel wifi</body></html>",
                  data.DownloadError, r"is not a zip archive \(it starts with b'<html>"),
    "empty-body": ("ok", lambda env: b"", data.DownloadError, r"is not a zip archive \(it starts with b''\)"),
    "damaged-zip": ("ok", lambda env: env.good_zip[: len(env.good_zip) // 2], data.DownloadError,
                    r"is (not|a damaged) zip archive"),
    "wrong-checksum": ("ok", _altered, data.ChecksumError,
                       r"The archive from http://127\.0\.0\.1.* is not the official ml-25m\.zip: its MD5 is [0-9a-f]{32}"),
    "missing-movies": ("ok", _structured(lambda env: make_zip({k: v for k, v in members().items()
                                                               if not k.endswith("movies.csv")})),
                       data.DownloadError, r"has no ml-25m/movies\.csv, so it is not ml-25m"),
    "zip-slip-only": ("ok", _structured(lambda env: make_zip({
                          "../ratings.csv": FILES["ratings.csv"], "../../movies.csv": MOVIES,
                          NAME + "/../escaped.csv": b"evil", str(env.root / "absolute-evil.txt"): b"evil",
                          "other/ratings.csv": b"evil"})),
                      data.DownloadError, r"has no ml-25m/ratings\.csv and no ml-25m/movies\.csv"),
    "ratings-off-the-scale": ("ok", _structured(lambda env: make_zip(members(files={
                                  **FILES, "ratings.csv": FILES["ratings.csv"] + b"1,99,7.0,1500000000\n"}))),
                              data.DownloadError, r"has ratings outside 0\.5 to 5\.0, so it is not the official"),
    "ratings-not-csv": ("ok", _structured(lambda env: make_zip(members(files={
                            **FILES, "ratings.csv": b"user;movie\n1;2\n"}))),
                        data.DownloadError, r"could not be read as MovieLens ml-25m"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_gives_one_clear_error_leaves_nothing_and_retry_succeeds(env, fault):
    mode, build, exc_type, first_line = FAULTS[fault]
    env.server.mode = mode
    if build is not None:
        env.server.body = build(env)
    before = env.outside()
    with pytest.raises(exc_type) as info:
        data.load_movielens(NAME)
    message = str(info.value)
    assert re.search(first_line, message.splitlines()[0]), message.splitlines()[0]
    assert "Nothing was saved" in message
    assert "Traceback" not in message and "requests." not in message
    err = info.value
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    assert_cache_clean(env.cache)
    assert env.outside() == before
    assert not (env.root / "absolute-evil.txt").exists()
    _assert_retry_succeeds(env)


def test_zip_with_traversal_members_converts_only_the_known_files(env):
    hostile = members()
    hostile.update({"../evil.txt": b"evil", NAME + "/../evil.csv": b"evil", str(env.root / "absolute-evil.txt"): b"evil",
                    "../ratings.csv": b"userId,movieId,rating,timestamp\n1,1,5.0,1\n", NAME + "/notes.sh": b"rm -rf /"})
    env.server.body = make_zip(hostile)
    env.expect(env.server.body)
    before = env.outside()
    loaded = data.load_movielens(NAME)
    assert loaded.n_ratings == FILES["ratings.csv"].count(b"\n") - 1
    assert sorted(p.name for p in env.cache.iterdir()) == [NAME]
    assert env.outside() == before
    assert not list(env.root.rglob("evil*")) and not (env.root / "absolute-evil.txt").exists()


def test_an_archive_holding_a_file_twice_is_refused(env):
    twice = members()
    twice["ratings.csv"] = twice[NAME + "/ratings.csv"]
    env.server.body = make_zip(twice)
    env.expect(env.server.body)
    with pytest.raises(data.DownloadError, match=r"failed: the archive from .* holds ratings\.csv twice"):
        data.load_movielens(NAME)
    assert_cache_clean(env.cache)
    _assert_retry_succeeds(env)


def test_a_member_that_unpacks_too_large_is_refused_while_unpacking(env, monkeypatch):
    monkeypatch.setattr(bigdata, "MAX_MEMBER_BYTES", 100)
    with pytest.raises(data.DownloadError, match=r"ml-25m/ratings\.csv in the archive .* unpacks to more than 100 "
                                                 r"bytes"):
        data.load_movielens(NAME)
    assert_cache_clean(env.cache)
    monkeypatch.setattr(bigdata, "MAX_MEMBER_BYTES", 1 << 30)
    _assert_retry_succeeds(env)


def test_no_network_is_one_error_saying_where_the_data_comes_from(env, monkeypatch):
    monkeypatch.setenv(bigdata.url_variable(NAME), closed_port_url())
    with pytest.raises(data.DownloadError) as info:
        data.load_movielens(NAME)
    message = str(info.value)
    assert message.splitlines()[0].startswith("Downloading MovieLens ml-25m failed: could not connect to")
    assert str(env.cache / NAME) in message and bigdata.url_variable(NAME) in message
    assert_cache_clean(env.cache)


def test_download_false_never_touches_the_network(env):
    with pytest.raises(data.DataNotFoundError, match=r"^MovieLens ml-25m is not on this machine\."):
        data.load_movielens(NAME, download=False)
    assert env.server.hits == [] and not env.cache.exists()


def test_read_timeout_is_reported_as_such(env):
    env.server.mode = "stall"
    with pytest.raises(data.DownloadError, match=r"stopped sending data for 0\.3 s\. Nothing was saved"):
        bigdata.download_large(NAME, timeout=0.3)
    assert_cache_clean(env.cache)


def test_invalid_url_names_the_variable(env, monkeypatch):
    monkeypatch.setenv(bigdata.url_variable(NAME), "files.example/ml-25m.zip")
    with pytest.raises(data.DownloadError, match=r"is not a valid http\(s\) address \(check CFCOURSE_ML_25M_URL\)"):
        data.load_movielens(NAME)
    assert_cache_clean(env.cache)


def test_cache_path_that_is_a_file_is_a_clear_error(env, monkeypatch):
    blocker = env.root / "home" / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv(data.ENV_CACHE, str(blocker))
    with pytest.raises(data.DownloadError, match=r"cannot create the cache folder .*not-a-folder.*Set CFCOURSE_CACHE"):
        data.load_movielens(NAME)
    assert blocker.read_text() == "x" and env.server.hits == []


@pytest.mark.parametrize("fault", ["500", "truncated", "wrong-checksum"])
def test_failed_download_leaves_an_existing_good_cache_untouched(env, fault):
    data.load_movielens(NAME)
    before = snapshot(env.cache)
    if fault == "wrong-checksum":
        env.server.body = _altered(env)
    else:
        env.server.mode = fault
    with pytest.raises(data.DataError, match="Nothing was saved"):
        bigdata.download_large(NAME)  # an explicit re-download while a good copy is cached
    assert snapshot(env.cache) == before
    assert data.load_movielens(NAME).source == env.installed()


@pytest.mark.parametrize("damage", ["marker", "ratings", "other-archive"])
def test_a_damaged_cache_is_reported_and_a_download_replaces_it(env, damage):
    data.load_movielens(NAME)
    folder = env.installed()
    if damage == "marker":
        (folder / "cfcourse.json").unlink()
    elif damage == "ratings":
        path = folder / "ratings.parquet"
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        env.expect(b"another release")
    with pytest.raises(data.ChecksumError, match=r"does not hold a complete conversion of the official ml-25m") as info:
        data.load_movielens(NAME)
    assert f"Delete the folder {folder}" in str(info.value)
    assert folder.exists()  # reported, never deleted behind the reader's back
    env.expect(env.good_zip)
    assert bigdata.download_large(NAME) == folder
    assert data.load_movielens(NAME).n_ratings > 0
    assert sorted(p.name for p in env.cache.iterdir()) == [NAME]


def test_a_folder_named_like_a_big_set_is_still_a_folder(env, tmp_path):
    with pytest.raises(data.DataNotFoundError, match=r"The folder you passed .*ml-25m\) does not exist"):
        data.load_movielens(Path("ml-25m"))
    with pytest.raises(ValueError, match=r"'ml-1m' is not one of the big MovieLens sets"):
        bigdata.load_large("ml-1m")
