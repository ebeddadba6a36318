"""Train every model of the course on the default split and print one table.

    python3 tasks.py bench                 # the course's models, the post's recipe for dot+bias, references
    python3 tasks.py bench --seeds 3       # mean ± sd over seeds 42, 43, 44
    python3 tasks.py bench --repeat-check  # train each Keras model twice with one seed: identical?
    python3 tasks.py bench --post-all      # the post's recipe for every Keras model (about a minute each)
    python3 tasks.py bench --only "dot"    # only the rows whose name contains "dot"
    python3 tasks.py bench --book          # what the book's results page reports (cached, see book_results)
    python3 tasks.py bench --ranking       # the recommenders on the ranking protocol (HR@10, NDCG@10, MRR, ...)
    python3 tasks.py bench --attention     # self-attention over whole histories and its ablations (~2 min a row)
    python3 tasks.py bench --widths        # how many dimensions: dot + bias and the deep model, widths 2-128, 3 seeds
    python3 tasks.py bench --scale 1e5,1e6 # Spark ALS vs the streaming Keras model on synthetic data of
                                           # each size (needs Java and pyspark; see cfcourse.scaling)

Recipes: *course* is batch 1024 with Adam at 5e-3; *post* is the blog post's batch 32 with Adam's default 1e-3,
at most 10 epochs (run 64 steps per call into TensorFlow, which gives the same weights with less overhead).
Both stop early on validation RMSE with patience 2 and keep the best epoch. The classical references (global
mean, regularised biases, truncated SVD) are computed by the package itself.

``--ranking`` runs another benchmark: every recommender of :func:`ranking_entries` on the default
ranking protocol of :mod:`cfcourse.ranking` (temporal hold-out of each user's last ratings, full
ranking, 95% bootstrap CIs), and the table that chose how many ratings to hold out per user.

``--attention`` trains :class:`cfcourse.sasrec.SelfAttentionRecommender` with :data:`ATTENTION_RECIPE`
and each ablation of :data:`ATTENTION_ABLATIONS` (one change each; the GRU row swaps the attention
blocks for a GRU), beside EASE and popularity, and prints paired differences to the full model and
to EASE (:func:`attention_rows`), the training and prediction times and the model's size.

``--widths`` runs the width sweep of chapter 8 in full (:func:`width_benchmark`): the dot + bias model
with an L2 penalty and the deep model with side features, at widths 2 to 128 and at the fourth-root
rule's widths, each with seeds 42, 43 and 44, and prints the mean ± sd of the validation RMSE.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import pandas as pd

RECIPES = {
    "deep": dict(batch_size=4096, learning_rate=1e-2, epochs=30, patience=2),  # cfcourse.deep.RECIPE
    "course": dict(batch_size=1024, learning_rate=5e-3, epochs=30, patience=2),
    "post": dict(batch_size=32, learning_rate=1e-3, epochs=10, patience=2, steps_per_execution=64),
}

#: The seeds of the results page: every Keras model is trained once with each with the course's recipe;
#: the dot + bias model with the post's recipe (batches of 32, several times slower) once, with the first.
BOOK_SEEDS = (42, 43, 44)
#: The modules whose code decides the results page's figures (their source is part of the cache key,
#: with the functions of this module that train: other changes here keep the cached table).
_BOOK_MODULES = ("data.py", "metrics.py", "models.py", "training.py")


@dataclass(frozen=True)
class Entry:
    """One row of the benchmark: how to build (and fit) a model, and with which recipe."""

    name: str
    recipe: str
    build: Callable  # split -> keras model, or split -> fitted (best_epoch, predict) for classical models
    keras: bool = True


def _keras_entries(post_all: bool) -> list[Entry]:
    from .models import DotWithBias, SimpleDot

    def dot(s):
        return SimpleDot(s.n_users, s.n_movies)

    def bias(s):
        return DotWithBias(s.n_users, s.n_movies, min_rating=s.min_rating, max_rating=s.max_rating)

    def bias_l2(s):
        return DotWithBias(s.n_users, s.n_movies, min_rating=s.min_rating, max_rating=s.max_rating,
                           user_dropout=0.0, movie_dropout=0.0, l2=1e-4)

    def diy(s):
        return SimpleDot(s.n_users, s.n_movies, embedding="diy", initializer=None)

    entries = [
        Entry("simple dot", "course", dot),
        Entry("dot + bias (dropout)", "course", bias),
        Entry("dot + bias (dropout)", "post", bias),
        Entry("dot + bias (L2 1e-4)", "course", bias_l2),
        Entry("DIY embedding dot", "course", diy),
    ]
    if post_all:
        entries += [Entry("simple dot", "post", dot), Entry("DIY embedding dot", "post", diy)]
    return entries


def _classical_entries() -> list[Entry]:
    from .metrics import BiasBaseline, GlobalMean

    def global_mean(s):
        return GlobalMean().fit(s.x_train, s.y_train)

    def biases(s):
        return BiasBaseline(s.n_users, s.n_movies, min_rating=s.min_rating,
                            max_rating=s.max_rating).fit(s.x_train, s.y_train)

    def svd30(s):
        from .svd import TruncatedSVDRecommender

        return TruncatedSVDRecommender(s.n_users, s.n_movies, k=30, min_rating=s.min_rating,
                                       max_rating=s.max_rating).fit(s.x_train, s.y_train)

    return [
        Entry("global mean", "closed form", global_mean, keras=False),
        Entry("user + movie biases", "ridge, λ=3", biases, keras=False),
        Entry("truncated SVD, k=30", "bias-centred", svd30, keras=False),
    ]


def _deep_entries(data_dir=None) -> list[Entry]:
    """The deep rating model of chapter 8 (cfcourse.deep), with the movies' genres and release years."""
    def deep_model(s):
        from .data import encode_ids, load_movielens
        from .deep import build_deep
        from .features import movie_features

        movielens = load_movielens(data_dir)
        return build_deep(s, movie_features(encode_ids(movielens.ratings), movielens.movies), seed=None)

    return [Entry("deep model (genres + year)", "deep", deep_model)]


