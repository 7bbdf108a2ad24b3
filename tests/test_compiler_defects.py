"""The compiler's trust defects (issue "trust, round three", items 1-7), each against an
independent oracle: the eager engine's graph walked Value by Value (graph.py), or IEEE floats."""
import math
import random

import pytest
from hypothesis import given, settings, strategies as st

import nn
from autograd_mini import OPS, Value, compile, gradients
from nn.compiled import CompiledStep

np = pytest.importorskip("numpy")


class SharedWeights(nn.Module):
    """A layer whose neurons draw their weights from a small pool: a weight may serve several
    inputs of one neuron, or several neurons (a tied weight)."""

    def __init__(self, nin, layout, pool):
        self.nin, self.layout = nin, layout       # layout[j][k]: the pool slot of w_jk
        self.pool = [Value(w, label=f"s[{i}]") for i, w in enumerate(pool)]
        self.b = [Value(0.1 * j, label=f"b[{j}]") for j in range(len(layout))]
        self.out = [Value(0.5 - 0.3 * j, label=f"v[{j}]") for j in range(len(layout))]

    def __call__(self, x):
        hidden = [Value.affine([self.pool[s] for s in row], x, b).tanh()
                  for row, b in zip(self.layout, self.b)]
        return Value.affine(self.out, hidden)

    def parameters(self):
        return self.pool + self.b + self.out


def eager_grads(model, X, y, loss):
    value = nn.losses.get_loss(loss)([model(list(map(float, x))) for x in X], y)
    found = gradients(value, model.parameters())
    return value.data, [found[p] for p in model.parameters()]


def assert_close(grads, expected):
    scale = max(map(abs, expected)) or 1.0
    assert all(abs(a - b) <= 1e-12 * scale for a, b in zip(grads, expected)), (grads, expected)


@settings(max_examples=40, deadline=None)
@given(nin=st.integers(1, 4), width=st.integers(1, 4), pool=st.integers(1, 3),
       seed=st.integers(0, 10 ** 6), rows=st.integers(16, 40))
def test_weights_used_twice_get_every_gradient_term_on_numpy_batches(nin, width, pool, seed, rows):
    rng = random.Random(seed)
    layout = [[rng.randrange(pool) for _ in range(nin)] for _ in range(width)]
    model = SharedWeights(nin, layout, [rng.uniform(-1, 1) for _ in range(pool)])
    X = [[rng.uniform(-2, 2) for _ in range(nin)] for _ in range(rows)]
    y = [rng.uniform(-1, 1) for _ in range(rows)]
    loss, grads, _ = CompiledStep(model, "mse", backend="numpy")(X, y)
    eager_loss, expected = eager_grads(model, X, y, "mse")
    assert math.isclose(loss, eager_loss, rel_tol=1e-12)
    assert_close(grads, expected)


def test_fit_with_a_tied_weight_trains_the_same_model_compiled_or_eager():
    rng = random.Random(4)
    X = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(32)]
    y = [math.sin(sum(x)) for x in X]
    models = [SharedWeights(3, [[0, 0, 1], [1, 0, 0]], [0.3, -0.4]) for _ in range(2)]
    for model, compiled in zip(models, (False, True)):
        nn.fit(model, X, y, loss="mse", optimizer=nn.SGD(model, lr=0.05), epochs=5,
               compile=compiled)
    assert_close([p.data for p in models[1].parameters()],
                 [p.data for p in models[0].parameters()])


@pytest.mark.parametrize("backend", ["numpy", "float"])
@pytest.mark.parametrize("rows", [1, 3])
def test_a_summed_loss_is_summed_even_when_the_first_batch_cannot_tell(backend, rows):
    def sse(predictions, targets):  # a sum over the examples
        return Value.sum([(p - t) ** 2 for p, t in zip(predictions, targets)])
    model = nn.MLP(2, [3, 1], seed=0)
    X = [[0.5, -1.0]] * rows
    zero = [model(x).data for x in X]          # first batch: every example's loss is 0
    step = CompiledStep(model, sse, backend=backend)
    step(X, zero)
    assert step.reduction == "sum"
    X2 = [[0.5, -1.0], [1.0, 2.0], [-0.3, 0.2]]
    y2 = [1.0, -1.0, 0.5]
    loss, grads, _ = step(X2, y2)
    eager_loss, expected = eager_grads(model, X2, y2, sse)
    assert math.isclose(loss, eager_loss, rel_tol=1e-12)
    assert_close(grads, expected)


@pytest.mark.parametrize("stem", ["a b", "ｘ0", "ｘ", "ｘ1", "x0", "for", "X", "P", "np", "totals", "1w", "d"])
def test_parameter_labels_never_break_or_overwrite_the_program(stem):
    w = [Value(0.5 + k, label=f"{stem}[{k}]") for k in range(3)]
    f = compile(lambda x0, x1, x2: Value.affine(w, [x0, x1, x2]).tanh() + x0)
    X = [[0.1 * i, -0.2 * i, 0.3] for i in range(20)]
    values, grads = f.batch_value_and_grad(X)
    for row, value, grad in zip(X, values, grads):
        xs = [Value(v) for v in row]
        out = Value.affine(w, xs).tanh() + xs[0]
        out.backward()
        assert math.isclose(value, out.data, rel_tol=1e-12)
        assert_close(list(grad), [x.grad for x in xs])


