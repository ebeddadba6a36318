"""Epoch counts that chapters pass instead of early stopping, on the real ml-latest-small: each is the epoch that
early stopping on the validation HR@10 keeps, and the shorter run gives the same model. Seeded and deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from cfcourse import data, ranking, recommenders
from helpers import real_data_dir


@pytest.fixture(scope="module")
def split():
    folder = real_data_dir()
    assert folder is not None, f"these tests need the real data: set {data.ENV_DATA}"
    return ranking.temporal_split(data.encode_ids(data.load_movielens(folder).ratings))


@pytest.mark.slow
def test_chapter_7_rating_model_epochs_are_those_early_stopping_keeps(split):
    recipe = dict(batch_size=2048, learning_rate=0.01)  # what chapter 7 passes
    stopped = recommenders.RatingModel(**recipe).fit(split)  # at most 30 epochs, patience 2
    assert stopped.result_.best_epoch == 9, stopped.result_.history
    assert len(stopped.result_.history) == 11
    fixed = recommenders.RatingModel(epochs=9, **recipe).fit(split)
    assert fixed.result_.val_rmse == stopped.result_.val_rmse


@pytest.mark.slow
def test_chapter_7_ranker_keeps_epoch_7_and_its_eighth_epoch_is_the_same(split):
    from cfcourse import models, training

    def ranker(**options):  # as chapter 7 builds and trains it
        training.seed_everything(42)
        model = models.SoftmaxRanker(split.n_users, split.n_movies, embedding_dim=64)
        return training.train_ranker(model, split, **options)

    stopped = ranker()  # the defaults: at most 30 epochs, patience 3
    assert stopped.best_epoch == 7, stopped.history
    fixed = ranker(epochs=8)  # what chapter 7 passes: the best epoch and one more
    np.testing.assert_allclose(fixed.history["loss"], stopped.history["loss"].iloc[:8])
    assert fixed.best_epoch == 7 and fixed.val_hr == stopped.val_hr
