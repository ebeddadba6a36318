"""Ratings as Parquet and the streaming tf.data pipeline: every rating exactly once per pass,
shuffled and reproducible, evaluation equal to the in-memory one, and training that learns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cfcourse import parquet, streaming
from cfcourse.metrics import rmse


def pairs_of(frame: pd.DataFrame) -> list[tuple]:
    return sorted(map(tuple, frame[["user", "movie", "rating"]].to_numpy().tolist()))


def all_ratings(folder) -> pd.DataFrame:
    return pd.concat([pq.read_table(p).to_pandas() for p in parquet.parquet_files(folder)], ignore_index=True)


def passes(dataset, n: int) -> list[list[tuple]]:
    out = []
    iterator = iter(dataset.repeat(n))
    per_pass = None
    batches = [(x.numpy(), y.numpy()) for x, y in iterator]
    rows = [tuple(map(float, (*xy, r))) for x, y in batches for xy, r in zip(x, y)]
    per_pass = len(rows) // n
    for i in range(n):
        out.append(rows[i * per_pass:(i + 1) * per_pass])
    return out


def test_write_split_round_trips_the_course_split(tmp_path):
    from cfcourse import data

    ratings = pd.DataFrame({"userId": [1, 1, 2, 2, 3, 3, 3, 4], "movieId": [10, 20, 10, 30, 20, 30, 40, 10],
                            "rating": [4.0, 3.5, 5.0, 2.0, 1.0, 4.5, 3.0, 2.5],
                            "timestamp": np.arange(8, dtype=np.int64) + 1_000})
    encoded = data.encode_ids(ratings)
    split = data.split_ratings(encoded, 0.25, seed=1)
    train, valid = parquet.write_split(split, tmp_path / "split", encoded)
    for path, x, y, index in ((train, split.x_train, split.y_train, split.train_index),
                              (valid, split.x_valid, split.y_valid, split.valid_index)):
        table = pq.read_table(path).to_pandas()
        np.testing.assert_array_equal(table[["user", "movie"]].to_numpy(), x)
        np.testing.assert_array_equal(table["rating"].to_numpy(), y)
        np.testing.assert_array_equal(table["timestamp"].to_numpy(), ratings["timestamp"].to_numpy()[index])
    assert sorted(p.name for p in (tmp_path / "split").iterdir()) == ["train.parquet", "valid.parquet"]
    assert parquet.count_rows(tmp_path / "split") == len(ratings)


@pytest.mark.parametrize("pairs, ratings, message", [
    (np.zeros((3, 3), int), np.zeros(3), r"pairs of shape \(n, 2\)"),
    (np.zeros((3, 2), float), np.zeros(3), "must be integers"),
    (np.array([[0, -1]]), np.zeros(1), "between 0 and 2\\*\\*31 - 1"),
    (np.zeros((3, 2), int), np.zeros(2), r"ratings of shape \(n,\)"),
])
def test_write_ratings_refuses_bad_input(tmp_path, pairs, ratings, message):
    with pytest.raises(ValueError, match=message):
        parquet.write_ratings(tmp_path / "r.parquet", pairs, ratings)
    assert list(tmp_path.iterdir()) == []


def test_missing_files_and_columns_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        parquet.parquet_files(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no .parquet file"):
        parquet.parquet_files(tmp_path / "empty")
    pq.write_table(pa.table({"userId": [1], "movieId": [2], "rating": [3.0]}), tmp_path / "raw.parquet")
    with pytest.raises(ValueError, match=r"has no column\(s\) \['user', 'movie'\].*dense user and movie indices"):
        streaming.ratings_dataset(tmp_path / "raw.parquet")
    with pytest.raises(ValueError, match="batch_size must be positive"):
        streaming.ratings_dataset(tmp_path / "raw.parquet", batch_size=0)


def test_every_rating_once_per_pass_shuffled_and_reproducible(tiny_synthetic):
    folder = tiny_synthetic.train
    expected = pairs_of(all_ratings(folder))
    dataset = streaming.ratings_dataset(folder, batch_size=128, window=500, seed=5)
    first, second = passes(dataset, 2)
    assert sorted(first) == expected and sorted(second) == expected
    assert first != second  # a new order every pass
    again = passes(streaming.ratings_dataset(folder, batch_size=128, window=500, seed=5), 2)
    assert again == [first, second]  # the same seed gives the same orders
    other = passes(streaming.ratings_dataset(folder, batch_size=128, window=500, seed=6), 1)[0]
    assert other != first
    # batches are full except at most one per file
    sizes = [int(y.shape[0]) for _, y in streaming.ratings_dataset(folder, batch_size=128, window=500)]
    assert sum(s != 128 for s in sizes) <= len(parquet.parquet_files(folder))


def test_unshuffled_stream_is_the_file_order(tiny_synthetic):
    folder = tiny_synthetic.valid
    rows = [(int(u), int(m), float(r)) for x, y in streaming.ratings_dataset(folder, batch_size=100, shuffle=False,
                                                                              cycle_length=1)
            for (u, m), r in zip(x.numpy(), y.numpy())]
    frame = all_ratings(folder)
    assert rows == [(int(u), int(m), float(r)) for u, m, r in frame[["user", "movie", "rating"]].to_numpy()]


def test_streaming_rmse_and_mean_match_the_in_memory_ones(tiny_synthetic):
    frame = all_ratings(tiny_synthetic.valid)

    def model(pairs, training=False):  # any function of the pairs works as a "model"
        return 2.5 + 0.001 * pairs[:, 0] + 0.002 * (pairs[:, 1] % 7)

    x = frame[["user", "movie"]].to_numpy()
    assert streaming.streaming_rmse(model, tiny_synthetic.valid, batch_size=97) == pytest.approx(
        rmse(frame["rating"], model(x)), rel=1e-6)
    assert streaming.mean_rating(tiny_synthetic.valid) == pytest.approx(frame["rating"].mean(), rel=1e-6)


def test_streaming_training_learns(tiny_synthetic):
    from cfcourse.models import DotWithBias
    from cfcourse.training import seed_everything

    g = tiny_synthetic
    seed_everything(1)
    model = DotWithBias(g.n_users, g.n_movies, embedding_dim=8)
    fit = streaming.fit_streaming(model, g.train, g.valid, passes=8, batch_size=256, learning_rate=2e-2, seed=1)
    mean = streaming.mean_rating(g.train)
    baseline = streaming.streaming_rmse(lambda x, training=False: np.full(len(x), mean), g.valid)
    assert fit.passes == 8 and fit.n_train == g.n_train and len(fit.train_rmse) == 8
    assert fit.train_rmse[-1] < fit.train_rmse[0] - 0.1
    assert fit.val_rmse < baseline - 0.02, (fit.val_rmse, baseline)
    assert fit.seconds > 0 and fit.seconds_per_million_per_pass > 0
    with pytest.raises(ValueError, match="passes must be at least 1"):
        streaming.fit_streaming(model, g.train, passes=0)