def test_a_single_parameter_label_that_is_not_a_name():
    w = Value(2.0, label="a b[0]")
    f = compile(lambda x: x * w + w * w)
    values, grads = f.batch_value_and_grad([[float(i)] for i in range(20)])
    assert values.tolist() == [2.0 * i + 4.0 for i in range(20)]


@pytest.mark.parametrize("covered", [[0, 2], [1], [0, 1, 3, 4], [4, 0, 2, 3]])
def test_one_neuron_whose_weights_cover_some_inputs(covered):
    class Partial(nn.Module):
        def __init__(self):
            self.nin = 5
            self.w = [Value(0.3 - 0.2 * k, label=f"w[{k}]") for k in range(len(covered))]
            self.b = Value(0.1, label="b")

        def __call__(self, x):
            return Value.affine(self.w, [x[k] for k in covered], self.b).tanh()

        def parameters(self):
            return self.w + [self.b]
    model = Partial()
    rng = random.Random(2)
    X = [[rng.uniform(-1, 1) for _ in range(5)] for _ in range(20)]
    y = [rng.uniform(-1, 1) for _ in range(20)]
    loss, grads, _ = CompiledStep(model, "mse", backend="numpy")(X, y)
    eager_loss, expected = eager_grads(model, X, y, "mse")
    assert math.isclose(loss, eager_loss, rel_tol=1e-12)
    assert_close(grads, expected)


def test_compiling_through_a_closure_node_is_refused_plainly():
    def doubled(x):
        out = Value(2 * x.data, (x,), "dbl")

        def _backward():
            x.grad += 2 * out.grad
        out._backward = _backward
        return out
    f = compile(lambda x: doubled(x) * x, strict=False)
    with pytest.raises(TypeError, match="_backward closure.*defop"):
        f(1.0)


@pytest.mark.parametrize("backend", ["numpy", "float"])
def test_a_model_without_parameters_gets_a_step(backend):
    class Fixed(nn.Module):
        nin = 2

        def __call__(self, x):
            return (x[0] * x[1]).tanh()

        def parameters(self):
            return []
    X = [[0.1 * i, 0.2] for i in range(20)]
    y = [0.0] * 20
    loss, grads, outputs = CompiledStep(Fixed(), "mse", backend=backend)(X, y)
    assert grads == []
    expected = [math.tanh(a * b) for a, b in X]
    assert_close(outputs, expected)
    assert math.isclose(loss, sum(0.5 * o * o for o in expected) / 20, rel_tol=1e-12)


SUM = OPS["sum"]


@pytest.mark.parametrize("fn", [lambda a, b: 1 / SUM(a, b), lambda a, b: 1 / SUM(a * b, a * b),
                                lambda a, b: 1 / SUM(a * b, b * a, a), lambda a, b: 1 / (a + b)])
@pytest.mark.parametrize("point", [(-0.0, -0.0), (-0.0, 0.0), (0.0, -0.0)])
def test_a_sum_of_negative_zeros_divides_as_the_engine_does(fn, point):
    expected = fn(Value(point[0]), Value(point[1])).data   # the engine: a sum starts at 0.0
    f = compile(fn)
    assert f(*point) == expected
    assert f.value_and_grad(*point)[0] == expected
    assert f.batch([list(point)] * 20).tolist() == [expected] * 20
    assert f.batch([list(point)] * 20)[0] == expected


def test_the_compiler_knows_ops_by_their_row_not_by_how_code_writes_them(monkeypatch):
    """Rewriting how code writes mul and pos changes no decision: outer products and dropped
    identities are found by the row itself."""
    monkeypatch.setattr(OPS["mul"], "code", "({0}) * ({1})")
    monkeypatch.setattr(OPS["pos"], "code", None)
    model = nn.MLP(3, [4, 1], seed=1)
    rng = random.Random(0)
    X = [[rng.uniform(-1, 1) for _ in range(3)] for _ in range(20)]
    y = [rng.uniform(-1, 1) for _ in range(20)]
    step = CompiledStep(model, "mse", backend="numpy")
    loss, grads, _ = step(X, y)
    assert ".T @ X" in step.source           # the weights' gradient: one matrix product
    assert_close(grads, eager_grads(model, X, y, "mse")[1])
    f = compile(lambda x: +x * 2.0)
    assert f(1.5) == 3.0 and "pos(" not in f.source


def test_nn_compiled_uses_only_the_compilers_public_names():
    import ast
    import inspect
    import autograd_mini.compiler as compiler
    tree = ast.parse(inspect.getsource(nn.compiled))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("autograd_mini.compiler"):
            assert node.module == "autograd_mini.compiler"
            assert {alias.name for alias in node.names} <= set(compiler.__all__)
