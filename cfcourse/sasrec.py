"""Self-attention over a user's whole history, trained at every position with a softmax over the catalogue.

A SASRec-style next-movie recommender (Kang & McAuley 2018), trained the way later work found
that it should be (Klenitskiy & Vasilev 2023: cross-entropy over the whole catalogue instead of
a binary loss with one sampled negative). The pieces:

- :func:`training_sequences`: each user's *training* history as (input, target) pairs shifted by
  one movie, cut from the most recent end into pieces of at most ``max_length``; every position
  is a target, in one pass. ``shuffle_seed`` shuffles each history first (the order control: a
  model that gains nothing from the true order does as well on shuffled histories).
- :func:`length_batches`: batches of sequences of similar length, so that little compute goes
  to padding; each batch holds at most ``tokens`` positions (rows × longest row).
- :class:`SelfAttentionModel`: movie vectors plus learned positions (counted back from the most
  recent movie, so a batch of any length means the same thing), ``blocks`` causal self-attention
  blocks (``keras.layers.MultiHeadAttention`` with a causal and a padding mask, layer norm,
  dropout, a feed-forward layer), and an output that scores every movie of the vocabulary with
  the input table (``tied=True``) or a table of its own. Its loss (:meth:`compute_loss`) is the
  softmax cross-entropy over the vocabulary at every real position (``loss="softmax"``), the
  same over ``negatives`` ids drawn once per batch and shared by all its positions
  (``loss="sampled"``; uniform or popularity draws with the logQ correction), or the binary
  loss with one random negative per position (``loss="binary"``, the original recipe).
- :func:`train_self_attention` trains it with Adam (a constant learning rate, or warm-up then
  cosine decay: :func:`learning_rate_schedule`) until the validation HR@10 stops improving;
  :class:`SelfAttentionRecommender` puts it behind :class:`cfcourse.recommenders.Recommender`.

Vocabulary ids follow :mod:`cfcourse.sequences`: 0 padding, 1 a movie outside the vocabulary,
2.. the kept movies (by default every movie with a training rating).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
from keras import ops

from .recommenders import Recommender
from .sequences import OOV, PAD, Vocabulary, _as_sequences, _whole_number, check_length, pad_histories

__all__ = ["LOSSES", "SAMPLINGS", "SCHEDULES", "BODIES", "learning_rate_schedule", "TrainingSequences",
           "training_sequences", "shuffle_histories", "length_batches",
           "SelfAttentionModel", "SelfAttentionTrainResult", "train_self_attention", "last_position_scores",
           "SelfAttentionRecommender"]

#: The training objectives: full softmax cross-entropy, a softmax over negatives sampled once per
#: batch and shared by all its positions, or binary with one negative.
LOSSES = ("softmax", "sampled", "binary")
#: How the shared negatives of ``loss="sampled"`` are drawn: uniformly over the vocabulary, or in
#: proportion to training popularity (with the logQ correction).
SAMPLINGS = ("uniform", "popularity")
#: Learning-rate schedules of :func:`train_self_attention`: constant, or linear warm-up then cosine decay.
SCHEDULES = ("constant", "cosine")
#: What reads the history: causal self-attention blocks, or one GRU layer (the same training either way).
BODIES = ("attention", "gru")


# --------------------------------------------------------------------------------------
# Data: whole histories, every position a target, batches by length
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingSequences:
    """Variable-length training pairs: ``inputs[i]`` and ``targets[i]`` hold vocabulary ids.

    ``targets[i][t]`` is the movie rated right after ``inputs[i][t]``; a target of 0 or 1
    (padding, out of vocabulary) is not trained.
    """

    inputs: list
    targets: list

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def lengths(self) -> np.ndarray:
        return np.array([len(x) for x in self.inputs], dtype=np.int64)

    @property
    def n_targets(self) -> int:
        """How many predictions one pass trains."""
        return int(sum(int(np.count_nonzero(y > OOV)) for y in self.targets))


def shuffle_histories(histories, seed: int) -> list[np.ndarray]:
    """Each history with its movies in a random order (seeded; the same movies, per user)."""
    rng = np.random.default_rng(seed)
    return [rng.permutation(h) for h in _as_sequences(histories, "histories")]


def training_sequences(histories, vocabulary: Vocabulary, max_length, *, all_pieces: bool = True,
                       shuffle_seed: int | None = None) -> TrainingSequences:
    """(input, next movie) pairs of each history, cut into pieces of at most ``max_length``.

    A history ``m_0 … m_n`` (dense movie indices, oldest first) gives the inputs ``m_0 … m_{n-1}``
    and the targets ``m_1 … m_n``, cut from the most recent end; ``all_pieces=False`` keeps only
    the most recent piece of each user (the most recent ``max_length`` pairs). A history with
    fewer than two movies gives nothing (there is no next movie); if no history has two, that
    is an error. Give it the *training* histories (``split.history("valid")``).
    """
    max_length = check_length(max_length)
    seqs = _as_sequences(histories, "histories")
    if shuffle_seed is not None:
        seqs = shuffle_histories(seqs, shuffle_seed)
    inputs, targets = [], []
    for h in seqs:
        ids = vocabulary.encode(h).astype(np.int32)
        x, y = ids[:-1], ids[1:]
        for end in range(len(x), 0, -max_length):
            start = max(0, end - max_length)
            inputs.append(x[start:end])
            targets.append(y[start:end])
            if not all_pieces:
                break
    if not inputs:
        raise ValueError("no history has two movies or more, so there is no (movie, next movie) pair to train on: "
                         "a user with a single rating tells nothing about what comes next")
    return TrainingSequences(inputs, targets)


def length_batches(lengths, tokens: int, seed: int = 0) -> list[np.ndarray]:
    """Indices of sequences grouped into batches of similar length, in a seeded random order.

    Sequences are sorted by length (ties in a random order) and cut into consecutive batches
    whose rows × longest row stays within ``tokens`` (a sequence longer than ``tokens`` gets a
    batch of its own); the batches are then shuffled. Every index appears exactly once.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    tokens = _whole_number(tokens, "tokens", 1)
    if lengths.ndim != 1 or np.any(lengths < 1):
        raise ValueError("lengths must be one positive length per sequence")
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(lengths)), lengths))
    batches, start = [], 0
    while start < len(order):
        end = start + 1
        # sorted ascending: the row just added is the longest of the batch
        while end < len(order) and (end + 1 - start) * lengths[order[end]] <= tokens:
            end += 1
        batches.append(order[start:end])
        start = end
    return [batches[i] for i in rng.permutation(len(batches))]


