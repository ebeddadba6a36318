"""cfcourse.widgets: the data the book's widgets receive, and the Python arithmetic they are held to.

A small random rating model stands in for a trained one; the browser side is tested on the built
book in test_widgets_browser.py.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from cfcourse import explore, new_user, widgets
from cfcourse.data import IdEncoder

N_MOVIES, DIM = 40, 6


@pytest.fixture(scope="module")
def toy():
    """A DotWithBias with random weights, a split-like object and a movies table."""
    from cfcourse import models

    rng = np.random.default_rng(3)
    model = models.DotWithBias(3, N_MOVIES, embedding_dim=DIM)
    model(np.zeros((1, 2), dtype=np.int32))
    model.movie_embedding.set_weights([rng.normal(0, 0.4, (N_MOVIES, DIM)).astype(np.float32)])
    model.movie_bias.set_weights([rng.normal(0, 0.3, (N_MOVIES, 1)).astype(np.float32)])
    ids = np.arange(1, N_MOVIES + 1) * 10
    counts = np.where(np.arange(N_MOVIES) % 4 == 0, 5, 30)  # every fourth movie is rarely rated
    split = SimpleNamespace(train_counts=lambda: counts,
                            encoded=SimpleNamespace(movies=IdEncoder(name="movie", raw_ids=ids)))
    genres = ["Animation|Children", "Horror", "Drama|Romance", "Sci-Fi|Action", "(no genres listed)"]
    movies = pd.DataFrame({"movieId": ids, "title": [f"Movie {i}, The ({1990 + i % 20})" for i in range(N_MOVIES)],
                           "genres": [genres[i % 5] for i in range(N_MOVIES)]})
    profiles = {"two": [(20, 5.0), (30, 1.0)], "three": [(20, 4.0), (60, 4.5), (70, 2.0)]}
    payload = widgets.export_movies(model, split, movies, profiles=profiles)
    return SimpleNamespace(model=model, split=split, movies=movies, counts=counts, ids=ids, payload=payload,
                           profiles=profiles)


def test_export_keeps_the_movies_with_enough_ratings(toy):
    p = toy.payload
    kept = toy.ids[toy.counts >= explore.MIN_RATINGS]
    assert p["ids"] == kept.tolist() and p["minRatings"] == explore.MIN_RATINGS == 21
    assert len(p["vectors"]) == len(kept) * DIM and all(isinstance(v, int) for v in p["vectors"])
    assert p["titles"][0] == "The Movie 1 (1991)"  # titles read naturally
    assert p["genreNames"] == ["Action", "Animation", "Children", "Drama", "Horror", "Romance", "Sci-Fi"]
    assert p["genres"][6] == [] and p["ids"][6] == 100  # "(no genres listed)" is no genre
    assert p["mainNames"][p["main"][0]] == "Horror"  # movie 20 is the second of the table: Horror
    assert len(p["pca"]) == 2 * len(kept) and len(p["pcaAxes"]) == 2 * DIM
    assert p["profiles"]["two"] == [[20, 5.0], [30, 1.0]]
    assert widgets.payload_size(p) == len(json.dumps(p, separators=(",", ":")).encode())


def test_export_has_a_seeded_tsne_map_that_keeps_neighbours_better_than_the_pca(toy):
    from cfcourse import maps

    p = toy.payload
    n = len(p["ids"])
    assert len(p["tsne"]) == 2 * n and all(isinstance(v, int) for v in p["tsne"])
    flat = np.asarray(p["tsne"], dtype=float).reshape(n, 2) / 10 ** p["tsneDigits"]
    assert np.allclose(flat.mean(axis=0), 0, atol=1e-3) and abs(flat.std() - 1) < 5e-3  # centred, unit spread (rounded)
    assert p["tsnePerplexity"] == round((n - 1) / 3, 2)  # 30 is capped below a third of 30 movies
    again = widgets.export_movies(toy.model, toy.split, toy.movies, profiles=toy.profiles)
    assert again["tsne"] == p["tsne"], "the t-SNE map must be the same on every build (seeded)"
    vectors = np.asarray(p["vectors"], dtype=float).reshape(n, DIM)
    pca = np.asarray(p["pca"], dtype=float).reshape(n, 2)
    assert maps.neighbour_overlap(vectors, flat, k=5) > maps.neighbour_overlap(vectors, pca, k=5)
    assert "tsne" not in widgets.export_movies(toy.model, toy.split, toy.movies, tsne=False)


def test_export_refuses_what_it_cannot_use(toy):
    with pytest.raises(ValueError, match=r"movieId\(s\) \[10\].*fewer than 21"):
        widgets.export_movies(toy.model, toy.split, toy.movies, profiles={"bad": [(10, 4.0)]})
    with pytest.raises(TypeError, match="rating model"):
        widgets.export_movies(object(), toy.split, toy.movies)
    with pytest.raises(ValueError, match="min_ratings must be at least 1"):
        widgets.export_movies(toy.model, toy.split, toy.movies, min_ratings=0)


def test_exported_model_holds_the_rounded_numbers(toy):
    model, encoder, movies = widgets.exported_model(toy.payload)
    vectors = np.asarray(model.movie_embedding.get_weights()[0])
    rows = np.flatnonzero(toy.counts >= 21)
    original = np.asarray(toy.model.movie_embedding.get_weights()[0])[rows]
    assert np.abs(vectors - original).max() <= 0.0005 + 1e-6
    assert np.abs(vectors * 1000 - np.rint(vectors * 1000)).max() < 1e-3
    assert encoder.raw_ids.tolist() == toy.payload["ids"] and len(movies) == len(rows)


@pytest.mark.parametrize("name", ["two", "three"])
def test_scores_split_into_one_term_per_rated_movie(toy, name):
    model, encoder, _ = widgets.exported_model(toy.payload)
    user = new_user.fit_new_user(model, toy.profiles[name], encoder, l2=toy.payload["l2"])
    terms = widgets.because(user, toy.payload["l2"])
    assert terms.shape == (len(toy.payload["ids"]), len(toy.profiles[name]))
    assert np.abs(terms.sum(axis=1) + user.movie_bias - user.scores()).max() < 1e-5
    # the rating the user gave most pushes its own neighbours: a 5-star movie's term is positive for itself
    if name == "two":
        assert terms[encoder.encode([20])[0], 0] > 0 and terms[encoder.encode([30])[0], 1] < 0


def test_because_needs_a_rating_model_and_a_penalty(toy):
    model, encoder, _ = widgets.exported_model(toy.payload)
    user = new_user.fit_new_user(model, toy.profiles["two"], encoder)
    with pytest.raises(ValueError, match="l2 must be positive"):
        widgets.because(user, 0.0)
    with pytest.raises(ValueError, match="rating model"):
        widgets.because(SimpleNamespace(kind="softmax"))


def test_recommend_is_the_new_user_list_of_the_exported_model(toy):
    table = widgets.recommend(toy.payload, toy.profiles["three"])
    assert len(table) == 10 and not set(table["movieId"]) & {20, 60, 70}
    assert table["score"].is_monotonic_decreasing
    assert set(table["movieId"]) <= set(toy.payload["ids"])


def test_neighbours_are_cosine_neighbours_of_the_rounded_vectors(toy):
    vectors = np.asarray(toy.payload["vectors"], dtype=float).reshape(-1, DIM) / 1000
    rows, _ = explore.cosine_neighbours(vectors, 2, k=10)
    assert widgets.neighbours(toy.payload, toy.payload["ids"][2]) == [toy.payload["ids"][r] for r in rows]
    with pytest.raises(ValueError, match="movieId 10 is not among the widget's movies"):
        widgets.neighbours(toy.payload, 10)


def test_widget_html_is_self_contained(toy):
    page = widgets.widget_html(toy.payload)
    roots = re.findall(r'<div class="cfw [^"]*" data-widget="(\w+)"', page)
    assert roots == ["recommend", "map"]
    assert '<script type="application/json" id="cfw-data">' in page
    # nothing is fetched from anywhere: no src or href, no URL but the SVG namespace
    assert not re.search(r"\b(src|href)\s*=", page)
    urls = set(re.findall(r"https?://[^\s\"')]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    later = widgets.widget_html(None, ["map"])
    assert "application/json" not in later and 'data-payload="cfw-data"' in later
    with pytest.raises(ValueError, match="unknown widget"):
        widgets.widget_html(toy.payload, ["chart"])


def test_payload_cannot_close_its_script_tag(toy):
    payload = dict(toy.payload, titles=["</script><b>x</b>"] + toy.payload["titles"][1:])
    page = widgets.widget_html(payload)
    start = page.index('id="cfw-data">') + len('id="cfw-data">')
    body = page[start:page.index("</script>", start)]
    assert json.loads(body)["titles"][0] == "</script><b>x</b>"


def test_widget_files_are_package_data():
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["cfcourse"]
    assert {"web/*.js", "web/*.css"} <= set(patterns)
    assert (widgets.WEB / "widgets.js").is_file() and (widgets.WEB / "widgets.css").is_file()