def run_entry(entry: Entry, split, seed: int) -> dict:
    """Fit one entry with one seed; return its measured figures."""
    from .metrics import rmse

    if not entry.keras:
        start = time.perf_counter()
        model = entry.build(split)
        seconds = time.perf_counter() - start
        return dict(best_epoch=np.nan, val_rmse=rmse(split.y_valid, model.predict(split.x_valid)),
                    seconds=seconds, examples_per_second=np.nan)
    from .training import seed_everything, train

    seed_everything(seed)
    model = entry.build(split)
    result = train(model, split, seed=None, **RECIPES[entry.recipe])
    return dict(best_epoch=result.best_epoch, val_rmse=result.val_rmse, seconds=result.seconds,
                examples_per_second=result.examples_per_second)


def run_benchmark(split, seeds: list[int], post_all: bool = False, only: str | None = None,
                  progress: Callable[[str], None] | None = None, data_dir=None) -> pd.DataFrame:
    """Run every entry for every seed; one row per (entry, seed)."""
    rows = []
    entries = _classical_entries() + _keras_entries(post_all) + _deep_entries(data_dir)
    if only:
        entries = [e for e in entries if only.lower() in e.name.lower()]
        if not entries:
            raise ValueError(f"no benchmark entry matches {only!r}")
    for entry in entries:
        for seed in (seeds if entry.keras else seeds[:1]):
            if progress:
                progress(f"{entry.name} [{entry.recipe}] seed {seed}")
            rows.append(dict(model=entry.name, recipe=entry.recipe, seed=seed, **run_entry(entry, split, seed)))
    return pd.DataFrame(rows)


def _book_cache_file(seeds: tuple[int, ...]) -> "Path":
    """Where :func:`book_results` keeps its table: named by a hash of everything that decides it."""
    import hashlib
    import json
    from pathlib import Path

    import keras

    from .data import SHA256, cache_dir

    import inspect

    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for name in _BOOK_MODULES:
        digest.update(name.encode() + b"\0" + (package / name).read_bytes())
    for function in (_keras_entries, run_entry, _train_book_results):  # of this module, only what trains
        digest.update(inspect.getsource(function).encode())
    versions = {"keras": keras.__version__, "numpy": np.__version__}
    try:
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    except ImportError:  # pragma: no cover - another backend
        pass
    entries = [(e.name, e.recipe) for e in _keras_entries(post_all=False)]
    digest.update(json.dumps([versions, entries, RECIPES, list(seeds), dict(SHA256)], sort_keys=True).encode())
    return cache_dir() / "benchmark" / f"book-{digest.hexdigest()[:16]}.csv"


def book_results(split=None, seeds: tuple[int, ...] = BOOK_SEEDS, compute: bool = True,
                 progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """The figures of the book's results page: one row per (model, recipe, seed).

    Every Keras model of the chapters is trained with the course's recipe once per seed in ``seeds``,
    and the dot + bias model with the post's recipe once, with the first seed (its batches of 32 make
    it several times slower; the spread over seeds is measured with the course's recipe; ``bench
    --post-all`` trains the post's other two models too), on the default split. That takes minutes,
    so the table is kept in the cfcourse cache folder under a name that changes whenever the code,
    the library versions, the recipes, the seeds or the data change; the book build computes it
    before it executes the pages (``python3 tasks.py bench --book`` does the same by hand). With
    ``compute=False`` a missing table is an error instead.
    """
    path = _book_cache_file(tuple(seeds))
    if path.is_file():
        return pd.read_csv(path)
    if not compute:
        raise FileNotFoundError(f"the results page's benchmark is not computed yet ({path}): run "
                                "python3 tasks.py bench --book (it takes a few minutes)")
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.with_name(f".{path.name}.lock")):  # two builds at once: one trains, the other waits
        if path.is_file():
            return pd.read_csv(path)
        return _train_book_results(path, split, seeds, progress)