def _batches(sequences: TrainingSequences, tokens: int, seed: int, round_to: int = 8):
    """A ``tf.data.Dataset`` of left-padded (inputs, targets) batches of similar length.

    The batches are drawn again (seeded: ``seed``, then ``seed + 1``, ...) each time the
    dataset is read, i.e. every epoch. Widths vary from batch to batch, so the signature
    leaves both sizes open (one traced training step for every batch shape).
    """
    import tensorflow as tf

    epoch = [0]

    def generate():
        batches = length_batches(sequences.lengths, tokens, seed + epoch[0])
        epoch[0] += 1
        for rows in batches:
            width = max(len(sequences.inputs[r]) for r in rows)
            width = int(math.ceil(width / round_to) * round_to)
            yield (pad_histories([sequences.inputs[r] for r in rows], width),
                   pad_histories([sequences.targets[r] for r in rows], width))

    spec = tf.TensorSpec(shape=(None, None), dtype=tf.int32)
    # the batches' sizes follow from the sorted lengths alone, so every epoch has as many
    count = len(length_batches(sequences.lengths, tokens, seed))
    dataset = tf.data.Dataset.from_generator(generate, output_signature=(spec, spec))
    return dataset.apply(tf.data.experimental.assert_cardinality(count)).prefetch(2)


# --------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="cfcourse")
def _check_choices(**chosen: str) -> None:
    """Refuse a ``loss``, ``body`` or ``sampling`` outside :data:`LOSSES`, :data:`BODIES`, :data:`SAMPLINGS`."""
    allowed = {"loss": LOSSES, "body": BODIES, "sampling": SAMPLINGS}
    for option, value in chosen.items():
        if value not in allowed[option]:
            raise ValueError(f"{option} must be one of {allowed[option]}, got {value!r}")


