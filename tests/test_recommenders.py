"""The recommenders of cfcourse.recommenders on small hand-made data: the common interface and its
checks, the baselines against their textbook formulas, and the adapters of the course's Keras models."""

from __future__ import annotations

import numpy as np
import pytest

from cfcourse import models, ranking, recommenders as rec, training
from ranking_data import (assert_test_scores_follow_the_validation_movies, random_encoded, toy_encoded,
                          with_other_validation_movies)


@pytest.fixture(scope="module")
def split():
    return ranking.temporal_split(random_encoded(n_users=30, n_movies=40), n_test=2, n_valid=2)


@pytest.fixture(scope="module")
def toy():
    return ranking.temporal_split(toy_encoded(), n_test=1, n_valid=1)


# --------------------------------------------------------------------------------------
# The common interface
# --------------------------------------------------------------------------------------


class Constant(rec.Recommender):
    """A recommender for the tests: returns whatever ``make(n_rows, n_movies)`` gives."""

    name = "constant"

    def __init__(self, make):
        super().__init__()
        self.make = make

    def _fit(self, split):
        pass

    def _score(self, split, part, users):
        return self.make(len(users), split.n_movies)


def test_fit_is_timed_and_score_checks_its_arguments(toy, split):
    model = Constant(lambda n, m: np.ones((n, m)))
    with pytest.raises(RuntimeError, match="'constant' is not fitted yet: call .fit\\(split\\) first"):
        model.score(toy)
    with pytest.raises(TypeError, match="expects a ranking.TemporalSplit"):
        model.fit(toy.rating_split())
    model.fit(toy)
    assert model.fit_seconds >= 0 and model.score(toy).shape == (4, 9)
    assert model.score(toy, "valid", users=[3, 1]).shape == (2, 9)
    assert model.score(toy, users=np.array([2.0])).shape == (1, 9)
    with pytest.raises(ValueError, match="part must be 'valid' or 'test', got 'train'"):
        model.score(toy, "train")
    with pytest.raises(IndexError, match=r"user index \[4\] outside 0..3"):
        model.score(toy, users=[0, 4])
    with pytest.raises(TypeError, match="users must be dense user indices"):
        model.score(toy, users=[0.5])
    with pytest.raises(ValueError, match=r"fitted on 4 users × 9 movies but this split has 30 × \d+"):
        model.score(split)


def test_scores_of_the_wrong_shape_or_with_nan_are_refused(toy):
    with pytest.raises(ValueError, match=r"the scores of 'constant' must have shape \(users, movies\) = \(4, 9\)"):
        Constant(lambda n, m: np.ones((n, m + 1))).fit(toy).score(toy)
    with pytest.raises(ValueError, match="the scores of 'constant' hold NaN"):
        Constant(lambda n, m: np.full((n, m), np.nan)).fit(toy).score(toy)
    with pytest.raises(ValueError, match="hold NaN"):
        ranking.evaluate(Constant(lambda n, m: np.full((n, m), np.nan)).fit(toy), toy)


def test_evaluate_takes_a_recommender_and_reports_its_training_time(toy):
    model = rec.Popularity().fit(toy)
    row = ranking.evaluate(model, toy)
    assert row.name == "popularity" and row["training s"] == model.fit_seconds
    matrix = ranking.evaluate(model.score(toy), toy, name="popularity")
    assert row.drop(["training s", "evaluation s"]).equals(matrix.drop(["training s", "evaluation s"]))
    assert ranking.evaluate(model, toy, name="other").name == "other"


# --------------------------------------------------------------------------------------
# Baselines
# --------------------------------------------------------------------------------------


def test_popularity_scores_are_training_counts(toy):
    scores = rec.Popularity().fit(toy).score(toy)
    assert (scores == toy.train_counts()).all()
    assert scores.dtype == np.float32


def test_random_scores_are_seeded_per_user(split):
    model = rec.RandomScores(seed=3).fit(split)
    full = model.score(split)
    assert np.array_equal(full[[5, 2]], model.score(split, users=[5, 2]))
    assert not np.array_equal(full, rec.RandomScores(seed=4).fit(split).score(split))
    assert np.array_equal(full, rec.RandomScores(seed=3).fit(split).score(split))
    assert model.score(split, users=[]).shape == (0, split.n_movies)


