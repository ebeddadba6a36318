"""Chapters 5 and 6 train their models for a fixed number of epochs, the ones early stopping keeps
(the course's early stopping: patience 2 on the validation RMSE). On the real ml-latest-small, seeded and deterministic:
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


def chapter_epochs(chapter: str) -> list[int]:
    """The epochs a chapter passes to training.train, in order (chapter 6: dropout model, then L2 model)."""
    text = (ROOT / "notebooks" / f"{chapter}.md").read_text(encoding="utf-8")
    return [int(n) for n in re.findall(r"training\.train\(.*epochs=(\d+)", text)]


def assert_same_run(stopped, fixed, epochs: int) -> None:
    """Early stopping kept ``epochs`` and stopped two epochs later; the fixed-epoch run is the same model."""
    assert stopped.best_epoch == epochs, stopped.history
    assert len(stopped.history) == epochs + 2  # stopped after two epochs without a better one
    for a, b in zip(stopped.model.get_weights(), fixed.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert fixed.val_rmse == stopped.val_rmse


def bias_model(split, **options):
    training.seed_everything(42)
    return models.DotWithBias(split.n_users, split.n_movies, min_rating=split.min_rating,
                              max_rating=split.max_rating, **options)


@pytest.mark.slow
@pytest.mark.parametrize("which, options", [(0, {}), (1, dict(user_dropout=0, movie_dropout=0, l2=1e-4))])
def test_chapter_6_trains_the_epochs_early_stopping_keeps(split, which, options):
    chosen = chapter_epochs("06_reading_embeddings")
    assert len(chosen) == 2, chosen
    # chapter 6's own recipe: batches of 4,096, learning rate 0.01
    text = (ROOT / "notebooks" / "06_reading_embeddings.md").read_text(encoding="utf-8")
    assert "recipe = dict(batch_size=4096, learning_rate=1e-2, seed=42)" in text
    recipe = dict(batch_size=4096, learning_rate=1e-2, patience=2, seed=42)
    stopped = training.train(bias_model(split, **options), split, epochs=20, **recipe)
    fixed = training.train(bias_model(split, **options), split, epochs=chosen[which], **recipe)
    assert_same_run(stopped, fixed, chosen[which])


@pytest.mark.slow
@pytest.mark.parametrize("embedding, initializer", [("diy", None), ("keras", "post"), ("diy", "post")])
def test_chapter_5_trains_the_epochs_early_stopping_keeps(split, embedding, initializer):
    chosen = chapter_epochs("05_diy_embedding")
    assert len(chosen) == 1, chosen

    def fit(epochs):
        training.seed_everything(42)
        start = models.post_initializer() if initializer == "post" else initializer
        model = models.SimpleDot(split.n_users, split.n_movies, embedding_dim=64, embedding=embedding,
                                 initializer=start)
        return training.train(model, split, epochs=epochs, batch_size=1024, learning_rate=5e-3, patience=2,
                              seed=42)

    assert_same_run(fit(20), fit(chosen[0]), chosen[0])