class SelfAttentionModel(keras.Model):
    """Vocabulary ids in time order (left-padded) → a summary vector at every position.

    ``model(ids)`` returns the ``(batch, length, embedding_dim)`` states; position ``t`` has read
    the movies at ``0..t`` only (causal mask; padding is masked). :meth:`logits` turns states
    into one score per vocabulary id: ``state · table[j] + bias[j]``, where the table is the
    input one (``tied=True``) or the model's own output table. ``positions=False`` leaves out
    the position vectors (the model then sees a set of earlier movies plus the causal mask).
    ``body="gru"`` reads the history with one ``keras.layers.GRU`` instead of the attention blocks
    (a recurrent layer is causal by construction and reads the order itself), trained the same way:
    every position a target, the same loss, table and batches.
    """

    def __init__(self, vocabulary_size: int, max_length: int = 200, embedding_dim: int = 64, blocks: int = 2,
                 heads: int = 1, dropout: float = 0.2, positions: bool = True, tied: bool = True,
                 loss: str = "softmax", body: str = "attention", negatives: int = 2048,
                 sampling: str = "uniform", **kwargs):
        super().__init__(**kwargs)
        vocabulary_size = _whole_number(vocabulary_size, "vocabulary_size", 3)
        self.max_length = check_length(max_length)
        self.embedding_dim = _whole_number(embedding_dim, "embedding_dim", 1)
        self.blocks = _whole_number(blocks, "blocks", 1)
        self.heads = _whole_number(heads, "heads", 1)
        if self.embedding_dim % self.heads:
            raise ValueError(f"embedding_dim ({embedding_dim}) must be a multiple of heads ({heads})")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        _check_choices(loss=loss, body=body, sampling=sampling)
        self.negatives = _whole_number(negatives, "negatives", 1)
        self.sampling = sampling
        self.body = body
        self.vocabulary_size, self.dropout_rate = vocabulary_size, float(dropout)
        self.use_positions, self.tied, self.loss_kind = bool(positions), bool(tied), loss
        d = self.embedding_dim
        self.movie_embedding = keras.layers.Embedding(vocabulary_size, d, name="movie_embedding")
        self.position_embedding = keras.layers.Embedding(self.max_length, d, name="position_embedding") \
            if self.use_positions else None
        self.input_dropout = keras.layers.Dropout(self.dropout_rate)
        self.attention_norms, self.attentions, self.ff_norms, self.ff_in, self.ff_out, self.drops = \
            [], [], [], [], [], []
        for b in range(self.blocks if body == "attention" else 0):
            self.attention_norms.append(keras.layers.LayerNormalization(epsilon=1e-6, name=f"norm_attention_{b}"))
            self.attentions.append(keras.layers.MultiHeadAttention(self.heads, d // self.heads,
                                                                   dropout=self.dropout_rate, name=f"attention_{b}"))
            self.ff_norms.append(keras.layers.LayerNormalization(epsilon=1e-6, name=f"norm_feed_forward_{b}"))
            self.ff_in.append(keras.layers.Dense(d, activation="relu", name=f"feed_forward_{b}"))
            self.ff_out.append(keras.layers.Dense(d, name=f"feed_forward_out_{b}"))
            self.drops.append(keras.layers.Dropout(self.dropout_rate))
        self.recurrent = keras.layers.GRU(d, return_sequences=True, name="gru") if body == "gru" else None
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-6, name="norm_final")
        self.output_embedding = None if self.tied else \
            keras.layers.Embedding(vocabulary_size, d, name="output_embedding")
        self.negative_seeds = keras.random.SeedGenerator(0)

    def build(self, input_shape=None):
        d = self.embedding_dim
        self.movie_embedding.build((None, None))
        if self.position_embedding is not None:
            self.position_embedding.build((None,))
        if self.recurrent is not None:
            self.recurrent.build((None, None, d))
        for b in range(len(self.attentions)):
            self.attention_norms[b].build((None, None, d))
            self.attentions[b].build((None, None, d), (None, None, d))
            self.ff_norms[b].build((None, None, d))
            self.ff_in[b].build((None, None, d))
            self.ff_out[b].build((None, None, d))
        self.final_norm.build((None, None, d))
        if self.output_embedding is not None:
            self.output_embedding.build((None,))
        self.next_bias = self.add_weight(name="next_bias", shape=(self.vocabulary_size,), initializer="zeros")
        if self.loss_kind == "sampled":
            # log-probability of drawing each id as a shared negative; padding and OOV are never drawn
            log_q = np.full(self.vocabulary_size, -math.log(self.vocabulary_size - 2), dtype="float32")
            log_q[:2] = -1e9
            self.sampling_log_q = self.add_weight(name="sampling_log_q", shape=(self.vocabulary_size,),
                                                  initializer=keras.initializers.Constant(log_q), trainable=False)
        self.built = True

    def set_sampling(self, counts) -> None:
        """Draw ``loss="sampled"``'s negatives in proportion to ``counts`` (one per vocabulary id; ids 0, 1 never).

        Only read when ``sampling="popularity"``; each id keeps a share of at least one count.
        """
        if self.loss_kind != "sampled":
            raise ValueError(f"set_sampling is for loss='sampled', this model's loss is {self.loss_kind!r}")
        counts = np.asarray(counts, dtype=np.float64)
        if counts.shape != (self.vocabulary_size,) or not np.all(np.isfinite(counts)) or np.any(counts < 0):
            raise ValueError(f"counts must be {self.vocabulary_size} non-negative numbers, one per vocabulary id")
        share = np.maximum(counts, 1.0)
        share[:2] = 0.0
        log_q = np.full(self.vocabulary_size, -1e9)
        log_q[2:] = np.log(share[2:] / share[2:].sum())
        self.sampling_log_q.assign(log_q.astype("float32"))

    @property
    def output_table(self):
        """The (vocabulary_size, embedding_dim) table that scores the next movie."""
        return (self.movie_embedding if self.tied else self.output_embedding).embeddings

    def call(self, ids, training=False):
        ids = ops.cast(ids, "int32")
        length = ops.shape(ids)[1]
        mask = ops.not_equal(ids, PAD)
        x = self.movie_embedding(ids)
        if self.position_embedding is not None:
            # position 0 is the most recent movie, 1 the one before, ...: the same for any padding
            back = ops.maximum(length - 1 - ops.arange(length), 0)
            back = ops.minimum(back, self.max_length - 1)
            x = x + self.position_embedding(back)[None, :, :]
        x = self.input_dropout(x * ops.cast(mask, x.dtype)[..., None], training=training)
        if self.recurrent is not None:  # left padding is masked: the state starts at the first movie
            x = self.recurrent(x, mask=mask, training=training)
            return self.final_norm(x * ops.cast(mask, x.dtype)[..., None])
        steps = ops.arange(length)
        causal = ops.greater_equal(steps[:, None], steps[None, :])[None, :, :]
        # a real movie attends to real movies up to itself; padding only to itself (never empty)
        allowed = ops.logical_or(ops.logical_and(causal, mask[:, None, :]),
                                 ops.equal(steps[:, None], steps[None, :])[None, :, :])
        for b in range(len(self.attentions)):
            h = self.attention_norms[b](x)
            x = x + self.drops[b](self.attentions[b](h, h, attention_mask=allowed, training=training),
                                  training=training)
            h = self.ff_norms[b](x)
            x = x + self.drops[b](self.ff_out[b](self.ff_in[b](h)), training=training)
            x = x * ops.cast(mask, x.dtype)[..., None]
        return self.final_norm(x)

    def logits(self, states):
        """One score per vocabulary id for each state: ``(..., vocabulary_size)``."""
        return ops.matmul(states, ops.transpose(self.output_table)) + self.next_bias

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """Mean loss over the positions whose target is a movie of the vocabulary (ids ≥ 2)."""
        d = self.embedding_dim
        targets = ops.reshape(ops.cast(y, "int32"), (-1,))
        states = ops.reshape(y_pred, (-1, d))
        keep = ops.nonzero(ops.greater(targets, OOV))[0]
        targets, states = ops.take(targets, keep), ops.take(states, keep, axis=0)
        if self.loss_kind == "softmax":
            logits = self.logits(states)
            loss = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
        elif self.loss_kind == "sampled":
            loss = self._sampled_softmax(states, targets)
        else:
            negatives = keras.random.randint(ops.shape(targets), 2, self.vocabulary_size, dtype="int32",
                                             seed=self.negative_seeds)
            table = self.output_table

            def score(ids):
                return ops.sum(states * ops.take(table, ids, axis=0), axis=-1) + ops.take(self.next_bias, ids)

            loss = ops.softplus(-score(targets)) + ops.softplus(score(negatives))
        total = ops.mean(loss)
        for extra in self.losses:
            total = total + extra
        return total

    def draw_negatives(self):
        """``negatives`` vocabulary ids (with repeats; never padding or OOV), drawn by ``sampling``."""
        if self.loss_kind != "sampled":
            raise ValueError(f"draw_negatives is for loss='sampled', this model's loss is {self.loss_kind!r}")
        if self.sampling == "uniform":
            return keras.random.randint((self.negatives,), 2, self.vocabulary_size, dtype="int32",
                                        seed=self.negative_seeds)
        return ops.cast(keras.random.categorical(self.sampling_log_q[None, :], self.negatives,
                                                 seed=self.negative_seeds)[0], "int32")

    def _sampled_softmax(self, states, targets):
        """Cross-entropy of each target against ``negatives`` ids drawn once for the whole batch.

        Every logit is ``state · table[j] + bias[j] - log q(j)`` (the logQ correction: with the
        draws' own probabilities subtracted, the sampled softmax estimates the full one; for uniform
        draws it is one constant and changes nothing). A drawn id equal to a position's target is
        masked for that position (no "accidental hit" counts as a negative).
        """
        table = self.output_table
        drawn = self.draw_negatives()
        positive = ops.sum(states * ops.take(table, targets, axis=0), axis=-1) + ops.take(self.next_bias, targets)
        negative = ops.matmul(states, ops.transpose(ops.take(table, drawn, axis=0))) + ops.take(self.next_bias, drawn)
        positive = positive - ops.take(self.sampling_log_q, targets)
        negative = negative - ops.take(self.sampling_log_q, drawn)[None, :]
        hit = ops.equal(targets[:, None], drawn[None, :])
        negative = ops.where(hit, ops.full_like(negative, -1e9), negative)
        logits = ops.concatenate([positive[:, None], negative], axis=1)
        return ops.logsumexp(logits, axis=1) - positive

    def get_config(self):
        config = super().get_config()
        config.update(vocabulary_size=self.vocabulary_size, max_length=self.max_length,
                      embedding_dim=self.embedding_dim, blocks=self.blocks, heads=self.heads,
                      dropout=self.dropout_rate, positions=self.use_positions, tied=self.tied,
                      loss=self.loss_kind, body=self.body, negatives=self.negatives, sampling=self.sampling)
        return config


