"""The self-attention recommender of cfcourse.sasrec: data, masks, loss, training and bad input (no MovieLens file)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")

from cfcourse import data, ranking, recommenders, sasrec, training  # noqa: E402
from cfcourse.sequences import Vocabulary  # noqa: E402
from ranking_data import assert_test_scores_follow_the_validation_movies, runs_encoded  # noqa: E402


def vocabulary(n_movies: int = 12) -> Vocabulary:
    return Vocabulary.from_counts(np.arange(n_movies, 0, -1))  # movie 0 most rated: id 2, movie 1: id 3, ...


def model(vocabulary_size: int = 14, **options) -> sasrec.SelfAttentionModel:
    training.seed_everything(0)
    settings = dict(max_length=8, embedding_dim=8, blocks=2, heads=2, dropout=0.0)
    settings.update(options)
    built = sasrec.SelfAttentionModel(vocabulary_size, **settings)
    built.build((None, None))
    return built


def states(m, ids) -> np.ndarray:
    return keras.ops.convert_to_numpy(m(np.asarray(ids, dtype="int32")))


# ----------------------------------------------------------------------------- data


def test_every_position_is_a_target_shifted_by_one():
    seqs = sasrec.training_sequences([np.array([0, 1, 2, 3])], vocabulary(), 8)
    assert [x.tolist() for x in seqs.inputs] == [[2, 3, 4]]
    assert [y.tolist() for y in seqs.targets] == [[3, 4, 5]]
    assert seqs.n_targets == 3


def test_long_histories_are_cut_from_the_most_recent_end():
    history = np.arange(10)
    pieces = sasrec.training_sequences([history], vocabulary(), 4)
    assert pieces.lengths.tolist() == [4, 4, 1]
    assert pieces.inputs[0].tolist() == [7, 8, 9, 10]   # ids of movies 5..8, the most recent inputs
    assert pieces.targets[0][-1] == 11                  # the last movie is the last target
    recent = sasrec.training_sequences([history], vocabulary(), 4, all_pieces=False)
    assert len(recent) == 1 and recent.inputs[0].tolist() == pieces.inputs[0].tolist()


def test_a_single_rating_gives_no_pair_and_no_pair_at_all_is_an_error():
    seqs = sasrec.training_sequences([np.array([3]), np.array([1, 2])], vocabulary(), 8)
    assert len(seqs) == 1
    with pytest.raises(ValueError, match="single rating"):
        sasrec.training_sequences([np.array([3]), np.array([], dtype=int)], vocabulary(), 8)


def test_shuffled_histories_keep_each_users_movies():
    histories = [np.arange(20), np.arange(5, 9)]
    shuffled = sasrec.shuffle_histories(histories, seed=1)
    assert [sorted(s.tolist()) for s in shuffled] == [sorted(h.tolist()) for h in histories]
    assert shuffled[0].tolist() != histories[0].tolist()
    again = sasrec.shuffle_histories(histories, seed=1)
    assert all((a == b).all() for a, b in zip(shuffled, again))


@pytest.mark.parametrize("tokens", [1, 16, 100])
def test_length_batches_hold_every_sequence_once_within_the_budget(tokens):
    lengths = np.random.default_rng(0).integers(1, 40, size=200)
    batches = sasrec.length_batches(lengths, tokens, seed=3)
    assert sorted(np.concatenate(batches).tolist()) == list(range(200))
    for rows in batches:
        assert len(rows) * lengths[rows].max() <= tokens or len(rows) == 1
    padded = sum(len(rows) * lengths[rows].max() for rows in batches)
    if tokens == 100:   # sorted by length: little padding (one row per batch would be none at all)
        assert padded < 1.2 * lengths.sum()
    assert [b.tolist() for b in sasrec.length_batches(lengths, tokens, seed=3)] == [b.tolist() for b in batches]


def test_length_batches_refuse_bad_input():
    with pytest.raises(ValueError, match="positive length"):
        sasrec.length_batches([3, 0], 10)
    with pytest.raises(ValueError, match="tokens"):
        sasrec.length_batches([3], 0)


# ----------------------------------------------------------------------------- the model


def test_no_position_reads_a_later_movie():
    m = model()
    ids = [[0, 0, 3, 4, 5, 6], [2, 3, 4, 5, 6, 7]]
    later = np.array(ids)
    later[:, -1] = 9
    a, b = states(m, ids), states(m, later)
    np.testing.assert_allclose(a[:, :-1], b[:, :-1], atol=1e-6)
    assert np.abs(a[:, -1] - b[:, -1]).max() > 1e-3


def test_padding_in_front_changes_nothing():
    m = model()
    ids = np.array([[0, 0, 3, 4, 5, 6]])
    padded = np.concatenate([np.zeros((1, 2), dtype=int), ids], axis=1)
    np.testing.assert_allclose(states(m, padded)[:, -4:], states(m, ids)[:, -4:], atol=1e-5)


def test_positions_are_what_lets_the_model_read_order():
    ids, swapped = [[2, 3, 4, 5]], [[3, 2, 4, 5]]   # the same earlier movies, in another order
    plain = model(blocks=1, positions=False)
    np.testing.assert_allclose(states(plain, ids)[:, -1], states(plain, swapped)[:, -1], atol=1e-5)
    ordered = model(blocks=1, positions=True)
    assert np.abs(states(ordered, ids)[:, -1] - states(ordered, swapped)[:, -1]).max() > 1e-3


def test_the_gru_body_is_causal_ignores_padding_and_reads_order():
    """``body="gru"``: the same model and training with a GRU instead of the attention blocks."""
    m = model(body="gru", positions=False)
    assert m.recurrent is not None and not m.attentions
    ids = [[0, 0, 3, 4, 5, 6]]
    later = np.array(ids)
    later[:, -1] = 9
    a, b = states(m, ids), states(m, later)
    np.testing.assert_allclose(a[:, :-1], b[:, :-1], atol=1e-6)  # no position reads a later movie
    assert np.abs(a[:, -1] - b[:, -1]).max() > 1e-3
    padded = np.concatenate([np.zeros((1, 3), dtype=int), np.array(ids)], axis=1)
    np.testing.assert_allclose(states(m, padded)[:, -4:], a[:, -4:], atol=1e-5)  # left padding is skipped
    swapped = [[0, 0, 4, 3, 5, 6]]  # the same earlier movies in another order: a recurrent layer sees it
    assert np.abs(states(m, swapped)[:, -1] - a[:, -1]).max() > 1e-3
    with pytest.raises(ValueError, match="body must be one of"):
        sasrec.SelfAttentionModel(14, body="lstm")
    with pytest.raises(ValueError, match="body must be one of"):
        sasrec.SelfAttentionRecommender(body="lstm")


def test_the_gru_learns_what_comes_next_the_same_way():
    split = ranking.temporal_split(runs_encoded(), n_test=1, n_valid=1)
    fitted = sasrec.SelfAttentionRecommender(max_length=16, embedding_dim=16, body="gru", positions=False,
                                             dropout=0.0, epochs=20, patience=20, learning_rate=0.02,
                                             tokens=256).fit(split)
    assert fitted.model_.get_config()["body"] == "gru"
    assert ranking.evaluate(fitted, split)["HR@10"] >= 0.8


def test_tied_and_separate_output_tables():
    tied, separate = model(tied=True), model(tied=False)
    assert tied.output_table is tied.movie_embedding.embeddings
    assert separate.output_table is not separate.movie_embedding.embeddings
    assert sasrec.last_position_scores  # both score through logits()
    assert keras.ops.convert_to_numpy(separate.logits(states(separate, [[2, 3]]))).shape == (1, 2, 14)


def test_softmax_loss_is_the_cross_entropy_of_the_real_targets_only():
    m = model()
    x = np.array([[0, 2, 3, 4], [5, 6, 7, 8]], dtype="int32")
    y = np.array([[0, 3, 1, 5], [6, 7, 8, 9]], dtype="int32")   # 0: padding, 1: out of vocabulary
    s = states(m, x)
    loss = float(keras.ops.convert_to_numpy(m.compute_loss(x, y, s)))
    logits = s @ keras.ops.convert_to_numpy(m.output_table).T + keras.ops.convert_to_numpy(m.next_bias)
    keep = y > 1
    z = logits[keep]
    expected = np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), y[keep]])
    assert loss == pytest.approx(expected, rel=1e-4)


def test_binary_loss_reads_one_negative_per_target():
    m = model(loss="binary")
    x = np.array([[2, 3, 4]], dtype="int32")
    y = np.array([[3, 4, 5]], dtype="int32")
    loss = float(keras.ops.convert_to_numpy(m.compute_loss(x, y, states(m, x))))
    assert 0 < loss < 10 and np.isfinite(loss)


def sampled_loss_by_hand(m, s, y, drawn) -> float:
    """The sampled softmax written out with numpy: each target against the drawn ids, logQ-corrected."""
    table = keras.ops.convert_to_numpy(m.output_table)
    bias = keras.ops.convert_to_numpy(m.next_bias)
    log_q = keras.ops.convert_to_numpy(m.sampling_log_q)
    keep = y > 1
    states_kept, targets = s[keep], y[keep]
    positive = (states_kept * table[targets]).sum(axis=1) + bias[targets] - log_q[targets]
    negative = states_kept @ table[drawn].T + bias[drawn] - log_q[drawn]
    negative[targets[:, None] == drawn[None, :]] = -np.inf      # a drawn target is no negative
    logits = np.concatenate([positive[:, None], negative], axis=1)
    top = logits.max(axis=1, keepdims=True)
    return float(np.mean(np.log(np.exp(logits - top).sum(axis=1)) + top[:, 0] - positive))


@pytest.mark.parametrize("sampling", ["uniform", "popularity"])
def test_sampled_softmax_scores_each_target_against_negatives_shared_by_the_batch(sampling):
    m = model(loss="sampled", negatives=6, sampling=sampling)
    if sampling == "popularity":
        m.set_sampling(np.r_[0, 0, np.arange(12, 0, -1) ** 2])
    x = np.array([[0, 2, 3, 4], [5, 6, 7, 8]], dtype="int32")
    y = np.array([[0, 3, 1, 5], [6, 7, 8, 9]], dtype="int32")   # 0: padding, 1: out of vocabulary
    s = states(m, x)
    seed_state = keras.ops.convert_to_numpy(m.negative_seeds.state)
    drawn = keras.ops.convert_to_numpy(m.draw_negatives())
    m.negative_seeds.state.assign(seed_state)                       # the loss draws the same ids again
    loss = float(keras.ops.convert_to_numpy(m.compute_loss(x, y, s)))
    assert loss == pytest.approx(sampled_loss_by_hand(m, s, y, drawn), rel=1e-4)
    full = model(loss="softmax")   # same seed, same weights: the sampled loss leaves negatives out
    full_loss = float(keras.ops.convert_to_numpy(full.compute_loss(x, y, states(full, x))))
    if sampling == "uniform":      # uniform draws: logQ is one constant and cancels
        assert loss < full_loss


def test_negatives_are_drawn_uniformly_or_by_popularity_never_padding_or_oov():
    uniform = model(loss="sampled", negatives=4000)
    drawn = keras.ops.convert_to_numpy(uniform.draw_negatives())
    assert drawn.min() >= 2 and drawn.max() <= 13 and len(np.unique(drawn)) == 12
    counts = np.bincount(drawn, minlength=14)[2:]
    assert counts.min() > 4000 / 12 * 0.7
    popular = model(loss="sampled", negatives=4000, sampling="popularity")
    popular.set_sampling(np.r_[5, 5, 1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])   # ids 0, 1 are never drawn
    drawn = keras.ops.convert_to_numpy(popular.draw_negatives())
    assert drawn.min() >= 2 and np.mean(drawn == 2) > 0.95
    with pytest.raises(ValueError, match="one per vocabulary id"):
        popular.set_sampling(np.ones(5))
    with pytest.raises(ValueError, match="loss='sampled'"):
        model().set_sampling(np.ones(14))
    with pytest.raises(ValueError, match="loss='sampled'"):
        model().draw_negatives()


def test_the_sampled_softmax_model_learns_what_comes_next():
    split = ranking.temporal_split(runs_encoded(), n_test=1, n_valid=1)
    fitted = sasrec.SelfAttentionRecommender(max_length=16, embedding_dim=16, blocks=1, dropout=0.0, loss="sampled",
                                             negatives=8, sampling="popularity", epochs=20, patience=20,
                                             learning_rate=0.02, tokens=256).fit(split)
    assert fitted.model_.get_config()["loss"] == "sampled" and fitted.model_.get_config()["negatives"] == 8
    assert ranking.evaluate(fitted, split)["HR@10"] >= 0.8


def test_the_cosine_schedule_warms_up_then_decays_to_its_final_fraction():
    rate = sasrec.learning_rate_schedule(0.01, "cosine", steps_per_epoch=10, epochs=5, warmup_epochs=1,
                                         final_fraction=0.1)
    values = [float(keras.ops.convert_to_numpy(rate(step))) for step in (0, 5, 10, 30, 50, 80)]
    assert values[0] == pytest.approx(0.0, abs=1e-9)
    assert values[1] == pytest.approx(0.005, rel=1e-4)       # half-way up the warm-up
    assert values[2] == pytest.approx(0.01, rel=1e-4)        # the peak after one epoch
    assert values[3] == pytest.approx(0.001 + 0.009 * 0.5, rel=1e-4)   # half-way down the cosine
    assert values[4] == pytest.approx(0.001, rel=1e-4) and values[5] == pytest.approx(0.001, rel=1e-4)
    assert sasrec.learning_rate_schedule(0.01) == 0.01
    for options, message in [(dict(schedule="step"), "schedule must be one of"),
                             (dict(schedule="cosine", epochs=2, warmup_epochs=2), "warmup_epochs"),
                             (dict(schedule="cosine", epochs=2, final_fraction=1.5), "final_fraction")]:
        with pytest.raises(ValueError, match=message):
            sasrec.learning_rate_schedule(0.01, **options)


def test_training_under_the_schedule_ends_at_its_final_rate_and_learns():
    split = ranking.temporal_split(runs_encoded(), n_test=1, n_valid=1)
    fitted = sasrec.SelfAttentionRecommender(max_length=16, embedding_dim=16, blocks=1, dropout=0.0, epochs=12,
                                             patience=12, learning_rate=0.03, schedule="cosine", warmup_epochs=1,
                                             final_fraction=0.05, tokens=256).fit(split)
    optimizer = fitted.model_.optimizer
    last = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    assert last == pytest.approx(0.03 * 0.05, rel=1e-3)
    assert ranking.evaluate(fitted, split)["HR@10"] >= 0.8
    assert fitted.result_.cpu_seconds > 0


@pytest.mark.parametrize("options, message", [
    (dict(loss="bpr"), "loss must be one of"),
    (dict(loss="sampled", sampling="zipf"), "sampling must be one of"),
    (dict(loss="sampled", negatives=0), "negatives"),
    (dict(embedding_dim=10, heads=3), "multiple of heads"),
    (dict(dropout=1.0), "dropout"),
    (dict(blocks=0), "blocks"),
])
def test_bad_settings_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        sasrec.SelfAttentionModel(14, **options)


# ----------------------------------------------------------------------------- scoring


def test_scores_read_the_most_recent_movies_and_unknown_ones_become_oov():
    voc = vocabulary()
    m = model(voc.size, max_length=4)
    long = np.arange(10)
    scores = sasrec.last_position_scores(m, voc, [long, long[-4:]])
    np.testing.assert_allclose(scores[0], scores[1], atol=1e-5)   # only the last 4 are read
    assert scores.shape == (2, 12) and np.isfinite(scores).all()
    outside = Vocabulary.from_counts(np.r_[np.arange(12, 1, -1), 0])   # movie 11 never rated
    m2 = model(outside.size)
    s = sasrec.last_position_scores(m2, outside, [np.array([11, 11])])  # only a movie outside the vocabulary
    assert np.isneginf(s[0, 11]) and np.isfinite(s[0, :11]).all()


def test_an_empty_history_or_another_vocabulary_is_a_clear_error():
    voc = vocabulary()
    m = model(voc.size)
    with pytest.raises(ValueError, match="empty.*popularity"):
        sasrec.last_position_scores(m, voc, [np.array([1, 2]), np.array([], dtype=int)])
    with pytest.raises(ValueError, match="vocabulary the model was built with"):
        sasrec.last_position_scores(model(20), voc, [np.array([1, 2])])


# ----------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def runs():
    split = ranking.temporal_split(runs_encoded(), n_test=1, n_valid=1)
    fitted = sasrec.SelfAttentionRecommender(max_length=16, embedding_dim=16, blocks=1, heads=1, dropout=0.0,
                                             epochs=20, patience=20, learning_rate=0.02, tokens=256).fit(split)
    return split, fitted


def test_it_learns_what_comes_next(runs):
    split, fitted = runs
    result = fitted.result_
    assert result.history["loss"].iloc[-1] < result.history["loss"].iloc[0]
    popularity = ranking.evaluate(recommenders.Popularity().fit(split), split)["HR@10"]
    hr = ranking.evaluate(fitted, split)["HR@10"]
    assert hr >= 0.8 > popularity


def test_test_scores_follow_the_validation_movies(runs):
    split, fitted = runs
    assert_test_scores_follow_the_validation_movies(fitted, split)


def test_training_is_seeded():
    split = ranking.temporal_split(runs_encoded(n_users=12), n_test=1, n_valid=1)
    options = dict(max_length=8, embedding_dim=8, blocks=1, dropout=0.1, epochs=2, patience=2, tokens=64)
    a = sasrec.SelfAttentionRecommender(**options).fit(split).score(split)
    b = sasrec.SelfAttentionRecommender(**options).fit(split).score(split)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_the_order_control_reads_shuffled_histories():
    split = ranking.temporal_split(runs_encoded(n_users=12), n_test=1, n_valid=1)
    control = sasrec.SelfAttentionRecommender(max_length=8, embedding_dim=8, blocks=1, epochs=1, tokens=64,
                                              shuffle_seed=5).fit(split)
    shuffled = sasrec.shuffle_histories(split.history("test"), 5)
    np.testing.assert_allclose(control.score(split), control.score_histories(shuffled), atol=1e-5)


def test_training_refuses_a_mismatched_model_or_split():
    split = ranking.temporal_split(runs_encoded(n_users=6), n_test=1, n_valid=1)
    voc = Vocabulary.from_counts(split.train_counts())
    with pytest.raises(ValueError, match="vocabulary_size=vocabulary.size"):
        sasrec.train_self_attention(model(voc.size + 1), split, voc, epochs=1)
    with pytest.raises(TypeError, match="TemporalSplit"):
        sasrec.train_self_attention(model(voc.size), "not a split", voc, epochs=1)
    with pytest.raises(RuntimeError, match="not fitted"):
        sasrec.SelfAttentionRecommender().score_histories([np.array([1])])
