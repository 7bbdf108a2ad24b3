"""Losses over a batch, as ``Value`` graphs, and the L2 penalty (weight decay, as in the UFLDL tutorial).

A loss takes ``predictions``, a list with the model's output for each example (a ``Value`` for
a one-output model, a list of Values otherwise), and ``targets``, a list with one target per
example; a lone Value and a lone target count as a batch of one. It returns one ``Value``: the
mean over the examples (``reduction="sum"``: their sum), ready for ``backward()``.

Targets may be Values too (``nn.compiled`` traces one example with its target as an input): the
losses are then written without a branch on the target, with the op table's ``step``-like
helpers, so one graph serves every example. On numbers they build the plain graphs.
"""
from __future__ import annotations

from numbers import Integral, Real
from typing import Iterable

from autograd_mini import Value, ops

from .module import Module

REDUCTIONS = ("mean", "sum")


def _batch(predictions, targets, name: str) -> tuple[list, list]:
    if isinstance(predictions, Value):
        predictions, targets = [predictions], [targets]
    if hasattr(targets, "tolist"):  # NumPy
        targets = targets.tolist()
    if not isinstance(predictions, (list, tuple)) or not isinstance(targets, (list, tuple)):
        raise TypeError(f"{name} takes a list of predictions (one per example) and a list of "
                        f"targets, got {type(predictions).__name__} and {type(targets).__name__}")
    if len(predictions) != len(targets):
        raise ValueError(f"{name}: {len(predictions)} predictions but {len(targets)} targets")
    if not predictions:
        raise ValueError(f"{name}: the batch is empty")
    return predictions, targets


def _reduce(terms: list, reduction: str, n: int, scale: float = 1.0) -> Value:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    total = Value.sum(terms)  # one node, however big the batch
    factor = scale / n if reduction == "mean" else scale
    return total if factor == 1.0 else total * factor


def _single(prediction, i: int, name: str):
    """The one output of example i (a Value, or a list holding one Value)."""
    if isinstance(prediction, (list, tuple)):
        if len(prediction) != 1:
            raise ValueError(f"{name} needs one output per example; example {i} has "
                             f"{len(prediction)} (use cross_entropy for several classes)")
        prediction = prediction[0]
    if not isinstance(prediction, (Value, Real)):
        raise TypeError(f"{name}: prediction {i} is {type(prediction).__name__}, expected a Value")
    return prediction


def _target(t, i: int, name: str):
    if isinstance(t, Value):
        return t
    if isinstance(t, Real) and not isinstance(t, bool):
        return float(t)
    raise TypeError(f"{name}: target {i} is {type(t).__name__} {t!r:.30}, expected a number")


def mse_loss(predictions, targets, *, reduction: str = "mean") -> Value:
    """Squared error with UFLDL's 1/2: mean over examples of sum_j 1/2 (target_j - output_j)^2.

    The worked example's E_total is ``mse_loss([outputs], [targets])`` (one example, two outputs).

    >>> from nn import mse_loss
    >>> from autograd_mini import Value
    >>> o1, o2 = Value(0.75136507), Value(0.772928465)
    >>> round(mse_loss([[o1, o2]], [[0.01, 0.99]]).data, 9)
    0.298371109
    """
    predictions, targets = _batch(predictions, targets, "mse_loss")
    squares = []
    for i, (out, target) in enumerate(zip(predictions, targets)):
        if isinstance(out, (list, tuple)):
            if hasattr(target, "tolist"):
                target = target.tolist()
            if not isinstance(target, (list, tuple)) or len(target) != len(out):
                raise ValueError(f"mse_loss: example {i} has {len(out)} outputs, so its target "
                                 f"must be a list of {len(out)} numbers, got {target!r:.60}")
            pairs = zip(out, target)
        else:
            pairs = [(out, target)]
        for o, t in pairs:
            d = o - _target(t, i, "mse_loss")
            squares.append(d * d)
    return _reduce(squares, reduction, len(predictions), 0.5)


def hinge_loss(predictions, targets, *, reduction: str = "mean") -> Value:
    """micrograd's max-margin loss: mean of relu(1 - y * score), labels y = -1 or +1.

    Labels 0 and 1 (as ``nn.datasets`` gives) are read as -1 and +1.

    >>> from nn import hinge_loss
    >>> from autograd_mini import Value
    >>> hinge_loss([Value(2.0), Value(0.5), Value(0.5)], [1, -1, 0]).data   # (0 + 1.5 + 1.5) / 3
    1.0
    """
    predictions, targets = _batch(predictions, targets, "hinge_loss")
    terms = []
    for i, (score, y) in enumerate(zip(predictions, targets)):
        y = _target(y, i, "hinge_loss")
        score = _single(score, i, "hinge_loss")
        if isinstance(y, Value):  # the label's sign as a node: 1 for y > 0, else -1
            terms.append((1.0 - (2.0 * ops.step(y) - 1.0) * score).relu())
            continue
        if y not in (-1.0, 0.0, 1.0):
            raise ValueError(f"hinge_loss: target {i} is {y!r}; labels must be -1 or +1 (or 0 or 1)")
        terms.append((1.0 - score if y > 0 else 1.0 + score).relu())
    return _reduce(terms, reduction, len(predictions))


