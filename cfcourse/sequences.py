"""Users' movies in time order as sentences: vocabulary, padding, windows, next-movie models (chapter 10).

The three sizes of a sequence model, as a learner on the fast.ai forum met them with words:

1. a **vocabulary** (:class:`Vocabulary`): the ``N`` most-rated movies of the training part
   get the ids ``2 .. N+1``; every other movie shares the out-of-vocabulary id :data:`OOV` = 1,
   and id :data:`PAD` = 0 is kept for padding. ``N`` sets the number of rows of the embedding
   table (``N + 2``).
2. a **length** ``L`` (:func:`pad_histories`): every history is cut or filled to ``L`` ids so
   that a batch is a rectangle; ``"pre"`` padding and truncating keep the most recent movies
   at the end.
3. an **embedding width** ``d``: the number of columns of the table (the model's business,
   :class:`cfcourse.sequence_models.NextMovieModel`).

Training data (:func:`next_movie_windows`): each user's *training* history is cut into windows
of ``L`` (input, next movie) pairs; a model reading a window predicts the next movie at every
position. :class:`SequenceRecommender` puts it all behind the interface of
:mod:`cfcourse.recommenders`, so a sequence model is evaluated on the ranking protocol like any
other recommender: at an evaluation point it reads the user's history up to then
(``split.history(part)``) and scores every movie of the catalogue; movies outside the
vocabulary score ``-inf`` (they cannot be recommended), and the padding and out-of-vocabulary
ids are not movies, so they are never recommended.

:func:`shuffled_windows` and :func:`next_movie_hits` measure the leak of the protocol some
public examples use: windows cut from whole histories, shuffled, then split at random.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from .recommenders import Recommender

__all__ = ["PAD", "OOV", "Vocabulary", "check_length", "pad_histories", "Windows", "next_movie_windows",
           "history_scores", "SequenceTrainResult", "train_next_movie", "SequenceRecommender", "full_histories",
           "cut_windows",
           "shuffled_windows", "next_movie_hits", "parameter_count"]

#: The id of padding (never a movie; masked by the models).
PAD = 0
#: The id shared by every movie outside the vocabulary.
OOV = 1


# --------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------


def _whole_number(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Movie indices ↔ vocabulary ids: 0 padding, 1 out of vocabulary, 2.. the kept movies.

    ``movies[i]`` is the dense movie index (of the split's encoder) with id ``i + 2``, most-rated
    first; ``n_movies`` is the size of the whole catalogue. Build it with :meth:`from_counts`.
    """

    movies: np.ndarray
    n_movies: int

    @classmethod
    def from_counts(cls, counts, size: int | None = None) -> "Vocabulary":
        """The ``size`` movies with the most ratings in ``counts`` (all rated movies if ``None``).

        ``counts`` holds one count per movie of the catalogue, e.g. ``split.train_counts()``:
        counts from the training part only, so that nothing of the future decides which
        movies get a row. Movies with equal counts are ordered by index; movies never rated
        are left out (there is nothing to learn their vectors from).
        """
        counts = np.asarray(counts)
        if counts.ndim != 1 or counts.size == 0 or counts.dtype.kind not in "iuf" or np.any(counts < 0):
            raise ValueError("counts must be one non-negative count per movie of the catalogue, e.g. "
                             "split.train_counts()")
        rated = int(np.count_nonzero(counts))
        if rated == 0:
            raise ValueError("no movie has a rating in counts: a vocabulary needs at least one rated movie")
        size = rated if size is None else min(_whole_number(size, "size", 1), rated)
        order = np.lexsort((np.arange(counts.size), -counts.astype(np.float64)))
        return cls(movies=order[:size].astype(np.int64), n_movies=int(counts.size))

    @property
    def size(self) -> int:
        """Number of ids, padding and out-of-vocabulary included: the rows of the embedding table."""
        return len(self.movies) + 2

    def _table(self) -> np.ndarray:
        table = np.full(self.n_movies, OOV, dtype=np.int32)
        table[self.movies] = np.arange(2, self.size, dtype=np.int32)
        return table

    def encode(self, movies) -> np.ndarray:
        """Vocabulary ids of dense movie indices: a kept movie gets its id, any other movie 1 (OOV).

        A movie unknown to the vocabulary is not an error, by design: it becomes the shared
        out-of-vocabulary id. An index outside the catalogue (negative, too large, not whole)
        is an error.
        """
        m = np.asarray(movies)
        if m.size == 0:
            return np.zeros(m.shape, dtype=np.int32)
        if m.dtype.kind not in "iu":
            if m.dtype.kind == "f" and np.all(np.isfinite(m)) and np.all(m == np.floor(m)):
                m = m.astype(np.int64)
            else:
                raise TypeError(f"movies must be dense movie indices (whole numbers), got dtype {m.dtype}")
        bad = (m < 0) | (m >= self.n_movies)
        if bad.any():
            raise IndexError(f"movie index {m[bad][:5].tolist()} outside the catalogue 0..{self.n_movies - 1}: "
                             "encode raw movieIds with split.encoded.movies.encode first")
        return self._table()[m]

    def decode(self, ids) -> np.ndarray:
        """Dense movie indices of vocabulary ids; padding and out-of-vocabulary give -1."""
        ids = np.asarray(ids, dtype=np.int64)
        if np.any((ids < 0) | (ids >= self.size)):
            raise IndexError(f"vocabulary ids run from 0 to {self.size - 1}")
        out = np.full(ids.shape, -1, dtype=np.int64)
        kept = ids >= 2
        out[kept] = self.movies[ids[kept] - 2]
        return out

    def catalogue_scores(self, logits) -> np.ndarray:
        """``(rows, n_movies)`` float32 scores from ``(rows, size)`` logits over the vocabulary.

        The logits of padding and out-of-vocabulary are dropped (they are not movies), and a
        movie outside the vocabulary gets ``-inf``: it is ranked after every kept movie.
        """
        logits = np.asarray(logits, dtype=np.float32)
        if logits.ndim != 2 or logits.shape[1] != self.size:
            raise ValueError(f"logits must have shape (rows, {self.size}), one per vocabulary id; got {logits.shape}")
        scores = np.full((logits.shape[0], self.n_movies), -np.inf, dtype=np.float32)
        scores[:, self.movies] = logits[:, 2:]
        return scores

    def coverage(self, movies) -> float:
        """Share of ``movies`` (dense indices, e.g. the test part's) that the vocabulary keeps."""
        ids = self.encode(np.asarray(movies).reshape(-1))
        return float(np.mean(ids >= 2)) if ids.size else float("nan")

    def integer_lookup(self, encoder):
        """The same mapping as a ``keras.layers.IntegerLookup`` on raw movieIds.

        ``encoder`` is the split's movie :class:`~cfcourse.data.IdEncoder`
        (``split.encoded.movies``). MovieLens ids start at 1, so 0 is free to be the mask
        (padding) token; ``num_oov_indices=1`` puts the out-of-vocabulary id at 1.
        """
        import keras

        raw = np.asarray(encoder.decode(self.movies), dtype=np.int64)
        if np.any(raw == 0):
            raise ValueError("a raw movieId is 0, which IntegerLookup would read as the padding token")
        return keras.layers.IntegerLookup(vocabulary=raw, mask_token=0, num_oov_indices=1)


