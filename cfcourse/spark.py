"""Apache Spark for the chapter "Beyond one machine": is it usable here, a quiet local session,
and the few ALS helpers the chapter and the scale benchmark share.

Spark runs in a Java virtual machine: PySpark 4 needs the ``pyspark`` package (``pip install -e
'.[spark]'``) *and* Java 17 or 21. :func:`spark_problem` says in one message what is missing and
how to install it; :func:`start_session` refuses to start without them
(:class:`SparkUnavailable`, with that message). Nothing here imports PySpark until it is used.

Sessions are local (``local[n]``: one JVM using ``n`` cores), quiet (log level ERROR, no web UI,
no progress bars) and bound to 127.0.0.1, so nothing listens on the network.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

#: Java versions Spark 4 supports.
JAVA_VERSIONS = (17, 21)

INSTALL_JAVA = (
    "Install a Java 17 or 21 runtime, e.g. `sudo apt-get install openjdk-17-jre-headless` (Debian, Ubuntu), "
    "`brew install openjdk@17` (macOS) or `conda install -c conda-forge openjdk=17`, then start Jupyter (or "
    "the terminal) again so that `java` is on the PATH, or set JAVA_HOME to the Java folder."
)
INSTALL_PYSPARK = ("Install it with `pip install -e '.[spark]'` from the course folder "
                   "(or `pip install 'pyspark>=4,<5' pyarrow`).")


class SparkUnavailable(RuntimeError):
    """Spark cannot run here; the message says what is missing and how to install it."""


# --------------------------------------------------------------------------------------
# Is Spark usable?
# --------------------------------------------------------------------------------------


def find_java() -> Path | None:
    """The ``java`` executable Spark would use: ``$JAVA_HOME/bin/java`` if JAVA_HOME is set, else the PATH's."""
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / ("java.exe" if os.name == "nt" else "java")
        return candidate if candidate.is_file() else None
    found = shutil.which("java")
    return Path(found) if found else None


def java_version(java: str | os.PathLike) -> int | None:
    """The major version of a ``java`` executable (8 for "1.8.0_x", 17 for "17.0.15"), or None."""
    try:
        run = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', run.stderr + run.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def _module_missing(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):
        return True


def spark_problem() -> str | None:
    """Why Spark cannot run here, as one message saying what to install; None when it can."""
    missing = [name for name in ("pyspark", "pyarrow") if _module_missing(name)]
    if missing:
        return f"Spark is not available: the Python package(s) {' and '.join(missing)} are not installed. " \
               + INSTALL_PYSPARK
    java = find_java()
    if java is None:
        where = (f"JAVA_HOME is set to {os.environ['JAVA_HOME']}, which holds no bin/java"
                 if os.environ.get("JAVA_HOME") else "no `java` on the PATH and JAVA_HOME is not set")
        return f"Spark is not available: it needs Java 17 or 21, and none was found ({where}). " + INSTALL_JAVA
    version = java_version(java)
    if version not in JAVA_VERSIONS:
        found = f"Java {version}" if version else "a `java` whose version could not be read"
        return (f"Spark is not available: it needs Java 17 or 21, and {java} is {found}. " + INSTALL_JAVA)
    return None


def require_spark() -> None:
    """Raise :class:`SparkUnavailable` (saying what to install) unless Spark can run here."""
    problem = spark_problem()
    if problem:
        raise SparkUnavailable(problem)


#: The first line of a notebook cell that needs Spark (see :func:`skip_cells_without_spark`).
SKIP_MARKER = "# needs Spark"
SKIPPED = "Skipped: this cell needs Spark, which cannot run here (see the message at the top of the chapter)."


class _SkipSparkCells:
    """An IPython input transformer that replaces every cell starting with ``marker`` by a note."""

    def __init__(self, marker: str):
        self.marker = marker

    def __call__(self, lines: list[str]) -> list[str]:
        first = next((line.strip() for line in lines if line.strip()), "")
        if first.startswith(self.marker):
            return [f"print({SKIPPED!r})\n"]
        return lines


def skip_cells_without_spark(marker: str = SKIP_MARKER) -> str | None:
    """For a notebook: say whether Spark can run, and if not, skip the cells that need it.

    When Spark can run, prints the versions found and returns None. When it cannot, prints the
    one message of :func:`spark_problem` (what to install) and tells IPython to replace every
    later cell whose first line starts with ``marker`` by a printed note, so that the rest of the
    notebook still runs; returns that message. Running it again (e.g. after installing Java and
    restarting nothing) re-checks and updates the skipping.
    """
    problem = spark_problem()
    shell = None
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - outside IPython there are no cells to skip
        pass
    if shell is not None:
        shell.input_transformers_post[:] = [t for t in shell.input_transformers_post
                                            if not isinstance(t, _SkipSparkCells)]
    if problem is None:
        import pyspark

        java = find_java()
        print(f"Spark can run here: PySpark {pyspark.__version__}, Java {java_version(java)} ({java}).")
        return None
    print(f"{problem}\nThe cells that start with '{marker}' will be skipped.")
    if shell is not None:
        shell.input_transformers_post.append(_SkipSparkCells(marker))
    return problem