def ease_direct(x_train: np.ndarray, history: np.ndarray, lam: float) -> np.ndarray:
    """Steck's closed form, written out with the movies × movies inverse."""
    p = np.linalg.inv(x_train.T @ x_train + lam * np.eye(x_train.shape[1]))
    b = -p / np.diag(p)
    np.fill_diagonal(b, 0.0)
    return history @ b


@pytest.mark.parametrize("lam", [1.0, 25.0, 400.0])
def test_ease_woodbury_equals_the_closed_form(split, lam):
    model = rec.EASE(lam=lam).fit(split)
    x = split.interactions("train").toarray().astype(np.float64)
    for part in ("valid", "test"):
        history = split.known(part).toarray().astype(np.float64)
        np.testing.assert_allclose(model.score(split, part), ease_direct(x, history, lam), atol=2e-5)
    assert model.score(split, users=[3]).shape == (1, split.n_movies)


def test_ease_chooses_lambda_on_validation(split):
    model = rec.EASE(lambdas=(1.0, 30.0, 1000.0)).fit(split)
    assert set(model.validation_) == {1.0, 30.0, 1000.0}
    best = max(model.validation_.values())
    assert model.validation_[model.lam_] == best
    expected = ranking.hit_rate(rec.EASE(lam=model.lam_).fit(split).score(split, "valid"), split.relevant("valid"),
                                split.known("valid"))
    assert best == pytest.approx(expected)


@pytest.mark.parametrize("kwargs", [dict(lam=0.0), dict(lam=-1.0), dict(lambdas=()), dict(lambdas=(1.0, float("nan")))])
def test_ease_refuses_bad_lambdas(kwargs):
    with pytest.raises(ValueError, match="λ must be positive numbers"):
        rec.EASE(**kwargs)


def test_pure_svd_folds_in_the_known_movies(split):
    from cfcourse import svd

    model = rec.PureSVD(k=5, values="binary").fit(split)
    x, y = split.ratings("train")
    ref = svd.TruncatedSVDRecommender(split.n_users, split.n_movies, k=5, remove_baseline=False,
                                      min_rating=1.0, max_rating=1.0).fit(x, np.ones_like(y))
    users, movies = ref.embeddings()
    # validation history = the training matrix, whose fold-in is U Σ Vᵀ
    np.testing.assert_allclose(model.score(split, "valid"), users @ movies.T, atol=1e-5)
    # test history adds the validation movies
    history = split.known("test").toarray()
    np.testing.assert_allclose(model.score(split, "test"), history @ ref.movie_factors_ @ ref.movie_factors_.T,
                               atol=1e-5)


def test_pure_svd_chooses_k_on_validation(split):
    model = rec.PureSVD(ks=(2, 4, 8)).fit(split)
    assert set(model.validation_) == {2, 4, 8} and model.validation_[model.k_] == max(model.validation_.values())
    with pytest.raises(ValueError, match="values must be 'binary' or 'rating'"):
        rec.PureSVD(values="stars")
    with pytest.raises(ValueError, match="k must be at least 1"):
        rec.PureSVD(k=0)


def test_baselines_beat_random_on_structured_data():
    split = ranking.temporal_split(random_encoded(n_users=80, n_movies=150, per_user=(15, 30)), 3)
    hr = {name: ranking.evaluate(model.fit(split), split, k=5)["HR@5"]
          for name, model in (("random", rec.RandomScores()), ("popularity", rec.Popularity()),
                              ("EASE", rec.EASE()))}
    assert hr["EASE"] > 3 * max(hr["popularity"], hr["random"]), hr  # tastes are local, not global


# --------------------------------------------------------------------------------------
# The course's Keras models
# --------------------------------------------------------------------------------------


def test_embedding_scores_are_the_logits_of_dot_with_bias(toy):
    training.seed_everything(0)
    model = models.DotWithBias(toy.n_users, toy.n_movies, 4, min_rating=0.5, max_rating=5.0)
    pairs = np.array([[u, m] for u in range(4) for m in range(9)], dtype="int32")
    predicted = training.predict(model, pairs).reshape(4, 9)
    users, movies = rec.embedding_scores(model)
    logits = users @ movies.T
    np.testing.assert_allclose(0.5 + 4.5 / (1 + np.exp(-logits)), predicted, atol=1e-5)
    adapter = rec.RatingModel(model=model, fold_in=False).fit(toy)
    np.testing.assert_allclose(adapter.score(toy), logits, rtol=1e-5)
    # the order of the scores is the order of the predicted ratings
    assert (np.argsort(-adapter.score(toy), axis=1, kind="stable")
            == np.argsort(-predicted, axis=1, kind="stable")).mean() > 0.95
    sub_users, _ = rec.embedding_scores(model, users=[2])
    np.testing.assert_allclose(sub_users, users[[2]])