def last_position_scores(model: SelfAttentionModel, vocabulary: Vocabulary, histories,
                         batch_size: int = 256) -> np.ndarray:
    """Scores of every catalogue movie as the next one after each history: ``(len(histories), n_movies)``.

    Each history (dense movie indices, oldest first) is encoded (movies outside the vocabulary
    become the out-of-vocabulary id), cut to its most recent ``model.max_length`` movies and
    left-padded; the state after the last movie scores every movie. An empty history is an
    error: there is nothing to read (recommend by popularity to someone without a history).
    """
    seqs = _as_sequences(histories, "histories")
    empty = [i for i, h in enumerate(seqs) if h.size == 0]
    if empty:
        raise ValueError(f"history {empty[:5]} is empty: the model needs at least one movie to predict the next "
                         "(for someone without history, recommend by popularity)")
    if model.vocabulary_size != vocabulary.size:
        raise ValueError(f"the model scores {model.vocabulary_size} vocabulary ids but the vocabulary has "
                         f"{vocabulary.size}: use the vocabulary the model was built with")
    encoded = [vocabulary.encode(h)[-model.max_length:] for h in seqs]
    order = np.argsort([len(e) for e in encoded], kind="stable")
    logits = np.zeros((len(encoded), vocabulary.size), dtype=np.float32)
    for i in range(0, len(order), batch_size):
        rows = order[i:i + batch_size]
        width = max(len(encoded[r]) for r in rows)
        ids = pad_histories([encoded[r] for r in rows], width)
        states = model(ids, training=False)[:, -1, :]
        logits[rows] = keras.ops.convert_to_numpy(model.logits(states))
    return vocabulary.catalogue_scores(logits)


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------


