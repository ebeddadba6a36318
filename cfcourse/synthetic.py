"""MovieLens-like ratings of any size, generated with a seed and written to Parquet in chunks.

The real data stops at 100,836 ratings (ml-latest-small) or 25 to 32 million (ml-25m, ml-32m,
large downloads). To measure how training costs grow, :func:`generate` makes data of any size
that looks like MovieLens where it matters for the cost and the error:

- **activity** follows a power law: each user has at least 20 ratings (as in MovieLens) plus a
  Lomax (shifted Pareto) number more, so a few users rate thousands of movies and most rate
  dozens (median about 70, mean about 155 ratings per user, as in MovieLens);
- **popularity** follows a power law too: movie ``j`` (in order of popularity) is picked with a
  probability proportional to ``(j + c) ** -a``; about a third of a percent of all ratings go
  to the most popular movie, and the long tail holds many movies rated once or twice;
- **tastes** are low-rank: ``rating = mean + user bias + movie bias + user·movie`` with rank-8
  factors, plus Gaussian noise, rounded to half stars (or, for half of the users, to whole
  stars, which MovieLens users favour) and clipped to the scale 0.5 to 5;
- **timestamps**: each user is active for an exponentially distributed stretch of time
  between 1996 and 2023.

The number of users grows in proportion to the ratings (one per 155 ratings, as in ml-25m), the
number of movies more slowly (9,724 at 100,836 ratings, about 60,000 at 25 million).

Output layout (``folder``)::

    synthetic.json            what was generated: sizes, seed, parameters, the noise floor
    train/part-00000.parquet  columns user (int32), movie (int32), rating (float32), timestamp (int64)
    valid/part-00000.parquet  the held-out ratings (each rating independently, with valid_fraction)

``user`` and ``movie`` are already dense indices (0 .. n_users - 1, 0 .. n_movies - 1), as after
:func:`cfcourse.data.encode_ids`; rows are shuffled within each file. The whole data set is never
in memory: users are generated in blocks of about ``chunk_ratings`` ratings, each block from its
own seeded random stream, written, then dropped.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

#: Version of the generator: bump when the same arguments would give different data.
FORMAT = 1
META = "synthetic.json"
SCHEMA_COLUMNS = ("user", "movie", "rating", "timestamp")

_RATINGS_PER_USER = 155.0          # ml-25m: 25,000,095 ratings / 162,541 users
_SMALL_RATINGS, _SMALL_MOVIES = 100_836, 9_724
_MOVIE_GROWTH = 0.33               # ml-latest-small -> ml-25m: 9,724 -> 59,047 movies over 248x the ratings
_MIN_PER_USER = 20                 # MovieLens keeps users with at least 20 ratings
_T_START, _T_END = 820_454_400, 1_696_118_400  # 1996-01-01 .. 2023-10-01 (UTC)


@dataclass(frozen=True)
class SyntheticSpec:
    """Everything that determines a synthetic data set (same spec and seed, same data).

    The defaults give MovieLens-like marginals; see the module docstring.
    """

    n_ratings: int
    seed: int = 42
    n_users: int = 0                 # 0: derived from n_ratings
    n_movies: int = 0                # 0: derived from n_ratings
    rank: int = 8
    activity_tail: float = 1.8       # Lomax tail index of the ratings per user beyond the minimum
    activity_scale: float = 107.0    # Lomax scale: median 20 + 50, mean 20 + 134 before rescaling
    popularity_exponent: float = 1.5
    popularity_top_share: float = 0.0033  # share of the ratings that go to the most popular movie
    mean_rating: float = 3.5
    user_bias_sd: float = 0.35
    movie_bias_sd: float = 0.45
    taste_sd: float = 0.5            # standard deviation of the dot product user·movie
    noise_sd: float = 0.75
    whole_star_users: float = 0.5    # share of users who only give whole stars
    valid_fraction: float = 0.2
    chunk_ratings: int = 1_000_000

    def resolved(self) -> "SyntheticSpec":
        """The spec with ``n_users`` and ``n_movies`` filled in, after checking every field."""
        n = _positive_int(self.n_ratings, "n_ratings")
        if n < _MIN_PER_USER:
            raise ValueError(f"n_ratings must be at least {_MIN_PER_USER} (one user's minimum), got {n}")
        n_users = self.n_users or max(1, int(round(n / _RATINGS_PER_USER)))
        n_movies = self.n_movies or max(100, int(round(_SMALL_MOVIES * (n / _SMALL_RATINGS) ** _MOVIE_GROWTH)))
        _positive_int(n_users, "n_users")
        _positive_int(n_movies, "n_movies")
        if n_users * _MIN_PER_USER > n:
            raise ValueError(f"{n_users:,} users with at least {_MIN_PER_USER} ratings each need more than "
                             f"n_ratings={n:,} ratings; ask for fewer users or more ratings")
        if n > n_users * (n_movies // 2):
            raise ValueError(f"{n:,} ratings do not fit {n_users:,} users who each rate at most half of "
                             f"{n_movies:,} movies; ask for more users or movies")
        if not 0.0 < self.valid_fraction < 1.0:
            raise ValueError(f"valid_fraction must be strictly between 0 and 1, got {self.valid_fraction}")
        _positive_int(self.rank, "rank")
        _positive_int(self.chunk_ratings, "chunk_ratings")
        for name in ("activity_tail", "activity_scale", "popularity_exponent", "popularity_top_share",
                     "noise_sd", "taste_sd"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value}")
        if self.popularity_exponent <= 1:
            raise ValueError(f"popularity_exponent must be above 1, got {self.popularity_exponent}")
        return SyntheticSpec(**{**asdict(self), "n_ratings": n, "n_users": n_users, "n_movies": n_movies})


@dataclass(frozen=True)
class SyntheticData:
    """A generated data set on disk (what :func:`generate` returns)."""

    folder: Path
    spec: SyntheticSpec
    n_train: int
    n_valid: int
    noise_floor_rmse: float  # RMSE of the noise-free ratings on the held-out part: no model does much better

    @property
    def train(self) -> Path:
        return self.folder / "train"

    @property
    def valid(self) -> Path:
        return self.folder / "valid"

    @property
    def n_users(self) -> int:
        return self.spec.n_users

    @property
    def n_movies(self) -> int:
        return self.spec.n_movies


def _positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)):
        raise TypeError(f"{name} must be a whole number, got {type(value).__name__}")
    if isinstance(value, float) and not (math.isfinite(value) and value == int(value)):
        raise ValueError(f"{name} must be a whole number, got {value}")
    if int(value) < 1:
        raise ValueError(f"{name} must be positive, got {value}")
    return int(value)


# --------------------------------------------------------------------------------------
# The parts of the model
# --------------------------------------------------------------------------------------


def ratings_per_user(spec: SyntheticSpec, rng: np.random.Generator) -> np.ndarray:
    """How many ratings each user gives: 20 plus a Lomax draw, rescaled to sum to ``n_ratings``.

    No user rates more than half of the movies; ratings a capped user cannot take go to the others.
    """
    n, cap = spec.n_ratings, spec.n_movies // 2
    extra = spec.activity_scale * ((1.0 - rng.uniform(size=spec.n_users)) ** (-1.0 / spec.activity_tail) - 1.0)
    counts = np.full(spec.n_users, _MIN_PER_USER, dtype=np.int64)
    while (missing := n - int(counts.sum())) > 0:
        room = cap - counts
        weights = np.where(room > 0, extra + 1e-12, 0.0)
        weights /= weights.sum()
        add = np.minimum(np.floor(weights * missing).astype(np.int64), room)
        if add.sum() == 0:  # less than one rating per user left: one more each for the heaviest raters
            add[np.argsort(-weights)[:missing]] = 1
            add = np.minimum(add, room)
        counts += add
    return counts


def movie_popularity(spec: SyntheticSpec, rng: np.random.Generator) -> np.ndarray:
    """Probability that a rating goes to each movie: a power law, in a random order of movie ids."""
    a = spec.popularity_exponent
    c = (a - 1.0) / spec.popularity_top_share  # so that the top movie gets about top_share of the draws
    p = (np.arange(spec.n_movies) + c) ** (-a)
    p /= p.sum()
    return p[rng.permutation(spec.n_movies)]


def tastes(spec: SyntheticSpec, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """User and movie biases and rank-``rank`` factors whose dot product has sd ``taste_sd``."""
    scale = (spec.taste_sd ** 2 / spec.rank) ** 0.25
    user_bias = rng.normal(0.0, spec.user_bias_sd, spec.n_users).astype(np.float32)
    movie_bias = rng.normal(0.0, spec.movie_bias_sd, spec.n_movies).astype(np.float32)
    users = rng.normal(0.0, scale, (spec.n_users, spec.rank)).astype(np.float32)
    movies = rng.normal(0.0, scale, (spec.n_movies, spec.rank)).astype(np.float32)
    whole = rng.uniform(size=spec.n_users) < spec.whole_star_users
    start = rng.uniform(_T_START, _T_END, spec.n_users)
    span = np.minimum(rng.exponential(2 * 365 * 86_400.0, spec.n_users), _T_END - start)
    return user_bias, movie_bias, users, movies, whole, start, span


def _sample_movies(users: np.ndarray, counts: np.ndarray, cdf: np.ndarray,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """For each user, ``counts`` distinct movies drawn by popularity.

    Draw with replacement, drop repeats, keep at most ``counts`` per user, and draw again for the
    users still short, with a growing surplus (heavy raters of a steep popularity law repeat a lot).
    """
    n_movies = len(cdf)
    done_u: list[np.ndarray] = []
    done_m: list[np.ndarray] = []
    have_u = np.zeros(0, dtype=np.int64)
    have_m = np.zeros(0, dtype=np.int64)
    pending, wanted = users, counts
    for attempt in range(60):
        got = np.bincount(np.searchsorted(pending, have_u), minlength=len(pending))
        need = wanted - got
        draw_n = need + (need * (0.25 * 2 ** attempt)).astype(np.int64) + 2
        new_u = np.repeat(pending, draw_n)
        new_m = np.minimum(np.searchsorted(cdf, rng.uniform(size=len(new_u)), side="right"), n_movies - 1)
        all_u = np.concatenate([have_u, new_u])
        all_m = np.concatenate([have_m, new_m])
        _, first = np.unique(all_u * n_movies + all_m, return_index=True)  # sorted by user, then movie
        all_u, all_m = all_u[first], all_m[first]
        # which of the distinct picks to keep: a random subset of counts[user] per user
        slot = np.searchsorted(pending, all_u)
        order = np.lexsort((rng.uniform(size=len(all_u)), slot))
        all_u, all_m, slot = all_u[order], all_m[order], slot[order]
        position = np.arange(len(all_u)) - np.searchsorted(slot, slot, side="left")
        keep = position < wanted[slot]
        all_u, all_m, slot = all_u[keep], all_m[keep], slot[keep]
        full = np.bincount(slot, minlength=len(pending)) == wanted
        finished = full[slot]
        done_u.append(all_u[finished])
        done_m.append(all_m[finished])
        have_u, have_m = all_u[~finished], all_m[~finished]
        pending, wanted = pending[~full], wanted[~full]
        if len(pending) == 0:
            return np.concatenate(done_u), np.concatenate(done_m)
    raise RuntimeError("could not draw enough distinct movies for some users; "  # pragma: no cover
                       "lower popularity_exponent or the number of ratings per user")


def _block_bounds(counts: np.ndarray, chunk: int) -> list[tuple[int, int]]:
    """Consecutive user ranges holding about ``chunk`` ratings each."""
    cum = np.cumsum(counts)
    bounds, start = [], 0
    while start < len(counts):
        stop = int(np.searchsorted(cum, (cum[start - 1] if start else 0) + chunk, side="left")) + 1
        stop = min(max(stop, start + 1), len(counts))
        bounds.append((start, stop))
        start = stop
    return bounds


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def generate(n_ratings: int | float, folder: str | os.PathLike, *, seed: int = 42,
             overwrite: bool = False, **options) -> SyntheticData:
    """Generate ``n_ratings`` MovieLens-like ratings into ``folder`` (see the module docstring).

    ``n_ratings`` may be given as ``1e6``. ``options`` are the other fields of
    :class:`SyntheticSpec`. If ``folder`` already holds a data set made from the same spec it is
    reused as it is; a folder holding anything else is refused unless ``overwrite`` is true. The
    data is written into a temporary folder beside ``folder`` and moved into place at the end, so
    an interrupted run leaves no half-written data set behind.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    spec = SyntheticSpec(n_ratings=_positive_int(n_ratings, "n_ratings"), seed=int(seed), **options).resolved()
    folder = Path(folder)
    existing = read_meta(folder)
    if existing is not None and existing.spec == spec:
        return existing
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise FileExistsError(f"{folder} already holds something else than this data set; pass overwrite=True "
                              "or choose an empty folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    try:
        (work / "train").mkdir()
        (work / "valid").mkdir()
        root = np.random.SeedSequence([FORMAT, spec.seed])
        global_rng = np.random.default_rng(root.spawn(1)[0])
        counts = ratings_per_user(spec, global_rng)
        cdf = np.cumsum(movie_popularity(spec, global_rng))
        cdf /= cdf[-1]
        user_bias, movie_bias, user_f, movie_f, whole, start, span = tastes(spec, global_rng)
        blocks = _block_bounds(counts, spec.chunk_ratings)
        block_seeds = np.random.SeedSequence([FORMAT, spec.seed, 1]).spawn(len(blocks))
        n_train = n_valid = 0
        floor_sq = 0.0
        schema = pa.schema([("user", pa.int32()), ("movie", pa.int32()), ("rating", pa.float32()),
                            ("timestamp", pa.int64())])
        for i, ((lo, hi), block_seed) in enumerate(zip(blocks, block_seeds)):
            rng = np.random.default_rng(block_seed)
            users = np.arange(lo, hi, dtype=np.int64)
            u, m = _sample_movies(users, counts[lo:hi], cdf, rng)
            clean = (spec.mean_rating + user_bias[u] + movie_bias[m]
                     + np.einsum("ij,ij->i", user_f[u], movie_f[m])).astype(np.float64)
            noisy = clean + rng.normal(0.0, spec.noise_sd, len(u))
            step = np.where(whole[u], 1.0, 0.5)
            rating = np.clip(np.round(noisy / step) * step, np.where(whole[u], 1.0, 0.5), 5.0)
            when = (start[u] + rng.uniform(size=len(u)) * span[u]).astype(np.int64)
            held_out = rng.uniform(size=len(u)) < spec.valid_fraction
            order = rng.permutation(len(u))
            table = pa.table({"user": u[order].astype(np.int32), "movie": m[order].astype(np.int32),
                              "rating": rating[order].astype(np.float32), "timestamp": when[order]},
                             schema=schema)
            mask = held_out[order]
            pq.write_table(table.filter(pa.array(~mask)), work / "train" / f"part-{i:05d}.parquet")
            pq.write_table(table.filter(pa.array(mask)), work / "valid" / f"part-{i:05d}.parquet")
            n_valid += int(mask.sum())
            n_train += int(len(mask) - mask.sum())
            floor_sq += float(np.sum((rating - clean)[held_out] ** 2))
        meta = {"format": FORMAT, "spec": asdict(spec), "n_train": n_train, "n_valid": n_valid,
                "noise_floor_rmse": math.sqrt(floor_sq / max(n_valid, 1))}
        (work / META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(work, folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = read_meta(folder)
    assert result is not None
    return result


def read_meta(folder: str | os.PathLike) -> SyntheticData | None:
    """The data set in ``folder`` if it holds a complete one of this generator's format, else None."""
    path = Path(folder) / META
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            return None
        spec = SyntheticSpec(**meta["spec"])
        return SyntheticData(folder=Path(folder), spec=spec, n_train=int(meta["n_train"]),
                             n_valid=int(meta["n_valid"]), noise_floor_rmse=float(meta["noise_floor_rmse"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
