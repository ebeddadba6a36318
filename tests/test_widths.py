"""How many dimensions (cfcourse.widths) and maps of an embedding (cfcourse.maps)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cfcourse import data, maps, models, side_by_side, training, widths


def test_fourth_root_rule():
    assert widths.fourth_root(10_000) == pytest.approx(10.0)
    assert widths.rule_of_thumb(610, 9724) == {"users": 5, "movies": 10}
    for bad in (0, -3, 2.5, True, "9"):
        with pytest.raises(ValueError, match="positive whole number"):
            widths.fourth_root(bad)


def small_split(seed=0):
    rng = np.random.default_rng(seed)
    users = np.repeat(np.arange(20), 10)
    movies = np.concatenate([rng.choice(25, 10, replace=False) for _ in range(20)])
    ratings = pd.DataFrame({"userId": users + 1, "movieId": movies + 1, "rating": rng.integers(1, 11, 200) / 2})
    return data.split_ratings(data.encode_ids(ratings), 0.25, seed=1)


def test_each_stacked_member_follows_the_path_of_its_own_model():
    """The module's claim: a member of the stack trains exactly as the same model alone."""
    split = small_split()
    stacked = widths.StackedDotWithBias(split.n_users, split.n_movies, [2, 3], [7, 8], min_rating=split.min_rating,
                                        max_rating=split.max_rating, l2=1e-3)
    stacked(np.zeros((1, 2), np.int32))
    alone = {k: stacked.member(k) for k in range(2)}  # DotWithBias models with the members' starting weights
    recipe = dict(batch_size=20, learning_rate=0.02, epochs=3, patience=5, seed=3)
    together = side_by_side.train_side_by_side(stacked, split, **recipe)
    separate = side_by_side.train_side_by_side(alone, split, **recipe)
    for k in range(2):
        trained = stacked.member(k)
        for w_stack, w_alone in zip(trained.get_weights(), alone[k].get_weights()):
            np.testing.assert_allclose(w_stack, w_alone, atol=1e-5)
        assert together.summary["val_rmse"].iloc[k] == pytest.approx(separate.summary["val_rmse"].iloc[k], abs=1e-5)
    assert list(together.summary.index) == ["width 2, seed 7", "width 3, seed 8"]


def test_steps_per_execution_gives_the_same_weights():
    split = small_split()
    runs = []
    for steps in (1, 4):
        stacked = widths.StackedDotWithBias(split.n_users, split.n_movies, [2, 3], [7, 8],
                                            min_rating=split.min_rating, max_rating=split.max_rating, l2=1e-3)
        result = side_by_side.train_side_by_side(stacked, split, batch_size=20, learning_rate=0.02, epochs=2,
                                                 seed=3, steps_per_execution=steps)
        runs.append((stacked.get_weights(), result.summary["val_rmse"].tolist()))
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][1] == runs[1][1]
    with pytest.raises(ValueError, match="steps_per_execution must be positive"):
        side_by_side.train_side_by_side(stacked, split, epochs=1, steps_per_execution=0)


def test_members_keep_their_own_best_epoch():
    split = small_split(1)
    stacked = widths.StackedDotWithBias(split.n_users, split.n_movies, [1, 8], [1, 2], l2=0.0)
    result = side_by_side.train_side_by_side(stacked, split, batch_size=10, learning_rate=0.05, epochs=10,
                                             patience=2)
    from cfcourse.metrics import rmse

    predictions = np.asarray(stacked(split.x_valid))
    for k, name in enumerate(stacked.member_names):
        history = result.history[result.history.model == name]
        assert result.summary.loc[name, "best_epoch"] == history.loc[history.val_rmse.idxmin(), "epoch"]
        assert rmse(split.y_valid, predictions[:, k]) == pytest.approx(history.val_rmse.min(), abs=1e-5)
        member = stacked.member(k)
        np.testing.assert_allclose(np.asarray(member(split.x_valid)), predictions[:, k], atol=1e-5)


def test_starting_weights_come_from_the_seed():
    a = widths.StackedDotWithBias(5, 6, [2, 2], [1, 2])
    b = widths.StackedDotWithBias(5, 6, [2], [2])
    a.build(), b.build()
    np.testing.assert_array_equal(np.asarray(a.movie_vectors)[:, 2:], np.asarray(b.movie_vectors))
    assert not np.allclose(np.asarray(a.movie_vectors)[:, :2], np.asarray(a.movie_vectors)[:, 2:])
    assert np.abs(np.asarray(a.user_vectors)).max() <= 0.05


