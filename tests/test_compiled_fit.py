"""Training on whole batches (nn.compiled) against the eager engine, its oracle.

For MLPs with every activation and every loss, the compiled batch step must give the eager
step's loss, outputs and parameter gradients (the eager numbers come from the graph built Value
by Value and walked by graph.py). The tolerance is what the design guarantees, not bit
equality: on NumPy the layers are matrix products and exp/log/tanh are NumPy's (which differ
from Python's math by an ulp on some inputs, differently on different Pythons and NumPys), and
gradients are sums over the rows added in another order. So every number is compared to 1e-12
relative to the size of the numbers of its kind (outputs, gradients). Then training with
fit(compile=True) must follow eager training.
"""
import math
import random
import sys

import pytest

import nn
from autograd_mini import OPS, Value, defop
from autograd_mini.compiler import TracingError
from nn.compiled import SMALL_BATCH, CompiledStep

pytest.importorskip("numpy")

# nn's usual activations and every one-operand op of the table defined on all of the reals
ACTIVATIONS = list(dict.fromkeys(list(nn.ACTIVATIONS) + [
    name for name, op in OPS.items() if op.arity == 1 and math.isfinite(op.value(-1.5))]))
# loss -> (outputs of the model, a target for a row)
LOSSES = {
    "mse": (2, lambda rng: [rng.uniform(-1, 1), rng.uniform(-1, 1)]),
    "hinge": (1, lambda rng: rng.choice([-1, 1])),
    "bce": (1, lambda rng: rng.choice([0, 1])),
    "cross_entropy": (3, lambda rng: rng.randrange(3)),
}


def batch(loss: str, n: int, seed: int):
    rng = random.Random(seed)
    X = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(n)]
    return X, [LOSSES[loss][1](rng) for _ in range(n)]


def eager_step(model, X, y, loss, l2):
    """What fit does in one step, on Values: (loss, outputs, gradients)."""
    outs = [model(x) for x in X]
    value = nn.losses.get_loss(loss)(outs, y)
    if l2:
        value = value + nn.l2_penalty(model, l2)
    model.zero_grad()
    value.backward()
    outputs = [[o.data for o in out] if isinstance(out, list) else out.data for out in outs]
    return value.data, outputs, [p.grad for p in model.parameters()]


TOLERANCE = 1e-12  # relative to the size of the numbers compared (see the module docstring)


def flat(outputs):
    return [v for o in outputs for v in (o if isinstance(o, list) else [o])]


def assert_same_step(compiled, eager):
    (loss, grads, outputs), (eager_loss, eager_outputs, eager_grads) = compiled, eager
    compiled_outputs, eager_outputs = flat(outputs), flat(eager_outputs)
    scale = max(map(abs, eager_outputs)) or 1.0
    assert len(compiled_outputs) == len(eager_outputs)
    assert all(abs(a - b) <= TOLERANCE * scale for a, b in zip(compiled_outputs, eager_outputs))
    assert math.isclose(loss, eager_loss, rel_tol=TOLERANCE, abs_tol=1e-15)
    scale = max(abs(g) for g in eager_grads) or 1.0
    assert all(abs(a - b) <= TOLERANCE * scale for a, b in zip(grads, eager_grads))


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("backend", ["numpy", "float"])
def test_compiled_step_equals_eager(activation, loss, l2, backend):
    outputs, _ = LOSSES[loss]
    model = nn.MLP(2, [5, outputs], activation=activation, seed=3)
    step = CompiledStep(model, loss, l2, backend=backend)
    X, y = batch(loss, 12, seed=1)
    for attempt in range(3):  # shuffled batches: the same program serves every order
        order = list(range(len(X)))
        random.Random(attempt).shuffle(order)
        Xs, ys = [X[i] for i in order], [y[i] for i in order]
        assert_same_step(step(Xs, ys), eager_step(model, Xs, ys, loss, l2))
    assert step.reduction == "mean"


def test_small_batches_run_on_floats_large_ones_on_numpy():
    model = nn.MLP(2, [4, 1], activation="tanh", seed=5)
    step = CompiledStep(model, "bce", 0.001)
    assert step._numpy_for(SMALL_BATCH - 1) is None and step._numpy_for(SMALL_BATCH) is step.np
    for n in (1, SMALL_BATCH - 1, SMALL_BATCH, 3 * SMALL_BATCH):
        X, y = batch("bce", n, seed=n)
        assert_same_step(step(X, y), eager_step(model, X, y, "bce", 0.001))


def test_without_numpy_the_step_runs_on_floats(monkeypatch):
    monkeypatch.setitem(sys.modules, "numpy", None)
    model = nn.MLP(2, [4, 1], seed=0)
    step = CompiledStep(model, "hinge", 0.01)
    assert step.np is None
    X, y = batch("hinge", 6, seed=3)
    assert_same_step(step(X, y), eager_step(model, X, y, "hinge", 0.01))
    with pytest.raises(ImportError, match="needs NumPy"):
        CompiledStep(model, "hinge", backend="numpy")


