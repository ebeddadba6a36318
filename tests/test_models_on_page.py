"""The models that chapters show as Keras code are the package's models: same weights, same outputs.

Each test takes the code cell that defines the class from the chapter's MyST source (what the reader
sees), runs it, gives the class the weights of the package's model and compares the outputs.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def page_class(chapter: str, name: str):
    """The class ``name`` as defined by a code cell of ``notebooks/<chapter>.md``."""
    text = (ROOT / "notebooks" / f"{chapter}.md").read_text(encoding="utf-8")
    cells = re.findall(r"```\{code-cell\} ipython3\n(.*?)```", text, flags=re.S)
    sources = [c for c in cells if re.search(rf"^class {name}\(", c, flags=re.M)]
    assert len(sources) == 1, f"{chapter} should define class {name} in exactly one code cell"
    import keras

    namespace = {"keras": keras, "np": np}
    exec(compile(sources[0], f"{chapter}.md", "exec"), namespace)  # noqa: S102 - the book's own code
    return namespace[name]


def test_chapter_8_deep_rating_is_the_package_model():
    from cfcourse import deep

    rng = np.random.default_rng(0)
    n_users, n_movies = 11, 17
    side = rng.random((n_movies, 5)).astype(np.float32)
    package = deep.DeepRatingModel(n_users, n_movies, side, user_dim=16, movie_dim=16, hidden=(64,),
                                   l2=1e-3)
    pairs = np.stack([rng.integers(0, n_users, 40), rng.integers(0, n_movies, 40)], axis=1).astype("int32")
    expected = np.asarray(package(pairs))
    DeepRating = page_class("08_deep_networks", "DeepRating")  # noqa: N806
    mine = DeepRating(n_users, n_movies, side)
    mine(pairs)
    for a, b in ((mine.users, package.user_embedding), (mine.movies, package.movie_embedding),
                 (mine.hidden, package.hidden_layers[0]), (mine.out, package.output_layer)):
        a.set_weights(b.get_weights())
    assert np.allclose(np.asarray(mine(pairs)), expected, atol=1e-5)
    # and the same number of trained weights: nothing in the package's model that the page leaves out
    assert sum(int(np.prod(w.shape)) for w in mine.trainable_weights) == \
        sum(int(np.prod(w.shape)) for w in package.trainable_weights)