# --------------------------------------------------------------------------------------
# Padding and windows
# --------------------------------------------------------------------------------------


def check_length(length) -> int:
    """``length`` (L, the number of ids per sequence) as an int, or a clear error."""
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)):
        raise TypeError(f"the sequence length L must be a whole number of movies, got {length!r}")
    if length < 1:
        raise ValueError(f"the sequence length L must be at least 1 (it is how many movies each padded sequence "
                         f"holds), got {length}")
    return int(length)


def _as_sequences(sequences, what: str) -> list[np.ndarray]:
    if isinstance(sequences, np.ndarray) and sequences.ndim == 1 and sequences.dtype != object:
        raise TypeError(f"{what} must be a list of sequences (one per user), got a single 1-d array: wrap it in a "
                        "list, [history]")
    out = []
    for i, seq in enumerate(sequences):
        s = np.asarray(seq if seq is not None else [])
        if s.ndim != 1:
            raise ValueError(f"{what}[{i}] must be a flat sequence of ids, got shape {s.shape}")
        if s.size and s.dtype.kind not in "iu":
            if s.dtype.kind == "f" and np.all(np.isfinite(s)) and np.all(s == np.floor(s)):
                s = s.astype(np.int64)
            else:
                raise TypeError(f"{what}[{i}] must hold whole numbers, got dtype {s.dtype}")
        out.append(s.astype(np.int64))
    return out


