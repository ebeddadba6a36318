"""The softmax recommender of Google's Machine Learning Crash Course, trained without leaks (chapter 9).

Its input is a user's *bag*: the movies they rated, read as a list of movie indices (padded with
``-1``; the crash course draws it as a multi-hot row over the catalogue, which holds the same
information in far more memory). The first layer sums the bag's movie vectors and divides the sum
by the square root of the bag's size (the sum of ``n`` unrelated vectors grows like ``√n``, which
the division undoes); the model also reads the user's genre profile from the bag. Hidden layers
follow, and a last layer gives one logit per movie of the catalogue: a softmax over all movies, like
the ranking model of the recommending chapter, but for any bag of movies rather than for a user id.

What it learns to predict matters. If the labels are drawn from the bag itself, the network can
learn to find its input again; at evaluation time the known movies are masked, so that skill is
worthless, and what a recommender must do, guess what comes *next*, was never asked of it. Here
each training example cuts a user's training ratings in time (:func:`cut_history`): the bag is
everything before the cut and the labels are the next ``window`` movies after it. Evaluation is the
same question one step later: the bag is every movie known before the evaluation point (the
training movies for validation; training and validation movies for test), the labels are the held-out
movies of :mod:`cfcourse.ranking`.

- :func:`cut_history`: bag and labels from one user's time-ordered movies.
- :func:`bag_examples`: the training examples of a split (several cuts per user).
- :func:`with_labels_in_bag`: the same examples with the crash course's leak (each label also in its bag).
- :func:`bag_lists`: bags as the model's input, movie indices padded with ``-1`` (an empty bag is refused).
- :func:`bag_matrix`: bags as multi-hot rows divided by ``size ** power`` (what the first layer computes).
- :class:`BagSoftmax`: the Keras model; :func:`train_bag_softmax`: fitting it with early stopping on the
  validation HR@10; :class:`BagSoftmaxRecommender`: the model behind the ``Recommender`` interface.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from .recommenders import Recommender

#: The index that pads a bag's list of movies (never a movie; the model gives it weight 0).
PAD = -1

__all__ = ["cut_history", "BagExamples", "bag_examples", "with_labels_in_bag", "PAD", "bag_lists", "bag_matrix",
           "BagSoftmax",
           "BagTrainResult", "train_bag_softmax", "BagSoftmaxRecommender"]


def cut_history(history, cut: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """``(bag, labels)`` from one user's movies in time order: the first ``cut`` and the ``window`` after them.

    The labels come strictly after the bag, so no label is ever part of the input. ``cut`` must leave
    at least one movie in the bag and at least one label.
    """
    history = np.asarray(history).reshape(-1)
    if isinstance(cut, bool) or not isinstance(cut, (int, np.integer)):
        raise TypeError(f"cut must be a whole number of movies, got {cut!r}")
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be a positive whole number of movies, got {window!r}")
    if not 1 <= cut < len(history):
        raise ValueError(f"cut must leave at least one movie in the bag and one after it: 1 <= cut < "
                         f"{len(history)}, got {cut}")
    return history[:cut].copy(), history[cut:cut + window].copy()


@dataclass(frozen=True)
class BagExamples:
    """Training examples: one row per (user, cut). ``bags`` and ``labels`` are CSR users × movies (0/1)."""

    users: np.ndarray
    cuts: np.ndarray
    bags: object
    labels: object

    def __len__(self) -> int:
        return len(self.users)


def bag_examples(histories: Sequence[np.ndarray], n_movies: int, window: int = 10, stride: int | None = None,
                 max_per_user: int = 8, min_bag: int = 1, early: Sequence[int] = ()) -> BagExamples:
    """Cut every user's time-ordered movies into (bag, next movies) examples, latest cuts first.

    ``histories[u]`` holds user ``u``'s training movies oldest first (``split.history("valid")``). The
    cuts are ``n - window``, ``n - window - stride``, ... (``stride`` defaults to ``window``) down to
    ``min_bag``, at most ``max_per_user`` of them: the latest cuts look most like the evaluation,
    where the bag is everything known. ``early`` adds cuts at fixed small bag sizes (e.g. ``(3,)``: the
    user's first three movies, and the ``window`` after them), so that the model also sees short bags
    like those of a newcomer. A user with too few movies for a cut gives none.
    """
    import scipy.sparse as sp

    stride = window if stride is None else stride
    for name, value in (("window", window), ("stride", stride), ("max_per_user", max_per_user),
                        ("min_bag", min_bag)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive whole number, got {value!r}")
    users, cuts, bag_rows, bag_cols, label_rows, label_cols = [], [], [], [], [], []
    for u, history in enumerate(histories):
        history = np.asarray(history, dtype=np.int64)
        n = len(history)
        cut, user_cuts = n - window, []
        while len(user_cuts) < max_per_user and cut >= min_bag:
            user_cuts.append(cut)
            cut -= stride
        user_cuts += [c for c in early if c not in user_cuts and min_bag <= c < n]
        for cut in user_cuts:
            bag, labels = cut_history(history, cut, window)
            row = len(users)
            users.append(u)
            cuts.append(cut)
            bag_rows.append(np.full(len(bag), row))
            bag_cols.append(bag)
            label_rows.append(np.full(len(labels), row))
            label_cols.append(labels)
    if not users:
        raise ValueError(f"no user has more than {min_bag + window - 1} movies: nothing to cut into a bag and "
                         "labels; use a smaller window")

    def csr(rows, cols):
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        m = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(users), n_movies))
        m.data[:] = 1.0  # a movie rated twice in a window counts once
        return m

    return BagExamples(users=np.asarray(users, dtype=np.int64), cuts=np.asarray(cuts, dtype=np.int64),
                       bags=csr(bag_rows, bag_cols), labels=csr(label_rows, label_cols))


def with_labels_in_bag(examples: BagExamples) -> BagExamples:
    """The same examples with the crash course's leak: every label is also put into its own bag.

    Everything else stays: the same users, cuts and labels, so a model trained on these differs from
    one trained on ``examples`` only by seeing its answers in its input (chapter 9 measures what that
    costs on the ranking protocol).
    """
    if not isinstance(examples, BagExamples):
        raise TypeError(f"with_labels_in_bag expects BagExamples (from bag_examples), got {type(examples).__name__}")
    leaky = (examples.bags + examples.labels).tocsr()
    leaky.data[:] = 1.0
    return BagExamples(users=examples.users, cuts=examples.cuts, bags=leaky, labels=examples.labels)


def _empty_bags_error(sizes) -> None:
    if np.any(sizes == 0):
        empty = np.flatnonzero(sizes == 0)
        raise ValueError(f"{len(empty)} bag(s) are empty (rows {empty[:5].tolist()}): a user with no rated movie "
                         "gives the model nothing to read. Recommend popular movies to them until they rate one "
                         "(recommenders.Popularity)")


def bag_lists(bags, n_movies: int | None = None) -> np.ndarray:
    """Bags (users × movies, nonzero = in the bag) as the model's input: one row of movie indices per bag.

    Returns an int32 array ``(rows, longest bag)``: each row holds its bag's movie indices in
    increasing order, followed by :data:`PAD` (``-1``) up to the longest bag of the batch. A movie
    counts once however large its cell. It holds ``rows × longest`` numbers where the multi-hot
    rows hold ``rows × n_movies``. A row without any movie is a ``ValueError`` that names it.
    """
    import scipy.sparse as sp

    x = sp.csr_matrix(bags)
    if n_movies is not None and x.shape[1] != n_movies:
        raise ValueError(f"the bags cover {x.shape[1]} movies but the model knows {n_movies}")
    x.eliminate_zeros()
    x.sum_duplicates()
    x.sort_indices()
    sizes = np.diff(x.indptr)
    _empty_bags_error(sizes)
    out = np.full((x.shape[0], int(sizes.max()) if len(sizes) else 0), PAD, dtype=np.int32)
    rows = np.repeat(np.arange(x.shape[0]), sizes)
    out[rows, np.arange(len(x.indices)) - np.repeat(x.indptr[:-1], sizes)] = x.indices
    return out


def bag_matrix(bags, n_movies: int | None = None, power: float = 0.5):
    """Bags (users × movies, nonzero = in the bag) as multi-hot float32 CSR rows, each divided by size**power.

    ``bag_matrix(bags, power=p) @ table`` is what the model's first layer computes from
    :func:`bag_lists` of the same bags (for ``p`` its ``bag_power``): the sum of the bag's rows of
    ``table`` divided by ``size ** p``.

    With ``power=1`` each row sums to 1, so that a layer reading it averages its movies; with
    ``power=0.5`` (the default, the model's scaling) the sum of the bag's vectors is divided by the square
    root of its size. The sum of ``n`` unrelated vectors of similar length is about ``√n`` times as
    long as one of them, so dividing by ``√n`` keeps long and short bags on one scale; the average
    (``power=1``) would instead shrink like ``1/√n`` and the plain sum (``power=0``) grow like ``√n``.

    A row without any movie has no average: ``ValueError`` names those rows and says what to do.
    """
    import scipy.sparse as sp

    x = sp.csr_matrix(bags, dtype=np.float32)
    if n_movies is not None and x.shape[1] != n_movies:
        raise ValueError(f"the bags cover {x.shape[1]} movies but the model knows {n_movies}")
    x.data = (x.data != 0).astype(np.float32)
    x.eliminate_zeros()
    sizes = np.asarray(x.sum(axis=1)).reshape(-1)
    _empty_bags_error(sizes)
    return sp.diags(1.0 / sizes ** power).astype(np.float32) @ x


def _bag_softmax_class():
    import keras
    from keras import ops

    class BagSoftmaxModel(keras.Model):
        """Bag of movies (indices, -1 = padding) + its genre profile → hidden layers → one logit per movie."""

        def __init__(self, n_movies, genres=None, embedding_dim=32, hidden=(256,), dropout=0.0, l2=1e-5,
                     bag_power=0.5, **kwargs):
            super().__init__(**kwargs)
            self.bag_power = float(bag_power)  # the bag's summed vectors are divided by size ** bag_power
            self.n_movies, self.embedding_dim = int(n_movies), int(embedding_dim)
            self.hidden, self.dropout_rate, self.l2 = tuple(int(h) for h in hidden), float(dropout), float(l2 or 0)
            self.genre_values = None if genres is None else np.asarray(genres, dtype=np.float32)
            reg = keras.regularizers.L2(self.l2) if self.l2 else None
            # The embedding table: the bag's rows are looked up, summed and divided by size ** bag_power.
            self.movie_embedding = keras.layers.Embedding(self.n_movies, self.embedding_dim,
                                                          embeddings_regularizer=reg, name="movie_embedding")
            self.hidden_layers = [keras.layers.Dense(h, activation="relu", name=f"hidden_{i}")
                                  for i, h in enumerate(self.hidden)]
            self.dropout = keras.layers.Dropout(self.dropout_rate)
            self.to_user = keras.layers.Dense(self.embedding_dim, name="user_vector")
            self.output_movies = keras.layers.Dense(self.n_movies, kernel_regularizer=reg, name="movie_logits")

        def build(self, input_shape=None):
            self.movie_embedding.build((None, None))
            width = self.embedding_dim
            if self.genre_values is not None:
                self.genres = self.add_weight(name="genres", shape=self.genre_values.shape, trainable=False,
                                              initializer=keras.initializers.Constant(self.genre_values))
                width += self.genre_values.shape[1]
            for layer in self.hidden_layers:
                layer.build((None, width))
                width = layer.units
            self.to_user.build((None, width))
            self.output_movies.build((None, self.embedding_dim))
            self.built = True

        def user_vectors(self, bags, training=False):
            """The user's vector: what the hidden layers make of the bag (before the last layer)."""
            ids = ops.cast(bags, "int32")
            rows, width = ops.shape(ids)[0], ops.shape(ids)[1]
            # Only the real movies are looked up (the padding never is): their positions in the
            # flattened batch, their movie indices and the bag (row) each belongs to.
            flat = ops.reshape(ids, (-1,))
            where = ops.nonzero(ops.greater_equal(flat, 0))[0]
            movies, bag_of = ops.take(flat, where), ops.cast(where // width, "int32")
            n = ops.maximum(ops.segment_sum(ops.ones_like(movies, dtype="float32"), bag_of, num_segments=rows),
                            1.0)[:, None]  # the bag's size
            scale = ops.sqrt(n) if self.bag_power == 0.5 else ops.power(n, self.bag_power)
            parts = [ops.segment_sum(self.movie_embedding(movies), bag_of, num_segments=rows) / scale]
            if self.genre_values is not None:  # the share of the bag's movies in each genre
                parts.append(ops.segment_sum(ops.take(self.genres, movies, axis=0), bag_of, num_segments=rows) / n)
            x = parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=-1)
            for layer in self.hidden_layers:
                x = self.dropout(layer(x), training=training)
            return self.to_user(x)

        def call(self, bags, training=False):
            return self.output_movies(self.user_vectors(bags, training=training))

    return BagSoftmaxModel


def BagSoftmax(n_movies: int, genres=None, *, embedding_dim: int = 32, hidden: Sequence[int] = (256,),  # noqa: N802
               dropout: float = 0.0, l2: float = 1e-5, bag_power: float = 0.5):
    """The MLCC softmax recommender as a Keras model (see the module docstring).

    Called on a batch of bags as lists of movie indices padded with ``-1`` (:func:`bag_lists`), it
    looks up the bag's rows of the embedding table (``movie_embedding``) and sums them, divided by
    the bag's size to the power ``bag_power`` (padding adds nothing and is not counted), appends the
    bag's genre profile (the average multi-hot genre row of its movies, when ``genres`` is given),
    passes them through ``Dense(h, relu)`` layers (``hidden``) and a ``Dense(embedding_dim)`` (the
    user's vector), and returns one logit per movie (``movie_logits``: a vector and a bias per
    movie). ``l2`` penalises both movie tables, ``dropout`` follows each hidden layer.
    """
    if isinstance(n_movies, bool) or not isinstance(n_movies, (int, np.integer)) or n_movies < 1:
        raise ValueError(f"n_movies must be a positive whole number, got {n_movies!r}")
    if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, (int, np.integer)) or embedding_dim < 1:
        raise ValueError(f"embedding_dim must be a positive whole number, got {embedding_dim!r}")
    if any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in hidden):
        raise ValueError(f"hidden must be positive whole numbers, got {tuple(hidden)}")
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if genres is not None:
        g = np.asarray(genres)
        if g.ndim != 2 or g.shape[0] != n_movies:
            raise ValueError(f"genres must have one row per movie ({n_movies}), got shape {g.shape}")
    if not bag_power >= 0:
        raise ValueError(f"bag_power must be 0 or more, got {bag_power}")
    return _bag_softmax_class()(n_movies, genres, embedding_dim, hidden, dropout, l2, bag_power)


