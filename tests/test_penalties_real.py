"""Chapter 8 compares a dot product with biases and a deep network over the two ids at equal width (16), each
with the L2 penalty that does best on validation among three. The chapter trains only the two winners; this test
repeats the search on the real ml-latest-small (seeded, deterministic) and checks that it picks the penalties the
chapter uses, and that no choice was made by the cap on epochs."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from cfcourse import data, deep, models, side_by_side, training
from helpers import real_data_dir

ROOT = Path(__file__).resolve().parents[1]
CAP = 12


@pytest.fixture(scope="module")
def search():
    folder = real_data_dir()
    assert folder is not None, f"these tests need the real data: set {data.ENV_DATA}"
    split = data.load_split(folder)[2]
    grid = {}
    for l2 in (1e-5, 1e-4, 1e-3):
        training.seed_everything(42)
        grid[("dot + bias", l2)] = models.DotWithBias(split.n_users, split.n_movies, embedding_dim=16,
                                                      user_dropout=0.0, movie_dropout=0.0, l2=l2)
    for l2 in (1e-4, 1e-3, 1e-2):
        grid[("deep, ids only", l2)] = deep.build_deep(split, None, l2=l2)
    names = {f"{family}, L2 {l2:g}": (family, l2) for family, l2 in grid}
    result = side_by_side.train_side_by_side({name: grid[key] for name, key in names.items()}, split,
                                             **(deep.RECIPE | {"epochs": CAP}))
    return names, result


@pytest.mark.slow
def test_chapter_8_uses_the_penalties_the_search_picks(search):
    names, result = search
    rmse = result.summary["val_rmse"]
    family = pd.Series({name: names[name][0] for name in rmse.index})
    winners = rmse.groupby(family).idxmin()
    assert names[winners["dot + bias"]][1] == 1e-4, result.summary
    assert names[winners["deep, ids only"]][1] == 1e-3, result.summary
    assert deep.DEFAULTS["l2"] == 1e-3  # the deep model of the chapter
    text = (ROOT / "notebooks" / "08_deep_networks.md").read_text(encoding="utf-8")
    assert re.search(r"models\.DotWithBias\([^)]*embedding_dim=16[^)]*l2=1e-4\)", text)
    # The cap did not choose: each winner stopped improving two epochs before it, and a run still
    # improving at the cap is further behind its family's best than four more epochs at its last gain.
    for name in winners:
        assert result.summary.loc[name, "best_epoch"] <= result.epochs - 2, result.summary
    curves = result.history.pivot(index="epoch", columns="model", values="val_rmse")
    last_gain = (curves.iloc[-2] - curves.iloc[-1]).clip(lower=0)
    best = rmse.groupby(family).min()
    for name in rmse.index[result.summary["best_epoch"] > result.epochs - 2]:
        assert rmse[name] - best[family[name]] > 4 * last_gain[name] + 0.005, (name, result.summary)