def pad_histories(sequences, length, padding: str = "pre", truncating: str = "pre") -> np.ndarray:
    """Cut or fill every sequence of ids to ``length``: an ``(n, length)`` int32 array.

    ``keras.utils.pad_sequences`` with the padding id 0. ``"pre"`` (the default) pads at the
    front and, for a sequence longer than ``length``, cuts its *oldest* ids, so the last
    column is always the most recent movie; ``"post"`` pads at the end / cuts the newest.
    An empty sequence becomes a row of padding. Ids must be ≥ 0 (0 is the padding itself).
    """
    import keras

    length = check_length(length)
    for name, value in (("padding", padding), ("truncating", truncating)):
        if value not in ("pre", "post"):
            raise ValueError(f"{name} must be 'pre' or 'post', got {value!r}")
    seqs = _as_sequences(sequences, "sequences")
    for i, s in enumerate(seqs):
        if s.size and s.min() < 0:
            raise ValueError(f"sequences[{i}] holds a negative id ({int(s.min())}): ids are 0 (padding), 1 "
                             "(out of vocabulary) or a movie's vocabulary id")
    if not seqs:
        return np.zeros((0, length), dtype=np.int32)
    return keras.utils.pad_sequences(seqs, maxlen=length, dtype="int32", padding=padding, truncating=truncating,
                                     value=PAD)


@dataclass(frozen=True)
class Windows:
    """Training windows: ``inputs`` and ``targets`` (n, L) vocabulary ids, ``weights`` (n, L) 0/1.

    ``targets[i, t]`` is the movie that came right after ``inputs[i, t]``. ``weights`` is 1 where
    the prediction counts: a real movie as input and a movie of the vocabulary as target
    (padding and out-of-vocabulary targets are not trained).
    """

    inputs: np.ndarray
    targets: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def n_targets(self) -> int:
        """How many predictions the windows train (the weights that are 1)."""
        return int(self.weights.sum())


def next_movie_windows(histories, vocabulary: Vocabulary, length, max_targets: int | None = None) -> Windows:
    """Cut each history (dense movie indices, oldest first) into windows of ``length`` next-movie pairs.

    A history ``m_0 … m_n`` gives the pairs ``(m_t, m_{t+1})``; with ``max_targets`` only its most
    recent ``max_targets`` pairs are kept (heavy raters then weigh no more than others, and
    training is faster). The pairs are cut into windows of ``length`` from the most recent end;
    the oldest window of a user is pre-padded. Inside a window, position ``t`` is predicted from
    the window's movies up to ``t``. A history with fewer than two movies has no pair and gives
    no window; if no history has two movies, that is an error.

    Give it *training* histories only (``split.history("valid")``: each user's training movies in
    time order), so that nothing the model is tested on is learnt.
    """
    length = check_length(length)
    if max_targets is not None:
        max_targets = _whole_number(max_targets, "max_targets", 1)
    inputs, targets = [], []
    for h in _as_sequences(histories, "histories"):
        ids = vocabulary.encode(h)
        x, y = ids[:-1], ids[1:]
        if max_targets is not None:
            x, y = x[-max_targets:], y[-max_targets:]
        for end in range(len(x), 0, -length):
            start = max(0, end - length)
            inputs.append(x[start:end])
            targets.append(y[start:end])
    if not inputs:
        raise ValueError("no history has two movies or more, so there is no (movie, next movie) pair to train on: "
                         "a user with a single rating tells nothing about what comes next")
    x = pad_histories(inputs, length)
    y = pad_histories(targets, length)
    weights = ((x != PAD) & (y > OOV)).astype(np.float32)
    return Windows(inputs=x, targets=y, weights=weights)


