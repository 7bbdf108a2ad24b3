"""Compiled training keeps the parameters in arrays (nn.compiled's CompiledStep.train, and
fit(compile=True)); the Values must still be right whenever one looks, and the training the
same as the eager engine's (its graph, walked Value by Value, is the oracle). The inputs of a
compiled fit stay numbers: never a Value per number. And the digits data set."""
import math
import random
import sys

import pytest

import nn
from autograd_mini.context import listening
from nn.compiled import CompiledStep

np = pytest.importorskip("numpy")


def close_lists(a, b, tolerance=1e-10):
    scale = max(map(abs, b)) or 1.0
    return len(a) == len(b) and all(abs(x - y) <= tolerance * scale for x, y in zip(a, b))


def eager_step(model, optimizer, X, y, loss):
    """fit's eager step: forward, loss, zero the gradients, backward, move."""
    value = nn.losses.get_loss(loss)([model(x) for x in X], y)
    optimizer.zero_grad()
    value.backward()
    optimizer.step()
    return value.data


@pytest.mark.parametrize("make_optimizer", [lambda m: nn.SGD(m, lr=0.1, momentum=0.5),
                                            lambda m: nn.Adam(m, lr=0.01, weight_decay=0.01)])
@pytest.mark.parametrize("loss, outputs", [("hinge", 1), ("cross_entropy", 3)])
def test_values_and_grads_are_right_after_every_step(make_optimizer, loss, outputs):
    rng = random.Random(1)
    X = [[rng.uniform(-2, 2), rng.uniform(-2, 2)] for _ in range(24)]
    y = [rng.choice([-1, 1]) if loss == "hinge" else rng.randrange(3) for _ in X]
    compiled, eager = (nn.MLP(2, [6, outputs], seed=2) for _ in range(2))
    step = CompiledStep(compiled, loss, backend="numpy")
    opt_c, opt_e = make_optimizer(compiled), make_optimizer(eager)
    for k in range(6):
        batch = rng.sample(range(len(X)), 16)
        Xb, yb = [X[i] for i in batch], [y[i] for i in batch]
        loss_c, _ = step.train(np.array(Xb), yb, opt_c)
        loss_e = eager_step(eager, opt_e, Xb, yb, loss)
        assert math.isclose(loss_c, loss_e, rel_tol=1e-10)
        assert close_lists([p.data for p in compiled.parameters()],
                           [p.data for p in eager.parameters()])
        assert close_lists([p.grad for p in compiled.parameters()],
                           [p.grad for p in eager.parameters()])
        # an eager forward pass between steps sees the current numbers
        assert math.isclose(compiled(X[0])[0].data if outputs > 1 else compiled(X[0]).data,
                            eager(X[0])[0].data if outputs > 1 else eager(X[0]).data,
                            rel_tol=1e-9, abs_tol=1e-12)
        if k == 2:  # a number assigned between steps is used by the next step
            for model in (compiled, eager):
                model.parameters()[0].data = 0.25


def test_fit_compiled_and_eager_stay_equal_epoch_by_epoch():
    X, y = nn.datasets.make_moons(60, noise=0.1, seed=3)
    seen = {}
    for compiled in (False, True):
        model = nn.MLP(2, [8, 8, 1], seed=4)
        snapshots = seen[compiled] = []
        history = nn.fit(model, X, y, loss="hinge", optimizer=nn.Adam(model, lr=0.02), epochs=4,
                         batch_size=20, l2=1e-3, compile=compiled, record=True,
                         callback=lambda e, h, m=model, s=snapshots:
                         s.append([p.data for p in m.parameters()]))
        seen[compiled].append(history.recording.parameters)
        seen[compiled].append(history.loss)
    eager, compiled = seen[False], seen[True]
    for a, b in zip(compiled[:4], eager[:4]):  # the callback's look at each epoch
        assert close_lists(a, b)
    for a, b in zip(compiled[4], eager[4]):    # record=True's snapshots
        assert close_lists(a, b)
    assert close_lists(compiled[5], eager[5])  # the losses


def test_a_compiled_fit_never_makes_a_value_per_input_number():
    rng = random.Random(0)
    X = np.array([[rng.uniform(-1, 1) for _ in range(16)] for _ in range(200)])
    y = [rng.randrange(4) for _ in range(200)]
    for inputs in (X, X.tolist()):
        made = []
        model = nn.MLP(16, [8, 4], seed=0)
        with listening(lambda kind, *details: made.append(1) if kind == "create" else None):
            nn.fit(model, inputs, y, loss="cross_entropy", epochs=2, batch_size=50,
                   compile=True, validation_data=(inputs[:40], y[:40]))
        # tracing makes the graph of one example (and its gradient), not one node per number
        assert len(made) < X.size / 4


def test_compiled_fit_checks_its_inputs_as_fit_does():
    model = nn.MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"X\[1\] should be 2 numbers"):
        nn.fit(model, [[1.0, 2.0], [1.0]], [0, 1], loss="hinge", compile=True)
    with pytest.raises(TypeError, match=r"X\[1\] holds bool True"):
        nn.fit(model, [[1.0, 2.0], [True, 1.0]], [0, 1], loss="hinge", compile=True)
    with pytest.raises(ValueError, match=r"should be 2 numbers .* got 3 numbers"):
        nn.fit(model, np.zeros((4, 3)), [0, 1, 0, 1], loss="hinge", compile=True)


def test_digits_are_scikit_learns_scaled_to_one():
    sklearn = pytest.importorskip("sklearn.datasets")
    X, y = nn.datasets.digits()
    reference = sklearn.load_digits()
    assert (np.array(X) * 16.0 == reference.data).all() and y == reference.target.tolist()
    assert all(type(v) is float for v in X[0]) and type(y[0]) is int


def test_digits_without_scikit_learn_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'autograd-mini\[data\]'"):
        nn.datasets.digits()


def test_a_compiled_fit_without_numpy_follows_eager_fit(monkeypatch):
    X, y = nn.datasets.make_moons(40, noise=0.1, seed=5)
    eager = nn.MLP(2, [6, 1], seed=6)
    nn.fit(eager, X, y, loss="hinge", optimizer=nn.Adam(eager, lr=0.02), epochs=3, batch_size=20)
    monkeypatch.setitem(sys.modules, "numpy", None)
    compiled = nn.MLP(2, [6, 1], seed=6)
    history = nn.fit(compiled, X, y, loss="hinge", optimizer=nn.Adam(compiled, lr=0.02), epochs=3,
                     batch_size=20, compile=True, validation_data=(X[:10], y[:10]))
    assert close_lists([p.data for p in compiled.parameters()],
                       [p.data for p in eager.parameters()])
    assert len(history.val_accuracy) == 3


def test_a_callback_that_changes_a_parameter_is_heard_by_the_next_epoch():
    X, y = nn.datasets.make_moons(48, noise=0.1, seed=7)
    final = {}
    for compiled in (False, True):
        model = nn.MLP(2, [5, 1], seed=8)

        def shrink(epoch, history, model=model):
            for p in model.parameters()[:3]:
                p.data *= 0.5
        nn.fit(model, X, y, loss="hinge", optimizer=nn.SGD(model, lr=0.05), epochs=4,
               batch_size=16, compile=compiled, callback=shrink)
        final[compiled] = [p.data for p in model.parameters()]
    assert close_lists(final[True], final[False])
