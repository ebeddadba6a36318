"""The course's Keras models: shapes, the rating-scale bounds, dropout, argument checks, and the bias reader."""

import keras
import numpy as np
import pandas as pd
import pytest

from cfcourse import biases, data, models, training

N_USERS, N_MOVIES, DIM = 7, 11, 4


def pairs(n=9, seed=0):
    rng = np.random.default_rng(seed)
    return np.stack([rng.integers(0, N_USERS, n), rng.integers(0, N_MOVIES, n)], axis=1).astype("int32")


def built(model):
    model(pairs(2))
    return model


# ---------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("make", [
    lambda: models.SimpleDot(N_USERS, N_MOVIES, DIM),
    lambda: models.SimpleDot(N_USERS, N_MOVIES, DIM, embedding="diy", initializer=None),
    lambda: models.DotWithBias(N_USERS, N_MOVIES, DIM),
    lambda: models.DotWithBias(N_USERS, N_MOVIES, DIM, user_dropout=0, movie_dropout=0, l2=1e-3),
], ids=["simple", "simple-diy", "bias", "bias-l2"])
@pytest.mark.parametrize("batch", [1, 9])
def test_one_prediction_per_pair(make, batch):
    model = make()
    out = keras.ops.convert_to_numpy(model(pairs(batch)))
    assert out.shape == (batch,)
    assert np.all(np.isfinite(out))
    assert training.predict(model, pairs(batch)).shape == (batch,)


def test_simple_dot_is_the_dot_product_of_the_rows():
    model = built(models.SimpleDot(N_USERS, N_MOVIES, DIM))
    users, films = model.user_embedding.get_weights()[0], model.movie_embedding.get_weights()[0]
    x = pairs(12)
    expected = np.einsum("bd,bd->b", users[x[:, 0]], films[x[:, 1]])
    assert np.allclose(training.predict(model, x), expected, atol=1e-6)


def test_post_initializer_is_all_positive_and_small():
    model = built(models.SimpleDot(N_USERS, N_MOVIES, 64))
    for w in model.get_weights():
        assert w.min() >= 0.0 and w.max() <= 0.05
    preds = training.predict(model, pairs(50))
    assert np.all((preds > 0) & (preds < 64 * 0.05 ** 2))


def test_dot_with_bias_matches_its_formula():
    model = built(models.DotWithBias(N_USERS, N_MOVIES, DIM, min_rating=1.0, max_rating=10.0))
    u, m, bu, bm = (model.get_layer(n).get_weights()[0]
                    for n in ("user_embedding", "movie_embedding", "user_bias", "movie_bias"))
    x = pairs(15)
    score = np.einsum("bd,bd->b", u[x[:, 0]], m[x[:, 1]]) + bu[x[:, 0], 0] + bm[x[:, 1], 0]
    expected = 1.0 + 9.0 / (1.0 + np.exp(-score))
    assert np.allclose(training.predict(model, x), expected, atol=1e-5)


# ---------------------------------------------------------------------------- rating scale


@pytest.mark.parametrize("scale", [(0.5, 5.0), (1.0, 10.0), (-2.0, 2.0)])
@pytest.mark.parametrize("size", [1e3, 1e18])
def test_predictions_stay_on_the_scale_for_extreme_weights(scale, size):
    # Weights of 1e18 give scores around ±1e36, near the float32 limit (products beyond it would
    # overflow to inf - inf = NaN, which no formula on float32 can rescue).
    lo, hi = scale
    model = built(models.DotWithBias(N_USERS, N_MOVIES, DIM, min_rating=lo, max_rating=hi))
    rng = np.random.default_rng(1)
    model.set_weights([rng.choice([-size, size], w.shape).astype("float32") for w in model.get_weights()])
    preds = training.predict(model, pairs(200))
    assert np.all(np.isfinite(preds))
    assert preds.min() >= lo and preds.max() <= hi
    # Saturated scores reach the ends of the scale, never beyond them.
    assert np.isclose(preds.min(), lo) and np.isclose(preds.max(), hi)


