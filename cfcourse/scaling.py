"""How training cost grows with the number of ratings: Spark ALS against the course's Keras model.

``python3 tasks.py bench --scale 1e5,1e6,1e7,2.5e7`` generates MovieLens-like ratings of each
size (:mod:`cfcourse.synthetic`, cached), then for each size measures, each in a fresh process:

- Spark MLlib's ALS in ``local[1]`` and ``local[*]``, reading the Parquet files itself;
- the course's dot + bias model (:class:`cfcourse.models.DotWithBias`) trained by Keras from the
  streaming ``tf.data`` pipeline of :mod:`cfcourse.streaming` (never the whole data in memory).

Each row gives seconds per million training ratings per pass (one ALS iteration or one Keras
epoch), the peak memory of the process and its children (the JVM), and the RMSE on the
held-out ratings next to the data's noise floor. The last lines give, per engine, the ratio of
the per-rating cost at the largest size to that at the smallest.

The measuring processes run ``python -m cfcourse.scaling worker ...`` and print one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ENGINES = ("als-1", "als-all", "keras")


@dataclass(frozen=True)
class ScaleSettings:
    """The recipes measured (the same at every size)."""

    als_rank: int = 10
    als_iterations: int = 10
    als_reg: float = 0.15
    spark_memory: str = "4g"
    keras_passes: int = 2
    keras_batch: int = 8192
    keras_learning_rate: float = 5e-3
    seed: int = 42


def parse_sizes(text: str) -> list[int]:
    """``"1e5,1e6,2.5e7"`` -> ``[100000, 1000000, 25000000]`` (sorted, whole numbers, at least 1,000)."""
    sizes = []
    for item in str(text).split(","):
        item = item.strip().replace("_", "")
        if not item:
            continue
        try:
            value = float(item)
        except ValueError:
            raise ValueError(f"--scale takes sizes like 1e5,1e6,2.5e7; {item!r} is not a number") from None
        if not np.isfinite(value) or value != int(value) or value < 1000:
            raise ValueError(f"--scale sizes must be whole numbers of ratings of at least 1,000; got {item!r}")
        sizes.append(int(value))
    if not sizes:
        raise ValueError("--scale needs at least one size, e.g. --scale 1e5,1e6")
    return sorted(set(sizes))


def label(n: int) -> str:
    """A size as people say it: 100k, 1M, 2.5M, 25M."""
    for unit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= unit:
            return f"{n / unit:.3g}{suffix}"
    return str(n)


# --------------------------------------------------------------------------------------
# Measuring, inside a worker process
# --------------------------------------------------------------------------------------


class PeakMemory:
    """Samples the resident memory of this process and all its children (a JVM included) in a thread."""

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        import psutil

        me = psutil.Process()
        total = 0
        for process in [me, *me.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.peak = max(self.peak, self._sample())
        self._stop.set()
        self._thread.join()

    @property
    def megabytes(self) -> float:
        return self.peak / 2**20


def measure_als(folder: str | os.PathLike, cores: int | str, settings: ScaleSettings) -> dict:
    """Fit Spark ALS on ``folder``'s training files in ``local[cores]``; time, RMSE and passes."""
    from . import spark as sp
    from .parquet import count_rows
    from .synthetic import read_meta

    data = read_meta(folder)
    session = sp.start_session(cores, driver_memory=settings.spark_memory)
    try:
        train = sp.read_ratings(session, data.train)
        start = time.perf_counter()
        model = sp.fit_als(train, rank=settings.als_rank, max_iter=settings.als_iterations,
                           reg_param=settings.als_reg, seed=settings.seed)
        seconds = time.perf_counter() - start
        valid = sp.read_ratings(session, data.valid)
        evaluation = sp.evaluate_als(model, valid, fallback=sp.mean_rating(train))
    finally:
        sp.stop_session(session)
    return dict(seconds=seconds, passes=settings.als_iterations, n_train=count_rows(data.train),
                rmse=evaluation.rmse, cold=evaluation.n_cold)


