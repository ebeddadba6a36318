"""cfcourse.explore: PCA, movie tables, extremes, neighbours, look-ups and plots."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from cfcourse import data, explore  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def reference_pca(m: np.ndarray):
    """Eigen-decomposition of M^T M: an independent route to uncentred PCA."""
    eigval, eigvec = np.linalg.eigh(m.T @ m)
    order = np.argsort(eigval)[::-1]
    return eigval[order], eigvec[:, order]


# ----------------------------------------------------------------------------- PCA


def test_pca_matches_an_eigendecomposition_reference():
    m = np.random.default_rng(0).normal(size=(30, 5)) @ np.diag([3.0, 2.0, 1.0, 0.5, 0.2])
    scores, components, ratio = explore.pca(m)
    eigval, eigvec = reference_pca(m)
    np.testing.assert_allclose(ratio, eigval / eigval.sum(), rtol=1e-10)
    # Same axes up to sign.
    np.testing.assert_allclose(np.abs(components @ eigvec), np.eye(5), atol=1e-8)
    np.testing.assert_allclose(scores, m @ components.T, atol=1e-10)


def test_pca_reconstructs_and_ratios_sum_to_one_at_full_rank():
    m = np.random.default_rng(1).normal(size=(12, 4))
    scores, components, ratio = explore.pca(m)
    assert scores.shape == (12, 4) and components.shape == (4, 4) and ratio.shape == (4,)
    np.testing.assert_allclose(scores @ components, m, atol=1e-10)
    assert ratio.sum() == pytest.approx(1.0)
    assert np.all(np.diff(ratio) <= 0)
    np.testing.assert_allclose(components @ components.T, np.eye(4), atol=1e-10)


def test_pca_uncentred_differs_from_centred_on_shifted_data():
    m = np.random.default_rng(2).normal(size=(50, 3)) + np.array([10.0, 0.0, 0.0])
    uncentred = explore.pca(m)
    centred = explore.pca(m, center=True)
    # Uncentred PC1 points at the offset (the first axis) and explains nearly everything.
    assert abs(uncentred.components[0, 0]) > 0.99 and uncentred.explained_variance_ratio[0] > 0.95
    assert centred.explained_variance_ratio[0] < 0.6
    np.testing.assert_allclose(centred.scores @ centred.components, m - m.mean(axis=0), atol=1e-10)


def test_pca_truncated_keeps_shares_of_the_total():
    m = np.random.default_rng(3).normal(size=(20, 6))
    full = explore.pca(m)
    two = explore.pca(m, n_components=2)
    assert two.scores.shape == (20, 2) and two.components.shape == (2, 6)
    np.testing.assert_allclose(two.explained_variance_ratio, full.explained_variance_ratio[:2])
    assert two.explained_variance_ratio.sum() < 1.0


def test_pca_signs_are_deterministic():
    m = np.random.default_rng(4).normal(size=(25, 4))
    a = explore.pca(m)
    b = explore.pca(-m)  # the SVD of -m has flipped singular vectors
    for comp in a.components:
        assert comp[np.argmax(np.abs(comp))] > 0
    np.testing.assert_allclose(a.components, b.components, atol=1e-10)
    np.testing.assert_allclose(a.scores, -b.scores, atol=1e-10)
    np.testing.assert_array_equal(explore.pca(m).scores, a.scores)


def test_pca_errors():
    with pytest.raises(ValueError, match="2-d"):
        explore.pca(np.ones(5))
    with pytest.raises(ValueError, match="between 1 and 3"):
        explore.pca(np.ones((4, 3)), n_components=4)
    with pytest.raises(ValueError, match="all zeros"):
        explore.pca(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        explore.pca(np.array([[1.0, np.nan], [0.0, 1.0]]))


# ----------------------------------------------------------------------------- tables


@pytest.fixture()
def tiny():
    ratings = pd.DataFrame({
        "userId": [1, 1, 1, 2, 2, 3],
        "movieId": [10, 30, 20, 10, 30, 10],
        "rating": [4.0, 2.0, 5.0, 3.0, 1.0, 5.0],
    })
    movies = pd.DataFrame({
        "movieId": [30, 10, 20, 40],
        "title": ["Gamma (2001)", "Alpha (1995)", "Beta (1999)", "Unrated (2010)"],
        "genres": ["Drama", "Comedy", "Action|Drama", "Horror"],
    })
    return data.encode_ids(ratings), movies


def test_movie_table_counts_and_means(tiny):
    encoded, movies = tiny
    table = explore.movie_table(encoded, movies)
    assert list(table.columns) == ["movieId", "title", "genres", "n_ratings", "mean_rating"]
    assert table.index.tolist() == [0, 1, 2]  # dense index, in order of the raw id
    assert table["movieId"].tolist() == [10, 20, 30]
    assert table["title"].tolist() == ["Alpha (1995)", "Beta (1999)", "Gamma (2001)"]
    assert table["n_ratings"].tolist() == [3, 1, 2]
    np.testing.assert_allclose(table["mean_rating"], [4.0, 5.0, 1.5])


def test_movie_table_rejects_a_movies_table_without_the_rated_ids(tiny):
    encoded, movies = tiny
    with pytest.raises(ValueError, match="not in the movies table"):
        explore.movie_table(encoded, movies[movies["movieId"] != 20])


def test_release_year():
    years = explore.release_year(["Toy Story (1995)", "Babylon 5", "Cosmos (1980- )", " Heat (1995) "])
    assert years.iloc[0] == 1995 and years.iloc[2] == 1980 and years.iloc[3] == 1995
    assert np.isnan(years.iloc[1])


def make_table(n_ratings):
    n = len(n_ratings)
    return pd.DataFrame({
        "movieId": np.arange(n) + 100,
        "title": [f"Movie {i}" for i in range(n)],
        "genres": ["Drama"] * n,
        "n_ratings": n_ratings,
        "mean_rating": np.linspace(2, 4, n),
    })


def test_extreme_movies_filters_on_more_than_20_ratings():
    counts = [5, 21, 20, 50, 100, 21, 1, 30]
    table = make_table(counts)
    scores = np.column_stack([np.arange(8.0), -np.arange(8.0)])
    lowest, highest = explore.extreme_movies(scores, table, component=0, n=3)
    assert (lowest["n_ratings"] > 20).all() and (highest["n_ratings"] > 20).all()
    assert lowest.index.tolist() == [1, 3, 4]      # 0 (5 ratings) and 2 (exactly 20) are left out
    assert highest.index.tolist() == [7, 5, 4]     # 6 (1 rating) is left out
    assert lowest["PC1"].tolist() == [1.0, 3.0, 4.0]
    low2, _ = explore.extreme_movies(scores, table, component=1, n=2)
    assert "PC2" in low2.columns and low2.index.tolist() == [7, 5]
    lowest_all, _ = explore.extreme_movies(scores, table, component=0, n=3, min_ratings=1)
    assert lowest_all.index.tolist() == [0, 1, 2]


def test_extreme_movies_errors():
    table = make_table([30, 30, 30])
    with pytest.raises(ValueError, match="3 rows but the movie table has 3|between 0 and 1"):
        explore.extreme_movies(np.zeros((3, 2)), table, component=2)
    with pytest.raises(ValueError, match="scores has 2 rows"):
        explore.extreme_movies(np.zeros((2, 2)), table, component=0)
    with pytest.raises(ValueError, match="no movie has at least 31"):
        explore.extreme_movies(np.zeros((3, 2)), table, component=0, min_ratings=31)


def test_find_movie():
    table = make_table([1, 1, 1])
    table["title"] = ["Alien (1979)", "Aliens (1986)", "Matrix, The (1999)"]
    assert explore.find_movie(table, "matrix") == 2
    assert explore.find_movie(table, "Alien (1979)") == 0  # exact title wins over "Aliens"
    with pytest.raises(KeyError, match="no movie title contains 'Godfather'"):
        explore.find_movie(table, "Godfather")
    with pytest.raises(ValueError, match="2 titles contain 'Alien'.*Aliens \\(1986\\)"):
        explore.find_movie(table, "Alien")
    with pytest.raises(ValueError, match="non-empty"):
        explore.find_movie(table, "  ")


# ----------------------------------------------------------------------------- neighbours


HAND = np.array([
    [1.0, 0.0],    # 0
    [10.0, 1.0],   # 1: nearly the same direction as 0, far away
    [0.6, 0.5],    # 2: close to 0 in distance, 40 degrees off
    [0.0, 1.0],    # 3: orthogonal
    [-1.0, 0.0],   # 4: opposite
    [0.0, 0.0],    # 5: zero vector
])


def test_cosine_neighbours_on_a_hand_made_matrix():
    idx, sims = explore.cosine_neighbours(HAND, 0, k=4)
    assert idx.tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(sims, [10 / np.sqrt(101), 0.6 / np.sqrt(0.61), 0.0, -1.0])
    assert 0 not in idx and 5 not in idx  # itself and the zero vector are never returned


def test_cosine_neighbours_can_include_self_and_restrict_candidates():
    idx, sims = explore.cosine_neighbours(HAND, 0, k=2, exclude_self=False)
    assert idx.tolist() == [0, 1] and sims[0] == pytest.approx(1.0)
    idx, _ = explore.cosine_neighbours(HAND, 0, k=2, candidates=np.array([False, False, True, True, True, False]))
    assert idx.tolist() == [2, 3]
    idx, _ = explore.cosine_neighbours(HAND, 0, k=1, candidates=[3, 4])
    assert idx.tolist() == [3]


def test_cosine_neighbours_errors():
    with pytest.raises(IndexError, match="out of range"):
        explore.cosine_neighbours(HAND, 6, k=1)
    with pytest.raises(IndexError, match="out of range"):
        explore.cosine_neighbours(HAND, -1, k=1)
    with pytest.raises(ValueError, match="zero vector"):
        explore.cosine_neighbours(HAND, 5, k=1)
    with pytest.raises(ValueError, match="only 4 candidate rows"):
        explore.cosine_neighbours(HAND, 0, k=5)
    with pytest.raises(ValueError, match="k must be a positive"):
        explore.cosine_neighbours(HAND, 0, k=0)
    with pytest.raises(ValueError, match="needs 6 entries"):
        explore.cosine_neighbours(HAND, 0, k=1, candidates=np.array([True, False]))


# ----------------------------------------------------------------------------- weights


def test_embedding_matrix_reads_a_model_layer():
    from cfcourse import models

    model = models.DotWithBias(4, 7, embedding_dim=3)
    with pytest.raises(ValueError, match="no weights yet"):
        explore.embedding_matrix(model)
    model(np.array([[0, 1], [3, 6]], dtype="int32"))
    m = explore.embedding_matrix(model)
    assert m.shape == (7, 3)
    np.testing.assert_allclose(m, np.asarray(model.movie_embedding.embeddings))
    assert explore.embedding_matrix(model, "user_embedding").shape == (4, 3)
    assert explore.embedding_matrix(model, "movie_bias").shape == (7, 1)
    with pytest.raises(ValueError, match="no layer named 'items'"):
        explore.embedding_matrix(model, "items")


def test_embedding_matrix_reads_the_diy_layer():
    from cfcourse import models

    model = models.SimpleDot(3, 5, embedding_dim=2, embedding="diy")
    model(np.array([[0, 1]], dtype="int32"))
    assert explore.embedding_matrix(model).shape == (5, 2)


# ----------------------------------------------------------------------------- plots


def test_plots_return_axes():
    m = np.random.default_rng(5).normal(size=(30, 8))
    ax = explore.embedding_heatmap(m, np.arange(5), labels=list("abcde"))
    assert isinstance(ax, matplotlib.axes.Axes) and len(ax.images) == 1
    assert ax.images[0].get_array().shape == (5, 8)
    lim = np.abs(m[:5]).max()
    assert ax.images[0].get_clim() == pytest.approx((-lim, lim))
    ratio = explore.pca(m).explained_variance_ratio
    ax = explore.variance_explained_plot(ratio)
    assert isinstance(ax, matplotlib.axes.Axes) and len(ax.patches) == 8
    ax = explore.scatter_titles(m[:4, :2], ["w", "x", "y", "z"])
    assert isinstance(ax, matplotlib.axes.Axes)
    assert sorted(t.get_text() for t in ax.texts if t.get_text()) == ["w", "x", "y", "z"]
    _, given = plt.subplots()
    assert explore.scatter_titles(m[:2, :2], ["a", "b"], ax=given) is given


def test_scatter_labels_neither_overlap_nor_leave_the_axes():
    """Close points with long titles (the map of famous movies had Armageddon over Independence Day)."""
    rng = np.random.default_rng(3)
    points = np.vstack([rng.normal(0, 1, (8, 2)), [[0.0, 0.0], [0.02, 0.01], [0.03, -0.02]]])
    labels = [f"Independence Day {i}" for i in range(len(points))]
    ax = explore.scatter_titles(points, labels)
    fig = ax.figure
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    boxes = [t.get_window_extent(renderer) for t in ax.texts if t.get_text()]
    assert len(boxes) == len(labels)
    for i, a in enumerate(boxes):
        assert frame.x0 <= a.x0 and a.x1 <= frame.x1 and frame.y0 <= a.y0 and a.y1 <= frame.y1, labels[i]
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), "two labels overlap"
    plt.close("all")


@pytest.mark.parametrize("title, natural, short", [
    ("Shawshank Redemption, The (1994)", "The Shawshank Redemption (1994)", "The Shawshank Redemption"),
    ("Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)", "Amelie (Le Fabuleux destin d'Amélie Poulain) (2001)",
     "Amelie"),
    ("Independence Day (a.k.a. ID4) (1996)", "Independence Day (a.k.a. ID4) (1996)", "Independence Day"),
    ("Lord of the Rings: The Two Towers, The (2002)", "The Lord of the Rings: The Two Towers (2002)",
     "The Lord of the Rings: The Two Towers"),
    ("Father of the Bride Part II (1995)", "Father of the Bride Part II (1995)", "Father of the Bride Part II"),
    ("Babylon 5", "Babylon 5", "Babylon 5"),
])
def test_natural_title(title, natural, short):
    assert explore.natural_title(title) == natural
    assert explore.natural_title(title, year=False, alternative=False) == short


def test_plot_errors():
    with pytest.raises(ValueError, match="two columns"):
        explore.scatter_titles(np.zeros((3, 3)), ["a", "b", "c"])
    with pytest.raises(ValueError, match="2 labels for 3 points"):
        explore.scatter_titles(np.zeros((3, 2)), ["a", "b"])
    with pytest.raises(ValueError, match="3 labels for 2 rows"):
        explore.embedding_heatmap(np.ones((4, 2)), [0, 1], labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="non-negative"):
        explore.variance_explained_plot([0.5, -0.1])


def test_table_for_reading_shows_titles_as_they_read_and_whole_counts():
    frame = pd.DataFrame({"title": ["Shawshank Redemption, The (1994)", "Toy Story (1995)"],
                          "mean_rating": [4.4294, 3.9209], "n_ratings": np.array([317, 1215], dtype=np.int64)})
    html = explore.table_for_reading(frame, hide_index=True).to_html()
    assert "The Shawshank Redemption (1994)" in html and "Redemption, The" not in html
    assert "4.43" in html and "4.4294" not in html
    assert "1,215" in html and "317.00" not in html
    assert frame["title"].iloc[0] == "Shawshank Redemption, The (1994)"  # the frame itself is unchanged
