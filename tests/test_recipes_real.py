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
def test_chapter_9_ranker_epochs_are_those_early_stopping_keeps(split):
    stopped = recommenders.SoftmaxModel().fit(split)  # the defaults: at most 30 epochs, patience 3
    assert stopped.result_.best_epoch == 7, stopped.result_.history
    fixed = recommenders.SoftmaxModel(epochs=7).fit(split)  # what chapter 9 passes
    assert len(fixed.result_.history) == 7
    np.testing.assert_array_equal(fixed.score(split, "test"), stopped.score(split, "test"))
