"""Shared helpers for the data tests: MovieLens archives built at test time, a local HTTP
server on 127.0.0.1 that can be told to fail in scripted ways, and folder snapshots.

Nothing here is data: archives are assembled in memory from the files in ``$CFCOURSE_DATA``
(or, without it, from small synthetic CSV files whose checksums replace the official ones).
Import the fixtures into a test module with ``from helpers import ...``.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import struct
import threading
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from cfcourse import data

PREFIX = data.DATASET_NAME + "/"

_SYNTHETIC = {
    "ratings.csv": (
        "userId,movieId,rating,timestamp\n"
        "1,1,4.0,964982703\n1,3,4.0,964981247\n2,1,3.5,1445714835\n"
        "2,50,5.0,1445714952\n3,3,0.5,1306463578\n3,50,2.5,1306464261\n"
    ).encode(),
    "movies.csv": (
        "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n"
        "3,Grumpier Old Men (1995),Comedy|Romance\n50,\"Usual Suspects, The (1995)\",Crime|Mystery\n"
    ).encode(),
}


def real_data_dir() -> Path | None:
    """The folder of the real ml-latest-small files named by ``$CFCOURSE_DATA``, if any."""
    value = os.environ.get(data.ENV_DATA)
    if not value:
        return None
    folder = Path(value)
    if not all((folder / n).is_file() for n in data.REQUIRED) and (folder / data.DATASET_NAME).is_dir():
        folder = folder / data.DATASET_NAME
    return folder if all((folder / n).is_file() for n in data.REQUIRED) else None


@pytest.fixture(scope="session")
def source_files() -> tuple[dict[str, bytes], dict[str, str]]:
    """(file name -> bytes, file name -> SHA-256) of the files an archive is built from.

    Real files when ``$CFCOURSE_DATA`` has them (then the SHA-256 are the official ones),
    else synthetic ones with their own digests (tests then patch ``data.SHA256``).
    """
    folder = real_data_dir()
    if folder is not None:
        files = {p.name: p.read_bytes() for p in sorted(folder.iterdir())
                 if p.is_file() and (p.name in data.SHA256 or p.name == "README.txt")}
    else:
        files = dict(_SYNTHETIC)
    digests = {n: hashlib.sha256(b).hexdigest() for n, b in files.items() if n in data.SHA256}
    return files, digests


def make_zip(members: dict[str, bytes]) -> bytes:
    """A zip archive, in memory, holding ``members`` (member name -> content) as given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, content in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2018, 9, 26, 0, 0, 0)), content,
                        compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def official_members(files: dict[str, bytes]) -> dict[str, bytes]:
    """The member layout of the official archive: ``ml-latest-small/NAME``."""
    return {PREFIX + name: content for name, content in files.items()}


@pytest.fixture(scope="session")
def good_zip(source_files) -> bytes:
    """An archive laid out like the official one, built once per test session."""
    files, _ = source_files
    return make_zip(official_members(files))


# --------------------------------------------------------------------------------------
# A scripted HTTP server on 127.0.0.1
# --------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a stuck client cannot hold a handler thread for long

    def log_message(self, format, *args):  # noqa: A002 - keep the test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        server: FaultServer = self.server  # type: ignore[assignment]
        server.hits.append(self.path)
        mode, body = server.mode, server.body
        if mode in ("404", "500"):
            self.send_error(int(mode))
            return
        if mode == "stall":  # headers never come: the client's read timeout fires
            server.release.wait(10)
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        if mode == "drop":
            # chunked body, then the socket is reset in the middle of the file
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            part = body[: len(body) // 2]
            self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        announced = len(body) + (1000 if mode == "overlong" else 0)
        self.send_header("Content-Length", str(announced))
        self.end_headers()
        if mode == "truncated":  # the header announces the whole file, half of it arrives
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
        elif mode == "overlong":  # the whole file arrives, but 1000 bytes fewer than announced
            self.wfile.write(body)
            self.close_connection = True
        else:
            self.wfile.write(body)


class FaultServer(ThreadingHTTPServer):
    """Serves ``body`` at any path; ``mode`` picks the fault: ok, 404, 500, truncated,
    overlong, drop (connection reset mid-file) or stall (no answer). ``hits`` lists the paths asked for."""

    daemon_threads = True
    block_on_close = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "ok"
        self.body = b""
        self.hits: list[str] = []
        self.release = threading.Event()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/{data.DATASET_NAME}.zip"

    def handle_error(self, request, client_address) -> None:
        pass  # resets done on purpose are not errors


@pytest.fixture
def http_server():
    """A :class:`FaultServer` running in a thread for one test, shut down afterwards."""
    server = FaultServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port_url() -> str:
    """An http://127.0.0.1 address on which nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{data.DATASET_NAME}.zip"


# --------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------


def snapshot(root: Path, skip: Path | None = None) -> dict[str, tuple]:
    """Every entry under ``root`` (except ``skip``) with its kind, size, mode and mtime."""
    result: dict[str, tuple] = {}
    if not root.exists():
        return result
    for path in sorted(root.rglob("*")):
        if skip is not None and (path == skip or skip in path.parents):
            continue
        st = path.lstat()
        kind = "dir" if path.is_dir() else "file"
        result[path.relative_to(root).as_posix()] = (kind, st.st_size if kind == "file" else 0,
                                                     st.st_mode, st.st_mtime_ns)
    return result


def assert_cache_clean(cache: Path) -> None:
    """After a failed download: no cache folder at all, or an empty one."""
    if cache.exists():
        leftovers = sorted(p.name for p in cache.iterdir())
        assert leftovers == [], f"left in the cache after a failed download: {leftovers}"


@dataclass
class CacheEnv:
    """A test's world for downloads: everything it may see written lives under ``root``; the course's
    cache (``$CFCOURSE_CACHE``) is ``cache``, not yet created; ``server`` serves ``good_zip``."""

    root: Path
    cache: Path
    server: object
    good_zip: bytes

    def outside(self) -> dict:
        """A snapshot of everything under ``root`` except the cache.

        The mtime of the cache's parent folders is left out: creating (and removing) the
        cache folder itself changes it.
        """
        shot = snapshot(self.root, skip=self.cache)
        for parent in self.cache.parents:
            if self.root in parent.parents:
                key = parent.relative_to(self.root).as_posix()
                shot[key] = shot[key][:3]
        return shot


def prepare_download_env(tmp_path: Path, monkeypatch, server, body: bytes, url_variables: dict[str, str]) -> Path:
    """No local data, an empty cache in ``tmp_path`` (returned), the address variables pointing at the
    local ``server`` (which serves ``body``), no proxy for 127.0.0.1, and a working folder where a naive
    relative unzip would land."""
    cache = tmp_path / "home" / "cache"
    cache.parent.mkdir()  # the cache folder itself is created by the download
    monkeypatch.delenv(data.ENV_DATA, raising=False)
    monkeypatch.setenv(data.ENV_CACHE, str(cache))
    for variable, url in url_variables.items():
        monkeypatch.setenv(variable, url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    server.body = body
    return cache