def test_huge_positive_and_negative_biases_give_the_ends_of_the_scale():
    model = built(models.DotWithBias(N_USERS, N_MOVIES, DIM, min_rating=0.5, max_rating=5.0))
    weights = [np.zeros_like(w) for w in model.get_weights()]
    weights[2][:] = 1e6     # user bias
    weights[3][:3] = -3e6   # movie bias of movies 0..2 outweighs it
    model.set_weights(weights)
    x = np.array([[0, 0], [1, 5], [2, 2], [3, 7]], dtype="int32")
    assert training.predict(model, x).tolist() == [0.5, 5.0, 0.5, 5.0]


# ---------------------------------------------------------------------------- dropout


def test_dropout_acts_only_in_training():
    training.seed_everything(3)
    model = built(models.DotWithBias(N_USERS, N_MOVIES, 32, user_dropout=0.5, movie_dropout=0.5))
    x = pairs(64)
    infer1 = keras.ops.convert_to_numpy(model(x, training=False))
    infer2 = keras.ops.convert_to_numpy(model(x))
    train1 = keras.ops.convert_to_numpy(model(x, training=True))
    train2 = keras.ops.convert_to_numpy(model(x, training=True))
    assert np.array_equal(infer1, infer2)
    assert np.allclose(training.predict(model, x), infer1, atol=1e-6)
    assert not np.allclose(train1, infer1)
    assert not np.allclose(train1, train2)


def test_no_dropout_means_training_equals_inference():
    model = built(models.DotWithBias(N_USERS, N_MOVIES, DIM, user_dropout=0.0, movie_dropout=0.0))
    x = pairs(20)
    assert np.allclose(keras.ops.convert_to_numpy(model(x, training=True)),
                       keras.ops.convert_to_numpy(model(x, training=False)))


def test_l2_adds_a_penalty_loss_only_when_asked():
    plain = built(models.DotWithBias(N_USERS, N_MOVIES, DIM))
    penalised = built(models.DotWithBias(N_USERS, N_MOVIES, DIM, l2=0.1))
    assert len(plain.losses) == 0
    assert len(built(models.DotWithBias(N_USERS, N_MOVIES, DIM, l2=None)).losses) == 0
    assert len(penalised.losses) == 2
    tables = [penalised.user_embedding.get_weights()[0], penalised.movie_embedding.get_weights()[0]]
    expected = 0.1 * sum(float((w.astype(np.float64) ** 2).sum()) for w in tables)
    got = sum(float(keras.ops.convert_to_numpy(loss)) for loss in penalised.losses)
    assert np.isclose(got, expected, rtol=1e-4)


# ---------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_users=0), "n_users"),
    (dict(n_movies=-3), "n_movies"),
    (dict(embedding_dim=0), "embedding_dim"),
    (dict(embedding="lookup"), "'keras' or 'diy'"),
])
def test_simple_dot_rejects_bad_arguments(kwargs, message):
    args = dict(n_users=N_USERS, n_movies=N_MOVIES, embedding_dim=DIM) | kwargs
    with pytest.raises(ValueError, match=message):
        models.SimpleDot(**args)


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_users=0), "n_users"),
    (dict(embedding_dim=-1), "embedding_dim"),
    (dict(min_rating=5.0, max_rating=0.5), "min_rating must be below max_rating"),
    (dict(min_rating=3.0, max_rating=3.0), "min_rating must be below max_rating"),
    (dict(max_rating=float("inf")), "finite"),
    (dict(user_dropout=1.0), r"user_dropout must be in \[0, 1\)"),
    (dict(movie_dropout=-0.1), r"movie_dropout must be in \[0, 1\)"),
    (dict(l2=-1e-4), "l2 must be a non-negative"),
])
def test_dot_with_bias_rejects_bad_arguments(kwargs, message):
    args = dict(n_users=N_USERS, n_movies=N_MOVIES, embedding_dim=DIM) | kwargs
    with pytest.raises(ValueError, match=message):
        models.DotWithBias(**args)


def test_simple_embedding_rejects_bad_sizes():
    with pytest.raises(ValueError, match="positive"):
        models.SimpleEmbedding(0, 3)
    with pytest.raises(ValueError, match="positive"):
        models.SimpleEmbedding(3, 0)


