"""The do-it-yourself embedding layer (cfcourse.models.SimpleEmbedding) and the lookup helpers."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from cfcourse import lookup
from cfcourse.models import SimpleDot, SimpleEmbedding, post_initializer
from cfcourse.training import seed_everything


def _pair(input_dim: int, output_dim: int, seed: int = 0):
    """A SimpleEmbedding and a keras Embedding holding the same random weights."""
    table = np.random.default_rng(seed).uniform(-1, 1, (input_dim, output_dim)).astype("float32")
    diy, ref = SimpleEmbedding(input_dim, output_dim), keras.layers.Embedding(input_dim, output_dim)
    for layer in (diy, ref):
        layer.build((None,))
        layer.set_weights([table])
    return diy, ref, table


@pytest.mark.parametrize("shape", [(6,), (4, 5), (1,)])
def test_simple_embedding_equals_keras_embedding_in_outputs_and_gradients(shape):
    diy, ref, table = _pair(11, 3)
    ids = np.random.default_rng(1).integers(0, 11, shape).astype("int32")
    ids.reshape(-1)[0] = ids.reshape(-1)[-1]  # a repeated id: its gradient rows must add up
    upstream = np.random.default_rng(2).standard_normal((*shape, 3)).astype("float32")
    out_diy, grad_diy = lookup.output_and_gradient(diy, ids, upstream)
    out_ref, grad_ref = lookup.output_and_gradient(ref, ids, upstream)
    assert out_diy.shape == (*shape, 3)
    np.testing.assert_array_equal(out_diy, out_ref)
    np.testing.assert_array_equal(out_diy, table[ids])
    assert grad_diy.shape == table.shape
    np.testing.assert_allclose(grad_diy, grad_ref, rtol=0, atol=1e-6)
    np.testing.assert_allclose(grad_diy, lookup.scatter_rows(ids, upstream, 11), atol=1e-5)
    untouched = np.setdiff1d(np.arange(11), ids)
    assert not grad_diy[untouched].any()


def test_keras_embedding_gradient_is_sparse_and_to_dense_sums_repeats():
    _, ref, _ = _pair(5, 2)
    ids = tf.constant([3, 3, 0])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(ref(ids))
    grad = tape.gradient(loss, ref.trainable_weights[0])
    assert isinstance(grad, tf.IndexedSlices)
    dense = lookup.to_dense(grad)
    np.testing.assert_array_equal(dense, [[1, 1], [0, 0], [0, 0], [2, 2], [0, 0]])
    with pytest.raises(ValueError, match="does not depend"):
        lookup.to_dense(None)


def test_compute_output_shape_matches_the_output():
    layer = SimpleEmbedding(9, 4)
    assert layer.compute_output_shape((8,)) == (8, 4)
    assert layer.compute_output_shape((2, 7)) == (2, 7, 4)
    assert tuple(layer(np.zeros((2, 7), "int32")).shape) == (2, 7, 4)


def test_float_ids_are_cast_like_keras():
    diy, ref, table = _pair(6, 2)
    ids = np.array([1.0, 5.0, 0.0], dtype="float32")
    np.testing.assert_array_equal(np.asarray(diy(ids)), table[[1, 5, 0]])
    np.testing.assert_array_equal(np.asarray(diy(ids)), np.asarray(ref(ids)))


# ---------------------------------------------------------------------------- one-hot


def test_one_hot_product_equals_gather():
    table = np.random.default_rng(3).standard_normal((50, 8)).astype("float32")
    ids = np.random.default_rng(4).integers(0, 50, (7, 3))
    by_product = np.asarray(lookup.one_hot_product(ids, table))
    by_lookup = np.asarray(lookup.row_lookup(ids, table))
    assert by_product.shape == (7, 3, 8)
    np.testing.assert_allclose(by_product, table[ids], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(by_lookup, table[ids])
    np.testing.assert_allclose(lookup.numpy_one_hot_product(ids, table), table[ids], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(lookup.numpy_row_lookup(ids, table), table[ids])


def test_one_hot_has_a_single_one_in_the_right_place():
    encoded = lookup.one_hot([2, 0, 2], 4)
    np.testing.assert_array_equal(encoded, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 1, 0]])
    assert encoded.dtype == np.float32
    assert lookup.one_hot(np.zeros((2, 3), int), 5).shape == (2, 3, 5)


def test_scatter_rows_is_the_transposed_one_hot_product():
    ids = np.array([1, 4, 1, 0])
    upstream = np.random.default_rng(5).standard_normal((4, 3))
    np.testing.assert_allclose(lookup.scatter_rows(ids, upstream, 6), lookup.one_hot(ids, 6, "float64").T @ upstream)


@pytest.mark.parametrize("bad", [[0, 5], [-1, 2], [[1, 7]]])
def test_helpers_refuse_out_of_range_ids(bad):
    """The helpers define out-of-range ids as an error (a one-hot row of zeros would hide the bug)."""
    table = np.ones((5, 2), "float32")
    for helper in (lookup.one_hot_product, lookup.row_lookup):
        with pytest.raises(IndexError, match=r"outside 0\.\.4"):
            helper(bad, table)
    with pytest.raises(IndexError, match="only 5 rows"):
        lookup.one_hot(bad, 5)


def test_helpers_refuse_fractional_ids_and_bad_tables():
    with pytest.raises(TypeError, match="must be integers"):
        lookup.row_lookup([0.5], np.ones((3, 2), "float32"))
    with pytest.raises(ValueError, match="2-d"):
        lookup.row_lookup([0], np.ones(3, "float32"))
    with pytest.raises(ValueError, match="positive"):
        lookup.check_ids([0], 0)
    np.testing.assert_array_equal(lookup.check_ids([1.0, 2.0], 3), [1, 2])


def test_packaged_layer_treats_out_of_range_ids_like_keras():
    """Documented behaviour, inherited from keras.ops.take on the CPU: -1 is the last row, ids >= input_dim raise."""
    diy, ref, table = _pair(5, 2)
    np.testing.assert_array_equal(np.asarray(diy(np.array([-1]))), table[[-1]])
    np.testing.assert_array_equal(np.asarray(diy(np.array([-1]))), np.asarray(ref(np.array([-1]))))
    for layer in (diy, ref):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"not in \[0, 5\)"):
            layer(np.array([5]))


def test_invalid_sizes_are_refused():
    with pytest.raises(ValueError, match="positive"):
        SimpleEmbedding(0, 3)
    with pytest.raises(ValueError, match="positive"):
        lookup.lookup_memory(batch_size=0)


# ---------------------------------------------------------------------------- config, training, seeds


def test_get_config_from_config_round_trip():
    layer = SimpleEmbedding(12, 4, embeddings_initializer=post_initializer(),
                            embeddings_regularizer=keras.regularizers.L2(1e-3), name="movies")
    config = layer.get_config()
    clone = SimpleEmbedding.from_config(config)
    assert (clone.input_dim, clone.output_dim, clone.name) == (12, 4, "movies")
    assert isinstance(clone.embeddings_initializer, keras.initializers.RandomUniform)
    assert clone.embeddings_initializer.get_config()["minval"] == 0.0
    assert clone.embeddings_initializer.get_config()["maxval"] == 0.05
    assert clone.embeddings_regularizer.get_config()["l2"] == pytest.approx(1e-3)
    assert clone.get_config() == config
    # the registered name makes the generic serializer find the class too
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(again) is SimpleEmbedding and again.get_config() == config


def test_regularizer_adds_a_loss():
    layer = SimpleEmbedding(4, 2, embeddings_initializer="ones", embeddings_regularizer=keras.regularizers.L2(0.5))
    layer(np.array([0]))
    assert float(sum(layer.losses)) == pytest.approx(0.5 * 8)


def _tiny_ratings(seed: int = 0):
    rng = np.random.default_rng(seed)
    users, movies = rng.normal(0.6, 0.3, (12, 2)), rng.normal(0.6, 0.3, (15, 2))
    x = np.stack(np.meshgrid(np.arange(12), np.arange(15), indexing="ij"), -1).reshape(-1, 2).astype("int32")
    y = np.sum(users[x[:, 0]] * movies[x[:, 1]], axis=1).astype("float32")
    return x, y


def _fit_tiny(seed: int):
    x, y = _tiny_ratings()
    seed_everything(seed)
    model = SimpleDot(12, 15, embedding_dim=4, embedding="diy", initializer=None)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mse")
    history = model.fit(x, y, batch_size=32, epochs=15, verbose=0, shuffle=True)
    return model, history.history["loss"]


def test_diy_simple_dot_trains_and_is_deterministic():
    model, losses = _fit_tiny(7)
    assert losses[-1] < 0.1 * losses[0]
    assert isinstance(model.movie_embedding, SimpleEmbedding)
    model2, losses2 = _fit_tiny(7)
    assert losses2 == losses
    for a, b in zip(model.get_weights(), model2.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_same_seed_same_initial_weights_as_keras_embedding():
    """With the initialiser created after seeding, both layers start from the very same matrix."""
    tables = []
    for make in (lambda init: SimpleEmbedding(30, 4, embeddings_initializer=init),
                 lambda init: keras.layers.Embedding(30, 4, embeddings_initializer=init),
                 lambda init: SimpleEmbedding(30, 4, embeddings_initializer=init)):
        seed_everything(42)
        layer = make(post_initializer())
        layer.build((None,))
        tables.append(layer.get_weights()[0])
    np.testing.assert_array_equal(tables[0], tables[1])
    np.testing.assert_array_equal(tables[0], tables[2])
    assert tables[0].min() >= 0.0 and tables[0].max() <= 0.05


def test_default_initializer_is_symmetric_around_zero():
    seed_everything(0)
    layer = SimpleEmbedding(200, 16)
    layer.build((None,))
    table = layer.get_weights()[0]
    assert -0.05 <= table.min() < -0.04 and 0.04 < table.max() <= 0.05
    assert abs(table.mean()) < 0.005


# ---------------------------------------------------------------------------- cost


def test_memory_accounting_at_course_sizes():
    memory = lookup.lookup_memory(batch_size=1024, n_rows=9_724, dim=64)
    assert memory.one_hot_bytes == 1024 * 9_724 * 4 == 39_829_504
    assert memory.gathered_bytes == 1024 * 64 * 4 == 262_144
    assert memory.table_bytes == 9_724 * 64 * 4
    assert memory.ratio == pytest.approx(9_724 / 64)
    frame = memory.table()
    assert frame["bytes"].tolist() == [39_829_504, 262_144, 9_724 * 64 * 4]
    assert lookup.lookup_memory(10, 20, 3, dtype="float64").one_hot_bytes == 10 * 20 * 8


def test_tracemalloc_peak_matches_the_accounting():
    ids = np.random.default_rng(0).integers(0, 2_000, 256)
    table = np.zeros((2_000, 16), "float32")
    memory = lookup.lookup_memory(256, 2_000, 16)
    one_hot_peak = lookup.peak_bytes(lookup.numpy_one_hot_product, ids, table)
    gather_peak = lookup.peak_bytes(lookup.numpy_row_lookup, ids, table)
    assert memory.one_hot_bytes <= one_hot_peak <= 1.05 * memory.one_hot_bytes + 4 * memory.gathered_bytes
    assert memory.gathered_bytes <= gather_peak <= 4 * memory.gathered_bytes + 16_384


def test_timing_helpers_return_positive_milliseconds():
    calls = []
    assert lookup.median_ms(lambda: calls.append(1), repeats=3, warmup=1) >= 0
    assert len(calls) == 4
    frame = lookup.time_lookups(n_rows=100, dim=8, batch_size=16, repeats=2)
    assert frame.index.tolist() == ["one-hot product", "row lookup"]
    assert (frame[["lookup_ms", "with_gradient_ms"]] > 0).all().all()
    with pytest.raises(ValueError, match="repeats"):
        lookup.median_ms(lambda: None, repeats=0)
