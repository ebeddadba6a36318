"""Chapter 6 trains the two models with biases for a fixed number of epochs, the ones early stopping keeps
(chapter 4's recipe: patience 2 on the validation RMSE). On the real ml-latest-small, seeded and deterministic:
early stopping picks exactly those epochs, and the fixed-epoch run gives the same weights."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from cfcourse import data, models, training
from helpers import real_data_dir

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def split():
    folder = real_data_dir()
    assert folder is not None, f"these tests need the real data: set {data.ENV_DATA}"
    return data.load_split(folder)[2]


def chapter_epochs() -> list[int]:
    """The epochs chapter 6 passes to training.train, in order (dropout model, then L2 model)."""
    text = (ROOT / "notebooks" / "06_reading_embeddings.md").read_text(encoding="utf-8")
    return [int(n) for n in re.findall(r"training\.train\(.*epochs=(\d+)", text)]


def bias_model(split, **options):
    training.seed_everything(42)
    return models.DotWithBias(split.n_users, split.n_movies, min_rating=split.min_rating,
                              max_rating=split.max_rating, **options)


@pytest.mark.slow
@pytest.mark.parametrize("which, options", [(0, {}), (1, dict(user_dropout=0, movie_dropout=0, l2=1e-4))])
def test_chapter_6_trains_the_epochs_early_stopping_keeps(split, which, options):
    chosen = chapter_epochs()
    assert len(chosen) == 2, chosen
    stopped = training.train(bias_model(split, **options), split, epochs=20, patience=2, seed=42)
    assert stopped.best_epoch == chosen[which], stopped.history
    assert len(stopped.history) == chosen[which] + 2  # stopped after two epochs without a better one
    fixed = training.train(bias_model(split, **options), split, epochs=chosen[which], patience=2, seed=42)
    for a, b in zip(stopped.model.get_weights(), fixed.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert fixed.val_rmse == stopped.val_rmse