# ---------------------------------------------------------------------------- SimpleEmbedding basics


def test_simple_embedding_shapes_and_lookup():
    layer = models.SimpleEmbedding(10, 3)
    out = keras.ops.convert_to_numpy(layer(np.array([0, 4, 4, 9])))
    assert out.shape == (4, 3)
    table = layer.get_weights()[0]
    assert table.shape == (10, 3)
    assert np.array_equal(out, table[[0, 4, 4, 9]])
    assert keras.ops.convert_to_numpy(layer(np.zeros((2, 5), dtype="int32"))).shape == (2, 5, 3)
    assert layer.compute_output_shape((None, 5)) == (None, 5, 3)
    assert np.abs(table).max() <= 0.05  # the default initialiser, uniform on [-0.05, 0.05]


def test_simple_embedding_config_round_trip():
    layer = models.SimpleEmbedding(6, 2, embeddings_initializer="zeros",
                                   embeddings_regularizer=keras.regularizers.L2(0.5), name="diy")
    layer(np.array([1, 2]))
    config = layer.get_config()
    assert (config["input_dim"], config["output_dim"], config["name"]) == (6, 2, "diy")
    clone = models.SimpleEmbedding.from_config(config)
    clone(np.array([1, 2]))
    assert clone.get_config() == config
    assert isinstance(clone.embeddings_regularizer, keras.regularizers.L2)
    clone.set_weights(layer.get_weights())
    x = np.array([5, 0, 3])
    assert np.array_equal(keras.ops.convert_to_numpy(clone(x)), keras.ops.convert_to_numpy(layer(x)))
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is models.SimpleEmbedding and restored.output_dim == 2


# ---------------------------------------------------------------------------- reading biases


def tiny_encoded():
    ratings = pd.DataFrame({
        "userId": [1, 1, 2, 2, 3, 3, 3],
        "movieId": [10, 30, 10, 30, 10, 20, 30],
        "rating": [5.0, 2.0, 4.0, 1.0, 4.5, 3.0, 1.5],
        "timestamp": [0] * 7,
    })
    movies = pd.DataFrame({"movieId": [10, 20, 30, 40], "title": ["Ten", "Twenty", "Thirty", "Forty"],
                           "genres": ["Drama"] * 4})
    return data.encode_ids(ratings), movies


def test_movie_bias_table_decodes_ids_and_filters():
    encoded, movies = tiny_encoded()
    movie_bias = np.array([0.7, -0.1, -0.9])  # dense index 0, 1, 2 = movieId 10, 20, 30
    table = biases.movie_bias_table(movie_bias, encoded, movies, min_ratings=2)
    assert list(table.index) == [10, 30]
    assert list(table.columns) == ["title", "bias", "mean_rating", "n_ratings"]
    assert table.loc[10, "title"] == "Ten" and table.loc[30, "title"] == "Thirty"
    assert np.isclose(table.loc[10, "mean_rating"], 4.5) and table.loc[30, "n_ratings"] == 3
    assert table["bias"].tolist() == [0.7, -0.9]
    full = biases.movie_bias_table(movie_bias, encoded, movies)
    assert full.index.tolist() == [10, 20, 30]


def test_movie_bias_table_rejects_wrong_lengths():
    encoded, movies = tiny_encoded()
    with pytest.raises(ValueError, match="one bias per movie"):
        biases.movie_bias_table(np.zeros(5), encoded, movies)
    with pytest.raises(ValueError, match="min_ratings"):
        biases.movie_bias_table(np.zeros(3), encoded, movies, min_ratings=0)


def test_learned_biases_reads_the_bias_tables():
    model = built(models.DotWithBias(N_USERS, N_MOVIES, DIM))
    user_bias, movie_bias = biases.learned_biases(model)
    assert user_bias.shape == (N_USERS,) and movie_bias.shape == (N_MOVIES,)
    assert np.array_equal(movie_bias, model.movie_bias.get_weights()[0][:, 0])
    with pytest.raises(ValueError, match="user_bias"):
        biases.learned_biases(built(models.SimpleDot(N_USERS, N_MOVIES, DIM)))