# --------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------


_LOG4J2 = """# Written by cfcourse.spark: only errors from Spark's Java side, on stderr.
rootLogger.level = error
rootLogger.appenderRef.console.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


def _log_config() -> Path:
    """A log4j2 configuration that keeps Spark's JVM quiet (written once to the temporary folder)."""
    import tempfile

    path = Path(tempfile.gettempdir()) / "cfcourse-spark-log4j2.properties"
    if not path.is_file() or path.read_text(encoding="utf-8") != _LOG4J2:
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_text(_LOG4J2, encoding="utf-8")
        os.replace(partial, path)
    return path


#: JVM options for short jobs on small data: compile less eagerly (the C1 compiler only, which
#: needs deeper thread stacks for ALS's long chains of tasks) and collect garbage on one thread.
#: Roughly halves the CPU time Spark spends starting and running the chapter's jobs.
SMALL_DATA_JAVA_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss16m")


#: Set this environment variable to 0 to start Spark without the class archive.
ENV_CLASS_ARCHIVE = "CFCOURSE_SPARK_CLASS_ARCHIVE"
#: Keep the JVM's messages about the class archive (e.g. "Skipping ...: Signed JAR") out of the output.
_QUIET_ARCHIVE = ["-Xlog:cds=off", "-Xlog:cds+dynamic=off"]


def class_archive_folder() -> Path:
    """Where :func:`start_session` keeps its class archives: ``spark-classes`` in the course's cache."""
    from .data import cache_dir

    return cache_dir() / "spark-classes"