def test_a_loss_of_your_own_even_one_that_reads_parameters():
    model = nn.MLP(2, [3, 1], activation="sigmoid", seed=2)
    weight = model.parameters()[0]

    def smooth_l1(predictions, targets):  # arithmetic on the targets: compiled
        terms = [((p - t) ** 2 + 1.0).sqrt() for p, t in zip(predictions, targets)]
        return Value.sum(terms) * (1.0 / len(terms))

    def with_a_weight(predictions, targets):  # reaches a parameter: part of the program
        return smooth_l1(predictions, targets) + weight * weight

    X, y = batch("mse", 8, seed=4)
    y = [t[0] for t in y]
    for loss in (smooth_l1, with_a_weight):
        step = CompiledStep(model, loss)
        for _ in range(3):
            assert_same_step(step(X, y), eager_step(model, X, y, loss, 0.0))


def test_fit_compiled_follows_eager_training_on_moons():
    X, y = nn.datasets.make_moons(60, noise=0.1, seed=1)
    histories = []
    for compile_ in (False, True):
        model = nn.MLP(2, [16, 16, 1], seed=1)
        histories.append(nn.fit(model, X, y, loss="hinge", l2=1e-4, epochs=25, compile=compile_,
                                optimizer=nn.SGD(model, lr=nn.linear_decay(1.0, 0.1, 25))))
    eager, compiled = histories
    assert type(compiled) is nn.History and compiled.epochs == eager.epochs == 25
    assert compiled.accuracy == eager.accuracy and compiled.lr == eager.lr
    assert all(math.isclose(a, b, rel_tol=1e-9) for a, b in zip(compiled.loss, eager.loss))
    assert compiled.accuracy[-1] >= 0.95


def test_fit_compiled_with_minibatches_adam_and_validation():
    X, y = nn.datasets.make_spirals(90, n_classes=3, seed=0)
    X_val, y_val = nn.datasets.make_spirals(30, n_classes=3, seed=1)
    histories = []
    for compile_ in (False, True):
        model = nn.MLP(2, [8, 3], activation="tanh", seed=4)
        histories.append(nn.fit(model, X, y, loss="cross_entropy", epochs=4, batch_size=16,
                                optimizer=nn.Adam(model, lr=0.01), validation_data=(X_val, y_val),
                                l2=1e-3, compile=compile_))
    eager, compiled = histories
    for field in ("loss", "val_loss"):
        assert all(math.isclose(a, b, rel_tol=1e-9)
                   for a, b in zip(getattr(compiled, field), getattr(eager, field)))
    assert compiled.accuracy == eager.accuracy and compiled.val_accuracy == eager.val_accuracy


def test_callback_stops_and_progress_options_work():
    X, y = nn.datasets.make_moons(20, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    history = nn.fit(model, X, y, loss="hinge", epochs=10, compile=True, progress=False,
                     callback=lambda epoch, h: epoch == 2)
    assert history.epochs == 3


def test_models_that_branch_on_values_are_refused():
    class Branchy(nn.Module):
        def __init__(self):
            self.w = Value(0.5)

        def __call__(self, x):
            return self.w * x[0] if x[0].data > 0 else self.w * x[1]

        def parameters(self):
            return [self.w]

    with pytest.raises(TracingError, match="compile=False"):
        nn.fit(Branchy(), [[1.0, 2.0], [-1.0, 0.5]], [1.0, 0.0], loss="mse", epochs=1,
               compile=True)


def test_bad_arguments_get_fits_errors():
    X, y = nn.datasets.make_moons(10, seed=0)
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        nn.fit(model, X, y, loss="hinge", epochs=0, compile=True)
    with pytest.raises(ValueError, match="X has 10 rows but y has 9 targets"):
        nn.fit(model, X, y[:9], loss="hinge", compile=True)
    with pytest.raises(TypeError, match="needs a model"):
        nn.fit("model", X, y, loss="hinge", compile=True)
    with pytest.raises(ValueError, match="unknown loss"):
        nn.fit(model, X, y, loss="hinge_squared", compile=True)


def test_a_user_op_is_an_activation_after_one_defop_and_compiles(fresh_ops):
    name = f"softsign_{random.randrange(10 ** 9)}"
    defop(name, lambda x: x / (1.0 + abs(x)), lambda out, x: 1.0 / ((1.0 + abs(x)) * (1.0 + abs(x))))
    model = nn.MLP(2, [6, 1], activation=name, seed=2)
    step = CompiledStep(model, "hinge", 0.01, backend="numpy")
    X, y = batch("hinge", 20, seed=5)
    assert_same_step(step(X, y), eager_step(model, X, y, "hinge", 0.01))
    assert f"= {name}(z" in step.source or f"= {name}(h" in step.source  # one call for the layer


@pytest.mark.parametrize("backend", ["numpy", "float"])
def test_a_summed_loss_with_l2_and_a_loss_that_is_not_per_example(backend):
    model = nn.MLP(2, [4, 1], seed=0)
    X, y = batch("mse", 20, seed=6)
    y = [t[0] for t in y]

    def sse(predictions, targets):  # a sum over the examples, not a mean
        return Value.sum([(p - t) ** 2 for p, t in zip(predictions, targets)])
    step = CompiledStep(model, sse, 0.01, backend=backend)
    assert_same_step(step(X, y), eager_step(model, X, y, sse, 0.01))
    assert step.reduction == "sum"

    def worst(predictions, targets):  # the largest error: not a mean or sum of the examples'
        return Value.max([(p - t) ** 2 for p, t in zip(predictions, targets)])
    with pytest.raises(TracingError, match="neither the mean nor the sum"):
        CompiledStep(model, worst, backend=backend)(X, y)
