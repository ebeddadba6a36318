"""The chapter's recipe for the next-movie models on the real ml-latest-small: the epochs it passes were chosen
on the validation part (early stopping on validation HR@10 picks them), and a fixed-epoch run reproduces that
model. Seeded and deterministic."""

from __future__ import annotations

import numpy as np
import pytest

from cfcourse import data, ranking, sequences
from helpers import real_data_dir


@pytest.fixture(scope="module")
def split():
    folder = real_data_dir()
    assert folder is not None, f"these tests need the real data: set {data.ENV_DATA}"
    return ranking.temporal_split(data.encode_ids(data.load_movielens(folder).ratings))


def recipe(kind, **kwargs):
    return sequences.SequenceRecommender(kind, vocabulary_size=1000, length=50, embedding_dim=32, max_targets=100,
                                         learning_rate=0.03, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("kind, chosen", [("gru", 5), ("bag", 6)])
def test_the_chapters_epochs_are_where_validation_hr_stops_improving(split, kind, chosen):
    validated = recipe(kind, epochs=12, patience=2).fit(split)
    history = validated.result_.history
    assert validated.result_.best_epoch == chosen, history
    assert len(history) == chosen + 2  # stopped after two epochs without a better one
    fixed = recipe(kind, epochs=chosen, validate=False).fit(split)
    # the same seeded run, without the validation passes: the same model
    np.testing.assert_array_equal(fixed.score(split, "valid")[:50], validated.score(split, "valid")[:50])
    hr = ranking.hit_rate(fixed.score(split, "valid"), split.relevant("valid"), split.known("valid"))
    assert hr == pytest.approx(validated.result_.val_hr)
    # well above popularity on the validation part
    popularity = np.broadcast_to(split.train_counts().astype(np.float32), (split.n_users, split.n_movies))
    assert hr > 1.5 * ranking.hit_rate(popularity, split.relevant("valid"), split.known("valid"))