def measure_keras(folder: str | os.PathLike, settings: ScaleSettings) -> dict:
    """Train the course's dot + bias model from the streaming pipeline over ``folder``'s files."""
    from .models import DotWithBias
    from .streaming import fit_streaming
    from .synthetic import read_meta
    from .training import seed_everything

    data = read_meta(folder)
    seed_everything(settings.seed)
    model = DotWithBias(data.n_users, data.n_movies)
    fit = fit_streaming(model, data.train, data.valid, passes=settings.keras_passes,
                        batch_size=settings.keras_batch, learning_rate=settings.keras_learning_rate,
                        seed=settings.seed)
    return dict(seconds=fit.seconds, passes=fit.passes, n_train=fit.n_train, rmse=fit.val_rmse, cold=0)


def worker(argv: list[str]) -> int:
    """``python -m cfcourse.scaling worker ENGINE FOLDER SETTINGS_JSON``: print one JSON line."""
    engine, folder, settings = argv[0], argv[1], ScaleSettings(**json.loads(argv[2]))
    with PeakMemory() as memory:
        if engine == "keras":
            result = measure_keras(folder, settings)
        else:
            result = measure_als(folder, 1 if engine == "als-1" else "*", settings)
    result["peak_mb"] = memory.megabytes
    print(json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------------------
# The benchmark
# --------------------------------------------------------------------------------------


def engine_name(engine: str) -> str:
    cores = os.cpu_count() or 1
    return {"als-1": "Spark ALS, local[1]", "als-all": f"Spark ALS, local[*] ({cores} cores)",
            "keras": "Keras dot + bias, streaming"}[engine]


def run_worker(engine: str, folder: Path, settings: ScaleSettings, timeout: float | None = None) -> dict:
    """Run one measurement in a fresh Python process; its JSON result."""
    from dataclasses import asdict

    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    command = [sys.executable, "-m", "cfcourse.scaling", "worker", engine, str(folder), json.dumps(asdict(settings))]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    if run.returncode != 0 or not lines:
        tail = "\n".join((run.stderr or run.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"the {engine_name(engine)} measurement on {folder} failed "
                           f"(exit code {run.returncode}):\n{tail}")
    return json.loads(lines[-1])


def run_scale(sizes: list[int], root: Path, settings: ScaleSettings = ScaleSettings(),
              engines: tuple[str, ...] = ENGINES, progress=None) -> pd.DataFrame:
    """Generate (or reuse) each size under ``root`` and measure every engine on it; one row each."""
    from .synthetic import generate

    rows = []
    for n in sizes:
        if progress:
            progress(f"{label(n)} ratings: generating (or reusing) the data ...")
        start = time.perf_counter()
        data = generate(n, root / f"ratings-{n}-seed{settings.seed}", seed=settings.seed)
        generated = time.perf_counter() - start
        for engine in engines:
            if progress:
                progress(f"{label(n)} ratings: {engine_name(engine)} ...")
            result = run_worker(engine, data.folder, settings)
            rows.append(dict(size=n, engine=engine_name(engine), n_train=result["n_train"], passes=result["passes"],
                             seconds=result["seconds"],
                             s_per_m_per_pass=result["seconds"] / (result["n_train"] / 1e6) / result["passes"],
                             peak_mb=result["peak_mb"], rmse=result["rmse"], noise_floor=data.noise_floor_rmse,
                             users=data.n_users, movies=data.n_movies, generate_s=generated))
    return pd.DataFrame(rows)


def measure_in_session(spark, sizes: list[int], root: str | os.PathLike,
                       settings: ScaleSettings = ScaleSettings(),
                       engines: tuple[str, ...] = ("als", "keras")) -> pd.DataFrame:
    """A small version of the benchmark for a notebook: ALS in the open ``spark`` session, Keras here.

    Same rows as :func:`run_scale` except the peak memory, which one shared process cannot
    attribute to one engine. ``engines`` picks what is measured at each size: ``"als"``,
    ``"keras"`` or both. Meant for sizes up to about a million ratings.
    """
    engines = tuple(engines)
    if not engines or any(e not in ("als", "keras") for e in engines):
        raise ValueError(f"engines must name 'als', 'keras' or both, got {engines!r}")
    from . import spark as sp
    from .models import DotWithBias
    from .parquet import count_rows
    from .streaming import fit_streaming
    from .synthetic import generate
    from .training import seed_everything

    master = spark.sparkContext.master
    cores = spark.sparkContext.defaultParallelism
    rows = []
    for n in sorted(int(s) for s in sizes):
        data = generate(n, Path(root) / f"ratings-{n}-seed{settings.seed}", seed=settings.seed)
        n_train = count_rows(data.train)
        common = dict(size=n, n_train=n_train, users=data.n_users, movies=data.n_movies,
                      noise_floor=data.noise_floor_rmse)
        if "als" in engines:
            train = sp.read_ratings(spark, data.train)
            start = time.perf_counter()
            model = sp.fit_als(train, rank=settings.als_rank, max_iter=settings.als_iterations,
                               reg_param=settings.als_reg, seed=settings.seed, blocks=cores)
            seconds = time.perf_counter() - start
            evaluation = sp.evaluate_als(model, sp.read_ratings(spark, data.valid), sp.mean_rating(train))
            rows.append(dict(common, engine=f"Spark ALS, {master}", passes=settings.als_iterations,
                             seconds=seconds, rmse=evaluation.rmse))
        if "keras" not in engines:
            continue
        seed_everything(settings.seed)
        fit = fit_streaming(DotWithBias(data.n_users, data.n_movies), data.train, data.valid,
                            passes=settings.keras_passes, batch_size=settings.keras_batch,
                            learning_rate=settings.keras_learning_rate, seed=settings.seed)
        rows.append(dict(common, engine="Keras dot + bias, streaming", passes=fit.passes, seconds=fit.seconds,
                         rmse=fit.val_rmse))
    table = pd.DataFrame(rows)
    table["s_per_m_per_pass"] = table["seconds"] / (table["n_train"] / 1e6) / table["passes"]
    return table


def format_scale_table(table: pd.DataFrame) -> str:
    """The measured rows as aligned text."""
    shown = pd.DataFrame({
        "ratings": [label(n) for n in table["size"]],
        "users": [f"{n:,}" for n in table["users"]],
        "movies": [f"{n:,}" for n in table["movies"]],
        "engine": table["engine"],
        "passes": table["passes"].astype(int),
        "train s": [f"{v:,.1f}" for v in table["seconds"]],
        "s / M ratings / pass": [f"{v:,.2f}" for v in table["s_per_m_per_pass"]],
        "peak MB": [f"{v:,.0f}" for v in table["peak_mb"]],
        "held-out RMSE": [f"{v:.3f}" for v in table["rmse"]],
        "noise floor": [f"{v:.3f}" for v in table["noise_floor"]],
    })
    return shown.to_string(index=False)


def cost_ratios(table: pd.DataFrame) -> pd.Series:
    """Per engine: seconds per rating per pass at the largest size / at the smallest."""
    ratios = {}
    for engine, rows in table.groupby("engine", sort=False):
        rows = rows.sort_values("size")
        if len(rows) >= 2:
            ratios[engine] = rows["s_per_m_per_pass"].iloc[-1] / rows["s_per_m_per_pass"].iloc[0]
    return pd.Series(ratios, name="cost ratio", dtype=float)


def main(sizes_text: str, root: str | None = None, settings: ScaleSettings = ScaleSettings()) -> int:
    """The ``--scale`` mode of the benchmark: check Spark, measure, print the table and the ratios."""
    from . import spark as sp
    from .data import cache_dir

    try:
        sizes = parse_sizes(sizes_text)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problem = sp.spark_problem()
    if problem:
        print(f"The scale benchmark needs Spark. {problem}", file=sys.stderr)
        return 2
    folder = Path(root) if root else cache_dir() / "synthetic"
    start = time.perf_counter()
    print(f"Scale benchmark: {', '.join(label(n) for n in sizes)} synthetic ratings in {folder} "
          f"({os.cpu_count()} cores); ALS rank {settings.als_rank}, {settings.als_iterations} iterations, "
          f"regParam {settings.als_reg}; Keras dot + bias, batch {settings.keras_batch}, Adam "
          f"{settings.keras_learning_rate:g}, {settings.keras_passes} passes", flush=True)
    table = run_scale(sizes, folder, settings,
                      progress=lambda msg: print(f"  {msg}", file=sys.stderr, flush=True))
    print()
    print(format_scale_table(table))
    ratios = cost_ratios(table)
    if len(ratios):
        print(f"\nCost per rating per pass at {label(sizes[-1])} relative to {label(sizes[0])}:")
        for engine, ratio in ratios.items():
            print(f"  {engine}: {ratio:.2f}x")
    print(f"\nscale benchmark took {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        sys.exit(worker(sys.argv[2:]))
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "1e5,1e6"))