def _train_book_results(path, split, seeds: tuple[int, ...], progress) -> pd.DataFrame:
    """Train :func:`book_results`' runs and write them to ``path`` (all or nothing)."""
    if split is None:
        from .data import load_split

        _, _, split = load_split()
    rows = []
    for entry in _keras_entries(post_all=False):
        for seed in (seeds if entry.recipe == "course" else seeds[:1]):
            if progress:
                progress(f"{entry.name} [{entry.recipe}] seed {seed}")
            rows.append(dict(model=entry.name, recipe=entry.recipe, seed=seed, **run_entry(entry, split, seed)))
    raw = pd.DataFrame(rows)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    raw.to_csv(partial, index=False)
    partial.replace(path)  # all or nothing: a run that fails half-way leaves no table behind
    return raw


def summarise(raw: pd.DataFrame) -> pd.DataFrame:
    """Mean (and sd over seeds) per model and recipe, in the order the entries ran."""
    grouped = raw.groupby(["model", "recipe"], sort=False)
    table = grouped.agg(best_epoch=("best_epoch", "mean"), val_rmse=("val_rmse", "mean"),
                        val_rmse_sd=("val_rmse", "std"), seconds=("seconds", "mean"),
                        examples_per_second=("examples_per_second", "mean"), seeds=("seed", "count"))
    return table.reset_index()


def format_table(table: pd.DataFrame) -> str:
    """The summary as aligned text."""
    def rmse_cell(row):
        if row.seeds > 1 and not np.isnan(row.val_rmse_sd):
            return f"{row.val_rmse:.4f} ± {row.val_rmse_sd:.4f}"
        return f"{row.val_rmse:.4f}"

    shown = pd.DataFrame({
        "model": table["model"],
        "recipe": table["recipe"],
        "best epoch": [("" if np.isnan(v) else f"{v:.1f}".rstrip("0").rstrip(".")) for v in table["best_epoch"]],
        "validation RMSE": [rmse_cell(r) for r in table.itertuples()],
        "training s": [f"{v:.2f}" for v in table["seconds"]],
        "examples/s": [("" if np.isnan(v) else f"{v:,.0f}") for v in table["examples_per_second"]],
    })
    return shown.to_string(index=False)


def comparison(table: pd.DataFrame, model: str = "dot + bias (dropout)") -> str | None:
    """One line comparing the course recipe with the post's for ``model``."""
    rows = table[table["model"] == model].set_index("recipe")
    if not {"course", "post"} <= set(rows.index):
        return None
    course, post = rows.loc["course"], rows.loc["post"]
    return (f"{model}: the course recipe trains {post.seconds / course.seconds:.1f}x faster than the post's "
            f"({course.seconds:.1f} s vs {post.seconds:.1f} s) with a validation RMSE difference of "
            f"{course.val_rmse - post.val_rmse:+.4f} ({course.val_rmse:.4f} vs {post.val_rmse:.4f}).")


#: A line of TensorFlow's C++ logging in Abseil's format (``E0000 00:00:1795490728.824512   20414
#: node_def_util.cc:682] ...``),
#: or Abseil's notice that logging was not initialised.
NATIVE_LOG_LINE = re.compile(rb"^(?:[IWEF]\d{4} [\d:.]+\s+\d+ [\w.+-]+:\d+\] "
                             rb"|WARNING: All log messages before absl::InitializeLog\(\) is called)")


@contextlib.contextmanager
def without_native_logs(fd: int = 2) -> Iterator[None]:
    """Drop TensorFlow's C++ log lines from file descriptor ``fd`` (stderr) while inside; keep the rest.

    TensorFlow 2.21 logs through Abseil, and Abseil writes every message to stderr until
    ``absl::InitializeLog()`` is called, which TensorFlow never does from Python: so neither
    ``TF_CPP_MIN_LOG_LEVEL`` (even 3) nor Abseil's or glog's variables hide lines such as the oneDNN
    notice (``port.cc``) or ``node_def_util.cc`` (abseil-cpp PR #1718 and #1957, unmerged). The only
    thing that works from Python is to filter what reaches the file descriptor: ``fd`` is pointed at
    a pipe, and a thread copies every line that is not a C++ log line to the original stderr.
    """
    try:
        original = os.dup(fd)
    except OSError:  # no such descriptor: nothing to filter
        yield
        return
    read_end, write_end = os.pipe()
    sys.stderr.flush()
    os.dup2(write_end, fd)
    os.close(write_end)

    def copy() -> None:
        with os.fdopen(read_end, "rb") as lines, os.fdopen(os.dup(original), "wb", buffering=0) as out:
            for line in lines:
                if not NATIVE_LOG_LINE.match(line):
                    out.write(line)

    thread = threading.Thread(target=copy, name="without-native-logs", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, fd)  # closes the pipe's last write end: the thread sees the end and stops
        thread.join(timeout=10)
        os.close(original)