def test_width_sweep_and_summary():
    split = small_split(2)
    runs, stacked = widths.width_sweep(split, (1, 4), seeds=(42, 43), batch_size=50, epochs=2, learning_rate=0.01)
    assert runs[["width", "seed"]].values.tolist() == [[1, 42], [1, 43], [4, 42], [4, 43]]
    assert runs["val_rmse"].between(0, 5).all() and runs.attrs["seconds"] > 0
    summary = widths.sweep_summary(runs)
    assert summary.index.tolist() == [1, 4] and (summary["seeds"] == 2).all()
    assert summary.loc[4, "mean"] == pytest.approx(runs[runs.width == 4].val_rmse.mean())
    assert isinstance(stacked.member(3), models.DotWithBias) and stacked.member(3).embedding_dim == 4


def test_sweep_bad_input():
    with pytest.raises(ValueError, match="positive whole number"):
        widths.StackedDotWithBias(5, 6, [0], [1])
    with pytest.raises(ValueError, match="one seed per member"):
        widths.StackedDotWithBias(5, 6, [2, 3], [1])
    with pytest.raises(ValueError, match="at least one seed"):
        widths.width_sweep(small_split(), (2,), seeds=())
    with pytest.raises(ValueError, match="runs needs a 'val_rmse' column"):
        widths.sweep_summary(pd.DataFrame({"width": [1]}))


def test_tsne_map_is_seeded_and_keeps_neighbourhoods():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 10)) * 5
    points = np.vstack([c + rng.normal(size=(15, 10)) for c in centres])
    first = maps.tsne_map(points, perplexity=5, seed=1)
    np.testing.assert_array_equal(first, maps.tsne_map(points, perplexity=5, seed=1))
    assert first.shape == (60, 2)
    assert maps.neighbour_overlap(points, first, k=5) > 0.5
    assert maps.neighbour_overlap(points, rng.normal(size=(60, 2)), k=5) < 0.3
    with pytest.raises(ValueError, match="perplexity must be between 0 and the number of points"):
        maps.tsne_map(points, perplexity=60)
    with pytest.raises(ValueError, match="row of zeros has no direction"):
        maps.tsne_map(np.vstack([points, np.zeros(10)]), perplexity=5)


def test_map_faithfulness_measures():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 5))
    assert maps.neighbour_overlap(x, x[:, :2] * 0 + x @ rng.normal(size=(5, 2)), k=3, metric="euclidean") < 1
    same = x[:, :2]
    assert maps.neighbour_overlap(same, same, k=4, metric="euclidean") == 1.0
    assert maps.distance_correlation(same, same, metric="euclidean") == pytest.approx(1.0)
    with pytest.raises(ValueError, match="original has 30 points but projected 29"):
        maps.distance_correlation(x, x[:-1, :2])
    with pytest.raises(ValueError, match="k must be between 1"):
        maps.neighbour_overlap(x, same, k=30)
    with pytest.raises(ValueError, match="NaN"):
        maps.neighbour_overlap(np.full((3, 2), np.nan), same[:3])


def test_map_plot_draws_one_collection_per_group():
    coords = np.arange(12, dtype=float).reshape(6, 2)
    ax = maps.map_plot(coords, ["a", "b", "a", "c", "b", "a"], labels={0: "first"}, order=["a", "b", "c"])
    assert len(ax.collections) == 3 and [t.get_text() for t in ax.texts] == ["first"]
    with pytest.raises(ValueError, match="one group per point"):
        maps.map_plot(coords, ["a"])


def test_same_group_share_against_chance():
    coords = np.array([[0, 0], [0, 1], [10, 0], [10, 1], [20, 0], [20, 1]], dtype=float)
    groups = ["a", "a", "b", "b", "c", "c"]
    share, chance = maps.same_group_share(coords, groups, k=1)
    assert share == 1.0 and chance == pytest.approx(6 / 30)
    with pytest.raises(ValueError, match="got 2 groups for 6 points"):
        maps.same_group_share(coords, ["a", "b"])