@dataclass
class SelfAttentionTrainResult:
    """What :func:`train_self_attention` returns: the model (best epoch restored) and its history."""

    model: SelfAttentionModel
    history: pd.DataFrame  # columns: epoch, loss, val_hr
    best_epoch: int
    val_hr: float
    seconds: float
    sequences: TrainingSequences
    cpu_seconds: float = float("nan")  # the process's CPU time while training (all threads)


def learning_rate_schedule(learning_rate: float, schedule: str = "constant", *, steps_per_epoch: int = 1,
                           epochs: int = 1, warmup_epochs: float = 1.0, final_fraction: float = 0.1):
    """The learning rate of :func:`train_self_attention`: a number, or a ``keras.optimizers.schedules`` schedule.

    ``"constant"`` gives ``learning_rate`` itself. ``"cosine"`` rises linearly from 0 to
    ``learning_rate`` over the first ``warmup_epochs`` epochs, then falls along a half cosine to
    ``final_fraction × learning_rate`` at the end of epoch ``epochs`` (and stays there).
    """
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if schedule == "constant":
        return float(learning_rate)
    steps_per_epoch = _whole_number(steps_per_epoch, "steps_per_epoch", 1)
    epochs = _whole_number(epochs, "epochs", 1)
    if not 0 <= warmup_epochs < epochs:
        raise ValueError(f"warmup_epochs must be in [0, epochs={epochs}), got {warmup_epochs}")
    if not 0 <= final_fraction <= 1:
        raise ValueError(f"final_fraction must be in [0, 1], got {final_fraction}")
    warmup = int(round(warmup_epochs * steps_per_epoch))
    return keras.optimizers.schedules.CosineDecay(0.0, epochs * steps_per_epoch - warmup, alpha=float(final_fraction),
                                                  warmup_target=float(learning_rate), warmup_steps=warmup)


