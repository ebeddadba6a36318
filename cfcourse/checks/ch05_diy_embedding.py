"""Checks for the exercises of the do-it-yourself embedding chapter."""

from __future__ import annotations

import re

import numpy as np

from ._base import CheckFailed, call_answer, fail, passed

_INPUT_DIM, _OUTPUT_DIM = 7, 3
_IDS = np.array([4, 0, 6, 4, 2], dtype="int32")


def _attempt(func, *args, label: str, doing: str):
    """Run the learner's code, turning any error into a readable failure that says what was being done."""
    try:
        return call_answer(func, *args, name=label)
    except CheckFailed as exc:
        if "still raises NotImplementedError" in str(exc):
            raise
        fail(f"{doing} raised {type(exc.__cause__).__name__}: {_first_line(exc.__cause__)}"
             if exc.__cause__ is not None else str(exc))


def _first_line(exc: BaseException) -> str:
    """The informative first line of an error (Keras wraps errors raised in ``call``)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.startswith("Exception encountered when calling")]
    return lines[0] if lines else ""


def _rounded(values) -> list[float]:
    return [round(float(v), 3) for v in np.asarray(values).reshape(-1)]


def check_embedding_layer(layer_class) -> None:
    """Check a do-it-yourself embedding layer class, e.g. ``check_embedding_layer(MyEmbedding)``.

    The class is built as ``layer_class(7, 3)`` (``input_dim=7`` rows, ``output_dim=3``
    columns) and called on a batch of 5 ids. It must own one trainable ``(7, 3)`` weight
    matrix, return shape ``(5, 3)``, give row ``i`` of that matrix for id ``i`` (exactly the
    one-hot product), and pass gradients back to the matrix.
    """
    import tensorflow as tf
    from keras import ops

    if not isinstance(layer_class, type):
        fail(f"Pass the class itself, e.g. check_embedding_layer(MyEmbedding), not {type(layer_class).__name__} "
             "(an instance or the result of a call).")
    label = layer_class.__name__
    layer = _attempt(layer_class, _INPUT_DIM, _OUTPUT_DIM, label=label,
                     doing=f"Creating the layer as {label}(input_dim={_INPUT_DIM}, output_dim={_OUTPUT_DIM})")
    ids = ops.convert_to_tensor(_IDS)
    doing = f"Calling {label} on a batch of {len(_IDS)} ids"
    first = _attempt(layer, ids, label=label, doing=doing)

    # 1. The weight matrix: present, trainable, (input_dim, output_dim).
    if not layer.weights:
        fail(f"{label} owns no weights, so its output cannot depend on anything it learns: it cannot learn. "
             "In build(), create the matrix with self.add_weight(shape=(input_dim, output_dim), ...).")
    matrices = [w for w in layer.weights if len(w.shape) == 2]
    if not matrices:
        shapes = [tuple(w.shape) for w in layer.weights]
        fail(f"{label} has no 2-d weight matrix (its weights have shapes {shapes}); expected one of shape "
             f"(input_dim, output_dim) = ({_INPUT_DIM}, {_OUTPUT_DIM}).")
    weight = matrices[0]
    shape = tuple(weight.shape)
    if shape == (_OUTPUT_DIM, _INPUT_DIM):
        fail(f"{label}'s weight matrix is transposed: with input_dim={_INPUT_DIM} and output_dim={_OUTPUT_DIM} it "
             f"has shape {shape}, but it needs one row per id, i.e. shape (input_dim, output_dim) = "
             f"({_INPUT_DIM}, {_OUTPUT_DIM}).")
    if shape != (_INPUT_DIM, _OUTPUT_DIM):
        fail(f"{label}'s weight matrix has shape {shape}; with input_dim={_INPUT_DIM} and output_dim={_OUTPUT_DIM} "
             f"it must have shape ({_INPUT_DIM}, {_OUTPUT_DIM}): one row of output_dim numbers per id.")
    if not weight.trainable or not any(w is weight for w in layer.trainable_weights):
        fail(f"{label}'s weight matrix is not trainable, so the optimiser would never change it: the layer "
             "cannot learn. Create it with self.add_weight(..., trainable=True).")

    # 2. The output must follow the weights.
    rng = np.random.default_rng(5)
    new_values = rng.uniform(-1.0, 1.0, (_INPUT_DIM, _OUTPUT_DIM)).astype("float32")
    weight.assign(new_values)
    second = _attempt(layer, ids, label=label, doing=doing)
    if np.asarray(first).shape == np.asarray(second).shape and np.allclose(np.asarray(first), np.asarray(second)):
        detail = ""
        if np.asarray(second).shape == _IDS.shape and np.array_equal(np.asarray(second), _IDS):
            detail = " (it returns the ids unchanged)"
        fail(f"{label}'s output does not depend on its weights{detail}: after changing the weight matrix the "
             "output stayed the same, so the layer cannot learn. call() must look rows up in the matrix.")

    # 3. Shape and values.
    out = np.asarray(second)
    expected = new_values[_IDS]
    if out.shape != expected.shape:
        fail(f"Expected {label} to return shape (batch, output_dim) = {expected.shape} for {len(_IDS)} ids, "
             f"got {out.shape}.")
    if not np.allclose(out, expected, atol=1e-6):
        row = int(np.flatnonzero(~np.isclose(out, expected, atol=1e-6).all(axis=1))[0])
        fail(f"{label} does not return the rows of its weight matrix: for id {int(_IDS[row])} expected row "
             f"{int(_IDS[row])} = {_rounded(expected[row])}, got {_rounded(out[row])}. "
             "The output for id i must be one_hot(i) @ W, i.e. row i of W.")

    # 4. Gradients reach the matrix, on exactly the looked-up rows.
    upstream = rng.standard_normal(expected.shape).astype("float32")
    try:
        with tf.GradientTape() as tape:
            loss = ops.sum(layer(ids) * upstream)
        grad = tape.gradient(loss, weight)
    except Exception as exc:
        fail(f"Differentiating through {label} raised {type(exc).__name__}: {_first_line(exc)}")
    if grad is None:
        fail(f"No gradient flows from {label}'s output to its weight matrix, so the layer cannot learn. "
             "Compute the output from the weight with keras.ops (ops.take or ops.matmul), not with NumPy.")
    grad = np.asarray(tf.convert_to_tensor(grad))
    if not np.any(grad):
        fail(f"The gradient of {label}'s output with respect to its weights is all zeros, so the layer cannot learn.")
    want = np.zeros((_INPUT_DIM, _OUTPUT_DIM))
    np.add.at(want, _IDS, upstream)
    if not np.allclose(grad, want, atol=1e-5):
        fail(f"The gradient reaching {label}'s weights is not that of a row lookup: each row should receive the "
             "sum of the output gradients of the ids that point to it (row 4 twice here).")
    passed(f"{label} owns a trainable ({_INPUT_DIM}, {_OUTPUT_DIM}) matrix, returns row i for id i, and its "
                  "gradients reach exactly the looked-up rows.")