@dataclass
class BagTrainResult:
    """What :func:`train_bag_softmax` returns: the model (best epoch restored) and a tidy history."""

    model: object
    examples: BagExamples
    history: pd.DataFrame  # epoch, loss, val_hr
    best_epoch: int
    val_hr: float
    seconds: float


def train_bag_softmax(model, split, *, window: int = 10, stride: int | None = None, max_per_user: int = 8,
                      early: Sequence[int] = (), examples: BagExamples | None = None,
                      epochs: int = 15, batch_size: int = 256, learning_rate: float = 5e-3, patience: int = 3,
                      k: int = 10, init_popularity: bool = True, seed: int | None = 42,
                      verbose: int = 0) -> BagTrainResult:
    """Fit a :func:`BagSoftmax` on the training part of a ``ranking.TemporalSplit``.

    The examples come from :func:`bag_examples` on each user's training movies (or are given as
    ``examples``, e.g. :func:`with_labels_in_bag` of them); the target of an
    example is its labels as a distribution (1/len on each), the loss the softmax cross-entropy.
    The bags are fed as index lists (:func:`bag_lists`), shuffled every epoch (seeded by ``seed``)
    and padded to the longest bag of each batch, so no multi-hot row is ever built. After
    every epoch the model scores every user from their training movies, and its HR@``k`` on the
    validation part is measured; training stops after ``patience`` epochs without a better one and the
    best epoch's weights are restored. ``init_popularity`` starts the output biases at the log share of
    each movie's training ratings, as :func:`cfcourse.training.train_ranker` does.
    """
    import keras

    from .training import best_hit_rate_callback, seed_everything

    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be positive, got {epochs} and {batch_size}")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if patience < 0:
        raise ValueError(f"patience must be 0 or more epochs, got {patience}")
    for attr in ("history", "relevant", "known"):
        if not hasattr(split, attr):
            raise TypeError(f"train_bag_softmax expects a ranking.TemporalSplit, got {type(split).__name__}")
    if len(split.valid) == 0:
        raise ValueError("the split has no validation part (n_valid=0): early stopping needs one")
    if getattr(model, "n_movies", None) != split.n_movies:
        raise ValueError(f"the model has {getattr(model, 'n_movies', None)} movies, the split {split.n_movies}: build "
                         "it with split.n_movies")
    if examples is None:
        examples = bag_examples(split.history("valid"), split.n_movies, window=window, stride=stride,
                                max_per_user=max_per_user, early=early)
    elif not isinstance(examples, BagExamples) or examples.bags.shape[1] != split.n_movies:
        raise ValueError("examples must be BagExamples over the split's movies (bags.bag_examples or "
                         "bags.with_labels_in_bag on split.history('valid'))")
    relevant, known = split.relevant("valid"), split.known("valid")
    if seed is not None:
        seed_everything(seed)
    # the order of the examples in each epoch: from ``seed``, or (seed=None) from NumPy's global
    # generator, which training.seed_everything seeds
    batches = _example_batches(examples, batch_size, int(np.random.randint(2**31)) if seed is None else seed)
    if not model.built:
        model.build((None, None))
    if init_popularity:
        counts = split.train_counts().astype(np.float64) + 1.0
        model.output_movies.bias.assign(np.log(counts / counts.sum()).astype("float32"))

    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    validation = best_hit_rate_callback(lambda m: _scores(m, known), relevant, known, k=k, patience=patience)
    start = time.perf_counter()
    fit = model.fit(batches, epochs=epochs, callbacks=[validation], verbose=verbose, shuffle=False)
    seconds = time.perf_counter() - start
    model.set_weights(validation.best_weights)
    history = pd.DataFrame({"epoch": np.arange(1, len(fit.history["loss"]) + 1), "loss": fit.history["loss"],
                            "val_hr": validation.values})
    best = int(np.argmax(validation.values))
    return BagTrainResult(model=model, examples=examples, history=history, best_epoch=best + 1,
                          val_hr=float(validation.values[best]), seconds=seconds)