# --------------------------------------------------------------------------------------
# Scoring and training
# --------------------------------------------------------------------------------------


def _model_logits(model, ids: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Logits at the last position, (rows, vocabulary size), in inference mode."""
    import keras

    parts = [keras.ops.convert_to_numpy(model(ids[i:i + batch_size], training=False)[:, -1, :])
             for i in range(0, len(ids), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, getattr(model, "vocabulary_size", 0)), np.float32)


def history_scores(model, vocabulary: Vocabulary, histories, length) -> np.ndarray:
    """Scores of every catalogue movie as the next one, for each history: ``(len(histories), n_movies)``.

    Each history (dense movie indices, oldest first) is encoded with ``vocabulary`` (unknown
    movies become the out-of-vocabulary id), cut to its most recent ``length`` movies and
    pre-padded; the model's logits after the last movie are mapped back to the catalogue
    (:meth:`Vocabulary.catalogue_scores`). An empty history is an error: there is nothing to
    read (for a user without history, recommend by popularity).
    """
    length = check_length(length)
    seqs = _as_sequences(histories, "histories")
    empty = [i for i, h in enumerate(seqs) if h.size == 0]
    if empty:
        raise ValueError(f"history {empty[:5]} is empty: a sequence model needs at least one movie to predict the "
                         "next (for someone without history, recommend by popularity)")
    ids = pad_histories([vocabulary.encode(h) for h in seqs], length)
    size = getattr(model, "vocabulary_size", vocabulary.size)
    if size != vocabulary.size:
        raise ValueError(f"the model scores {size} vocabulary ids but the vocabulary has {vocabulary.size}: use the "
                         "vocabulary the model was built with")
    return vocabulary.catalogue_scores(_model_logits(model, ids))


@dataclass
class SequenceTrainResult:
    """What :func:`train_next_movie` returns: the model (best epoch restored) and a tidy history."""

    model: object
    history: pd.DataFrame  # columns: epoch, loss, val_hr (NaN without validation)
    best_epoch: int
    val_hr: float
    seconds: float
    windows: Windows


def train_next_movie(model, split, vocabulary: Vocabulary, *, length: int = 50, max_targets: int | None = 100,
                     epochs: int = 8, batch_size: int = 64, learning_rate: float = 0.02, validate: bool = True,
                     patience: int = 2, k: int = 10, init_popularity: bool = True, seed: int | None = 42,
                     windows: Windows | None = None, verbose: int = 0) -> SequenceTrainResult:
    """Train a next-movie model on windows of each user's *training* history (``split.history("valid")``).

    Adam on the softmax cross-entropy of the next movie over the vocabulary, at every position
    of every window (:func:`next_movie_windows`). With ``validate``, after every epoch the model
    reads each user's training history and its HR@``k`` on the validation part is measured;
    training stops after ``patience`` epochs without a better one and the best epoch's weights
    are restored. Without it, training runs ``epochs`` epochs (a number chosen on validation
    before). With ``init_popularity`` the output biases start at the log-share of each movie's
    training ratings, so the model starts as the popularity ranking.

    ``windows`` replaces the windows of the training histories by others (the leak experiment
    trains on windows shuffled across time); ``max_targets`` is then ignored.

    ``seed`` seeds shuffling before fitting; call :func:`cfcourse.training.seed_everything` before
    *building* the model for reproducible initial weights.
    """
    import keras

    from .ranking import TemporalSplit
    from .training import best_hit_rate_callback, hit_rate_history, seed_everything

    if not isinstance(split, TemporalSplit):
        raise TypeError(f"train_next_movie expects a ranking.TemporalSplit (from ranking.temporal_split), got "
                        f"{type(split).__name__}")
    length = check_length(length)
    _whole_number(epochs, "epochs", 1)
    _whole_number(batch_size, "batch_size", 1)
    _whole_number(patience, "patience", 0)
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if vocabulary.n_movies != split.n_movies:
        raise ValueError(f"the vocabulary indexes a catalogue of {vocabulary.n_movies} movies, the split has "
                         f"{split.n_movies}: build it from split.train_counts()")
    size = getattr(model, "vocabulary_size", None)
    if size != vocabulary.size:
        raise ValueError(f"the model scores {size} vocabulary ids but the vocabulary has {vocabulary.size}: build "
                         "the model with vocabulary_size=vocabulary.size")
    if validate and len(split.valid) == 0:
        raise ValueError("the split has no validation part (n_valid=0): pass validate=False and a number of epochs, "
                         "or build the split with temporal_split(..., n_valid=1) or more")
    if windows is None:
        windows = next_movie_windows(split.history("valid"), vocabulary, length, max_targets)
    elif not isinstance(windows, Windows) or windows.inputs.shape[1:] != (length,):
        raise ValueError(f"windows must be the Windows of next_movie_windows(..., length={length})")
    if seed is not None:
        seed_everything(seed)
    if not model.built:
        model.build((None, length))
    if init_popularity:
        counts = np.ones(vocabulary.size)
        counts[2:] += split.train_counts()[vocabulary.movies]
        model.next_bias.assign(np.log(counts / counts.sum()).astype("float32"))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    relevant = known = None
    if validate:
        val_ids = pad_histories([vocabulary.encode(h) for h in split.history("valid")], length)
        relevant, known = split.relevant("valid"), split.known("valid")
    score = (lambda m: vocabulary.catalogue_scores(_model_logits(m, val_ids))) if validate else None
    callback = best_hit_rate_callback(score, relevant, known, k=k, patience=patience)
    start = time.perf_counter()
    fit = model.fit(windows.inputs, windows.targets, sample_weight=windows.weights, batch_size=batch_size,
                    epochs=epochs, callbacks=[callback], verbose=verbose, shuffle=True)
    seconds = time.perf_counter() - start
    history, best_epoch, val_hr = hit_rate_history(fit, callback, model, restore=validate)
    return SequenceTrainResult(model, history, best_epoch, val_hr, seconds, windows)


class SequenceRecommender(Recommender):
    """A next-movie model (bag, GRU or attention) as a recommender on the ranking protocol.

    ``fit`` builds a :class:`Vocabulary` of the ``vocabulary_size`` most-rated training movies
    (``None``: all rated ones), a :class:`cfcourse.sequence_models.NextMovieModel` of that
    ``kind`` after ``training.seed_everything(seed)``, and trains it with
    :func:`train_next_movie` (other keyword arguments go there: ``max_targets``, ``epochs``,
    ``validate``, ...). ``score`` reads each user's history up to the evaluation point
    (``split.history(part)``: for the test part, the training and validation movies), keeps the
    last ``length`` and scores every movie as the next one: one list per user, like every other
    recommender, so the HR@10 is comparable.
    """

    name = "sequence model"

    def __init__(self, kind: str = "gru", *, vocabulary_size: int | None = 1000, length: int = 50,
                 embedding_dim: int = 32, dropout: float = 0.0, seed: int = 42, name: str | None = None,
                 **train_kwargs):
        from .sequence_models import KINDS

        super().__init__(name if name is not None else {"bag": "bag of movies (mean)", "gru": "GRU",
                                                        "attention": "causal self-attention"}.get(kind))
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(repr(k) for k in KINDS)}, got {kind!r}")
        if vocabulary_size is not None:
            _whole_number(vocabulary_size, "vocabulary_size", 1)
        self.kind, self.vocabulary_size, self.length = kind, vocabulary_size, check_length(length)
        self.embedding_dim, self.dropout, self.seed, self.train_kwargs = embedding_dim, dropout, seed, train_kwargs

    def _fit(self, split):
        from .sequence_models import NextMovieModel
        from .training import seed_everything

        self.vocabulary_ = Vocabulary.from_counts(split.train_counts(), self.vocabulary_size)
        seed_everything(self.seed)
        self.model_ = NextMovieModel(self.vocabulary_.size, kind=self.kind, embedding_dim=self.embedding_dim,
                                     length=self.length, dropout=self.dropout)
        self.result_ = train_next_movie(self.model_, split, self.vocabulary_, length=self.length, seed=None,
                                        **self.train_kwargs)

    def _score(self, split, part, users):
        histories = split.history(part)
        return history_scores(self.model_, self.vocabulary_, [histories[u] for u in users], self.length)

    def score_histories(self, histories) -> np.ndarray:
        """Scores of every catalogue movie after each of ``histories`` (dense movie indices, oldest first)."""
        if not hasattr(self, "model_"):
            raise RuntimeError(f"{self.name!r} is not fitted yet: call .fit(split) first")
        return history_scores(self.model_, self.vocabulary_, histories, self.length)


def parameter_count(model) -> int:
    """Number of weights of a built Keras model (each shared table counted once)."""
    seen, total = set(), 0
    for w in model.weights:
        if id(w) not in seen:
            seen.add(id(w))
            total += int(np.prod(w.shape))
    return total


# --------------------------------------------------------------------------------------
# The leak of shuffled windows
# --------------------------------------------------------------------------------------


def full_histories(split) -> list[np.ndarray]:
    """Each user's movies of all three parts (training, validation, test), oldest first.

    Only for measuring leaks: a model must never be fitted on these.
    """
    frame = split.in_time_order(pd.concat([split.train, split.valid, split.test]))
    movies = frame["movie"].to_numpy(dtype=np.int64)
    bounds = np.searchsorted(frame["user"].to_numpy(), np.arange(split.n_users + 1))
    return [movies[bounds[u]:bounds[u + 1]] for u in range(split.n_users)]


def cut_windows(histories, length, step: int | None = None) -> list[np.ndarray]:
    """Every window of ``length + 1`` consecutive movies of each history, one every ``step`` movies.

    Windows start at the most recent movie and go back in time by ``step`` (default
    ``length``: consecutive windows share one movie, so every pair is in one window); a history
    shorter than ``length + 1`` gives one shorter window, one with a single movie none.
    """
    length = check_length(length)
    step = length if step is None else _whole_number(step, "step", 1)
    out = []
    for h in _as_sequences(histories, "histories"):
        if len(h) < 2:
            continue
        for end in range(len(h), 1, -step):
            out.append(h[max(0, end - length - 1):end])
            if end - length - 1 <= 0:
                break
    return out


def shuffled_windows(windows: Sequence[np.ndarray], n_test: int, n_train: int | None = None,
                     seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The leaky protocol: shuffle windows cut from whole histories, hold ``n_test`` out at random.

    Returns ``(train, test)`` lists of windows; ``train`` keeps ``n_train`` of the rest (all by
    default). Nothing keeps a test window after the training windows of the same user in time:
    that is the leak this function exists to measure.
    """
    windows = list(windows)
    n_test = _whole_number(n_test, "n_test", 1)
    if n_test >= len(windows):
        raise ValueError(f"n_test={n_test} leaves nothing to train on: there are {len(windows)} windows")
    order = np.random.default_rng(seed).permutation(len(windows))
    test = [windows[i] for i in order[:n_test]]
    rest = order[n_test:]
    if n_train is not None:
        rest = rest[:_whole_number(n_train, "n_train", 1)]
    return [windows[i] for i in rest], test


def next_movie_hits(model, vocabulary: Vocabulary, histories, next_movies, length, k: int = 10,
                    known=None) -> np.ndarray:
    """1.0 where ``next_movies[i]`` is in the top ``k`` after ``histories[i]``, else 0.0 (one per history).

    The movies of ``known[i]`` (default: the history itself) are masked, as the protocol masks
    what a user has already seen.
    """
    from .ranking import _hr_values, _prepare, check_k

    seqs = _as_sequences(histories, "histories")
    nxt = np.asarray(next_movies, dtype=np.int64).reshape(-1)
    if len(nxt) != len(seqs):
        raise ValueError(f"give one next movie per history: {len(seqs)} histories, {len(nxt)} next movies")
    scores = history_scores(model, vocabulary, seqs, length)
    known = seqs if known is None else known
    relevant = [[m] for m in nxt]
    # the hr column of ranking.ranking_metrics (keras-rs RecallAtK), without its NDCG and MRR
    s, rel, _ = _prepare(scores, relevant, known)
    hits = _hr_values(s, rel, check_k(k, vocabulary.n_movies))
    return np.nan_to_num(hits, nan=0.0).astype(np.float64)
