"""The deep rating model with side features (cfcourse.deep) and training models side by side
(cfcourse.side_by_side), on small synthetic data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cfcourse import data, deep, features, models, ranking, side_by_side, training
from ranking_data import assert_test_scores_follow_the_validation_movies, random_encoded


def small_split(n_users=25, n_movies=30, seed=0):
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(n_users), 12)
    movies = np.concatenate([rng.choice(n_movies, 12, replace=False) for _ in range(n_users)])
    ratings = pd.DataFrame({"userId": users + 1, "movieId": movies + 1,
                            "rating": rng.integers(1, 11, len(users)) / 2.0})
    encoded = data.encode_ids(ratings)
    return encoded, data.split_ratings(encoded, 0.25, seed=1)


def side(n_movies, n=4, seed=0):
    return np.random.default_rng(seed).random((n_movies, n)).astype(np.float32)


def test_output_is_one_rating_per_pair_on_the_scale():
    _, split = small_split()
    for model in (deep.DeepRatingModel(split.n_users, split.n_movies, side(split.n_movies), min_rating=0.5,
                                       max_rating=5.0, user_dim=3, movie_dim=5, hidden=(8, 4)),
                  deep.DeepRatingModel(split.n_users, split.n_movies, None, user_dim=3, movie_dim=5),
                  deep.DeepRatingModel(split.n_users, split.n_movies, side(split.n_movies), use_movie_id=False)):
        out = np.asarray(model(split.x_valid))
        assert out.shape == (len(split.x_valid),) and (out > 0.5).all() and (out < 5.0).all()


def test_widths_and_parts_of_the_input():
    n_users, n_movies = 7, 9
    both = deep.DeepRatingModel(n_users, n_movies, side(n_movies, 4), user_dim=3, movie_dim=5, hidden=(6,))
    both(np.array([[0, 0]]))
    assert both.hidden_layers[0].kernel.shape == (3 + 5 + 4, 6)
    content = deep.DeepRatingModel(n_users, n_movies, side(n_movies, 4), user_dim=3, use_movie_id=False, hidden=(6,))
    content(np.array([[0, 0]]))
    assert content.movie_embedding is None and content.hidden_layers[0].kernel.shape == (3 + 4, 6)
    # the side features are a fixed table, not trained
    assert [w.name for w in both.non_trainable_weights] == ["side_features"]


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="one row per movie"):
        deep.DeepRatingModel(5, 9, side(8))
    with pytest.raises(ValueError, match="NaN or infinite.*YearScaler"):
        deep.DeepRatingModel(5, 3, np.array([[1.0], [np.nan], [0.0]]))
    with pytest.raises(ValueError, match="needs side_features"):
        deep.DeepRatingModel(5, 3, None, use_movie_id=False)
    with pytest.raises(ValueError, match="hidden width"):
        deep.DeepRatingModel(5, 3, hidden=(0,))
    with pytest.raises(ValueError, match="dropout"):
        deep.DeepRatingModel(5, 3, dropout=1.0)
    with pytest.raises(ValueError, match="min_rating must be below"):
        deep.DeepRatingModel(5, 3, min_rating=5, max_rating=1)


def test_rating_scores_are_the_logits_of_every_pair():
    n_users, n_movies = 6, 11
    for hidden in ((8,), (8, 5)):
        training.seed_everything(3)
        model = deep.DeepRatingModel(n_users, n_movies, side(n_movies), user_dim=4, movie_dim=2, hidden=hidden,
                                     min_rating=1.0, max_rating=5.0)
        pairs = np.stack(np.meshgrid(np.arange(n_users), np.arange(n_movies), indexing="ij"), -1).reshape(-1, 2)
        ratings = np.asarray(model(pairs)).reshape(n_users, n_movies)
        scores = deep.rating_scores(model, chunk=4)
        np.testing.assert_allclose(1.0 + 4.0 / (1.0 + np.exp(-scores)), ratings, atol=1e-5)
        np.testing.assert_allclose(deep.rating_scores(model, users=[5, 1]), scores[[5, 1]], atol=1e-6)
    with pytest.raises(TypeError, match="DeepRatingModel"):
        deep.rating_scores(models.DotWithBias(3, 3))
    with pytest.raises(IndexError, match="outside 0..5"):
        deep.rating_scores(model, users=[6])


def test_side_by_side_training_equals_training_alone():
    """Each model takes the steps it would take alone on the same batches (the module's claim)."""
    _, split = small_split()

    def dot(seed):
        training.seed_everything(seed)
        return models.DotWithBias(split.n_users, split.n_movies, embedding_dim=4, user_dropout=0, movie_dropout=0,
                                  l2=1e-3)

    recipe = dict(batch_size=32, learning_rate=0.01, epochs=4, patience=10, seed=5)
    alone = side_by_side.train_side_by_side({"a": dot(1)}, split, **recipe)
    both = side_by_side.train_side_by_side({"a": dot(1), "b": dot(2)}, split, **recipe)
    for w_alone, w_both in zip(alone.models["a"].get_weights(), both.models["a"].get_weights()):
        np.testing.assert_allclose(w_alone, w_both, atol=1e-5)
    assert both.summary.loc["a", "val_rmse"] == pytest.approx(alone.summary.loc["a", "val_rmse"], abs=1e-5)
    assert list(both.summary.index) == ["a", "b"] and both.epochs == 4
    assert set(both.history.columns) == {"epoch", "model", "val_rmse"} and len(both.history) == 8


def test_each_model_keeps_its_own_best_epoch():
    _, split = small_split()
    training.seed_everything(0)
    fast = models.DotWithBias(split.n_users, split.n_movies, embedding_dim=8, user_dropout=0, movie_dropout=0)
    slow = models.DotWithBias(split.n_users, split.n_movies, embedding_dim=2, user_dropout=0, movie_dropout=0,
                              l2=1e-2)
    result = side_by_side.train_side_by_side({"fast": fast, "slow": slow}, split, batch_size=16,
                                             learning_rate=0.05, epochs=12, patience=2)
    for name, model in result.models.items():
        history = result.history[result.history.model == name]
        best = history.loc[history.val_rmse.idxmin()]
        assert result.summary.loc[name, "best_epoch"] == best.epoch
        from cfcourse.metrics import rmse

        assert rmse(split.y_valid, np.asarray(model(split.x_valid))) == pytest.approx(best.val_rmse, abs=1e-5)
    assert result.epochs < 12  # stopped once both had waited `patience` epochs


def test_side_by_side_bad_input():
    _, split = small_split()
    with pytest.raises(ValueError, match="non-empty dict"):
        side_by_side.train_side_by_side({}, split)
    with pytest.raises(ValueError, match="model 'm' has 3 users and 3 movies"):
        side_by_side.train_side_by_side({"m": models.DotWithBias(3, 3)}, split)
    with pytest.raises(TypeError, match="cfcourse.data.Split"):
        side_by_side.train_side_by_side({"m": models.DotWithBias(3, 3)}, object())
    with pytest.raises(ValueError, match="patience"):
        side_by_side.train_side_by_side({"m": models.DotWithBias(3, 3)}, split, patience=-1)


def test_build_deep_uses_the_defaults_and_the_split_scale():
    encoded, split = small_split()
    movies = pd.DataFrame({"movieId": encoded.movies.raw_ids, "title": [f"M{i} (19{60 + i})" for i in
                                                                         range(encoded.n_movies)],
                           "genres": ["Comedy|Drama" if i % 2 else "Horror" for i in range(encoded.n_movies)]})
    mf = features.movie_features(encoded, movies)
    model = deep.build_deep(split, mf, seed=1)
    assert (model.user_dim, model.movie_dim, model.hidden, model.l2) == (deep.DEFAULTS["user_dim"],
                                                                        deep.DEFAULTS["movie_dim"],
                                                                        deep.DEFAULTS["hidden"], deep.DEFAULTS["l2"])
    assert model.n_side == 3 + 2 and (model.min_rating, model.max_rating) == (split.min_rating, split.max_rating)
    again = deep.build_deep(split, mf, seed=1)
    pairs = split.x_valid[:5]
    np.testing.assert_array_equal(np.asarray(model(pairs)), np.asarray(again(pairs)))  # same seed, same start
    assert deep.build_deep(split, None, user_dim=4).n_side == 0


def test_deep_recommender_on_the_ranking_protocol():
    encoded = random_encoded(n_users=30, n_movies=40)
    split = ranking.temporal_split(encoded, n_test=2, n_valid=2)
    movies = pd.DataFrame({"movieId": encoded.movies.raw_ids,
                           "title": [f"Film {i} ({1950 + i})" for i in range(encoded.n_movies)],
                           "genres": ["Drama" if i < 20 else "Comedy|Romance" for i in range(encoded.n_movies)]})
    model = deep.DeepRatingRecommender(movies, user_dim=4, movie_dim=4, hidden=(8,),
                                       recipe=dict(batch_size=64, epochs=3)).fit(split)
    scores = model.score(split, "test", users=[0, 3])
    assert scores.shape == (2, split.n_movies) and np.isfinite(scores).all()
    assert model.model.n_side == 3 + 2 and len(model.result_.history) <= 3
    folded = model.user_side(split, "test")
    np.testing.assert_allclose(scores, deep.rating_scores(model.model, [0, 3], user_vectors=folded[[0, 3]]),
                               rtol=1e-5, atol=1e-5)
    assert_test_scores_follow_the_validation_movies(model, split, user=3)
    model.fold_in = False
    np.testing.assert_allclose(model.score(split, "test", users=[0, 3]), deep.rating_scores(model.model, [0, 3]))
    row = ranking.evaluate(model, split)
    assert 0 <= row["HR@10"] <= 1 and row.name == "deep rating model (genres + year)"
    collaborative = deep.DeepRatingRecommender(side_features=False, user_dim=4, movie_dim=4,
                                               recipe=dict(epochs=1)).fit(split)
    assert collaborative.model.n_side == 0
