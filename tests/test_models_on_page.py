"""The models that chapters show as Keras code are the package's models: same weights, same outputs.

Each test takes the code cell that defines the class from the chapter's MyST source (what the reader
sees), runs it, gives the class the weights of the package's model and compares the outputs.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def page_class(chapter: str, name: str, namespace: dict | None = None):
    """The class ``name`` as defined by a code cell of ``notebooks/<chapter>.md`` (run in
    ``namespace`` when given, so that one class of the page can use another)."""
    text = (ROOT / "notebooks" / f"{chapter}.md").read_text(encoding="utf-8")
    cells = re.findall(r"```\{code-cell\} ipython3\n(.*?)```", text, flags=re.S)
    sources = [c for c in cells if re.search(rf"^class {name}\(", c, flags=re.M)]
    assert len(sources) == 1, f"{chapter} should define class {name} in exactly one code cell"
    import keras

    namespace = {"keras": keras, "np": np} if namespace is None else namespace
    exec(compile(sources[0], f"{chapter}.md", "exec"), namespace)  # noqa: S102 - the book's own code
    return namespace[name]


def test_chapter_7_ranker_is_the_package_model():
    import keras

    from cfcourse import models, training

    rng = np.random.default_rng(2)
    n_users, n_movies, d = 9, 31, 6
    counts = rng.integers(0, 40, n_movies)
    counts[:3] = 0  # movies nobody rated in training
    Ranker = page_class("07_recommending", "Ranker")  # noqa: N806
    mine = Ranker(n_users, counts, d=d, l2=1e-3)
    package = models.SoftmaxRanker(n_users, n_movies, embedding_dim=d, l2=1e-3)
    users = np.array([0, 3, 3, 8], dtype="int32")
    mine(users), package(users)
    # the page's bias starts where training.train_ranker starts the package's
    start = keras.ops.convert_to_numpy(mine.movie_bias)
    assert np.allclose(start, training.log_popularity(counts))
    assert np.argmin(start) < 3 and np.all(np.isfinite(start))
    package.user_embedding.set_weights(mine.user_vectors.get_weights())
    package.movie_embedding.set_weights([keras.ops.convert_to_numpy(mine.movie_vectors)])
    bias = rng.normal(size=n_movies).astype("float32")
    package.movie_bias.set_weights([bias.reshape(-1, 1)])
    mine.movie_bias.assign(bias)
    expected = keras.ops.convert_to_numpy(package(users))
    assert expected.shape == (len(users), n_movies)
    assert np.allclose(keras.ops.convert_to_numpy(mine(users)), expected, atol=1e-5)
    # the same L2 penalty on both tables, and nothing trained that the other lacks
    assert float(sum(package.losses)) > 0
    assert np.isclose(float(sum(mine.losses)), float(sum(package.losses)), rtol=1e-5)
    assert sum(int(np.prod(w.shape)) for w in mine.trainable_weights) == \
        sum(int(np.prod(w.shape)) for w in package.trainable_weights)


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


def test_chapter_9_bag_softmax_reads_index_lists_like_the_package():
    import scipy.sparse as sp

    from cfcourse import bags

    rng = np.random.default_rng(1)
    n_movies = 23
    genres = (rng.random((n_movies, 4)) < 0.4).astype(np.float32)
    package = bags.BagSoftmax(n_movies, genres, embedding_dim=32, hidden=(256,), l2=1e-5)
    lists = [rng.choice(n_movies, size, replace=False) for size in (1, 3, 7, 12)]
    rows = np.concatenate([np.full(len(x), i) for i, x in enumerate(lists)])
    multi_hot = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, np.concatenate(lists))),
                              shape=(len(lists), n_movies))
    lists_in = bags.bag_lists(multi_hot)
    expected = np.asarray(package(lists_in))
    BagSoftmax = page_class("09_softmax_and_maps", "BagSoftmax")  # noqa: N806
    mine = BagSoftmax(n_movies, genres)
    padded = np.full((len(lists), max(map(len, lists))), -1, dtype="int32")
    for i, x in enumerate(lists):
        padded[i, :len(x)] = x
    mine(padded)
    mine.movie_table.set_weights(package.movie_embedding.get_weights())
    for a, b in ((mine.hidden, package.hidden_layers[0]), (mine.to_user, package.to_user),
                 (mine.logits, package.output_movies)):
        a.set_weights(b.get_weights())
    assert np.allclose(np.asarray(mine(padded)), expected, atol=1e-5)
    # the package reads the page's lists (movies in another order) and scores them the same
    assert np.allclose(np.asarray(package(padded)), expected, atol=1e-5)
    # and both compute the scaled sum of the multi-hot rows: (multi-hot / sqrt(n)) @ table
    table = np.asarray(package.movie_embedding.embeddings)
    summed = bags.bag_matrix(multi_hot).toarray() @ table
    sizes = np.array([len(x) for x in lists])
    assert np.allclose(summed, np.stack([table[x].sum(axis=0) for x in lists]) / np.sqrt(sizes)[:, None],
                       atol=1e-5)
    # padding changes nothing: one more column of -1
    wider = np.hstack([padded, np.full((len(lists), 3), -1, dtype="int32")])
    assert np.allclose(np.asarray(mine(wider)), expected, atol=1e-5)
    assert sum(int(np.prod(w.shape)) for w in mine.trainable_weights) == \
        sum(int(np.prod(w.shape)) for w in package.trainable_weights)


def test_chapter_10_gru_is_the_package_model():
    import keras

    from cfcourse import sequence_models, sequences

    vocabulary_size, d = 23, 5
    NextMovieGRU = page_class("10_sequences", "NextMovieGRU")  # noqa: N806
    mine = NextMovieGRU(vocabulary_size, d)
    package = sequence_models.NextMovieModel(vocabulary_size, kind="gru", embedding_dim=d)
    rng = np.random.default_rng(3)
    ids = rng.integers(1, vocabulary_size, size=(4, 7)).astype("int32")
    ids[0, :3] = 0  # left padding, as the chapter's windows have it
    ids[2, :6] = 0
    mine(ids), package(ids)
    package.movie_embedding.set_weights(mine.movie_embedding.get_weights())
    package.summary_layer.set_weights(mine.gru.get_weights())
    bias = rng.normal(size=vocabulary_size).astype("float32")
    mine.next_bias.assign(bias)
    package.next_bias.assign(bias)
    expected = keras.ops.convert_to_numpy(package(ids))
    assert expected.shape == (4, 7, vocabulary_size)
    assert np.allclose(keras.ops.convert_to_numpy(mine(ids)), expected, atol=1e-5)
    # padding is skipped: the last position of a padded window scores as the same window without padding
    short = keras.ops.convert_to_numpy(mine(ids[2:3, 6:]))
    assert np.allclose(short[0, -1], keras.ops.convert_to_numpy(mine(ids[2:3]))[0, -1], atol=1e-5)
    assert sequences.parameter_count(mine) == sequences.parameter_count(package)


def test_chapter_10_self_attention_is_the_package_model():
    import keras

    from cfcourse import sasrec, sequences

    vocabulary_size, length, d = 29, 9, 8
    namespace = {"keras": keras, "np": np}
    page_class("10_sequences", "Block", namespace)
    HistoryAttention = page_class("10_sequences", "HistoryAttention", namespace)  # noqa: N806
    mine = HistoryAttention(vocabulary_size, max_length=length, d=d)
    package = sasrec.SelfAttentionModel(vocabulary_size, max_length=length, embedding_dim=d)
    rng = np.random.default_rng(4)
    ids = rng.integers(1, vocabulary_size, size=(3, 6)).astype("int32")
    ids[1, :4] = 0  # left padding
    mine(ids), package(ids)
    package.movie_embedding.set_weights(mine.movie_embedding.get_weights())
    package.position_embedding.set_weights(mine.position_embedding.get_weights())
    assert len(mine.blocks) == package.blocks == 2
    for b, block in enumerate(mine.blocks):
        for ours, theirs in ((block.norm_a, package.attention_norms[b]), (block.attention, package.attentions[b]),
                             (block.norm_f, package.ff_norms[b]), (block.feed_in, package.ff_in[b]),
                             (block.feed_out, package.ff_out[b])):
            theirs.set_weights([w + rng.normal(0, 0.1, w.shape).astype("float32") for w in ours.get_weights()])
            ours.set_weights(theirs.get_weights())  # random, not the initial ones (norms start at 1 and 0)
    package.final_norm.set_weights(mine.final_norm.get_weights())
    bias = rng.normal(size=vocabulary_size).astype("float32")
    mine.next_bias.assign(bias)
    package.next_bias.assign(bias)
    expected = keras.ops.convert_to_numpy(package.logits(package(ids)))
    got = keras.ops.convert_to_numpy(mine(ids))
    assert got.shape == (3, 6, vocabulary_size)
    assert np.allclose(got, expected, atol=1e-4)
    # causal: changing the last movie changes no earlier position's scores
    later = ids.copy()
    later[:, -1] = (later[:, -1] % (vocabulary_size - 1)) + 1
    moved = keras.ops.convert_to_numpy(mine(later))
    assert np.allclose(moved[:, :-1], got[:, :-1], atol=1e-5) and not np.allclose(moved[:, -1], got[:, -1])
    # a history with padding in front scores its last position as the history alone
    alone = keras.ops.convert_to_numpy(mine(ids[1:2, 4:]))
    assert np.allclose(alone[0, -1], got[1, -1], atol=1e-4)
    assert sequences.parameter_count(mine) == sequences.parameter_count(package)
