"""Where downloaded data sets live, the errors the data code reports, and the one download path.

Both the small set (:mod:`cfcourse.data`) and the big sets (:mod:`cfcourse.bigdata`) are fetched
the same way by :func:`download_and_install`: into a temporary ``.partial-*`` folder inside the
cache, checked, and only then moved into place; on any failure nothing is left behind and an
existing copy is untouched. What differs between the sets (how an archive is unpacked and
checked, SHA-256 or MD5, the wording of the error) is passed in.

This module imports nothing else of the course, so the data modules depend on it and never on
each other in a circle.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import Callable

ENV_CACHE = "CFCOURSE_CACHE"
#: MovieLens' rating scale, the same in every release (half stars from 0.5 to 5).
RATING_SCALE = (0.5, 5.0)


class DataError(Exception):
    """Base class of every data problem the course reports."""


class DataNotFoundError(DataError, FileNotFoundError):
    """The data could be found neither locally nor by download."""


class ChecksumError(DataError):
    """A file's checksum (SHA-256, or MD5 for the big archives) does not match the official one."""


class DownloadError(DataError):
    """The official archive could not be downloaded or unpacked."""


#: Builds the error for a failed download from a reason ("the server answered 404 ... Nothing was saved.").
Failure = Callable[[str], DownloadError]


def cache_dir() -> Path:
    """The per-user cache folder that holds downloaded copies (not created here)."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("cfcourse"))


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    """Hex digest of a file (``algorithm`` as :func:`hashlib.new` names it), read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def describe_request_error(exc: Exception, url: str, timeout: float, env_var: str) -> str:
    """What went wrong with a request, in words, ending in "Nothing was saved".

    ``env_var`` is the environment variable that holds the address, named when it is invalid.
    """
    import requests

    exceptions = requests.exceptions
    if isinstance(exc, exceptions.HTTPError):
        response = exc.response
        status = f"{response.status_code} {response.reason or ''}".strip() if response is not None else "an error"
        return f"the server answered {status} for {url}. Nothing was saved."
    if isinstance(exc, (exceptions.MissingSchema, exceptions.InvalidSchema, exceptions.InvalidURL,
                        exceptions.URLRequired)):
        return f"{url!r} is not a valid http(s) address (check {env_var}). Nothing was saved."
    if isinstance(exc, exceptions.Timeout) and not isinstance(exc, exceptions.ReadTimeout):
        return f"no connection to {url} within {timeout:g} s. Nothing was saved; check your network."
    if isinstance(exc, exceptions.ReadTimeout):
        return f"{url} stopped sending data for {timeout:g} s. Nothing was saved; try again."
    if isinstance(exc, exceptions.ChunkedEncodingError) or (
            isinstance(exc, exceptions.ConnectionError) and "IncompleteRead" in repr(exc)):
        return (f"the connection was cut before the whole file arrived from {url}. "
                "Nothing was saved; try again.")
    if isinstance(exc, exceptions.ConnectionError):
        return (f"could not connect to {url} (no network, or the server is down). "
                "Nothing was saved; check your network connection.")
    return f"{type(exc).__name__} while fetching {url}. Nothing was saved; try again."


def _make_root(root: Path, failed: Failure) -> Path | None:
    """Create ``root`` (and parents); return the topmost folder created, or None."""
    top = None
    for folder in [root, *root.parents]:
        if folder.exists():
            break
        top = folder
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise failed(f"cannot create the cache folder {root} ({exc.strerror or exc}). "
                     f"Set {ENV_CACHE} to a folder you can write to.") from None
    return top


def _remove_created(root: Path, top: Path | None) -> None:
    """Remove the empty folders ``_make_root`` created, from ``root`` up to ``top``."""
    if top is None:
        return
    for folder in [root, *root.parents]:
        try:
            folder.rmdir()  # only succeeds while empty
        except OSError:
            return
        if folder == top:
            return


def install(unpacked: Path, target: Path, work: Path, complete: Callable[[Path], bool], failed: Failure) -> None:
    """Move ``unpacked`` to ``target``; an old ``target`` is set aside first and restored on failure.

    ``complete(folder)`` tells whether a folder holds a usable copy (another process may have
    installed one at the same moment); ``failed(reason)`` builds the error.
    """
    backup = work / "previous"
    had_old = target.exists() or target.is_symlink()
    if had_old:
        os.replace(target, backup)
    try:
        os.replace(unpacked, target)
    except OSError as exc:
        if complete(target):  # another process installed a copy at the same moment
            return
        if had_old:
            os.replace(backup, target)
        raise failed(f"could not move the verified files into {target} ({exc.strerror or exc}).") from None


def download_and_install(url: str, root: Path, target_name: str, unpack: Callable[[Path, Path], Path], *,
                         failed: Failure, env_var: str, complete: Callable[[Path], bool],
                         timeout: float = 60.0, archive_name: str = "archive.zip") -> Path:
    """Download ``url`` into the cache folder ``root`` and install it as ``root / target_name``.

    ``unpack(archive, work)`` unpacks and checks the downloaded ``archive`` inside the temporary
    folder ``work`` and returns the folder to install (it raises :class:`ChecksumError` or
    ``failed(...)`` when the archive is not the official one). A damaged or non-zip archive,
    a network fault, an unwritable cache: each is one :class:`DownloadError` built by
    ``failed`` (``env_var`` is the variable that holds the address). Returns the installed folder.
    """
    import pooch
    import requests

    top_created = _make_root(root, failed)
    work: Path | None = None
    try:
        try:
            work = Path(tempfile.mkdtemp(prefix=".partial-", dir=root))
        except OSError as exc:
            raise failed(f"cannot write to the cache folder {root} ({exc.strerror or exc}). "
                         f"Set {ENV_CACHE} to a folder you can write to.") from None
        archive = work / archive_name
        try:
            pooch.HTTPDownloader(progressbar=False, timeout=timeout)(url, str(archive), None)
        except requests.exceptions.RequestException as exc:
            raise failed(describe_request_error(exc, url, timeout, env_var)) from None
        except OSError as exc:
            raise failed(f"could not save the file from {url} ({exc.strerror or exc}). Nothing was saved.") \
                from None
        try:
            unpacked = unpack(archive, work)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            head = archive.read_bytes()[:40] if archive.exists() else b""
            if isinstance(exc, zipfile.BadZipFile) and not head.startswith(b"PK"):
                what = f"is not a zip archive (it starts with {head!r})"
            else:
                what = f"is a damaged zip archive ({exc})"
            raise failed(f"the file downloaded from {url} {what}. Nothing was saved; try again, or check "
                         f"{env_var}.") from None
        target = root / target_name
        install(unpacked, target, work, complete=complete, failed=failed)
        return target
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
        _remove_created(root, top_created)