# --------------------------------------------------------------------------------------
# The ranking benchmark (python3 tasks.py bench --ranking)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankingEntry:
    """One row of the ranking benchmark: a name and how to build an unfitted recommender.

    ``build()`` returns a :class:`cfcourse.recommenders.Recommender`; the benchmark fits it on the
    temporal split (``fit_seconds`` is the training time shown) and evaluates it on the test part.
    """

    name: str
    build: Callable  # () -> unfitted Recommender
    #: () -> None when the entry can run here, else a message saying what is missing (e.g. Java for Spark)
    unavailable: Callable[[], str | None] = lambda: None


def _spark_problem() -> str | None:
    from .spark import spark_problem

    return spark_problem()


def ranking_entries() -> list[RankingEntry]:
    """The recommenders of the ranking benchmark, in the order of the table.

    Later chapters add their models here: one ``RankingEntry(name, build)`` each, whose
    ``build()`` returns an unfitted :class:`cfcourse.recommenders.Recommender`.
    """
    from . import recommenders as rec

    return [
        RankingEntry("random", lambda: rec.RandomScores(seed=0)),
        RankingEntry("popularity", rec.Popularity),
        RankingEntry("PureSVD", rec.PureSVD),
        RankingEntry("EASE", rec.EASE),
        RankingEntry("rating model (dot + bias)", rec.RatingModel),
        RankingEntry("ranking model (softmax)", rec.SoftmaxModel),
        *_deep_ranking_entries(),
        *_sequence_entries(),
        RankingEntry("ALS (Spark), ratings", _als_entry(implicit=False), _spark_problem),
        RankingEntry("ALS (Spark), implicit", _als_entry(implicit=True), _spark_problem),
    ]


def _deep_ranking_entries() -> list[RankingEntry]:
    """Chapters 8 and 9: the deep rating model, and the MLCC softmax recommender (bag of movies + genres)."""
    from .bags import BagSoftmaxRecommender
    from .deep import DeepRatingRecommender

    return [
        RankingEntry("deep rating model (genres + year)", DeepRatingRecommender),
        # chapter 9's recipe: five epochs at a learning rate of 0.01 (batches of 256)
        RankingEntry("MLCC softmax (bag + genres)",
                     lambda: BagSoftmaxRecommender(learning_rate=1e-2, epochs=5)),
    ]


def _sequence_entries() -> list[RankingEntry]:
    """The recency baseline and the next-movie models of chapter 10 (notebooks/10_sequences), as the chapter has them.

    Vocabulary of the 1,000 most-rated training movies, windows of 50, width 32, the 100 most
    recent training pairs of each user; the epochs and learning rates were chosen on the
    validation HR@10 (the chapter passes them to skip the validation runs).
    """
    from .recency import RecentNeighbours
    from .sequences import SequenceRecommender

    def recipe(kind, epochs, learning_rate=0.03, **kwargs):
        return lambda: SequenceRecommender(kind, vocabulary_size=1000, length=50, embedding_dim=32,
                                           max_targets=100, epochs=epochs, learning_rate=learning_rate,
                                           validate=False, **kwargs)

    return [
        # the recency baseline the chapter sets beside them (settings chosen on validation)
        RankingEntry("recent movies' neighbours", lambda: RecentNeighbours(n_last=5, decay=0.5)),
        RankingEntry("bag of movies (mean)", recipe("bag", 6)),
        RankingEntry("GRU", recipe("gru", 5)),
        RankingEntry("causal self-attention", recipe("attention", 6, learning_rate=0.01)),
    ]


def _als_entry(implicit: bool) -> Callable:
    """Spark's ALS as in the chapter "Beyond one machine": rank 10, on ratings or as implicit feedback."""
    def build():
        from .als import ALSRecommender

        if implicit:
            return ALSRecommender(rank=10, max_iter=10, reg_param=0.01, alpha=1.0, implicit=True, blocks=2)
        return ALSRecommender(rank=10, max_iter=10, reg_param=0.15, blocks=2)

    return build


def run_ranking_benchmark(split, entries: list[RankingEntry] | None = None, only: str | None = None,
                          progress: Callable[[str], None] | None = None):
    """Fit and evaluate every entry on ``split`` (test part); returns ``ranking.comparison_table`` rows."""
    from .ranking import comparison_table, evaluate

    entries = ranking_entries() if entries is None else entries
    if only:
        entries = [e for e in entries if only.lower() in e.name.lower()]
        if not entries:
            raise ValueError(f"no ranking benchmark entry matches {only!r}")
    rows = []
    for entry in entries:
        problem = entry.unavailable()
        if problem:
            if progress:
                progress(f"{entry.name}: skipped. {problem}")
            continue
        if progress:
            progress(entry.name)
        model = entry.build()
        model.name = entry.name
        model.fit(split)
        rows.append(evaluate(model, split, "test"))
    return comparison_table(rows)


