"""The check of the do-it-yourself embedding exercise accepts right layers and explains wrong ones."""

from __future__ import annotations

import keras
import pytest
from keras import ops

from cfcourse.checks import CheckFailed, check_embedding_layer


class _Base(keras.layers.Layer):
    def __init__(self, input_dim, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = input_dim, output_dim

    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim), initializer="random_uniform",
                                          name="embeddings")


class OneHotEmbedding(_Base):
    """The chapter's reference answer: the one-hot product."""

    def call(self, ids):
        ids = ops.cast(ids, "int32")
        return ops.matmul(ops.one_hot(ids, self.input_dim, dtype=self.embeddings.dtype), self.embeddings)


class TakeEmbedding(_Base):
    """The other right answer: gather the rows."""

    def call(self, ids):
        return ops.take(self.embeddings, ops.cast(ids, "int32"), axis=0)


class ReturnsIds(_Base):
    def call(self, ids):
        return ids


class ReturnsConstant(_Base):
    def call(self, ids):
        return ops.zeros((ops.shape(ids)[0], self.output_dim))


class SumsRows(_Base):
    """Output shape (batch, 1): the rows are summed up."""

    def call(self, ids):
        return ops.sum(ops.take(self.embeddings, ops.cast(ids, "int32"), axis=0), axis=-1, keepdims=True)


class Frozen(TakeEmbedding):
    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim), trainable=False,
                                          name="embeddings")


class Transposed(_Base):
    def build(self, input_shape=None):
        self.embeddings = self.add_weight(shape=(self.output_dim, self.input_dim), name="embeddings")

    def call(self, ids):
        return ops.transpose(ops.take(self.embeddings, ops.cast(ids, "int32"), axis=1))


class NoWeights(keras.layers.Layer):
    def __init__(self, input_dim, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.output_dim = output_dim

    def call(self, ids):
        return ops.ones((ops.shape(ids)[0], self.output_dim))


class ThroughNumpy(TakeEmbedding):
    """Right values, but computed outside the graph: no gradient."""

    def call(self, ids):
        import numpy as np

        return ops.convert_to_tensor(np.asarray(self.embeddings)[np.asarray(ids)])


class WrongRows(TakeEmbedding):
    def call(self, ids):
        return ops.take(self.embeddings, (ops.cast(ids, "int32") + 1) % self.input_dim, axis=0)


class Stub(_Base):
    def call(self, ids):
        raise NotImplementedError("Hint: one-hot encode the ids, then multiply by the weights.")


@pytest.mark.parametrize("answer", [OneHotEmbedding, TakeEmbedding])
def test_accepts_right_layers(answer, passes):
    passes(check_embedding_layer, answer)


@pytest.mark.parametrize("answer, message", [
    (ReturnsIds, r"does not depend on its weights \(it returns the ids unchanged\).*cannot learn"),
    (ReturnsConstant, r"does not depend on its weights.*cannot learn"),
    (SumsRows, r"Expected SumsRows to return shape \(batch, output_dim\) = \(5, 3\) for 5 ids, got \(5, 1\)"),
    (Frozen, r"not trainable.*cannot learn"),
    (Transposed, r"transposed.*shape \(3, 7\).*\(input_dim, output_dim\) = \(7, 3\)"),
    (NoWeights, r"owns no weights.*cannot learn"),
    (ThroughNumpy, r"No gradient flows.*cannot learn"),
    (WrongRows, r"does not return the rows of its weight matrix: for id 4 expected row 4"),
])
def test_rejects_typical_wrong_layers(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check_embedding_layer(answer)


class StubBuild(Stub):
    def build(self, input_shape=None):
        raise NotImplementedError("Hint: self.add_weight(...)")


@pytest.mark.parametrize("answer", [Stub, StubBuild])
def test_stub_says_not_implemented(answer):
    with pytest.raises(CheckFailed, match=f"{answer.__name__} still raises NotImplementedError"):
        check_embedding_layer(answer)


def test_instance_instead_of_class():
    with pytest.raises(CheckFailed, match="Pass the class itself"):
        check_embedding_layer(TakeEmbedding(7, 3))


def test_wrong_constructor_signature_is_explained():
    class NoArgs(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)

    with pytest.raises(CheckFailed, match=r"Creating the layer as NoArgs\(input_dim=7, output_dim=3\) raised TypeError"):
        check_embedding_layer(NoArgs)