def _example_batches(examples: BagExamples, batch_size: int, seed: int | None):
    """A ``tf.data.Dataset`` of (padded index lists, label distributions), reshuffled every epoch.

    Each batch is padded to its own longest bag (:func:`bag_lists`); only the labels of one batch
    are ever dense.
    """
    import tensorflow as tf

    bags, labels = examples.bags.tocsr(), examples.labels.tocsr()
    sizes = np.asarray(labels.sum(axis=1), dtype=np.float64).reshape(-1)
    targets = labels.multiply(1.0 / sizes[:, None]).tocsr().astype(np.float32)
    rng = np.random.default_rng(seed)
    n, n_movies = bags.shape

    def epoch():
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            yield bag_lists(bags[rows]), targets[rows].toarray()

    signature = (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, n_movies), tf.float32))
    dataset = tf.data.Dataset.from_generator(epoch, output_signature=signature)
    return dataset.apply(tf.data.experimental.assert_cardinality(-(-n // batch_size))).prefetch(2)


def _scores(model, bags, batch: int = 1024) -> np.ndarray:
    """The model's scores of every movie for bags (users × movies, nonzero = in the bag), float32."""
    import scipy.sparse as sp

    bags = sp.csr_matrix(bags)
    return np.concatenate([np.asarray(model(bag_lists(bags[i:i + batch]), training=False), dtype=np.float32)
                           for i in range(0, bags.shape[0], batch)])


class BagSoftmaxRecommender(Recommender):
    """The MLCC softmax recommender on the ranking protocol.

    ``fit`` reads the movies' genres (``movies``: the movies table; by default that of
    ``data.load_movielens()``, the data set the split was made from; ``use_genres=False`` leaves them
    out), builds a :func:`BagSoftmax` after ``training.seed_everything(seed)`` and trains it with
    :func:`train_bag_softmax` (other keyword arguments go there). At an evaluation point each user's
    bag is every movie known before it (``split.known(part)``): the model needs no refit to use the
    validation movies for the test, and none to recommend to someone new (:meth:`recommend`).
    """

    name = "MLCC softmax (bag + genres)"

    def __init__(self, movies=None, *, use_genres: bool = True, embedding_dim: int = 32,
                 hidden: Sequence[int] = (256,), dropout: float = 0.0, l2: float = 1e-5, bag_power: float = 0.5,
                 seed: int = 42, name: str | None = None, **train_kwargs):
        super().__init__(name)
        self.movies, self.use_genres, self.seed, self.train_kwargs = movies, bool(use_genres), seed, train_kwargs
        self.model_kwargs = dict(embedding_dim=embedding_dim, hidden=tuple(hidden), dropout=dropout, l2=l2,
                                 bag_power=bag_power)

    def _fit(self, split):
        from .training import seed_everything

        genres = None
        if self.use_genres:
            from .data import load_movielens
            from .features import movie_features

            movies = self.movies if self.movies is not None else load_movielens().movies
            genres = movie_features(split.encoded, movies).genres
        seed_everything(self.seed)
        self.model = BagSoftmax(split.n_movies, genres, **self.model_kwargs)
        self.result_ = train_bag_softmax(self.model, split, seed=None, **self.train_kwargs)

    def _score(self, split, part, users):
        return self.scores_for(split.known(part)[users])

    def scores_for(self, bags) -> np.ndarray:
        """Scores of every movie for any bags (users × movies, nonzero = in the bag), float32."""
        if not hasattr(self, "model"):
            raise RuntimeError(f"{self.name!r} is not fitted yet: call .fit(split) first")
        import scipy.sparse as sp

        bags = sp.csr_matrix(bags)
        if bags.shape[1] != self.model.n_movies:
            raise ValueError(f"the bags cover {bags.shape[1]} movies but the model knows {self.model.n_movies}")
        return _scores(self.model, bags)

    def recommend(self, movie_ids, split, movies: pd.DataFrame, n: int = 10) -> pd.DataFrame:
        """The top ``n`` movies for someone who rated the movies ``movie_ids`` (raw MovieLens ids).

        Nobody needs to be in the data: the bag is the input. The movies of the bag are never
        recommended. An empty bag, or an id the model was not trained with, is a ``ValueError`` that
        says what to do.
        """
        import scipy.sparse as sp

        from .ranking import readable_title

        ids = np.asarray(list(movie_ids) if not isinstance(movie_ids, (str, bytes)) else [movie_ids]).reshape(-1)
        if ids.size == 0:
            raise ValueError("the bag is empty: name at least one movie the person rated (a movieId), or "
                             "recommend popular movies to them until they have rated one")
        try:
            index = split.encoded.movies.encode(ids)
        except KeyError as error:
            raise ValueError(f"{error.args[0]}; the model can only read movies it was trained with (pass movieIds "
                             "of the catalogue, e.g. from movies.csv)") from None
        bag = sp.csr_matrix((np.ones(len(index), np.float32), (np.zeros(len(index), int), index)),
                            shape=(1, split.n_movies))
        scores = self.scores_for(bag)[0]
        scores[np.unique(index)] = -np.inf
        top = np.argsort(-scores, kind="stable")[:n]
        raw = split.encoded.movies.decode(top)
        titles = movies.drop_duplicates("movieId").set_index("movieId")["title"].reindex(raw)
        return pd.DataFrame({"rank": np.arange(1, len(top) + 1), "movieId": raw,
                             "title": [readable_title(t) if isinstance(t, str) else "" for t in titles],
                             "score": scores[top].round(3)})