def _load_average() -> str:
    """The 1-minute load average at the start of a benchmark, as printed ("n/a" where the OS has none)."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"


def ranking_main(args) -> int:
    """``python3 tasks.py bench --ranking``: one table of recommenders, and the hold-out size table."""
    from .data import encode_ids, load_movielens
    from .ranking import DEFAULT_N_HELD_OUT, format_comparison, holdout_size_table, temporal_split

    data = load_movielens(args.data)
    encoded = encode_ids(data.ratings)
    split = temporal_split(encoded)
    import keras  # noqa: F401  (import before timing anything)

    load = _load_average()
    print(f"ml-latest-small, temporal hold-out: each user's last {split.n_test} ratings are the test part, the "
          f"{split.n_valid} before them validation ({len(split.train):,} training, {len(split.valid):,} validation, "
          f"{len(split.test):,} test ratings; {split.n_users} users ranked over all {split.n_movies:,} movies, "
          f"known movies masked). 95% bootstrap CIs over users. Load average at start: {load}.", flush=True)
    start = time.perf_counter()
    def progress(message: str) -> None:
        if "skipped" in message:  # an entry that cannot run here (e.g. Spark without Java): say so on stdout
            print(f"  {message}", flush=True)
        else:
            print(f"  fitting {message} ...", file=sys.stderr, flush=True)

    table = run_ranking_benchmark(split, only=args.only, progress=progress)
    print()
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(format_comparison(table, compact=False).to_string())
    print("\nHR@10 is Recall@10: the share of a user's held-out movies in their top 10, averaged over users; "
          "low/high: its 95% CI. coverage: share of the catalogue in someone's top 10; popularity pct: mean "
          "popularity percentile (training counts) of the recommended movies.")
    if not args.only:
        sizes = holdout_size_table(encoded)
        shown = sizes.assign(**{c: sizes[c].map(lambda v: f"{v:.4f}") for c in ("HR@10", "low", "high", "half-width")})
        print(f"\nHow many ratings to hold out per user: popularity's test HR@10 and its 95% CI half-width "
              f"(target <= 0.01; the default is {DEFAULT_N_HELD_OUT}):")
        print(shown.to_string(index=False))
    print(f"\nranking benchmark took {time.perf_counter() - start:.0f} s")
    return 0


# --------------------------------------------------------------------------------------
# Self-attention over whole histories and its ablations (python3 tasks.py bench --attention)
# --------------------------------------------------------------------------------------

#: The full model's recipe (cfcourse.sasrec): every training movie known (no vocabulary cut),
#: histories up to 200, width 64, 2 blocks, dropout 0.2, tied output table; a softmax over 2,048
#: negatives drawn once per batch in proportion to training popularity (logQ-corrected); Adam
#: with one epoch of linear warm-up to 5e-3, then cosine decay to a tenth by epoch 20, on
#: length-bucketed batches of at most 4,096 positions; the best of the 20 epochs on the
#: validation HR@10. Chosen on the validation part: at 12 epochs popularity draws reached 0.091,
#: uniform draws 0.065 (0.061 with a peak of 1e-2), the full softmax 0.089 at 10 epochs but at 22
#: CPU s an epoch against about 9; at 20 epochs the recipe reaches 0.100 (best epoch 18) in about
#: 175 CPU s.
ATTENTION_RECIPE = dict(max_length=200, embedding_dim=64, blocks=2, dropout=0.2, tied=True, loss="sampled",
                        negatives=2048, sampling="popularity", learning_rate=5e-3, schedule="cosine",
                        warmup_epochs=1, final_fraction=0.1, tokens=4096, epochs=20, patience=20)

#: The ablations: each changes one thing of :data:`ATTENTION_RECIPE` (the first is the recipe itself).
ATTENTION_ABLATIONS = {
    "self-attention (sampled softmax)": {},
    # the recurrent body trained the same way (every position, the same loss, schedule and batches)
    "GRU instead of attention": dict(body="gru"),
    "binary loss, one negative": dict(loss="binary"),
    "shuffled histories (order control)": dict(shuffle_seed=0),
    "full softmax": dict(loss="softmax"),
    "uniform negatives": dict(sampling="uniform"),
    "constant learning rate": dict(schedule="constant"),
    "histories of 50": dict(max_length=50),
    "no positions": dict(positions=False),
    "separate output table": dict(tied=False),
}


def attention_rows(split, names: Sequence[str] | None = None, recipe: dict | None = None, seed: int = 42,
                   progress: Callable[[str], None] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train the self-attention recommender and its ablations; EASE and popularity beside them.

    Returns ``(table, gaps)``: ``table`` is :func:`cfcourse.ranking.comparison_table`'s rows (with
    ``best epoch``, ``epochs run``, ``training CPU s`` (the process's CPU time while training, all
    threads), ``prediction s`` and ``prediction CPU s`` (scoring every user of the split once more,
    timed), ``parameters``
    and ``weights MB`` (parameters × 4 bytes) added for the attention rows); ``gaps`` the paired HR@10
    and NDCG@10 differences (mean, 95% CI low, high) of each ablation to the full model and of each
    model to EASE, on the test part. ``names`` picks ablations from :data:`ATTENTION_ABLATIONS` (default: all);
    ``recipe`` replaces :data:`ATTENTION_RECIPE`'s entries it names.
    """
    from . import recommenders as rec
    from .ranking import comparison_table, evaluate_details, paired_difference
    from .sasrec import SelfAttentionRecommender

    settings = {**ATTENTION_RECIPE, **(recipe or {})}
    chosen = list(ATTENTION_ABLATIONS) if names is None else list(names)
    unknown = [n for n in chosen if n not in ATTENTION_ABLATIONS]
    if unknown:
        raise ValueError(f"unknown ablation(s) {unknown}; choose from {list(ATTENTION_ABLATIONS)}")
    details, rows = {}, []
    for name, build in (("popularity", rec.Popularity), ("EASE", rec.EASE)):
        if progress:
            progress(name)
        model = build()
        model.name = name
        details[name] = evaluate_details(model.fit(split), split, "test")
        rows.append(details[name].row)
    for name in chosen:
        if progress:
            progress(name)
        model = SelfAttentionRecommender(seed=seed, name=name, **{**settings, **ATTENTION_ABLATIONS[name]})
        model.fit(split)
        details[name] = evaluate_details(model, split, "test")
        rows.append(details[name].row.copy())
        rows[-1]["best epoch"] = model.result_.best_epoch
        rows[-1]["epochs run"] = len(model.result_.history)
        rows[-1]["validation HR@10"] = model.result_.val_hr
        rows[-1]["training CPU s"] = model.result_.cpu_seconds
        start, cpu = time.perf_counter(), time.process_time()
        model.score(split, "test")  # every user of the split, as the protocol scores them
        rows[-1]["prediction s"] = time.perf_counter() - start
        rows[-1]["prediction CPU s"] = time.process_time() - cpu
        rows[-1]["parameters"] = model.model_.count_params()
        rows[-1]["weights MB"] = model.model_.count_params() * 4 / 1e6  # float32
    table = comparison_table(rows)
    full = chosen[0] if chosen else None
    gaps = []
    for name in chosen:
        pairs = [("EASE", name)] + ([(full, name)] if name != full else [])
        for reference, _ in pairs:
            entry = {"model": name, "minus": reference}
            for metric, column in (("HR@10", "hr"), ("NDCG@10", "ndcg")):
                mean, low, high = paired_difference(details[name].per_user[column],
                                                    details[reference].per_user[column])
                entry.update({f"{metric} gap": mean, f"{metric} low": low, f"{metric} high": high})
            gaps.append(entry)
    return table, pd.DataFrame(gaps)