def bce_with_logits(logits, targets, *, reduction: str = "mean") -> Value:
    """Binary cross-entropy of sigmoid(logit) against targets in [0, 1], computed stably.

    Per example: -y log sigmoid(z) - (1 - y) log(1 - sigmoid(z)) = softplus(z) - y z, with the op
    table's ``softplus`` (finite for logits of any size).

    >>> import math
    >>> from nn import bce_with_logits
    >>> from autograd_mini import Value
    >>> z = Value(0.0); loss = bce_with_logits([z], [1]); loss.backward()
    >>> loss.data == math.log(2), z.grad    # d/dz = sigmoid(z) - y
    (True, -0.5)
    >>> bce_with_logits([Value(1000.0)], [0]).data
    1000.0
    """
    logits, targets = _batch(logits, targets, "bce_with_logits")
    terms = []
    for i, (z, y) in enumerate(zip(logits, targets)):
        y = _target(y, i, "bce_with_logits")
        if not isinstance(y, Value) and not 0.0 <= y <= 1.0:
            raise ValueError(f"bce_with_logits: target {i} is {y!r}; it must lie in [0, 1]")
        z = _single(z, i, "bce_with_logits")
        if isinstance(z, Real):
            z = Value(float(z))
        if isinstance(y, Value):
            terms.append(z.softplus() - z * y)
        else:
            terms.append(z.softplus() - (z if y == 1.0 else z * y) if y else z.softplus())
    return _reduce(terms, reduction, len(logits))


def _logits(out, i: int, name: str) -> list:
    if not isinstance(out, (list, tuple)) or len(out) < 2:
        raise ValueError(f"{name} needs a list of at least 2 logits per example (a model with one "
                         f"output per class); example {i} is {type(out).__name__}"
                         + (f" of {len(out)}" if isinstance(out, (list, tuple)) else "")
                         + " (for one output use bce_with_logits or hinge_loss)")
    return out


def _number(x) -> float:
    return x.data if isinstance(x, Value) else float(x)


def log_softmax(logits) -> list[Value]:
    """log softmax(z)_i = z_i - log sum_j e^(z_j), with the op table's ``logsumexp``."""
    log_total = Value.logsumexp(logits)
    return [z - log_total for z in logits]


def softmax(logits) -> list[Value]:
    """Probabilities e^(z_i) / sum_j e^(z_j), stable for large logits.

    >>> from nn import softmax
    >>> from autograd_mini import Value
    >>> [round(p.data, 4) for p in softmax([Value(1000.0), Value(1000.0), Value(0.0)])]
    [0.5, 0.5, 0.0]
    """
    shift = max(_number(z) for z in logits)
    exps = [(z - shift).exp() for z in logits]
    total = Value.sum(exps)
    return [e / total for e in exps]


def cross_entropy(logits, targets, *, reduction: str = "mean") -> Value:
    """Softmax cross-entropy: mean of -log softmax(z)_y over examples; ``targets`` are class indices.

    Per example: logsumexp(z) - z_y, with the op table's ``logsumexp`` (stable for logits of any
    size). A target that is a Value picks z_y as sum_k [y == k] z_k (one graph for every class).

    >>> import math
    >>> from nn import cross_entropy
    >>> from autograd_mini import Value
    >>> z = [Value(1.0), Value(2.0), Value(3.0)]
    >>> loss = cross_entropy([z], [2]); loss.backward()
    >>> math.isclose(loss.data, math.log(math.exp(1) + math.exp(2) + math.exp(3)) - 3)
    True
    >>> cross_entropy([[Value(1e4), Value(0.0)]], [1]).data
    10000.0
    """
    logits, targets = _batch(logits, targets, "cross_entropy")
    terms = []
    for i, (z, y) in enumerate(zip(logits, targets)):
        z = _logits(z, i, "cross_entropy")
        if isinstance(y, Value):
            picked = Value.sum([(1.0 - ops.nonzero(y - float(k))) * v for k, v in enumerate(z)])
            terms.append(Value.logsumexp(z) - picked)
            continue
        if not isinstance(y, Integral) or isinstance(y, bool) or not 0 <= y < len(z):
            if isinstance(y, float) and y.is_integer() and 0 <= y < len(z):
                y = int(y)
            else:
                raise ValueError(f"cross_entropy: target {i} is {y!r}; it must be a class index "
                                 f"0..{len(z) - 1} ({len(z)} logits per example)")
        terms.append(Value.logsumexp(z) - z[int(y)])
    return _reduce(terms, reduction, len(logits))


def l2_penalty(params: Module | Iterable[Value], strength: float) -> Value:
    """Weight decay: (lambda / 2) * sum of squared weights (Nielsen, *Neural Networks and Deep
    Learning*, chapter 3, "Regularization").

    Given a model, biases are left alone, as in the UFLDL tutorial; given a list of Values, every one
    of them counts. micrograd's ``alpha * sum(p*p for p in model.parameters())`` (biases
    included) is ``l2_penalty(model.parameters(), 2 * alpha)``.

    >>> from nn import MLP, l2_penalty
    >>> model = MLP(2, [3, 1], seed=0)
    >>> penalty = l2_penalty(model, 0.1)
    >>> round(penalty.data, 12) == round(0.05 * sum(w.data ** 2 for w in model.weights()), 12)
    True
    """
    if not isinstance(strength, Real) or isinstance(strength, bool) or not strength >= 0:
        raise ValueError(f"l2_penalty strength must be a number >= 0, got {strength!r}")
    weights = params.weights() if isinstance(params, Module) else list(params)
    if not weights:
        return Value(0.0)
    return Value.sum([w * w for w in weights]) * (0.5 * float(strength))


LOSSES = {"mse": mse_loss, "hinge": hinge_loss, "bce": bce_with_logits,
          "cross_entropy": cross_entropy}


def get_loss(loss):
    """A loss function from its name ("mse", "hinge", "bce", "cross_entropy") or as given."""
    if callable(loss):
        return loss
    if loss in LOSSES:
        return LOSSES[loss]
    raise ValueError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)} or pass a "
                     "function (predictions, targets) -> Value")