def test_embedding_scores_without_biases():
    model = models.SimpleDot(3, 5, 2)
    model(np.array([[0, 0]], dtype="int32"))
    users, movies = rec.embedding_scores(model)
    u, m = model.user_embedding.get_weights()[0], model.movie_embedding.get_weights()[0]
    np.testing.assert_allclose(users @ movies.T, u @ m.T, atol=1e-6)


def test_adapters_refuse_unbuilt_or_mismatched_models(toy):
    with pytest.raises(ValueError, match="no built layer 'user_embedding'"):
        rec.RatingModel(model=models.DotWithBias(4, 9, 2)).fit(toy)
    other = models.DotWithBias(5, 9, 2)
    other(np.array([[0, 0]], dtype="int32"))
    with pytest.raises(ValueError, match="the model has 5 users and 9 movies, the split 4 and 9"):
        rec.RatingModel(model=other).fit(toy)


def test_rating_model_trains_dot_with_bias_on_the_temporal_training_part(split):
    model = rec.RatingModel(embedding_dim=4, epochs=2).fit(split)
    assert isinstance(model.model, models.DotWithBias)
    assert len(model.result_.history) <= 2 and model.fit_seconds > 0
    assert model.score(split).shape == (split.n_users, split.n_movies)


def test_softmax_model_trains_a_ranker(split):
    model = rec.SoftmaxModel(embedding_dim=4, epochs=3, batch_size=8, fold_in=False).fit(split)
    assert isinstance(model.model, models.SoftmaxRanker)
    logits = np.asarray(model.model(np.arange(split.n_users), training=False))
    np.testing.assert_allclose(model.score(split), logits, rtol=1e-4, atol=1e-4)


def test_adapters_take_a_training_result_and_count_its_seconds(split):
    training.seed_everything(0)
    ranker = models.SoftmaxRanker(split.n_users, split.n_movies, embedding_dim=4)
    fit = training.train_ranker(ranker, split, epochs=2, batch_size=8, seed=0)
    adapter = rec.SoftmaxModel(model=fit, fold_in=False).fit(split)
    assert adapter.model is ranker and adapter.result_ is fit
    assert fit.seconds <= adapter.fit_seconds < fit.seconds + 5
    logits = np.asarray(ranker(np.arange(split.n_users), training=False))
    np.testing.assert_allclose(adapter.score(split), logits, rtol=1e-4, atol=1e-4)
    training.seed_everything(0)
    ratings = split.rating_split()
    dot = models.DotWithBias(split.n_users, split.n_movies, 4, min_rating=ratings.min_rating,
                             max_rating=ratings.max_rating)
    rating_fit = training.train(dot, ratings, epochs=1, seed=0)
    rating = rec.RatingModel(model=rating_fit).fit(split)
    assert rating.model is dot and rating.fit_seconds >= rating_fit.seconds


# --------------------------------------------------------------------------------------
# The same information for every model: id-based models fold the user in
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: rec.RatingModel(embedding_dim=4, epochs=2),
                                  lambda: rec.SoftmaxModel(embedding_dim=4, epochs=2, batch_size=8)],
                         ids=["rating model", "ranker"])
def test_id_based_test_scores_change_with_the_validation_movies(split, make):
    model = make().fit(split)
    assert_test_scores_follow_the_validation_movies(model, split, user=3)
    model.fold_in = False  # the trained vectors: the test scores ignore the validation movies
    np.testing.assert_array_equal(model.score(split, "test"), model.score(with_other_validation_movies(split, 3),
                                                                           "test"))


def test_folding_in_the_training_movies_keeps_the_ranker_near_its_trained_vectors(split):
    model = rec.SoftmaxModel(embedding_dim=4, epochs=3, batch_size=8).fit(split)
    folded = model.score(split, "valid")
    model.fold_in = False
    trained = model.score(split, "valid")
    # same model, the user vectors refitted on the same movies: the orders agree far more than by chance
    agree = np.mean([np.corrcoef(a, b)[0, 1] for a, b in zip(folded, trained)])
    assert agree > 0.5, agree