def attention_main(args) -> int:
    """``python3 tasks.py bench --attention``: the self-attention recommender, its ablations, EASE, popularity."""
    from .data import encode_ids, load_movielens
    from .ranking import format_comparison, temporal_split

    split = temporal_split(encode_ids(load_movielens(args.data).ratings))
    import keras  # noqa: F401  (import before timing anything)

    wanted = [part.strip().lower() for part in (args.only or "").split(",") if part.strip()]
    names = [n for n in ATTENTION_ABLATIONS if not wanted or any(part in n.lower() for part in wanted)]
    if not names:
        raise SystemExit(f"no ablation matches {args.only!r}; choose from {list(ATTENTION_ABLATIONS)}")
    load = _load_average()
    print(f"Self-attention over whole histories (cfcourse.sasrec) on the ranking protocol, test part; recipe "
          f"{ATTENTION_RECIPE}. Load average at start: {load}.", flush=True)
    start = time.perf_counter()
    table, gaps = attention_rows(split, names, progress=lambda m: print(f"  fitting {m} ...", file=sys.stderr,
                                                                        flush=True))
    shown = format_comparison(table, compact=False)
    # the NDCG@10 interval beside its mean (format_comparison shows HR@10's only)
    at = list(shown.columns).index("NDCG@10") + 1
    for offset, side in enumerate(("low", "high")):
        shown.insert(at + offset, f"NDCG {side}", table[f"NDCG@10 {side}"].map(lambda v: f"{v:.3f}"))
    formats = {"best epoch": ".0f", "epochs run": ".0f", "training CPU s": ".0f", "parameters": ".0f",
               "validation HR@10": ".3f", "prediction s": ".2f", "prediction CPU s": ".2f", "weights MB": ".2f"}
    for column, spec in formats.items():
        if column in table:
            shown[column] = table[column].map(lambda v, spec=spec: "" if pd.isna(v) else format(v, spec))
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(shown.to_string())
        ease = table.loc["EASE", "HR@10"]
        print("\nHR@10 relative to EASE: " + ", ".join(f"{n} {table.loc[n, 'HR@10'] / ease:.2f}x" for n in names))
        print("\nPaired differences over users (mean and 95% bootstrap CI):")
        print(gaps.to_string(index=False, float_format=lambda v: f"{v:+.4f}"))
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    print(f"\nPeak resident memory of this process: {peak:.0f} MB. Load average at the end: {_load_average()}.")
    print(f"\nattention benchmark took {time.perf_counter() - start:.0f} s")
    return 0


