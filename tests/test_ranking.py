"""The ranking protocol of cfcourse.ranking: the temporal split, the metrics (keras-rs pinned against the
NumPy reference on hand-made cases), top-k lists, coverage, popularity bias, evaluate, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from cfcourse import data, ranking
from ranking_data import TOY_MOVIES, random_encoded, toy_encoded, toy_ratings

INF = float("inf")


@pytest.fixture(scope="module")
def toy():
    return ranking.temporal_split(toy_encoded(), n_test=1, n_valid=1)


def both(scores, relevant, known=None, k=10):
    """keras-rs and the NumPy reference, checked equal, as one frame."""
    got = ranking.ranking_metrics(scores, relevant, known, k)
    ref = ranking.reference_metrics(scores, relevant, known, k)
    assert got["n_relevant"].tolist() == ref["n_relevant"].tolist()
    np.testing.assert_allclose(got[["hr", "ndcg", "mrr"]].to_numpy(), ref[["hr", "ndcg", "mrr"]].to_numpy(),
                               atol=1e-6, equal_nan=True)
    return got


# --------------------------------------------------------------------------------------
# The temporal split
# --------------------------------------------------------------------------------------


def parts_of(split, user_id):
    u = int(split.encoded.users.encode([user_id])[0])
    return [split.part(p).loc[lambda f: f["user"] == u, "movieId"].tolist() for p in ranking.PARTS]


def test_last_ratings_in_time_are_test_then_validation(toy):
    assert parts_of(toy, 2) == [[20, 30, 10], [80], [60]]
    assert parts_of(toy, 3) == [[10, 40, 50, 20], [80], [30]]
    assert parts_of(toy, 4) == [[60, 20, 10], [90], [30]]


def test_ratings_in_the_same_second_have_a_seeded_order_not_the_movie_ids():
    # user 1 rated movies 50 and 70 at t=600: which one is "later" is drawn with tie_seed, not taken from the ids
    encoded = toy_encoded()
    last = {seed: parts_of(ranking.temporal_split(encoded, n_test=1, n_valid=1, tie_seed=seed), 1)[2]
            for seed in range(12)}
    assert {tuple(v) for v in last.values()} == {(50,), (70,)}
    assert last == {seed: parts_of(ranking.temporal_split(encoded, n_test=1, n_valid=1, tie_seed=seed), 1)[2]
                    for seed in range(12)}  # the same seed, the same order
    with pytest.raises(TypeError, match="tie_seed must be a whole number"):
        ranking.temporal_split(encoded, n_test=1, n_valid=1, tie_seed="0")


def coarse_ratings(seed: int = 0) -> pd.DataFrame:
    """Random ratings whose timestamps fall in a few seconds: most ratings share a second with others."""
    ratings = random_encoded(seed=seed).ratings[["userId", "movieId", "rating", "timestamp"]].copy()
    ratings = ratings.reset_index(drop=True)
    ratings["timestamp"] = 1000 + ratings.index.to_numpy() % 3
    return ratings


@pytest.mark.parametrize("kind", ["temporal", "random"])
def test_relabelling_the_movies_leaves_the_split_unchanged(kind):
    ratings = coarse_ratings()
    ids = np.sort(ratings["movieId"].unique())
    relabel = dict(zip(ids, np.random.default_rng(5).permutation(ids) + 1000))
    relabelled = ratings.assign(movieId=ratings["movieId"].map(relabel))
    make = ranking.temporal_split if kind == "temporal" else ranking.random_split
    a, b = make(data.encode_ids(ratings), 2, 2), make(data.encode_ids(relabelled), 2, 2)
    for part in ranking.PARTS:
        assert a.part(part).index.tolist() == b.part(part).index.tolist()
        assert a.part(part)["movieId"].map(relabel).tolist() == b.part(part)["movieId"].tolist()
    first_a = [a.encoded.movies.decode(h).tolist() for h in a.history("test")]
    first_b = [b.encoded.movies.decode(h).tolist() for h in b.history("test")]
    assert [[relabel[m] for m in h] for h in first_a] == first_b
    # the rule this replaces (ties by movie id) depends on the labels: it would hold out other ratings
    def by_id(frame):
        order = frame.sort_values(["userId", "timestamp", "movieId"]).groupby("userId").tail(2)
        return sorted(order.index.tolist())
    assert by_id(ratings) != by_id(relabelled)


def test_split_sizes_and_catalogue():
    encoded = random_encoded()
    split = ranking.temporal_split(encoded, n_test=2, n_valid=3)
    per_user = encoded.ratings.groupby("user").size()
    assert len(split.test) == 2 * encoded.n_users and len(split.valid) == 3 * encoded.n_users
    assert len(split.train) + len(split.valid) + len(split.test) == len(encoded.ratings)
    assert (split.train.groupby("user").size() == per_user - 5).all()
    assert split.n_users == encoded.n_users and split.n_movies == encoded.n_movies
    # the parts are disjoint and cover every rating
    assert sorted([*split.train.index, *split.valid.index, *split.test.index]) == list(encoded.ratings.index)
    # every training rating is no later than the user's validation and test ratings
    last_train = split.train.groupby("user")["timestamp"].max()
    assert (last_train <= split.valid.groupby("user")["timestamp"].min()).all()
    assert (split.valid.groupby("user")["timestamp"].max() <= split.test.groupby("user")["timestamp"].min()).all()


def test_default_is_the_chosen_number_held_out():
    split = ranking.temporal_split(random_encoded())
    assert split.n_test == split.n_valid == ranking.DEFAULT_N_HELD_OUT == 3
    assert split.kind == "temporal"


def test_leave_last_one_out_and_no_validation_part():
    encoded = toy_encoded()
    loo = ranking.temporal_split(encoded, n_test=1, n_valid=1)
    assert len(loo.test) == len(loo.valid) == 4
    none = ranking.temporal_split(encoded, n_test=1, n_valid=0)
    assert len(none.valid) == 0 and len(none.train) == len(encoded.ratings) - 4
    with pytest.raises(ValueError, match=r"no validation part \(n_valid=0\).*n_valid=1"):
        none.rating_split()
    with pytest.raises(ValueError, match=r"holds nothing out for 'valid' \(n_valid=0\)"):
        ranking.evaluate(np.zeros((4, 9)), none, part="valid")


def test_relevant_known_history_and_counts(toy):
    movies = toy.encoded.movies
    u4 = int(toy.encoded.users.encode([4])[0])
    assert movies.decode(toy.relevant("test")[u4].indices).tolist() == [30]
    assert movies.decode(toy.relevant("valid")[u4].indices).tolist() == [90]
    assert movies.decode(toy.known("valid")[u4].indices).tolist() == [10, 20, 60]
    assert movies.decode(toy.known("test")[u4].indices).tolist() == [10, 20, 60, 90]
    # history keeps time order (oldest first); the known matrix is sorted by movie index
    assert movies.decode(toy.history("test")[u4]).tolist() == [60, 20, 10, 90]
    assert movies.decode(toy.history("valid")[u4]).tolist() == [60, 20, 10]
    counts = dict(zip(movies.raw_ids.tolist(), toy.train_counts().tolist()))
    # popularity sees training data only: movie 90 (validation) and 70 (test) have no count
    assert counts[90] == 0 and counts[70] == 0 and counts[10] == 4 and counts[20] == 4
    assert toy.relevant("test").dtype == bool and toy.relevant("test").shape == (4, 9)


def test_interactions_as_binary_or_ratings(toy):
    binary = toy.interactions("train")
    rated = toy.interactions(("train", "valid"), values="rating")
    assert binary.sum() == len(toy.train) and set(np.unique(binary.data)) == {1.0}
    assert rated.nnz == len(toy.train) + len(toy.valid)
    assert rated.sum() == pytest.approx(toy.train["rating"].sum() + toy.valid["rating"].sum())
    with pytest.raises(ValueError, match="values must be 'binary' or 'rating'"):
        toy.interactions("train", values="stars")
    with pytest.raises(ValueError, match="part must be one of 'train', 'valid', 'test', got 'training'"):
        toy.interactions("training")


def test_rating_split_holds_the_temporal_parts(toy):
    split = toy.rating_split()
    assert isinstance(split, data.Split)
    assert len(split.x_train) == len(toy.train) and len(split.x_valid) == len(toy.valid)
    assert split.x_train.dtype == np.int32 and split.y_train.dtype == np.float32
    assert (split.n_users, split.n_movies) == (4, 9)
    assert split.min_rating == toy.train["rating"].min() and split.max_rating == toy.train["rating"].max()
    assert split.train_index.tolist() == toy.train.index.tolist()
    x_test, y_test = toy.ratings("test")
    assert x_test.shape == (4, 2) and y_test.tolist() == toy.test["rating"].tolist()


def test_summary_counts(toy):
    summary = toy.summary()
    assert summary["test ratings"] == 4 and summary["training ratings"] == len(toy.train)
    assert summary["share of test movies never in training"] == pytest.approx(1 / 4)  # user 1's movie 70
    # users 2 and 3 hold out movie 80 for validation, user 4 movie 90: none of them is in training
    assert summary["share of validation movies never in training"] == pytest.approx(3 / 4)
    assert summary["users with a rating before the test part in the same second"] == 1  # user 1 at t=600


def test_random_split_is_seeded_and_differs_from_time():
    encoded = random_encoded()
    a, b = ranking.random_split(encoded, 2, seed=1), ranking.random_split(encoded, 2, seed=1)
    c = ranking.random_split(encoded, 2, seed=2)
    temporal = ranking.temporal_split(encoded, 2)
    assert a.kind == "random" and a.test.index.tolist() == b.test.index.tolist()
    assert a.test.index.tolist() != c.test.index.tolist()
    assert set(a.test.index) != set(temporal.test.index)
    assert len(a.test) == len(temporal.test) and len(a.valid) == len(temporal.valid)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(n_test=0), ValueError, "n_test must be at least 1, got 0"),
    (dict(n_test=-2), ValueError, "n_test must be at least 1"),
    (dict(n_test=1.5), TypeError, "n_test must be a whole number"),
    (dict(n_test=True), TypeError, "n_test must be a whole number"),
    (dict(n_test="3"), TypeError, "n_test must be a whole number"),
    (dict(n_test=1, n_valid=-1), ValueError, "n_valid must be at least 0, got -1"),
    (dict(n_test=1, n_valid=0.5), TypeError, "n_valid must be a whole number"),
])
def test_bad_counts_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        ranking.temporal_split(toy_encoded(), **kwargs)


def test_users_with_too_few_ratings_are_named_with_the_fix():
    # users 2 and 4 have 5 ratings: 3 + 2 held out leave nothing to train on
    with pytest.raises(ValueError) as info:
        ranking.temporal_split(toy_encoded(), n_test=3, n_valid=2)
    message = str(info.value)
    assert "2 user(s) have fewer than n_test + n_valid + 1 = 6 ratings" in message
    assert "userId (ratings) 2 (5), 4 (5)" in message and "Lower n_test/n_valid" in message
    assert "transform('size') >= 6" in message
    with pytest.raises(ValueError, match=r"userId \(ratings\) 2 \(5\), 4 \(5\)"):
        ranking.random_split(toy_encoded(), n_test=3, n_valid=2)


def test_split_needs_encoded_ratings_with_timestamps():
    with pytest.raises(TypeError, match="expects the result of data.encode_ids"):
        ranking.temporal_split(toy_ratings())
    encoded = data.encode_ids(toy_ratings().drop(columns="timestamp"))
    with pytest.raises(ValueError, match="no 'timestamp' column"):
        ranking.temporal_split(encoded)


def test_a_user_with_no_training_history_is_refused_by_evaluate(toy):
    empty = ranking.TemporalSplit(train=toy.train[toy.train["userId"] != 2], valid=toy.valid, test=toy.test,
                                  n_users=toy.n_users, n_movies=toy.n_movies, n_test=1, n_valid=1,
                                  encoded=toy.encoded)
    with pytest.raises(ValueError, match=r"have no history before 'valid'.*temporal_split"):
        ranking.evaluate(np.zeros((4, 9)), empty, part="valid")


# --------------------------------------------------------------------------------------
# Metrics: keras-rs against the NumPy reference, on hand-made cases
# --------------------------------------------------------------------------------------


def test_one_relevant_movie_at_rank_two():
    m = both([[3.0, 2.0, 1.0, 0.0]], [[1]], k=2)
    assert m.loc[0, "hr"] == 1.0 and m.loc[0, "mrr"] == 0.5
    assert m.loc[0, "ndcg"] == pytest.approx(1 / math.log2(3))
    assert both([[3.0, 2.0, 1.0, 0.0]], [[1]], k=1).loc[0, "hr"] == 0.0


def test_several_relevant_movies():
    m = both([[0.9, 0.8, 0.7, 0.6, 0.5]], [[0, 2, 4]], k=3)
    # ranks 1, 3, 5: two of three in the top 3
    assert m.loc[0, "hr"] == pytest.approx(2 / 3)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert m.loc[0, "ndcg"] == pytest.approx((1 + 1 / math.log2(4)) / ideal)
    assert m.loc[0, "mrr"] == 1.0


def test_ties_go_to_the_lower_movie_index():
    flat = [[1.0, 1.0, 1.0, 1.0]]
    assert both(flat, [[2]], k=2).loc[0, "hr"] == 0.0
    assert both(flat, [[2]], k=3).loc[0, "hr"] == 1.0
    assert both(flat, [[2]]).loc[0, "mrr"] == pytest.approx(1 / 3)
    assert both(flat, [[0]], k=1).loc[0, "mrr"] == 1.0
    # a relevant movie tied with lower-index movies ranks after them, before higher-index ones
    assert both([[5.0, 2.0, 2.0, 2.0, 1.0]], [[2]]).loc[0, "mrr"] == pytest.approx(1 / 3)


def test_ties_are_the_same_at_every_call():
    rng = np.random.default_rng(3)
    scores = rng.integers(0, 3, size=(40, 30)).astype(float)  # many ties
    relevant = [rng.choice(30, 2, replace=False) for _ in range(40)]
    first = ranking.ranking_metrics(scores, relevant, k=5)
    import keras

    keras.utils.set_random_seed(123)  # a different global seed changes nothing
    second = ranking.ranking_metrics(scores, relevant, k=5)
    assert first.equals(second)


def test_a_user_without_relevant_movies_has_no_value_and_is_left_out():
    m = both([[3.0, 2.0, 1.0], [1.0, 2.0, 3.0]], [[0], []])
    assert m.loc[0, "hr"] == 1.0 and m.loc[1, ["hr", "ndcg", "mrr"]].isna().all()
    assert m.loc[1, "n_relevant"] == 0
    summary = ranking.summarise(m, k=10)
    assert summary["users"] == 1 and summary["HR@10"] == 1.0


def test_k_larger_than_the_catalogue_means_the_whole_catalogue():
    scores, relevant = [[0.1, 0.9, 0.5, 0.3]], [[0, 3]]
    big = both(scores, relevant, k=50)
    whole = both(scores, relevant, k=4)
    assert big.equals(whole)
    assert big.loc[0, "hr"] == 1.0 and big.loc[0, "mrr"] == pytest.approx(1 / 3)


def test_masked_movies_are_skipped():
    # movie 0 scores highest but is masked: the relevant movie 1 becomes first
    m = both([[9.0, 5.0, 1.0]], [[1]], known=[[0]], k=1)
    assert m.loc[0, "hr"] == 1.0 and m.loc[0, "mrr"] == 1.0


def test_a_relevant_movie_that_is_masked_is_dropped_from_the_relevant_set():
    m = both([[9.0, 5.0, 1.0]], [[0, 2]], known=[[0]], k=1)
    # only movie 2 counts (at rank 2 once movie 0 is masked)
    assert m.loc[0, "n_relevant"] == 1 and m.loc[0, "hr"] == 0.0 and m.loc[0, "mrr"] == 0.5
    alone = both([[9.0, 5.0, 1.0]], [[0]], known=[[0]])
    assert alone.loc[0, "n_relevant"] == 0 and alone.loc[0, "mrr"] != alone.loc[0, "mrr"]  # NaN


def test_masked_movies_never_fill_a_list_longer_than_the_candidates():
    # two candidates, k = 3: the masked relevant movie must not count as a hit
    m = both([[1.0, 2.0, 3.0]], [[1, 2]], known=[[2]], k=3)
    assert m.loc[0, "n_relevant"] == 1 and m.loc[0, "hr"] == 1.0 and m.loc[0, "mrr"] == 1.0
    lists = ranking.top_k_lists([[1.0, 2.0, 3.0]], [[2]], k=3)
    assert lists.tolist() == [[1, 0, -1]]


def test_an_unmasked_minus_infinity_still_ranks_above_masked_movies():
    m = both([[-INF, 7.0, INF]], [[0]], known=[[1]])
    assert m.loc[0, "mrr"] == 0.5  # +inf first, then the -inf movie; the masked 7.0 is out
    assert ranking.top_k_lists([[-INF, 7.0, INF]], [[1]], k=3).tolist() == [[2, 0, -1]]


@pytest.mark.parametrize("seed", range(4))
def test_keras_rs_matches_the_reference_on_random_cases(seed):
    rng = np.random.default_rng(seed)
    n_rows, n_movies = 25, 60
    scores = rng.integers(0, 6, size=(n_rows, n_movies)).astype(np.float32)  # ties everywhere
    relevant = rng.random((n_rows, n_movies)) < 0.08
    known = rng.random((n_rows, n_movies)) < 0.3
    for k in (1, 5, 10, 100):
        both(scores, relevant, known, k)
    both(scores, sp.csr_matrix(relevant), sp.csr_matrix(known), 7)


def test_pruned_lists_give_the_values_of_the_whole_catalogue():
    # more movies than the window of 200, some relevant movies far down the list
    import keras
    import keras_rs

    rng = np.random.default_rng(7)
    scores = rng.integers(0, 50, size=(30, 700)).astype(np.float32)
    relevant = np.zeros((30, 700), dtype=np.float32)
    for u in range(30):
        relevant[u, rng.choice(700, 3, replace=False)] = 1
    got = both(scores, relevant, k=10)
    for column, metric in (("hr", keras_rs.metrics.RecallAtK(k=10, shuffle_ties=False)),
                           ("ndcg", keras_rs.metrics.NDCG(k=10, shuffle_ties=False)),
                           ("mrr", keras_rs.metrics.MeanReciprocalRank(shuffle_ties=False))):
        values, _ = metric.compute_metric(y_true=keras.ops.convert_to_tensor(relevant),
                                          y_pred=keras.ops.convert_to_tensor(scores), mask=None,
                                          sample_weight=keras.ops.ones(relevant.shape))
        np.testing.assert_allclose(got[column], keras.ops.convert_to_numpy(values).reshape(-1), atol=1e-7)
    assert (got["mrr"] < 1 / 200).any()  # some rows needed the whole list


def test_keras_rs_own_average_without_ties_is_the_mean_per_user():
    # update_state always builds a mask (labels >= 0), so keras-rs shuffles ties there: without ties
    # its average is the mean of our per-user values
    import keras_rs

    rng = np.random.default_rng(8)
    scores = rng.random((40, 300)).astype(np.float32)
    relevant = (rng.random((40, 300)) < 0.02).astype(np.float32)
    relevant[:, 0] = 1
    got = both(scores, relevant, k=10)
    for column, metric in (("hr", keras_rs.metrics.RecallAtK(k=10)), ("ndcg", keras_rs.metrics.NDCG(k=10)),
                           ("mrr", keras_rs.metrics.MeanReciprocalRank())):
        metric.update_state(relevant, scores)
        assert float(metric.result()) == pytest.approx(got[column].mean(), abs=1e-6)


def test_hit_rate_is_the_mean_hr():
    rng = np.random.default_rng(1)
    scores, relevant = rng.random((20, 50)), rng.random((20, 50)) < 0.1
    relevant[0] = False
    known = rng.random((20, 50)) < 0.2
    assert ranking.hit_rate(scores, relevant, known, 5) == pytest.approx(
        ranking.ranking_metrics(scores, relevant, known, 5)["hr"].mean(), abs=1e-12)
    with pytest.raises(ValueError, match="no row has a relevant movie"):
        ranking.hit_rate(scores, np.zeros((20, 50), bool))


def test_float64_scores_are_compared_as_float32():
    # two scores that differ below float32 precision tie, and the lower index wins
    m = both([[1.0, 1.0 + 1e-12]], [[1]])
    assert m.loc[0, "mrr"] == 0.5


# --------------------------------------------------------------------------------------
# Bootstrap
# --------------------------------------------------------------------------------------


def test_bootstrap_ci_is_seeded_and_surrounds_the_mean():
    values = np.random.default_rng(0).random(300)
    mean, low, high = ranking.bootstrap_ci(values)
    assert low < mean < high and mean == pytest.approx(values.mean())
    assert ranking.bootstrap_ci(values) == (mean, low, high)
    assert ranking.bootstrap_ci(values, seed=1) != (mean, low, high)
    # about 1.96 standard errors each side
    assert (high - low) / 2 == pytest.approx(1.96 * values.std() / math.sqrt(300), rel=0.1)
    assert ranking.bootstrap_ci([1.0, np.nan, 1.0]) == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(values=[np.nan, np.nan]), "no values to average"),
    (dict(values=[1.0], level=1.0), "level must be strictly between 0 and 1"),
    (dict(values=[1.0], n_boot=0), "n_boot must be at least 1"),
])
def test_bootstrap_ci_refuses_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ranking.bootstrap_ci(**kwargs)


# --------------------------------------------------------------------------------------
# Bad input to the metrics
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("k, error, message", [
    (0, ValueError, "k must be at least 1"),
    (-3, ValueError, "k must be at least 1"),
    (2.5, TypeError, "k must be a whole number"),
    (True, TypeError, "k must be a whole number"),
    ("10", TypeError, "k must be a whole number"),
])
def test_bad_k_is_refused(k, error, message):
    with pytest.raises(error, match=message):
        ranking.ranking_metrics([[1.0, 2.0]], [[0]], k=k)
    with pytest.raises(error, match=message):
        ranking.top_k_lists([[1.0, 2.0]], k=k)


def test_check_k_clamps_to_the_catalogue():
    assert ranking.check_k(50, 9) == 9 and ranking.check_k(np.int64(3), 9) == 3 and ranking.check_k(7) == 7


def test_wrong_shapes_nan_and_text_are_refused(toy):
    with pytest.raises(ValueError, match=r"shape \(users, movies\) = \(4, 9\).*got shape \(4, 8\)"):
        ranking.evaluate(np.zeros((4, 8)), toy)
    with pytest.raises(ValueError, match=r"got shape \(9,\)"):
        ranking.evaluate(np.zeros(9), toy)
    scores = np.zeros((4, 9))
    scores[2, 5] = np.nan
    with pytest.raises(ValueError, match=r"NaN in 1 cell\(s\), first in row\(s\) \[2\].*-inf"):
        ranking.evaluate(scores, toy)
    with pytest.raises(TypeError, match="must be numbers"):
        ranking.ranking_metrics([["a", "b"]], [[0]])
    with pytest.raises(ValueError, match=r"relevant must have shape \(1, 2\)"):
        ranking.ranking_metrics([[1.0, 2.0]], np.zeros((1, 3), bool))
    with pytest.raises(ValueError, match="one list of movie indices per row"):
        ranking.ranking_metrics([[1.0, 2.0]], [[0], [1]])


def test_unknown_movie_indices_are_refused():
    with pytest.raises(IndexError, match=r"relevant\[0\] holds movie index \[5\] outside 0..2"):
        ranking.ranking_metrics([[1.0, 2.0, 3.0]], [[5]])
    with pytest.raises(IndexError, match=r"known\[0\] holds movie index \[-1\]"):
        ranking.ranking_metrics([[1.0, 2.0, 3.0]], [[0]], known=[[-1]])
    with pytest.raises(TypeError, match=r"relevant\[0\] must hold whole movie indices"):
        ranking.ranking_metrics([[1.0, 2.0, 3.0]], [[0.5]])


# --------------------------------------------------------------------------------------
# Sampled metrics
# --------------------------------------------------------------------------------------


def test_sampled_metrics_rank_each_target_among_sampled_movies():
    split = ranking.temporal_split(random_encoded(n_movies=60), n_test=2, n_valid=1)
    scores = np.broadcast_to(split.train_counts().astype(np.float32), (split.n_users, split.n_movies))
    sampled = ranking.sampled_metrics(scores, split, n_negatives=10, k=3, seed=0)
    full = ranking.ranking_metrics(scores, split.relevant("test"), split.known("test"), k=3)
    assert sampled.shape == (split.n_users, 4) and (sampled["n_relevant"] == 2).all()
    assert sampled["hr"].mean() > full["hr"].mean()  # fewer competitors: easier
    assert sampled.equals(ranking.sampled_metrics(scores, split, n_negatives=10, k=3, seed=0))
    assert not sampled.equals(ranking.sampled_metrics(scores, split, n_negatives=10, k=3, seed=1))
    # with every unseen movie as a negative, the sampled list is the full ranking
    assert ranking.sampled_metrics(scores, split, n_negatives=1, k=1)["hr"].between(0, 1).all()


def test_sampled_metrics_refuse_more_negatives_than_movies(toy):
    with pytest.raises(ValueError, match=r"user \d has only \d+ movies left to sample from.*lower n_negatives"):
        ranking.sampled_metrics(np.zeros((4, 9)), toy, n_negatives=100)
    with pytest.raises(ValueError, match="n_negatives must be at least 1"):
        ranking.sampled_metrics(np.zeros((4, 9)), toy, n_negatives=0)


# --------------------------------------------------------------------------------------
# Top-k lists, retrieval, coverage, popularity
# --------------------------------------------------------------------------------------


def test_top_k_lists_order_ties_and_padding():
    scores = [[0.1, 0.9, 0.9, 0.4], [1.0, 1.0, 1.0, 1.0]]
    assert ranking.top_k_lists(scores, k=3).tolist() == [[1, 2, 3], [0, 1, 2]]
    assert ranking.top_k_lists(scores, [[1], [0, 1, 2]], k=3).tolist() == [[2, 3, 0], [3, -1, -1]]
    assert ranking.top_k_lists(scores, k=99).shape == (2, 4)


def test_retrieve_with_brute_force_retrieval_matches_top_k_lists():
    rng = np.random.default_rng(0)
    users, movies = rng.normal(size=(6, 4)), rng.normal(size=(30, 4))
    known = [rng.choice(30, n, replace=False) for n in (0, 1, 3, 5, 8, 29)]
    scores, ids = ranking.retrieve(users, movies, known, k=5)
    expected = ranking.top_k_lists(users @ movies.T, known, k=5)
    assert ids.tolist() == expected.tolist()
    assert ids[5].tolist() == [int(np.setdiff1d(np.arange(30), known[5])[0]), -1, -1, -1, -1]
    np.testing.assert_allclose(scores[0], np.sort(users[0] @ movies.T)[::-1][:5], rtol=1e-5)
    with pytest.raises(ValueError, match="must share d"):
        ranking.retrieve(users, movies[:, :3])


def test_coverage_and_popularity_percentiles():
    lists = np.array([[0, 1, -1], [1, 2, 2]])
    assert ranking.coverage(lists, 10) == pytest.approx(0.3)
    pct = ranking.popularity_percentiles([5, 1, 1, 0])
    # 5: three below, itself equal -> (3 + 0.5) / 4; 1: one below, two equal -> (1 + 1) / 4
    assert pct.tolist() == pytest.approx([87.5, 50.0, 50.0, 12.5])
    assert ranking.mean_popularity_percentile(np.array([[0, -1]]), [5, 1, 1, 0]) == pytest.approx(87.5)
    assert math.isnan(ranking.mean_popularity_percentile(np.array([[-1]]), [1]))
    with pytest.raises(ValueError, match="counts is empty"):
        ranking.popularity_percentiles([])


@pytest.mark.parametrize("title, expected", [
    ("Matrix, The (1999)", "The Matrix (1999)"),
    ("Shawshank Redemption, The (1994)", "The Shawshank Redemption (1994)"),
    ("Bug's Life, A (1998)", "A Bug's Life (1998)"),
    ("Toy Story (1995)", "Toy Story (1995)"),
    ("Babylon 5", "Babylon 5"),
    ("Grand Budapest Hotel, The", "The Grand Budapest Hotel"),
    ("Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)", "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)"),
    ("Good, the Bad and the Ugly, The (Buono, il brutto, il cattivo, Il) (1966)",
     "The Good, the Bad and the Ugly (Buono, il brutto, il cattivo, Il) (1966)"),
])
def test_readable_title(title, expected):
    assert ranking.readable_title(title) == expected


def test_top_n_and_last_rated_for_one_user(toy):
    scores = np.tile(np.arange(9, dtype=np.float32)[::-1], (4, 1))  # movie index 0 best ... 8 worst
    table = ranking.top_n(scores, toy, 4, TOY_MOVIES, n=3)
    # user 4 knows 10, 20, 60, 90 before the test: the best others are 30, 40, 50
    assert table["movieId"].tolist() == [30, 40, 50] and table["rank"].tolist() == [1, 2, 3]
    assert table["held_out"].tolist() == [True, False, False]  # 30 is user 4's test movie
    assert table["title"].tolist() == ["Gamma (1992)", "Delta (1993)", "Epsilon (1994)"]
    table = ranking.top_n(scores, toy, 4, TOY_MOVIES, n=3, part="valid")
    assert table["movieId"].tolist() == [30, 40, 50]  # 90 is not known yet, but ranks last
    last = ranking.last_rated(toy, 4, TOY_MOVIES, n=2)
    assert last["movieId"].tolist() == [90, 10] and last["date"].tolist() == ["1970-01-01"] * 2
    # n larger than the candidates: user 1 has only three movies left
    assert ranking.top_n(scores, toy, 1, TOY_MOVIES, n=20)["title"].tolist() == ["Eta (1996)", "Theta (1997)",
                                                                                  "Iota (1998)"]
    with pytest.raises(KeyError, match="userId 99 is not in the data"):
        ranking.top_n(scores, toy, 99, TOY_MOVIES)
    with pytest.raises(ValueError, match="part must be one of 'valid', 'test', got 'train'"):
        ranking.top_n(scores, toy, 4, TOY_MOVIES, part="train")


# --------------------------------------------------------------------------------------
# evaluate and the comparison table
# --------------------------------------------------------------------------------------


def test_evaluate_gives_one_row_with_cis_and_beyond_accuracy():
    split = ranking.temporal_split(random_encoded(), n_test=2, n_valid=1)
    pop = np.broadcast_to(split.train_counts().astype(np.float32), (split.n_users, split.n_movies))
    row = ranking.evaluate(pop, split, name="popularity")
    assert row.name == "popularity" and row["users"] == split.n_users
    for metric in ("HR@10", "NDCG@10", "MRR"):
        assert row[f"{metric} low"] <= row[metric] <= row[f"{metric} high"]
    assert 0 < row["coverage@10"] < 1 and row["popularity percentile"] > 70
    assert math.isnan(row["training s"]) and row["evaluation s"] > 0
    per_user = ranking.ranking_metrics(pop, split.relevant("test"), split.known("test"))
    assert row["HR@10"] == pytest.approx(per_user["hr"].mean())
    again = ranking.evaluate(pop, split, name="popularity")
    assert row.drop("evaluation s").equals(again.drop("evaluation s"))  # bit-identical
    assert ranking.evaluate(pop, split, k=5)["HR@5"] <= row["HR@10"]


def test_comparison_table_is_formatted_for_reading():
    split = ranking.temporal_split(random_encoded(), n_test=2, n_valid=1)
    rng = np.random.default_rng(0)
    rows = [ranking.evaluate(rng.random((split.n_users, split.n_movies)), split, name=name) for name in "ab"]
    table = ranking.comparison_table(rows)
    assert table.index.tolist() == ["a", "b"] and table.index.name == "model"
    shown = ranking.format_comparison(table, compact=False)
    assert shown.columns.tolist() == ["HR@10", "low", "high", "NDCG@10", "MRR", "coverage %", "popularity pct",
                                      "training s"]
    assert all(len(v.split(".")[1]) == 3 for v in shown["HR@10"])
    assert shown["training s"].tolist() == ["", ""]
    with pytest.raises(ValueError, match="give at least one result"):
        ranking.comparison_table([])
    with pytest.raises(ValueError, match="no column 'HR@5'"):
        ranking.format_comparison(table, k=5)


def test_user_metrics_and_paired_difference():
    split = ranking.temporal_split(random_encoded(), n_test=2, n_valid=1)
    pop = np.broadcast_to(split.train_counts().astype(np.float32), (split.n_users, split.n_movies))
    rnd = np.random.default_rng(0).random((split.n_users, split.n_movies))
    a, b = ranking.user_metrics(pop, split), ranking.user_metrics(rnd, split)
    assert a["hr"].mean() == pytest.approx(ranking.evaluate(pop, split)["HR@10"])
    mean, low, high = ranking.paired_difference(a["hr"], b["hr"])
    assert mean == pytest.approx(a["hr"].mean() - b["hr"].mean()) and low <= mean <= high
    assert ranking.paired_difference(a["hr"], a["hr"]) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="one value per user each, got 30 and 2 values"):
        ranking.paired_difference(a["hr"], [0.1, 0.2])


def test_evaluate_details_keeps_the_per_user_values_and_the_lists():
    split = ranking.temporal_split(random_encoded(), n_test=2, n_valid=1)
    pop = np.broadcast_to(split.train_counts().astype(np.float32), (split.n_users, split.n_movies))
    row, per_user, lists = ranking.evaluate_details(pop, split, k=5, name="popularity")
    plain = ranking.evaluate(pop, split, k=5, name="popularity")
    assert row.drop("evaluation s").equals(plain.drop("evaluation s"))
    pd.testing.assert_frame_equal(per_user, ranking.user_metrics(pop, split, k=5))
    assert lists.shape == (split.n_users, 5) and lists.dtype == np.int64
    np.testing.assert_array_equal(lists, ranking.top_k_lists(pop, split.known("test"), 5))
    assert row["coverage@5"] == ranking.coverage(lists, split.n_movies)
    with pytest.raises(ValueError, match="holds nothing out for 'valid'"):
        ranking.evaluate_details(np.zeros((split.n_users, split.n_movies)),
                                 ranking.temporal_split(random_encoded(), n_test=1, n_valid=0), part="valid")
