"""The download path, against a local HTTP server on 127.0.0.1 that fails on purpose.

Every fault must end in one clear error, leave nothing in the cache (no ``.partial-*``
folder, no ``ml-latest-small`` folder), write nothing outside it, and a retry once the
server behaves must succeed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import (  # noqa: F401 - fixtures are used by name
    CacheEnv,
    assert_cache_clean,
    closed_port_url,
    good_zip,
    http_server,
    make_zip,
    official_members,
    prepare_download_env,
    snapshot,
    source_files,
)

from cfcourse import data


@dataclass
class Env(CacheEnv):
    files: dict = None

    def installed(self) -> Path:
        return self.cache / data.DATASET_NAME


@pytest.fixture
def env(tmp_path, monkeypatch, source_files, http_server, good_zip) -> Env:
    """No local data, an empty cache in tmp, the URL pointing at the local server (serving a good zip)."""
    files, digests = source_files
    monkeypatch.setattr(data, "SHA256", {**data.SHA256, **digests})  # a no-op with the real files
    cache = prepare_download_env(tmp_path, monkeypatch, http_server, good_zip, {data.ENV_URL: http_server.url})
    return Env(root=tmp_path, cache=cache, server=http_server, good_zip=good_zip, files=files)


def _assert_retry_succeeds(env: Env) -> None:
    env.server.mode, env.server.body = "ok", env.good_zip
    movielens = data.load_movielens()
    assert movielens.source == env.installed()
    assert len(movielens.ratings) > 0
    for name in data.REQUIRED:
        assert data.sha256_of(env.installed() / name) == data.SHA256[name]


def test_success_installs_verified_files_then_uses_the_cache_without_network(env):
    before = env.outside()
    movielens = data.load_movielens()
    assert movielens.source == env.installed()
    assert env.server.hits == [f"/{data.DATASET_NAME}.zip"]
    # only the known CSV files are kept (README.txt and the archive itself are not)
    expected = sorted(n for n in env.files if n in data.SHA256)
    assert sorted(p.name for p in env.installed().iterdir()) == expected
    assert sorted(p.name for p in env.cache.iterdir()) == [data.DATASET_NAME]  # no .partial-*
    for name in expected:
        assert data.verify_file(env.installed() / name, name) == env.installed() / name
    assert env.outside() == before
    # second call: served from the cache, the server is not asked again ...
    again = data.load_movielens()
    assert again.source == env.installed()
    assert env.server.hits == [f"/{data.DATASET_NAME}.zip"]
    assert again.ratings.equals(movielens.ratings)


def test_cache_is_used_even_when_the_network_is_gone(env, monkeypatch):
    data.load_movielens()
    monkeypatch.setenv(data.ENV_URL, closed_port_url())
    assert data.load_movielens().source == env.installed()
    assert data.find_data_dir(download=False) == env.installed()


def _zip_without(env: Env, name: str) -> bytes:
    return make_zip({k: v for k, v in official_members(env.files).items() if not k.endswith("/" + name)})


def _zip_with_altered_ratings(env: Env) -> bytes:
    members = official_members(env.files)
    key = data.DATASET_NAME + "/ratings.csv"
    ratings = bytearray(members[key])
    last = ratings.rstrip().rfind(b",")  # change one digit of the last timestamp
    ratings[last + 1] = ord("1") if ratings[last + 1] != ord("1") else ord("2")
    members[key] = bytes(ratings)
    return make_zip(members)


def _zip_slip_only(env: Env) -> bytes:
    """Only hostile member names: none of them is a file the course takes."""
    return make_zip({
        "../ratings.csv": env.files["ratings.csv"],
        "../../movies.csv": env.files["movies.csv"],
        data.DATASET_NAME + "/../escaped.csv": b"evil",
        str(env.root / "absolute-evil.txt"): b"evil",
        "other/ratings.csv": b"evil",
    })


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
    "wrong-checksum": ("ok", _zip_with_altered_ratings, data.ChecksumError,
                       r"The ratings\.csv in the archive from http://127\.0\.0\.1.* is not the official"),
    "missing-movies": ("ok", lambda env: _zip_without(env, "movies.csv"), data.DownloadError,
                       r"has no ml-latest-small/movies\.csv, so it is not ml-latest-small"),
    "zip-slip-only": ("ok", _zip_slip_only, data.DownloadError,
                      r"has no ml-latest-small/ratings\.csv and no ml-latest-small/movies\.csv"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_gives_one_clear_error_leaves_nothing_and_retry_succeeds(env, fault):
    mode, build, exc_type, first_line = FAULTS[fault]
    env.server.mode = mode
    if build is not None:
        env.server.body = build(env)
    before = env.outside()
    with pytest.raises(exc_type) as info:
        data.load_movielens()
    message = str(info.value)
    assert re.search(first_line, message.splitlines()[0]), message.splitlines()[0]
    assert "Nothing was saved" in message
    assert "Traceback" not in message and "requests." not in message
    err = info.value  # no chained library traceback is shown above ours
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    assert_cache_clean(env.cache)
    assert env.outside() == before
    assert not (env.root / "absolute-evil.txt").exists()
    _assert_retry_succeeds(env)


def test_zip_with_traversal_members_extracts_only_the_known_files(env):
    members = official_members(env.files)
    members.update({
        "../evil.txt": b"evil",
        "../../evil.txt": b"evil",
        data.DATASET_NAME + "/../evil.csv": b"evil",
        "../ratings.csv": b"userId,movieId,rating,timestamp\n1,1,5.0,1\n",  # must not replace the real one
        str(env.root / "absolute-evil.txt"): b"evil",
        data.DATASET_NAME + "/notes.sh": b"rm -rf /",
    })
    env.server.body = make_zip(members)
    before = env.outside()
    movielens = data.load_movielens()
    assert movielens.source == env.installed()
    assert sorted(p.name for p in env.installed().iterdir()) == sorted(n for n in env.files if n in data.SHA256)
    assert sorted(p.name for p in env.cache.iterdir()) == [data.DATASET_NAME]
    assert env.outside() == before
    assert not (env.root / "absolute-evil.txt").exists()
    assert not list(env.root.rglob("evil*"))


def test_an_archive_holding_a_file_twice_is_refused(env):
    members = official_members(env.files)
    members["ratings.csv"] = members[data.DATASET_NAME + "/ratings.csv"]  # top level and in the folder
    env.server.body = make_zip(members)
    before = env.outside()
    with pytest.raises(data.DownloadError, match=r"failed: the archive from .* holds ratings\.csv twice"):
        data.load_movielens()
    assert_cache_clean(env.cache)
    assert env.outside() == before
    _assert_retry_succeeds(env)


def test_a_member_that_unpacks_too_large_is_refused_while_unpacking(env, monkeypatch):
    limit = data.MAX_MEMBER_BYTES
    monkeypatch.setattr(data, "MAX_MEMBER_BYTES", 100)  # a stand-in for a zip bomb
    with pytest.raises(data.DownloadError, match=r"ml-latest-small/\w+\.csv in the archive .* unpacks to more "
                                                 r"than 100 bytes"):
        data.load_movielens()
    assert_cache_clean(env.cache)
    monkeypatch.setattr(data, "MAX_MEMBER_BYTES", limit)
    _assert_retry_succeeds(env)


def test_no_data_and_no_network_is_one_error_listing_the_three_ways(env, monkeypatch):
    monkeypatch.setenv(data.ENV_URL, closed_port_url())
    before = env.outside()
    with pytest.raises(data.DownloadError) as info:
        data.load_movielens()
    message = str(info.value)
    assert message.splitlines()[0].startswith("Downloading the MovieLens data failed: could not connect to")
    assert "three ways" in message
    assert "load_movielens('path/to/ml-latest-small')" in message  # 1. a folder
    assert f"set the environment variable {data.ENV_DATA}" in message  # 2. the variable
    assert str(env.cache) in message and "download the official archive" in message  # 3. the cache
    assert_cache_clean(env.cache)
    assert env.outside() == before


def test_download_false_never_touches_the_network(env):
    with pytest.raises(data.DataNotFoundError, match=r"^The MovieLens data is not on this machine\.\n"
                                                     r"Provide the MovieLens ml-latest-small data in one of three"):
        data.load_movielens(download=False)
    assert env.server.hits == []
    assert not env.cache.exists()


def test_read_timeout_is_reported_as_such(env):
    env.server.mode = "stall"
    with pytest.raises(data.DownloadError, match=r"stopped sending data for 0\.3 s\. Nothing was saved"):
        data.download_movielens(timeout=0.3)
    assert_cache_clean(env.cache)


def test_invalid_url_names_the_variable(env, monkeypatch):
    monkeypatch.setenv(data.ENV_URL, "files.example/ml-latest-small.zip")
    with pytest.raises(data.DownloadError, match=r"is not a valid http\(s\) address \(check CFCOURSE_DATA_URL\)"):
        data.load_movielens()
    assert_cache_clean(env.cache)


def test_cache_path_that_is_a_file_is_a_clear_error(env, monkeypatch):
    blocker = env.root / "home" / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv(data.ENV_CACHE, str(blocker))
    with pytest.raises(data.DownloadError, match=r"cannot create the cache folder .*not-a-folder.*Set CFCOURSE_CACHE"):
        data.load_movielens()
    assert blocker.read_text() == "x"
    assert env.server.hits == []


@pytest.mark.parametrize("fault", ["500", "truncated", "wrong-checksum"])
def test_failed_download_leaves_an_existing_good_cache_untouched(env, fault):
    data.load_movielens()
    before = snapshot(env.cache)
    hashes = {p.name: data.sha256_of(p) for p in env.installed().iterdir()}
    if fault == "wrong-checksum":
        env.server.body = _zip_with_altered_ratings(env)
    else:
        env.server.mode = fault
    with pytest.raises(data.DataError, match="Nothing was saved"):
        data.download_movielens()  # an explicit re-download, while a good copy is cached
    assert snapshot(env.cache) == before
    assert {p.name: data.sha256_of(p) for p in env.installed().iterdir()} == hashes
    assert data.load_movielens().source == env.installed()


def test_redownload_replaces_a_damaged_cache(env):
    data.load_movielens()
    damaged = env.installed() / "movies.csv"
    damaged.write_bytes(damaged.read_bytes() + b"\n")
    with pytest.raises(data.ChecksumError, match=r"Delete the folder .*ml-latest-small so that the course downloads"):
        data.load_movielens()
    assert data.download_movielens() == env.installed()
    assert data.sha256_of(damaged) == data.SHA256["movies.csv"]
    assert sorted(p.name for p in env.cache.iterdir()) == [data.DATASET_NAME]
    assert len(env.server.hits) == 2


def test_download_into_an_explicit_cache_argument(env, tmp_path):
    target = data.download_movielens(cache=tmp_path / "elsewhere")
    assert target == tmp_path / "elsewhere" / data.DATASET_NAME
    assert data.find_data_dir(target) == target
    assert not env.cache.exists()