# --------------------------------------------------------------------------------------
# How many dimensions (python3 tasks.py bench --widths)
# --------------------------------------------------------------------------------------

WIDTHS = (2, 4, 8, 16, 32, 64, 128)


def width_benchmark(split, movie_features, widths=WIDTHS, seeds=(42, 43, 44),
                    progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """The full width sweep of chapter 8: one row per (model, width, seed) with the validation RMSE.

    ``dot + bias (L2 1e-4)``: :func:`cfcourse.widths.width_sweep` with the course's recipe (one
    stacked fit for all widths and seeds). ``deep (genres + year)``: :func:`cfcourse.deep.build_deep`
    with ``user_dim = movie_dim = width`` and :data:`cfcourse.deep.RECIPE`, all trained side by side;
    its row ``rule`` uses the fourth-root rule's widths (users and movies apart).
    """
    from .deep import RECIPE, build_deep
    from .side_by_side import train_side_by_side
    from .widths import rule_of_thumb, width_sweep

    rows = []
    if progress:
        progress(f"dot + bias at widths {list(widths)}, seeds {list(seeds)}")
    runs, _ = width_sweep(split, widths, seeds, **RECIPES["course"])
    rows += [dict(model="dot + bias (L2 1e-4)", width=str(r.width), seed=r.seed, val_rmse=r.val_rmse,
                  best_epoch=r.best_epoch) for r in runs.itertuples()]
    rule = rule_of_thumb(split.n_users, split.n_movies)
    sizes = [(str(w), w, w) for w in widths] + [(f"rule ({rule['users']}/{rule['movies']})", rule["users"],
                                                  rule["movies"])]
    if progress:
        progress(f"deep model at widths {[label for label, _, _ in sizes]}, seeds {list(seeds)}")
    models = {(label, seed): build_deep(split, movie_features, seed=seed, user_dim=u, movie_dim=m)
              for label, u, m in sizes for seed in seeds}
    result = train_side_by_side({f"{label}|{seed}": model for (label, seed), model in models.items()}, split,
                                **RECIPE)
    for key, row in result.summary.iterrows():
        label, seed = key.rsplit("|", 1)
        rows.append(dict(model="deep (genres + year)", width=label, seed=int(seed), val_rmse=row.val_rmse,
                         best_epoch=row.best_epoch))
    return pd.DataFrame(rows)


def format_widths(raw: pd.DataFrame) -> pd.DataFrame:
    """Mean ± sd of the validation RMSE per width (rows) and model (columns), as text."""
    table = raw.groupby(["model", "width"], sort=False)["val_rmse"].agg(["mean", "std"])
    cells = table.apply(lambda r: f"{r['mean']:.4f} ± {r['std']:.4f}", axis=1).unstack("model")
    order = [w for w in dict.fromkeys(raw["width"])]
    return cells.reindex(order).fillna("").rename_axis(index="width", columns=None)


def widths_main(args) -> int:
    """``python3 tasks.py bench --widths``: the full width sweep, one table."""
    from .data import load_split
    from .features import movie_features
    from .widths import rule_of_thumb

    movielens, encoded, split = load_split(args.data)
    features = movie_features(encoded, movielens.movies)
    rule = rule_of_thumb(split.n_users, split.n_movies)
    print(f"ml-latest-small, 80/20 split (seed 42): validation RMSE, mean ± sd over seeds 42, 43 and 44. "
          f"The fourth-root rule suggests {rule['users']} dimensions for {split.n_users} users and "
          f"{rule['movies']} for {split.n_movies:,} movies.", flush=True)
    start = time.perf_counter()
    raw = width_benchmark(split, features, progress=lambda msg: print(f"  training {msg} ...", file=sys.stderr,
                                                                      flush=True))
    print()
    print(format_widths(raw).to_string())
    print(f"\nwidth sweep took {time.perf_counter() - start:.0f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    # TensorFlow's own logging (after Abseil's start) honours this; what comes before, the filter drops.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with without_native_logs():
        return _main(argv)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 tasks.py bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=1, help="number of seeds (42, 43, ...); default 1")
    parser.add_argument("--post-all", action="store_true", help="also run the post's recipe for every Keras model")
    parser.add_argument("--only", default=None, help="only the models whose name contains this text")
    parser.add_argument("--data", default=None, help="folder holding ml-latest-small (default: CFCOURSE_DATA, cache)")
    parser.add_argument("--book", action="store_true",
                        help="compute (or read from the cache) what the book's results page reports, and print it")
    parser.add_argument("--ranking", action="store_true",
                        help="benchmark the recommenders on the ranking protocol (HR@10 with CIs, NDCG@10, MRR, "
                             "coverage, popularity bias) instead of the rating models' RMSE")
    parser.add_argument("--attention", action="store_true",
                        help="the self-attention recommender over whole histories (full softmax) and its ablations "
                             "(binary loss, length 50, no positions, separate output table, shuffled histories) "
                             "beside EASE and popularity, with paired differences; --only picks ablations "
                             "(comma-separated parts of their names)")
    parser.add_argument("--widths", action="store_true",
                        help="how many dimensions: the dot + bias and deep models at widths 2 to 128 and at the "
                             "fourth-root rule's widths, 3 seeds each (chapter 8)")
    parser.add_argument("--repeat-check", action="store_true",
                        help="train every Keras model a second time with the same seed and report whether the "
                             "validation RMSE is bit-identical (determinism)")
    scale = parser.add_argument_group("scale benchmark (--scale; see cfcourse.scaling)")
    scale.add_argument("--scale", default=None, metavar="SIZES",
                       help="comma-separated numbers of synthetic ratings, e.g. 1e5,1e6,1e7,2.5e7: time Spark ALS "
                            "(local[1], local[*]) and the streaming Keras dot + bias model at each size")
    scale.add_argument("--scale-dir", default=None,
                       help="folder for the generated data (default: the cache folder's synthetic/)")
    scale.add_argument("--als-iterations", type=int, default=10, help="ALS iterations (passes); default 10")
    scale.add_argument("--keras-passes", type=int, default=2, help="Keras epochs (passes); default 2")
    scale.add_argument("--keras-batch", type=int, default=8192, help="Keras batch size; default 8192")
    scale.add_argument("--spark-memory", default="4g", help="the Spark JVM's heap; default 4g")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.widths:
        if (args.ranking or args.scale is not None or args.seeds != 1 or args.post_all or args.repeat_check
                or args.only):
            parser.error("--widths runs its own seeds and models: use it alone (with --data if needed)")
        return widths_main(args)
    if args.scale is not None:
        if args.ranking:
            parser.error("--scale and --ranking are two separate benchmarks: run one at a time")
        from .scaling import ScaleSettings, main as scale_main

        for name in ("als_iterations", "keras_passes", "keras_batch"):
            if getattr(args, name) < 1:
                parser.error(f"--{name.replace('_', '-')} must be at least 1")
        settings = ScaleSettings(als_iterations=args.als_iterations, keras_passes=args.keras_passes,
                                 keras_batch=args.keras_batch, spark_memory=args.spark_memory)
        return scale_main(args.scale, args.scale_dir, settings)
    if args.attention:
        if args.ranking or args.seeds != 1 or args.post_all or args.repeat_check:
            parser.error("--attention runs its own models with one seed: use it alone (with --only or --data)")
        return attention_main(args)
    if args.ranking:
        if args.seeds != 1 or args.post_all or args.repeat_check:
            parser.error("--ranking runs one seed of each recommender: drop --seeds, --post-all and --repeat-check")
        return ranking_main(args)

    from .data import load_split

    _, _, split = load_split(args.data)
    import keras  # noqa: F401  (import before timing anything)

    if args.book:
        start = time.perf_counter()
        raw = book_results(split, progress=lambda msg: print(f"  training {msg} ...", file=sys.stderr, flush=True))
        print(format_table(summarise(raw)))
        print(f"\nthe results page's benchmark: {time.perf_counter() - start:.0f} s "
              f"(kept in {_book_cache_file(BOOK_SEEDS)})")
        return 0

    print(f"ml-latest-small, 80/20 split (seed 42): {len(split.y_train):,} training and "
          f"{len(split.y_valid):,} validation ratings", flush=True)
    start = time.perf_counter()
    raw = run_benchmark(split, list(range(42, 42 + args.seeds)), args.post_all, args.only,
                        progress=lambda msg: print(f"  training {msg} ...", file=sys.stderr, flush=True),
                        data_dir=args.data)
    table = summarise(raw)
    print()
    print(format_table(table))
    line = comparison(table)
    if line:
        print()
        print(line)
    if args.repeat_check:
        print("\nDeterminism (same seed, trained twice):")
        for entry in _keras_entries(args.post_all):
            if args.only and args.only.lower() not in entry.name.lower():
                continue
            first = raw[(raw.model == entry.name) & (raw.recipe == entry.recipe) & (raw.seed == 42)].iloc[0]
            again = run_entry(entry, split, 42)
            same = again["val_rmse"] == first.val_rmse and again["best_epoch"] == first.best_epoch
            print(f"  {entry.name} [{entry.recipe}]: {'identical' if same else 'DIFFERS'} "
                  f"({first.val_rmse:.6f} vs {again['val_rmse']:.6f})")
    print(f"\nbenchmark took {time.perf_counter() - start:.0f} s; post's reported figures: simple dot 1.08, "
          "dot + bias 0.88, DIY 1.13")
    return 0


if __name__ == "__main__":
    sys.exit(main())