def _archive_key(java: Path) -> str:
    """One archive per Java build, PySpark installation and JVM options (a short hash of them)."""
    import hashlib

    import pyspark

    home = Path(os.path.realpath(java)).parent.parent
    parts = [str(home), pyspark.__version__, str(Path(pyspark.__file__).resolve().parent),
             *SMALL_DATA_JAVA_OPTIONS]
    for library in sorted(home.glob("lib/*/libjvm.*")):
        info = library.stat()
        parts.append(f"{library}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists
        return True
    return True


def _archive_works(java: Path, archive: Path, classpath: str) -> bool:
    """Does a JVM start with ``archive`` (every page read and checksummed) on ``classpath``?"""
    command = [str(java), f"-XX:SharedArchiveFile={archive}", "-XX:+VerifySharedSpaces", "-Xshare:on",
               *_QUIET_ARCHIVE, *SMALL_DATA_JAVA_OPTIONS, "-cp", classpath, "-version"]
    try:
        return subprocess.run(command, capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _promote_finished_archives(folder: Path, key: str, java: Path) -> None:
    """Turn an archive that a finished JVM wrote into the one to use, once checked; drop the rest.

    A JVM writes its archive when it exits, which may be long after the Python process that
    started it: a ``.partial`` file is only looked at once the JVM named in its ``.jvm`` file
    (process id and class path) is gone, and used only if a JVM starts with it.
    """
    import json

    final = folder / f"{key}.jsa"
    for partial in sorted(folder.glob(f"{key}.*.partial")):
        note = partial.with_suffix(".jvm")
        try:
            info = json.loads(note.read_text(encoding="utf-8"))
            pid, classpath = int(info["pid"]), str(info["classpath"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # its JVM has not said who it is yet (or never will: left for a later clean-up)
        if _pid_alive(pid):
            continue
        if not final.exists() and _archive_works(java, partial, classpath):
            os.replace(partial, final)
        else:
            partial.unlink(missing_ok=True)
        note.unlink(missing_ok=True)


def _archive_folder_and_key(java: str):
    """The class-archive folder (created) and this Java's key, with finished archives promoted;
    None where the folder cannot be written (the archive is only a speed-up)."""
    folder = class_archive_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        key = _archive_key(java)
        _promote_finished_archives(folder, key, java)
    except OSError:
        return None
    return folder, key


def _class_archive_options(java: Path) -> tuple[list[str], Path | None]:
    """JVM options that reuse the classes an earlier Spark session loaded (a class-data archive).

    Starting Spark's JVM is mostly loading and checking about 20,000 classes. Java can save them
    to an archive when a JVM exits (``-XX:ArchiveClassesAtExit``) and map that archive into the
    next JVM (``-XX:SharedArchiveFile``): on the course's 2-core machine this took the chapter's
    session start from about 6 s to 2 s and its first ALS fit from 4 s to 2.5 s. The first
    session writes the archive (about 180 MB, in :func:`class_archive_folder`) as its JVM exits;
    a later one checks it with a test start and uses it. A missing, unusable or foreign archive
    only costs the speed-up. Returns the options, and the ``.partial`` file this JVM will write
    (None when it reads one).
    """
    import uuid

    prepared = _archive_folder_and_key(java)
    if prepared is None:
        return [], None
    folder, key = prepared
    final = folder / f"{key}.jsa"
    if final.is_file():
        return [f"-XX:SharedArchiveFile={final}", *_QUIET_ARCHIVE], None
    partial = folder / f"{key}.{uuid.uuid4().hex[:12]}.partial"
    return [f"-XX:ArchiveClassesAtExit={partial}", *_QUIET_ARCHIVE], partial


def _note_archive_writer(spark, partial: Path) -> None:
    """Record which JVM writes ``partial``, and with which class path (for :func:`_promote_finished_archives`)."""
    import json

    try:
        system = spark.sparkContext._jvm.java.lang
        info = {"pid": int(system.ProcessHandle.current().pid()),
                "classpath": str(system.System.getProperty("java.class.path"))}
        note = partial.with_suffix(".jvm")
        temporary = note.with_name(f"{note.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(info), encoding="utf-8")
        os.replace(temporary, note)
    except Exception:  # noqa: BLE001 - the archive is only a speed-up: never fail a session for it
        pass


#: Lines that Spark's JVM writes to stderr on every start and that say nothing to a reader: the JVM's
#: note on the vector module, Spark's default-log-level banner, and netlib's failed look-up of a
#: native BLAS/LAPACK (Spark then uses its Java implementation, with the same results).
_STARTUP_NOISE = re.compile(r"^(WARNING: Using incubator modules|Setting default log level|To adjust logging level"
                            r"|Setting Spark log level|netlib-(?:blas|lapack): .*dlopen\(.*\) failed)")


def is_startup_noise(line: str) -> bool:
    """Is ``line`` one of the start-up lines of Spark's JVM that :func:`start_session` keeps out of stderr?"""
    return bool(_STARTUP_NOISE.match(line))


def _forward(read_fd: int, write_fd: int) -> None:
    """Copy lines from ``read_fd`` to ``write_fd`` until the pipe closes, less the start-up noise."""
    with os.fdopen(read_fd, "rb", buffering=0) as source:
        buffered = b""
        for chunk in iter(lambda: source.read(4096), b""):
            buffered += chunk
            *lines, buffered = buffered.split(b"\n")
            for line in lines:
                if not is_startup_noise(line.decode("utf-8", "replace")):
                    os.write(write_fd, line + b"\n")
        if buffered and not is_startup_noise(buffered.decode("utf-8", "replace")):
            os.write(write_fd, buffered)
    os.close(write_fd)


@contextmanager
def _quiet_jvm_stderr() -> Iterator[None]:
    """While Spark starts its JVM, point this process's stderr (file descriptor 2) at a pipe.

    The JVM inherits the pipe for its whole life; a daemon thread forwards what arrives to the real
    stderr, less :func:`is_startup_noise` lines, so real errors still show. Where file descriptor 2
    cannot be redirected (no such descriptor), nothing is changed.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 2)
    os.close(write_fd)
    threading.Thread(target=_forward, args=(read_fd, saved), name="cfcourse-spark-stderr", daemon=True).start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)


def start_session(cores: int | str = "*", *, app_name: str = "cfcourse", driver_memory: str = "2g",
                  shuffle_partitions: int | None = None, small_data: bool = False):
    """A quiet local SparkSession using ``cores`` cores (``"*"``: all of them).

    ``driver_memory`` is the JVM's heap (in local mode the driver does all the work). With
    ``small_data`` the JVM is tuned for jobs of seconds rather than hours
    (:data:`SMALL_DATA_JAVA_OPTIONS`) and reuses the classes an earlier session loaded
    (:func:`_class_archive_options`; set ``CFCOURSE_SPARK_CLASS_ARCHIVE=0`` to turn that off).
    Raises :class:`SparkUnavailable` when Java or PySpark is missing. Stop it with
    :func:`stop_session` (or use :func:`session`).

    PySpark starts its Java process from this process's environment, so unless they are already
    set, ``SPARK_LOCAL_IP`` (127.0.0.1) and ``PYSPARK_PYTHON`` (this Python) are set in it.
    """
    if not (cores == "*" or (isinstance(cores, int) and not isinstance(cores, bool) and cores >= 1)):
        raise ValueError(f"cores must be a positive number of cores or '*', got {cores!r}")
    require_spark()
    n_cores = (os.cpu_count() or 1) if cores == "*" else int(cores)
    partitions = shuffle_partitions or max(2, 2 * n_cores)
    java_options = [f"-Dlog4j2.configurationFile={_log_config().as_uri()}"]
    partial = None
    if small_data:
        java_options += SMALL_DATA_JAVA_OPTIONS
        if os.environ.get(ENV_CLASS_ARCHIVE, "1") != "0" and not _jvm_running():
            archive_options, partial = _class_archive_options(find_java())
            java_options += archive_options
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas.*")
        from pyspark.sql import SparkSession

        builder = (SparkSession.builder.master(f"local[{cores}]").appName(app_name)
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.log.level", "ERROR")
                   .config("spark.driver.extraJavaOptions", " ".join(java_options))
                   .config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.driver.memory", driver_memory)
                   .config("spark.sql.shuffle.partitions", str(partitions))
                   .config("spark.default.parallelism", str(partitions))
                   .config("spark.sql.session.timeZone", "UTC"))
        with _quiet_jvm_stderr():
            spark = builder.getOrCreate()
            spark.sparkContext.setLogLevel("ERROR")
    if partial is not None:
        _note_archive_writer(spark, partial)
    return spark


def _jvm_running() -> bool:
    """Has this process already started Spark's JVM? (A new session then reuses it and its options.)"""
    from pyspark import SparkContext

    return SparkContext._gateway is not None


def stop_session(spark) -> None:
    """Stop a session started by :func:`start_session` (its JVM exits; a new session starts a new one)."""
    if spark is not None:
        spark.stop()


@contextmanager
def session(cores: int | str = "*", **options) -> Iterator:
    """``with spark.session() as s: ...``: :func:`start_session`, stopped however the block ends."""
    spark = start_session(cores, **options)
    try:
        yield spark
    finally:
        stop_session(spark)


# --------------------------------------------------------------------------------------
# ALS helpers
# --------------------------------------------------------------------------------------


def read_ratings(spark, source):
    """A Spark DataFrame of the Parquet ratings in ``source`` (a file, a folder, or a list of them)."""
    from .parquet import parquet_files

    return spark.read.parquet(*[str(p) for p in parquet_files(source)])


def fit_als(ratings, *, rank: int = 10, max_iter: int = 10, reg_param: float = 0.1, seed: int = 42,
            cold_start: str = "nan", blocks: int | None = None, user: str = "user", item: str = "movie",
            rating: str = "rating"):
    """Fit ``pyspark.ml.recommendation.ALS`` (explicit ratings) on a DataFrame; returns the ALSModel.

    ``blocks`` sets both ``numUserBlocks`` and ``numItemBlocks`` (Spark's default is 10).
    """
    from pyspark.ml.recommendation import ALS

    options = dict(rank=rank, maxIter=max_iter, regParam=reg_param, seed=seed, coldStartStrategy=cold_start,
                   userCol=user, itemCol=item, ratingCol=rating)
    if blocks is not None:
        options.update(numUserBlocks=blocks, numItemBlocks=blocks)
    return ALS(**options).fit(ratings)


@dataclass(frozen=True)
class AlsEvaluation:
    """RMSE of an ALS model on held-out ratings, with how the cold-start pairs were handled."""

    rmse: float            # over every held-out rating, cold pairs predicted with ``fallback``
    rmse_known: float      # over the pairs whose user and movie were both in the training data
    n: int
    n_cold: int
    fallback: float


def evaluate_als(model, ratings, fallback: float, rating: str = "rating") -> AlsEvaluation:
    """RMSE of ``model`` on the DataFrame ``ratings``, computed in Spark.

    Pairs ALS cannot score (a user or movie absent from its training data: NaN with
    ``coldStartStrategy="nan"``) are predicted with ``fallback`` (e.g. the training mean) in
    ``rmse``, and left out of ``rmse_known``.
    """
    from pyspark.sql import functions as F

    predicted = model.setColdStartStrategy("nan").transform(ratings)
    error = (F.col("prediction") - F.col(rating))
    row = predicted.select(
        F.count(F.lit(1)).alias("n"),
        F.sum(F.isnan("prediction").cast("long")).alias("cold"),
        F.sum(F.when(F.isnan("prediction"), (F.lit(fallback) - F.col(rating)) ** 2)
              .otherwise(error ** 2)).alias("sse"),
        F.sum(F.when(F.isnan("prediction"), 0.0).otherwise(error ** 2)).alias("sse_known"),
    ).first()
    n, cold = int(row["n"]), int(row["cold"] or 0)
    if n == 0:
        raise ValueError("no held-out ratings to evaluate")
    known = n - cold
    return AlsEvaluation(rmse=float(np.sqrt(row["sse"] / n)),
                         rmse_known=float(np.sqrt(row["sse_known"] / known)) if known else float("nan"),
                         n=n, n_cold=cold, fallback=float(fallback))


def mean_rating(ratings, rating: str = "rating") -> float:
    """The mean of a DataFrame's rating column, computed in Spark."""
    from pyspark.sql import functions as F

    return float(ratings.select(F.avg(rating)).first()[0])


def factor_matrix(factors, n: int) -> tuple[np.ndarray, np.ndarray]:
    """An ALS factor DataFrame (``model.userFactors`` or ``model.itemFactors``) as a dense array.

    Returns ``(matrix, known)``: row ``i`` of the ``(n, rank)`` matrix is the factor of id ``i``
    (zeros for ids ALS never saw), and ``known[i]`` says whether it had one. Collects the factors
    to the driver: fine for the embedding tables of the course, which hold one row per user or movie.
    """
    rows = factors.collect()
    rank = len(rows[0]["features"]) if rows else 0
    matrix = np.zeros((n, rank), dtype=np.float32)
    known = np.zeros(n, dtype=bool)
    if rows:
        ids = np.array([r["id"] for r in rows], dtype=np.int64)
        if ids.min() < 0 or ids.max() >= n:
            raise ValueError(f"factor ids run from {ids.min()} to {ids.max()}, outside 0..{n - 1}")
        matrix[ids] = np.array([r["features"] for r in rows], dtype=np.float32)
        known[ids] = True
    return matrix, known


# --------------------------------------------------------------------------------------
# Writing the class archive ahead of time
# --------------------------------------------------------------------------------------


def write_class_archive() -> bool:
    """Run a short Spark job (Parquet, ALS, its evaluation) in a session that writes the class archive.

    The first session with ``small_data`` writes the archive of :func:`_class_archive_options` as its
    JVM exits; the book build runs this in the background while the first chapters execute (``python
    -m cfcourse.spark --class-archive``), so that the Spark chapter's first run already reads one.
    The archive is written when this process's JVM exits, after it returns. Returns False, doing
    nothing, where Spark cannot run, the archive is turned off or one exists already.
    """
    import tempfile

    if spark_problem() is not None or os.environ.get(ENV_CLASS_ARCHIVE, "1") == "0":
        return False
    java = find_java()
    prepared = _archive_folder_and_key(java)
    if prepared is None:
        return False
    folder, key = prepared
    from filelock import FileLock

    with FileLock(folder / f".{key}.lock"):  # two builds at once: one writes it
        if (folder / f"{key}.jsa").is_file() or _archive_being_written(folder, key):
            return False
        spark = start_session(small_data=True)  # notes its JVM as the writer before the lock is released
    with tempfile.TemporaryDirectory(prefix="cfcourse-spark-") as tmp:
        rows = [(user, movie, float(1 + (user * movie) % 5)) for user in range(30) for movie in range(20)]
        path = Path(tmp) / "ratings.parquet"
        spark.createDataFrame(rows, ["user", "movie", "rating"]).write.parquet(str(path))
        ratings = read_ratings(spark, path)
        model = fit_als(ratings, rank=2, max_iter=2)
        evaluate_als(model, ratings, fallback=mean_rating(ratings))
        factor_matrix(model.userFactors, 30)
        stop_session(spark)
    return True


def _archive_being_written(folder: Path, key: str) -> bool:
    """Is a running JVM writing an archive of ``key`` (a ``.jvm`` note of a live process)?"""
    import json

    for note in folder.glob(f"{key}.*.jvm"):
        try:
            if _pid_alive(int(json.loads(note.read_text(encoding="utf-8"))["pid"])):
                return True
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return False


def main(argv: list[str] | None = None) -> int:
    """``python -m cfcourse.spark --class-archive``: :func:`write_class_archive`."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m cfcourse.spark", description=main.__doc__)
    parser.add_argument("--class-archive", action="store_true", required=True,
                        help="write the Spark class archive now (a short job), unless one exists")
    parser.parse_args(argv)
    print("cfcourse.spark: class archive", "being written" if write_class_archive() else "not needed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