def train_self_attention(model: SelfAttentionModel, split, vocabulary: Vocabulary, *, epochs: int = 200,
                         patience: int = 10, learning_rate: float = 1e-3, schedule: str = "constant",
                         warmup_epochs: float = 1.0, final_fraction: float = 0.1, tokens: int = 4096,
                         all_pieces: bool = True, shuffle_seed: int | None = None, init_popularity: bool = True,
                         k: int = 10, seed: int | None = 42, verbose: int = 0,
                         validate: bool = True) -> SelfAttentionTrainResult:
    """Train on every position of each user's *training* history; stop when validation HR@``k`` stops rising.

    Adam on :meth:`SelfAttentionModel.compute_loss`, over batches of similar length with at most
    ``tokens`` positions each (:func:`length_batches`). After every epoch the model reads each
    user's training history and its HR@``k`` on the validation part is measured; training stops
    after ``patience`` epochs without a better one and the best epoch's weights are restored.
    With ``shuffle_seed`` both the training histories and the histories read for validation
    are shuffled within each user (the order control). With ``init_popularity`` the output
    biases start at the log-share of each movie's training ratings (the model starts as the
    popularity ranking). ``schedule="cosine"`` warms the learning rate up over ``warmup_epochs``
    and decays it to ``final_fraction`` of its peak by epoch ``epochs``
    (:func:`learning_rate_schedule`). A model with ``loss="sampled", sampling="popularity"``
    draws its negatives by the training counts.
    """
    from .ranking import TemporalSplit
    from .training import best_hit_rate_callback, hit_rate_history, seed_everything

    if not isinstance(split, TemporalSplit):
        raise TypeError(f"train_self_attention expects a ranking.TemporalSplit (from ranking.temporal_split), got "
                        f"{type(split).__name__}")
    epochs, patience = _whole_number(epochs, "epochs", 1), _whole_number(patience, "patience", 0)
    learning_rate_schedule(learning_rate, schedule, epochs=epochs, warmup_epochs=warmup_epochs,
                           final_fraction=final_fraction)  # bad settings fail here, before any work
    if vocabulary.n_movies != split.n_movies:
        raise ValueError(f"the vocabulary indexes a catalogue of {vocabulary.n_movies} movies, the split has "
                         f"{split.n_movies}: build it from split.train_counts()")
    if model.vocabulary_size != vocabulary.size:
        raise ValueError(f"the model scores {model.vocabulary_size} vocabulary ids but the vocabulary has "
                         f"{vocabulary.size}: build the model with vocabulary_size=vocabulary.size")
    if validate and len(split.valid) == 0:
        raise ValueError("the split has no validation part (n_valid=0): pass validate=False and a number of epochs")
    histories = split.history("valid")
    sequences = training_sequences(histories, vocabulary, model.max_length, all_pieces=all_pieces,
                                   shuffle_seed=shuffle_seed)
    if seed is not None:
        seed_everything(seed)
    if not model.built:
        model.build((None, None))
    rated = split.train_counts()[vocabulary.movies].astype(np.float64)  # training ratings per kept movie
    if init_popularity:
        counts = np.r_[1e-3, 1e-3, rated + 1.0]  # padding and out of vocabulary are never a target
        model.next_bias.assign(np.log(counts / counts.sum()).astype("float32"))
    if model.loss_kind == "sampled" and model.sampling == "popularity":
        model.set_sampling(np.r_[0.0, 0.0, rated])
    steps = len(length_batches(sequences.lengths, tokens))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate_schedule(
        learning_rate, schedule, steps_per_epoch=steps, epochs=epochs, warmup_epochs=warmup_epochs,
        final_fraction=final_fraction)))
    score, relevant, known = None, None, None
    if validate:
        read = shuffle_histories(histories, shuffle_seed) if shuffle_seed is not None else histories
        relevant, known = split.relevant("valid"), split.known("valid")

        def score(m):
            return last_position_scores(m, vocabulary, read)

    callback = best_hit_rate_callback(score, relevant, known, k=k, patience=patience)
    batches = _batches(sequences, tokens, seed=0 if seed is None else int(seed))
    start, cpu = time.perf_counter(), time.process_time()
    fit = model.fit(batches, epochs=epochs, callbacks=[callback], verbose=verbose, shuffle=False)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    history, best_epoch, val_hr = hit_rate_history(fit, callback, model, restore=validate)
    return SelfAttentionTrainResult(model, history, best_epoch, val_hr, seconds, sequences, cpu)


