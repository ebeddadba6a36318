"""Histories as sequences (cfcourse.sequences, cfcourse.sequence_models): vocabulary, padding, windows,
next-movie models, masks, the recommender and the leak helpers, on small hand-made data."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from cfcourse import data, ranking, sequence_models as sm, sequences as sq, training
from ranking_data import random_encoded, toy_encoded


def counts_of(*values):
    return np.array(values)


# --------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------


def test_vocabulary_keeps_the_most_rated_movies_ties_by_index_and_never_the_unrated():
    vocab = sq.Vocabulary.from_counts(counts_of(3, 0, 5, 3, 1, 0), size=3)
    assert vocab.movies.tolist() == [2, 0, 3] and vocab.size == 5 and vocab.n_movies == 6
    everything = sq.Vocabulary.from_counts(counts_of(3, 0, 5, 3, 1, 0))
    assert everything.movies.tolist() == [2, 0, 3, 4]  # the two unrated movies get no row
    assert sq.Vocabulary.from_counts(counts_of(3, 0, 5), size=10).movies.tolist() == [2, 0]


def test_encode_maps_kept_movies_to_2_and_up_and_unknown_movies_to_oov():
    vocab = sq.Vocabulary.from_counts(counts_of(3, 0, 5, 3, 1, 0), size=3)
    assert vocab.encode([2, 0, 3, 4, 1, 5]).tolist() == [2, 3, 4, sq.OOV, sq.OOV, sq.OOV]
    assert vocab.encode(np.array([[2.0, 4.0]])).tolist() == [[2, 1]]
    assert vocab.encode([]).shape == (0,)
    assert vocab.decode([0, 1, 2, 3, 4]).tolist() == [-1, -1, 2, 0, 3]
    assert vocab.coverage([2, 0, 4, 5]) == 0.5


@pytest.mark.parametrize("movies, error, message", [
    ([0, 6], IndexError, r"movie index \[6\] outside the catalogue 0..5"),
    ([-1], IndexError, r"movie index \[-1\] outside"),
    ([1.5], TypeError, "whole numbers"),
    (["a"], TypeError, "whole numbers"),
])
def test_encode_refuses_indices_outside_the_catalogue(movies, error, message):
    with pytest.raises(error, match=message):
        sq.Vocabulary.from_counts(counts_of(3, 0, 5, 3, 1, 0)).encode(movies)


@pytest.mark.parametrize("counts, size, error, message", [
    (np.array([]), None, ValueError, "one non-negative count per movie"),
    (np.array([1, -1]), None, ValueError, "one non-negative count per movie"),
    (np.array([0, 0]), None, ValueError, "no movie has a rating"),
    (np.array([1, 2]), 0, ValueError, "size must be at least 1"),
    (np.array([1, 2]), 1.5, TypeError, "size must be a whole number"),
])
def test_vocabulary_refuses_bad_counts_and_sizes(counts, size, error, message):
    with pytest.raises(error, match=message):
        sq.Vocabulary.from_counts(counts, size)


def test_catalogue_scores_drop_padding_and_oov_and_rank_unkept_movies_last():
    vocab = sq.Vocabulary.from_counts(counts_of(3, 0, 5, 3, 1, 0), size=3)
    logits = np.array([[100.0, 90.0, 1.0, 2.0, 3.0]])  # padding and OOV have the largest logits
    scores = vocab.catalogue_scores(logits)
    assert scores.shape == (1, 6) and scores.dtype == np.float32
    assert scores[0].tolist() == [2.0, -np.inf, 1.0, 3.0, -np.inf, -np.inf]
    assert ranking.top_k_lists(scores, k=3)[0].tolist() == [3, 0, 2]
    with pytest.raises(ValueError, match=r"shape \(rows, 5\)"):
        vocab.catalogue_scores(np.zeros((1, 4)))


def test_integer_lookup_on_raw_movie_ids_equals_the_vocabulary():
    encoded = toy_encoded()
    split = ranking.temporal_split(encoded, n_test=1, n_valid=1)
    vocab = sq.Vocabulary.from_counts(split.train_counts(), size=4)
    lookup = vocab.integer_lookup(encoded.movies)
    everything = np.arange(encoded.n_movies)
    raw = encoded.movies.decode(everything)
    ours = vocab.encode(everything)
    theirs = keras.ops.convert_to_numpy(lookup(raw))
    assert theirs.tolist() == ours.tolist()
    assert keras.ops.convert_to_numpy(lookup(np.array([0, 12345]))).tolist() == [sq.PAD, sq.OOV]
    assert lookup.vocabulary_size() == vocab.size
    assert sorted(set(ours.tolist())) == [1, 2, 3, 4, 5]


# --------------------------------------------------------------------------------------
# Padding
# --------------------------------------------------------------------------------------


def test_pre_padding_keeps_the_newest_movies_at_the_end_post_keeps_the_oldest():
    histories = [[5, 6, 7, 8, 9], [3, 4]]
    assert sq.pad_histories(histories, 3).tolist() == [[7, 8, 9], [0, 3, 4]]
    assert sq.pad_histories(histories, 3, padding="post", truncating="post").tolist() == [[5, 6, 7], [3, 4, 0]]
    assert sq.pad_histories(histories, 3, padding="post").tolist() == [[7, 8, 9], [3, 4, 0]]
    assert sq.pad_histories([[], [2]], 2).tolist() == [[0, 0], [0, 2]]
    assert sq.pad_histories([], 4).shape == (0, 4)
    assert sq.pad_histories(histories, 3).dtype == np.int32


@pytest.mark.parametrize("length, error, message", [
    (0, ValueError, "must be at least 1"),
    (-3, ValueError, "must be at least 1"),
    (2.5, TypeError, "whole number"),
    (True, TypeError, "whole number"),
])
def test_a_length_below_one_is_refused(length, error, message):
    with pytest.raises(error, match=message):
        sq.pad_histories([[2, 3]], length)
    with pytest.raises(error, match=message):
        sq.next_movie_windows([[0, 1, 2]], sq.Vocabulary.from_counts(counts_of(1, 1, 1)), length)


@pytest.mark.parametrize("kwargs, sequences, error, message", [
    (dict(padding="front"), [[2]], ValueError, "padding must be 'pre' or 'post'"),
    (dict(truncating="end"), [[2]], ValueError, "truncating must be 'pre' or 'post'"),
    ({}, np.array([2, 3]), TypeError, r"wrap it in a list, \[history\]"),
    ({}, [[2, -1]], ValueError, "negative id"),
    ({}, [[[2, 3]]], ValueError, "flat sequence"),
    ({}, [[2.5]], TypeError, "whole numbers"),
])
def test_padding_refuses_bad_arguments(kwargs, sequences, error, message):
    with pytest.raises(error, match=message):
        sq.pad_histories(sequences, 3, **kwargs)


# --------------------------------------------------------------------------------------
# Windows
# --------------------------------------------------------------------------------------


def test_windows_pair_each_movie_with_the_next_and_cut_from_the_newest_end():
    vocab = sq.Vocabulary.from_counts(np.arange(10, 0, -1))  # movie m has id m + 2
    w = sq.next_movie_windows([np.arange(6)], vocab, 3)
    # pairs (0,1) (1,2) (2,3) (3,4) (4,5): the newest window holds the last three pairs
    assert w.inputs.tolist() == [[4, 5, 6], [0, 2, 3]]
    assert w.targets.tolist() == [[5, 6, 7], [0, 3, 4]]
    assert w.weights.tolist() == [[1, 1, 1], [0, 1, 1]] and w.n_targets == 5 and len(w) == 2


def test_windows_train_neither_padding_nor_oov_targets_and_honour_max_targets():
    vocab = sq.Vocabulary.from_counts(np.array([5, 4, 3, 0, 0]), size=2)  # movies 0, 1 kept
    w = sq.next_movie_windows([[0, 1, 2, 0, 1]], vocab, 4)
    assert w.inputs.tolist() == [[2, 3, 1, 2]] and w.targets.tolist() == [[3, 1, 2, 3]]
    assert w.weights.tolist() == [[1, 0, 1, 1]]  # the target movie 2 is outside the vocabulary
    capped = sq.next_movie_windows([[0, 1, 2, 0, 1]], vocab, 4, max_targets=2)
    assert capped.inputs.tolist() == [[0, 0, 1, 2]] and capped.weights.tolist() == [[0, 0, 1, 1]]
    with pytest.raises(ValueError, match="max_targets must be at least 1"):
        sq.next_movie_windows([[0, 1]], vocab, 4, max_targets=0)


def test_a_user_with_one_rating_or_none_gives_no_window():
    vocab = sq.Vocabulary.from_counts(np.array([5, 4, 3]))
    w = sq.next_movie_windows([[0], [], [1, 2]], vocab, 4)
    assert len(w) == 1 and w.targets.tolist() == [[0, 0, 0, 4]]
    with pytest.raises(ValueError, match="no history has two movies or more"):
        sq.next_movie_windows([[0], []], vocab, 4)


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------

VOCAB, DIM, LENGTH = 9, 4, 5


def model_of(kind, seed=3):
    training.seed_everything(seed)
    model = sm.NextMovieModel(VOCAB, kind=kind, embedding_dim=DIM, length=LENGTH)
    model(np.zeros((1, LENGTH), np.int32))
    return model


def out(model, ids):
    return keras.ops.convert_to_numpy(model(np.asarray(ids, np.int32), training=False))


@pytest.mark.parametrize("kind", sm.KINDS)
def test_every_position_scores_every_vocabulary_id_and_sees_only_the_past(kind):
    model = model_of(kind)
    a = out(model, [[0, 2, 3, 4, 5]])
    b = out(model, [[0, 2, 3, 8, 7]])  # differs from position 3 on
    assert a.shape == (1, LENGTH, VOCAB)
    np.testing.assert_allclose(a[0, :3], b[0, :3], atol=1e-6)
    assert not np.allclose(a[0, 3:], b[0, 3:])


@pytest.mark.parametrize("kind", ["bag", "gru"])  # attention adds position vectors: it needs pre-padding
def test_with_the_mask_pre_and_post_padding_give_the_same_prediction(kind):
    model = model_of(kind)
    pre = out(model, [[0, 0, 2, 3, 4]])[0, -1]
    post = out(model, [[2, 3, 4, 0, 0]])[0, 2]  # after the same three movies
    np.testing.assert_allclose(pre, post, atol=1e-5)


def test_a_gru_without_the_mask_reads_the_padding_and_changes_its_answer():
    training.seed_everything(0)
    embedding = keras.layers.Embedding(VOCAB, DIM)
    gru = keras.layers.GRU(DIM)
    pre, post = np.array([[0, 0, 2, 3, 4]]), np.array([[2, 3, 4, 0, 0]])
    unmasked = [keras.ops.convert_to_numpy(gru(embedding(x))) for x in (pre, post)]
    masked = [keras.ops.convert_to_numpy(gru(embedding(x), mask=x != 0)) for x in (pre, post)]
    np.testing.assert_allclose(masked[0], masked[1], atol=1e-6)
    assert np.abs(unmasked[0] - unmasked[1]).max() > 1e-3


def test_the_bag_ignores_order_the_gru_does_not():
    bag, gru = model_of("bag"), model_of("gru")
    one, other = [[0, 2, 3, 4, 5]], [[0, 5, 3, 2, 4]]
    np.testing.assert_allclose(out(bag, one)[0, -1], out(bag, other)[0, -1], atol=1e-5)
    assert not np.allclose(out(gru, one)[0, -1], out(gru, other)[0, -1], atol=1e-4)


def test_the_output_reuses_the_movie_embedding_and_the_weights_are_counted_once():
    model = model_of("bag")
    x = np.array([[0, 0, 0, 2, 6]])
    table = model.movie_embedding.get_weights()[0]
    bias = model.next_bias.numpy()
    expected = (table[2] + table[6]) / 2 @ table.T + bias
    np.testing.assert_allclose(out(model, x)[0, -1], expected, atol=1e-5)
    assert sq.parameter_count(model) == model.count_params() == VOCAB * DIM + VOCAB


@pytest.mark.parametrize("kwargs, message", [
    (dict(vocabulary_size=9, kind="lstm"), "kind must be one of 'bag', 'gru', 'attention'"),
    (dict(vocabulary_size=2), "at least 3"),
    (dict(vocabulary_size=9, embedding_dim=0), "embedding_dim must be a positive whole number"),
    (dict(vocabulary_size=9, kind="attention"), "needs the window length"),
    (dict(vocabulary_size=9, dropout=1.0), r"dropout must be in \[0, 1\)"),
])
def test_the_model_refuses_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sm.NextMovieModel(**kwargs)


def test_model_config_round_trip():
    model = sm.NextMovieModel(VOCAB, kind="attention", embedding_dim=DIM, length=LENGTH, heads=2, dropout=0.1)
    again = sm.NextMovieModel.from_config(model.get_config())
    assert (again.vocabulary_size, again.kind, again.embedding_dim, again.length, again.heads,
            again.dropout_rate) == (VOCAB, "attention", DIM, LENGTH, 2, 0.1)


# --------------------------------------------------------------------------------------
# Scoring histories
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted():
    split = ranking.temporal_split(random_encoded(n_users=30, n_movies=40, per_user=(8, 14)), n_test=2, n_valid=2)
    model = sq.SequenceRecommender("gru", vocabulary_size=20, length=4, embedding_dim=8, epochs=2, batch_size=32,
                                   patience=1).fit(split)
    return split, model


def test_a_history_longer_than_l_is_read_from_its_last_l_movies(fitted):
    split, model = fitted
    long = split.history("test")[0]
    assert len(long) > model.length
    np.testing.assert_array_equal(model.score_histories([long]), model.score_histories([long[-model.length:]]))


def test_a_movie_unknown_to_the_vocabulary_is_read_as_oov(fitted):
    split, model = fitted
    outside = np.setdiff1d(np.arange(split.n_movies), model.vocabulary_.movies)
    kept = model.vocabulary_.movies
    assert len(outside) >= 2
    a = model.score_histories([[kept[0], outside[0]]])
    b = model.score_histories([[kept[0], outside[1]]])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, model.score_histories([[kept[0], kept[1]]]))


def test_padding_and_oov_are_never_recommended(fitted):
    split, model = fitted
    original = model.model_.next_bias.numpy()
    model.model_.next_bias.assign(np.r_[1e4, 1e4, original[2:]].astype("float32"))  # padding and OOV on top
    try:
        scores = model.score(split, "test")
    finally:
        model.model_.next_bias.assign(original)
    lists = ranking.top_k_lists(scores, split.known("test"), k=10)
    assert np.isin(lists, model.vocabulary_.movies).all()
    assert np.isneginf(scores[:, np.setdiff1d(np.arange(split.n_movies), model.vocabulary_.movies)]).all()


def test_scoring_refuses_an_empty_history_and_foreign_movies(fitted):
    split, model = fitted
    with pytest.raises(ValueError, match=r"history \[1\] is empty.*popularity"):
        model.score_histories([[1, 2], []])
    with pytest.raises(IndexError, match="outside the catalogue"):
        model.score_histories([[split.n_movies]])
    small = sq.Vocabulary.from_counts(split.train_counts(), size=5)
    with pytest.raises(ValueError, match="use the vocabulary the model was built with"):
        sq.history_scores(model.model_, small, [[1]], 4)
    with pytest.raises(RuntimeError, match="not fitted yet"):
        sq.SequenceRecommender().score_histories([[1]])


def test_the_recommender_scores_from_the_history_up_to_each_evaluation_point(fitted):
    split, model = fitted
    valid, test = model.score(split, "valid"), model.score(split, "test")
    assert valid.shape == test.shape == (split.n_users, split.n_movies)
    histories = split.history("valid")
    np.testing.assert_array_equal(valid[[3]], model.score_histories([histories[3]]))
    assert not np.array_equal(valid, test)
    row = ranking.evaluate(model, split)
    assert row.name == "GRU" and row["users"] == split.n_users and 0 <= row["HR@10"] <= 1


def test_the_recommender_learns_from_the_training_part_only(fitted):
    split, model = fitted
    windows = sq.next_movie_windows(split.history("valid"), model.vocabulary_, model.length, 100)
    assert model.result_.windows.n_targets == windows.n_targets
    assert model.vocabulary_.movies.tolist() == sq.Vocabulary.from_counts(split.train_counts(), 20).movies.tolist()
    assert len(model.result_.history) <= 2 and model.result_.best_epoch >= 1


def test_training_refuses_a_mismatched_vocabulary_and_bad_settings(fitted):
    split, _ = fitted
    vocab = sq.Vocabulary.from_counts(split.train_counts(), size=10)
    model = sm.NextMovieModel(vocab.size, embedding_dim=4)
    with pytest.raises(ValueError, match="vocabulary_size=vocabulary.size"):
        sq.train_next_movie(sm.NextMovieModel(5, embedding_dim=4), split, vocab, length=4)
    with pytest.raises(TypeError, match="TemporalSplit"):
        sq.train_next_movie(model, object(), vocab)
    with pytest.raises(ValueError, match="at least 1"):
        sq.train_next_movie(model, split, vocab, length=0)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        sq.train_next_movie(model, split, vocab, length=4, learning_rate=0)
    with pytest.raises(ValueError, match="catalogue of 3 movies"):
        sq.train_next_movie(model, split, sq.Vocabulary.from_counts(np.array([1, 2, 3])), length=4)
    no_valid = ranking.temporal_split(random_encoded(n_users=30, n_movies=40, per_user=(8, 14)), 2, 0)
    with pytest.raises(ValueError, match="validate=False"):
        sq.train_next_movie(model, no_valid, vocab, length=4)
    with pytest.raises(ValueError, match="kind must be one of"):
        sq.SequenceRecommender("rnn")


def test_training_without_validation_runs_the_epochs_asked_for():
    split = ranking.temporal_split(random_encoded(n_users=20, n_movies=30, per_user=(8, 12)), n_test=1, n_valid=0)
    model = sq.SequenceRecommender("bag", vocabulary_size=None, length=4, embedding_dim=4, epochs=3,
                                   validate=False).fit(split)
    assert model.result_.history["epoch"].tolist() == [1, 2, 3] and np.isnan(model.result_.val_hr)
    assert model.result_.history["loss"].is_monotonic_decreasing


def walks(n_users=40, n_movies=40, per_user=10, seed=0) -> data.Encoded:
    """Each user walks round a circle of movies, one step at a time; odd users go up, even users down."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(1, n_users + 1):
        start, step = int(rng.integers(n_movies)), (1 if u % 2 else -1)
        rows += [(u, (start + step * t) % n_movies + 1, 4.0, 1000 * u + t) for t in range(per_user)]
    return data.encode_ids(pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"]))


@pytest.mark.slow
def test_the_gru_learns_the_direction_of_a_walk_that_the_bag_cannot_see():
    split = ranking.temporal_split(walks(), n_test=1, n_valid=1)
    hr = {}
    for kind in ("gru", "bag"):
        model = sq.SequenceRecommender(kind, vocabulary_size=None, length=10, embedding_dim=16, max_targets=None,
                                       epochs=20, learning_rate=0.05, batch_size=32, validate=False).fit(split)
        hr[kind] = ranking.hit_rate(model.score(split, "test"), split.relevant("test"), split.known("test"), k=1)
    # up from s and down from s + 8 have seen the same set of movies: only the order tells what is next
    assert hr["gru"] >= 0.9 and hr["bag"] <= 0.7, hr


# --------------------------------------------------------------------------------------
# The leak of shuffled windows
# --------------------------------------------------------------------------------------


def test_cut_windows_cover_whole_histories_from_the_newest_end():
    windows = sq.cut_windows([np.arange(8), [5], [], [1, 2]], 3)
    assert [w.tolist() for w in windows] == [[4, 5, 6, 7], [1, 2, 3, 4], [0, 1], [1, 2]]
    overlapping = sq.cut_windows([np.arange(6)], 3, step=1)
    assert [w.tolist() for w in overlapping] == [[2, 3, 4, 5], [1, 2, 3, 4], [0, 1, 2, 3]]
    with pytest.raises(ValueError, match="step must be at least 1"):
        sq.cut_windows([np.arange(6)], 3, step=0)


def test_shuffled_windows_hold_out_at_random_seeded():
    windows = [np.array([i, i + 1]) for i in range(10)]
    train, test = sq.shuffled_windows(windows, 3, seed=1)
    again = sq.shuffled_windows(windows, 3, seed=1)
    assert len(test) == 3 and len(train) == 7
    assert [w.tolist() for w in test] == [w.tolist() for w in again[1]]
    assert sorted(w[0] for w in train + test) == list(range(10))
    assert len(sq.shuffled_windows(windows, 3, n_train=4)[0]) == 4
    with pytest.raises(ValueError, match="leaves nothing to train on"):
        sq.shuffled_windows(windows, 10)


def test_next_movie_hits_are_one_where_the_next_movie_is_in_the_top_k(fitted):
    split, model = fitted
    histories = split.history("test")[:5]
    scores = model.score_histories(histories)
    top = ranking.top_k_lists(scores, histories, k=3)
    hits = sq.next_movie_hits(model.model_, model.vocabulary_, histories, [row[0] for row in top], 4, k=3)
    assert hits.tolist() == [1.0] * 5
    misses = sq.next_movie_hits(model.model_, model.vocabulary_, histories, [h[-1] for h in histories], 4, k=3)
    assert misses.tolist() == [0.0] * 5  # a movie already seen is masked, never a hit
    with pytest.raises(ValueError, match="one next movie per history"):
        sq.next_movie_hits(model.model_, model.vocabulary_, histories, [1, 2], 4)
