"""The crash course's softmax recommender (cfcourse.bags): bags, later labels, the model, the recommender."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from cfcourse import bags, ranking
from ranking_data import random_encoded


def test_cut_history_puts_labels_strictly_after_the_bag():
    history = np.array([5, 3, 9, 1, 7, 2])
    bag, labels = bags.cut_history(history, 2, 3)
    assert bag.tolist() == [5, 3] and labels.tolist() == [9, 1, 7]
    assert bags.cut_history(history, 5, 3)[1].tolist() == [2]  # fewer labels at the end of the history
    for cut in (0, 6, 7):
        with pytest.raises(ValueError, match="at least one movie in the bag and one after it"):
            bags.cut_history(history, cut, 3)
    with pytest.raises(ValueError, match="window"):
        bags.cut_history(history, 2, 0)
    with pytest.raises(TypeError, match="whole number"):
        bags.cut_history(history, 2.5, 3)


def test_bag_examples_latest_cuts_first_and_no_label_in_its_bag():
    histories = [np.arange(25), np.array([40, 41, 42]), np.arange(100, 112)]
    ex = bags.bag_examples(histories, 120, window=5, max_per_user=3)
    assert ex.users.tolist() == [0, 0, 0, 2, 2] and ex.cuts.tolist() == [20, 15, 10, 7, 2]
    assert ex.bags.shape == ex.labels.shape == (5, 120)
    assert ex.bags.multiply(ex.labels).sum() == 0
    first = ex.bags[0].indices.tolist(), ex.labels[0].indices.tolist()
    assert first == (list(range(20)), list(range(20, 25)))
    assert len(ex) == 5


def test_bag_examples_early_cuts_and_bad_arguments():
    ex = bags.bag_examples([np.arange(30)], 30, window=10, max_per_user=1, early=(3, 20))
    assert ex.cuts.tolist() == [20, 3]  # 20 is already a cut; 3 is added
    assert ex.labels[1].indices.tolist() == list(range(3, 13))
    with pytest.raises(ValueError, match="window must be a positive"):
        bags.bag_examples([np.arange(30)], 30, window=0)
    with pytest.raises(ValueError, match="nothing to cut"):
        bags.bag_examples([np.arange(5)], 5, window=10)


def test_bag_matrix_scales_rows_and_refuses_empty_bags():
    x = bags.bag_matrix(sp.csr_matrix(np.array([[1, 0, 1, 1], [0, 2, 0, 0]])))
    np.testing.assert_allclose(x.toarray(), [[1 / np.sqrt(3), 0, 1 / np.sqrt(3), 1 / np.sqrt(3)], [0, 1, 0, 0]],
                               rtol=1e-6)
    np.testing.assert_allclose(bags.bag_matrix(np.array([[1, 1, 0, 0]]), power=1.0).toarray(), [[0.5, 0.5, 0, 0]])
    with pytest.raises(ValueError, match=r"1 bag\(s\) are empty \(rows \[1\]\).*Popularity"):
        bags.bag_matrix(np.array([[1, 0], [0, 0]]))
    with pytest.raises(ValueError, match="cover 2 movies but the model knows 3"):
        bags.bag_matrix(np.array([[1, 0]]), n_movies=3)


def test_bag_lists_pad_with_minus_one_and_refuse_empty_bags():
    x = bags.bag_lists(sp.csr_matrix(np.array([[0, 3, 0, 1, 1], [2, 0, 0, 0, 0], [0, 0, 0, 0, 7]])))
    assert x.dtype == np.int32 and x.tolist() == [[1, 3, 4], [0, -1, -1], [4, -1, -1]]
    assert bags.PAD == -1
    with pytest.raises(ValueError, match=r"1 bag\(s\) are empty \(rows \[1\]\).*Popularity"):
        bags.bag_lists(np.array([[1, 0], [0, 0]]))
    with pytest.raises(ValueError, match="cover 2 movies but the model knows 3"):
        bags.bag_lists(np.array([[1, 0]]), n_movies=3)


def _reference_logits(model, multi_hot, genres, power=0.5):
    """The model by hand, from multi-hot rows: (sum of the bag's rows) / size**power, genre shares, layers."""
    x = np.asarray(multi_hot, dtype=np.float64)
    x = (x != 0).astype(np.float64)
    n = x.sum(axis=1, keepdims=True)
    table = np.asarray(model.movie_embedding.embeddings)
    parts = [(x @ table) / n ** power]
    if genres is not None:
        parts.append((x @ genres) / n)
    h = np.concatenate(parts, axis=1)
    for layer in model.hidden_layers:
        h = np.maximum(h @ np.asarray(layer.kernel) + np.asarray(layer.bias), 0)
    u = h @ np.asarray(model.to_user.kernel) + np.asarray(model.to_user.bias)
    return u @ np.asarray(model.output_movies.kernel) + np.asarray(model.output_movies.bias)


@pytest.mark.parametrize("power", [0.5, 1.0, 0.0])
def test_model_reads_index_lists_as_the_scaled_sum_of_the_bag_and_its_genre_share(power):
    genres = np.array([[1, 0], [1, 1], [0, 1], [0, 0]], dtype=np.float32)
    model = bags.BagSoftmax(4, genres, embedding_dim=3, hidden=(5,), bag_power=power)
    multi_hot = np.array([[1, 1, 0, 0], [0, 0, 1, 0], [1, 1, 1, 1]])
    lists = bags.bag_lists(multi_hot)
    out = np.asarray(model(lists))
    assert out.shape == (3, 4) and np.isfinite(out).all()
    np.testing.assert_allclose(out, _reference_logits(model, multi_hot, genres, power), rtol=1e-4, atol=1e-5)
    # more padding, or the bag's movies in another order, change nothing
    wider = np.hstack([lists, np.full((3, 2), bags.PAD, np.int32)])
    np.testing.assert_allclose(np.asarray(model(wider)), out, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(model(lists[:, ::-1].copy())), out, rtol=1e-5, atol=1e-6)
    assert model.movie_embedding.embeddings.shape == (4, 3) and model.output_movies.kernel.shape == (3, 4)
    with pytest.raises(ValueError, match="one row per movie"):
        bags.BagSoftmax(4, genres[:3])
    with pytest.raises(ValueError, match="embedding_dim"):
        bags.BagSoftmax(4, embedding_dim=0)


def test_model_without_genres_reads_only_the_bag():
    model = bags.BagSoftmax(6, None, embedding_dim=4, hidden=(3,))
    multi_hot = np.array([[0, 1, 0, 1, 1, 0]])
    np.testing.assert_allclose(np.asarray(model(bags.bag_lists(multi_hot))),
                               _reference_logits(model, multi_hot, None), rtol=1e-4, atol=1e-5)


def test_with_labels_in_bag_puts_every_label_into_its_bag_and_keeps_the_rest():
    histories = [np.arange(25), np.arange(100, 112)]
    ex = bags.bag_examples(histories, 120, window=5, max_per_user=3)
    leaky = bags.with_labels_in_bag(ex)
    assert leaky.users.tolist() == ex.users.tolist() and leaky.cuts.tolist() == ex.cuts.tolist()
    assert (leaky.labels != ex.labels).nnz == 0
    for i in range(len(ex)):
        assert set(leaky.bags[i].indices) == set(ex.bags[i].indices) | set(ex.labels[i].indices)
    assert set(leaky.bags.data.tolist()) == {1.0}
    with pytest.raises(TypeError, match="BagExamples"):
        bags.with_labels_in_bag(ex.bags)


@pytest.fixture(scope="module")
def small():
    encoded = random_encoded(n_users=30, n_movies=40, per_user=(20, 30))
    split = ranking.temporal_split(encoded, n_test=2, n_valid=2)
    movies = pd.DataFrame({"movieId": encoded.movies.raw_ids,
                           "title": [f"Film {i} ({1950 + i})" for i in range(encoded.n_movies)],
                           "genres": ["Drama" if i % 3 else "Comedy|Romance" for i in range(encoded.n_movies)]})
    model = bags.BagSoftmaxRecommender(movies, embedding_dim=4, hidden=(8,), window=3, epochs=4,
                                       batch_size=16).fit(split)
    return split, movies, model


def test_recommender_trains_on_later_labels_and_scores_from_known_movies(small):
    split, movies, model = small
    result = model.result_
    assert result.examples.bags.multiply(result.examples.labels).sum() == 0
    # the model never reads a multi-hot row: its input is a batch of index lists
    assert model.model.movie_embedding.embeddings.shape == (split.n_movies, 4)
    assert 1 <= result.best_epoch <= len(result.history) <= 4
    assert result.val_hr == pytest.approx(result.history["val_hr"].max())
    scores = model.score(split, "test")
    assert scores.shape == (split.n_users, split.n_movies)
    # scoring reads the bag known at the evaluation point: validation movies change the test scores
    np.testing.assert_allclose(scores[:3], model.scores_for(split.known("test")[:3]), rtol=1e-6)
    assert not np.allclose(scores, model.score(split, "valid"))
    row = ranking.evaluate(model, split)
    assert row.name == "MLCC softmax (bag + genres)" and 0 <= row["HR@10"] <= 1


def test_training_is_seeded_batches_are_padded_per_batch(small):
    split, movies, model = small
    again = bags.BagSoftmaxRecommender(movies, embedding_dim=4, hidden=(8,), window=3, epochs=4,
                                       batch_size=16).fit(split)
    np.testing.assert_allclose(again.score(split, "test"), model.score(split, "test"), rtol=1e-5, atol=1e-6)
    batches = list(bags._example_batches(model.result_.examples, 16, seed=0))
    widths = [int(x.shape[1]) for x, _ in batches]
    assert len(batches) == -(-len(model.result_.examples) // 16)
    assert max(widths) == int(np.diff(model.result_.examples.bags.indptr).max()) and min(widths) < max(widths)
    for x, y in batches:
        np.testing.assert_allclose(np.asarray(y).sum(axis=1), 1.0, rtol=1e-6)  # labels as a distribution
        assert (np.asarray(x) >= 0).any(axis=1).all()  # no empty bag


def test_recommend_for_a_new_bag(small):
    split, movies, model = small
    liked = movies["movieId"].iloc[[0, 5]].tolist()
    top = model.recommend(liked, split, movies, n=5)
    assert list(top.columns) == ["rank", "movieId", "title", "score"] and len(top) == 5
    assert not set(liked) & set(top["movieId"]) and top["score"].is_monotonic_decreasing
    with pytest.raises(ValueError, match="the bag is empty"):
        model.recommend([], split, movies)
    with pytest.raises(ValueError, match=r"unknown movieId\(s\) \[999999\].*trained with"):
        model.recommend([999999], split, movies)


def test_recommender_without_genres_and_unfitted():
    with pytest.raises(RuntimeError, match="not fitted"):
        bags.BagSoftmaxRecommender(use_genres=False).scores_for(np.ones((1, 3)))


def test_training_on_given_examples_and_refusing_foreign_ones(small):
    split, movies, _ = small
    honest = bags.bag_examples(split.history("valid"), split.n_movies, window=3)
    leaky = bags.BagSoftmaxRecommender(movies, embedding_dim=4, hidden=(8,), epochs=2, batch_size=16,
                                       examples=bags.with_labels_in_bag(honest)).fit(split)
    assert leaky.result_.examples.bags.multiply(leaky.result_.examples.labels).sum() > 0
    wrong = bags.bag_examples(split.history("valid"), split.n_movies + 1, window=3)
    with pytest.raises(ValueError, match="over the split's movies"):
        bags.BagSoftmaxRecommender(movies, embedding_dim=4, hidden=(8,), epochs=1, examples=wrong).fit(split)