class SelfAttentionRecommender(Recommender):
    """:class:`SelfAttentionModel` as a recommender on the ranking protocol.

    ``fit`` builds a :class:`~cfcourse.sequences.Vocabulary` of the ``vocabulary_size`` most-rated
    training movies (``None``: every movie with a training rating), the model (after
    ``training.seed_everything(seed)``) and trains it with :func:`train_self_attention` (other
    keyword arguments go there). ``score`` reads each user's history up to the evaluation point
    (``split.history(part)``: for the test part, the training and validation movies), keeps the
    most recent ``max_length`` and scores every movie after the last one. With ``shuffle_seed``
    the histories it reads are shuffled within each user, as in training (the order control).
    """

    name = "self-attention"

    def __init__(self, *, vocabulary_size: int | None = None, max_length: int = 200, embedding_dim: int = 64,
                 blocks: int = 2, heads: int = 1, dropout: float = 0.2, positions: bool = True, tied: bool = True,
                 loss: str = "softmax", body: str = "attention", negatives: int = 2048, sampling: str = "uniform",
                 shuffle_seed: int | None = None, seed: int = 42, name: str | None = None, **train_kwargs):
        super().__init__(name)
        if vocabulary_size is not None:
            _whole_number(vocabulary_size, "vocabulary_size", 1)
        self.vocabulary_size, self.shuffle_seed, self.seed = vocabulary_size, shuffle_seed, seed
        self.model_options = dict(max_length=check_length(max_length), embedding_dim=embedding_dim, blocks=blocks,
                                  heads=heads, dropout=dropout, positions=positions, tied=tied, loss=loss,
                                  body=body, negatives=negatives, sampling=sampling)
        _check_choices(loss=loss, body=body, sampling=sampling)
        self.train_kwargs = train_kwargs

    def _fit(self, split):
        from .training import seed_everything

        self.vocabulary_ = Vocabulary.from_counts(split.train_counts(), self.vocabulary_size)
        seed_everything(self.seed)
        self.model_ = SelfAttentionModel(self.vocabulary_.size, **self.model_options)
        self.result_ = train_self_attention(self.model_, split, self.vocabulary_, seed=self.seed,
                                            shuffle_seed=self.shuffle_seed, **self.train_kwargs)

    def _score(self, split, part, users):
        histories = split.history(part)
        read = [histories[u] for u in users]
        if self.shuffle_seed is not None:
            read = shuffle_histories(read, self.shuffle_seed)
        return last_position_scores(self.model_, self.vocabulary_, read)

    def score_histories(self, histories) -> np.ndarray:
        """Scores of every catalogue movie after each of ``histories`` (dense movie indices, oldest first)."""
        if not hasattr(self, "model_"):
            raise RuntimeError(f"{self.name!r} is not fitted yet: call .fit(split) first")
        return last_position_scores(self.model_, self.vocabulary_, histories)
