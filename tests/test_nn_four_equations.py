"""The four equations of backpropagation (M. Nielsen, "Neural Networks and Deep Learning",
ch. 2) and the cost with weight decay (the UFLDL tutorial), in matrix form, as an oracle.

BP1-BP4 are written below with NumPy, independently of the graph engine; on random networks,
activations, costs and batches (hypothesis) they must give the gradients the engine gives by
walking the graph. §5's batch, mini-batch and stochastic gradient descent with weight decay are
checked the same way.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nn

# -- the oracle --------------------------------------------------------------------------------

SIGMA = {
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
}


def softmax(a):
    e = np.exp(a - a.max())
    return e / e.sum()


# grad_a C_x for one example: the cost is a function of the output activations a^L alone
COST_GRADIENT = {
    "mse": lambda a, y: a - np.asarray(y, dtype=float),               # C_x = 1/2 ||y - a||^2
    "cross_entropy": lambda a, y: softmax(a) - np.eye(len(a))[y],     # -log softmax(a)_y
    "bce": lambda a, y: 1 / (1 + np.exp(-a)) - y,                     # a is the logit
    "hinge": lambda a, y: np.where(1 - y * a > 0, -y * np.ones_like(a), 0.0),
}


def backprop(weights, biases, activations, cost, X, Y):
    """dC/dW^l and dC/db^l, C = (1/n) sum_x C_x, by BP1-BP4 for each example x."""
    grad_W = [np.zeros_like(W) for W in weights]
    grad_b = [np.zeros_like(b) for b in biases]
    for x, y in zip(X, Y):
        a, zs = [np.asarray(x, dtype=float)], []
        for W, b, act in zip(weights, biases, activations):
            zs.append(W @ a[-1] + b)
            a.append(SIGMA[act][0](zs[-1]))
        delta = COST_GRADIENT[cost](a[-1], y) * SIGMA[activations[-1]][1](zs[-1])   # BP1
        for l in reversed(range(len(weights))):
            grad_b[l] += delta                                                      # BP3
            grad_W[l] += np.outer(delta, a[l])                                      # BP4
            if l:
                delta = (weights[l].T @ delta) * SIGMA[activations[l - 1]][1](zs[l - 1])  # BP2
    n = len(X)
    return [g / n for g in grad_W], [g / n for g in grad_b]


def matrices(model):
    weights = [np.array(model.state_dict()[f"layers.{i}.weight"]) for i in range(len(model.layers))]
    biases = [np.array(model.state_dict()[f"layers.{i}.bias"]) for i in range(len(model.layers))]
    return weights, biases


def engine_gradients(model):
    grad_W = [np.array([[w.grad for w in n.w] for n in layer.neurons]) for layer in model.layers]
    grad_b = [np.array([n.b.grad for n in layer.neurons]) for layer in model.layers]
    return grad_W, grad_b


# -- random networks -----------------------------------------------------------------------------

@st.composite
def problems(draw):
    cost = draw(st.sampled_from(sorted(COST_GRADIENT)))
    nin = draw(st.integers(1, 3))
    hidden = draw(st.lists(st.integers(1, 4), max_size=2))
    nout = {"cross_entropy": draw(st.integers(2, 4)), "mse": draw(st.integers(1, 3))}.get(cost, 1)
    activations = draw(st.lists(st.sampled_from(sorted(SIGMA)), min_size=len(hidden) + 1,
                                max_size=len(hidden) + 1))
    n = draw(st.integers(1, 4))
    rng = np.random.RandomState(draw(st.integers(0, 2 ** 32 - 1)))
    X = rng.uniform(-2, 2, size=(n, nin)).tolist()
    if cost == "mse":
        Y = rng.uniform(-1, 1, size=(n, nout)).tolist()
    elif cost == "cross_entropy":
        Y = rng.randint(0, nout, size=n).tolist()
    elif cost == "bce":
        Y = rng.uniform(0, 1, size=n).tolist()
    else:
        Y = rng.choice([-1, 1], size=n).tolist()
    model = nn.MLP(nin, hidden + [nout], activations[:-1], activations[-1],
                   seed=int(rng.randint(0, 2 ** 31)))
    for b in model.biases():
        b.data = float(rng.uniform(-1, 1))
    return model, cost, X, Y


@settings(max_examples=80, deadline=None)
@given(problems())
def test_bp1_to_bp4_give_the_engines_gradients(problem):
    model, cost, X, Y = problem
    outputs = [model(x) for x in X]
    if cost == "mse" and model.nouts[-1] == 1:
        targets = [y[0] for y in Y]
    else:
        targets = Y
    nn.losses.LOSSES[cost](outputs, targets).backward()
    weights, biases = matrices(model)
    want_W, want_b = backprop(weights, biases, model.activations, cost, X, Y)
    got_W, got_b = engine_gradients(model)
    for got, want in zip(got_W + got_b, want_W + want_b):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_the_oracle_itself_matches_finite_differences():
    """Check the NumPy oracle once against central differences, so it can be trusted."""
    rng = np.random.RandomState(0)
    weights = [rng.normal(size=(3, 2)), rng.normal(size=(2, 3))]
    biases = [rng.normal(size=3), rng.normal(size=2)]
    acts = ["tanh", "sigmoid"]
    X, Y = rng.normal(size=(3, 2)), rng.uniform(size=(3, 2))

    def cost(ws, bs):
        total = 0.0
        for x, y in zip(X, Y):
            a = x
            for W, b, act in zip(ws, bs, acts):
                a = SIGMA[act][0](W @ a + b)
            total += 0.5 * np.sum((y - a) ** 2)
        return total / len(X)

    grad_W, _ = backprop(weights, biases, acts, "mse", X, Y)
    eps = 1e-6
    for l, W in enumerate(weights):
        for index in np.ndindex(W.shape):
            up = [w.copy() for w in weights]
            down = [w.copy() for w in weights]
            up[l][index] += eps
            down[l][index] -= eps
            numeric = (cost(up, biases) - cost(down, biases)) / (2 * eps)
            assert grad_W[l][index] == pytest.approx(numeric, rel=1e-6, abs=1e-9)


# -- §5: batch, mini-batch and stochastic gradient descent with weight decay ----------------------

def descend(weights, biases, acts, X, Y, lr, lam, batch):
    """UFLDL's batch update: W := W - lr ((1/m) DeltaW + lam W), b := b - lr (1/m) Deltab."""
    weights = [W.copy() for W in weights]
    biases = [b.copy() for b in biases]
    for start in range(0, len(X), batch):
        gW, gb = backprop(weights, biases, acts, "mse", X[start:start + batch], Y[start:start + batch])
        weights = [W - lr * (g + lam * W) for W, g in zip(weights, gW)]
        biases = [b - lr * g for b, g in zip(biases, gb)]
    return weights, biases


@pytest.mark.parametrize("batch_size", [None, 1, 3])
@pytest.mark.parametrize("decay_by", ["loss", "optimizer"])
def test_gradient_descent_with_weight_decay_follows_the_texts(batch_size, decay_by):
    rng = np.random.RandomState(1)
    X, Y = rng.uniform(-1, 1, size=(7, 2)).tolist(), rng.uniform(0, 1, size=(7, 2)).tolist()
    model = nn.MLP(2, [3, 2], "tanh", "sigmoid", seed=3)
    for b in model.biases():
        b.data = float(rng.uniform(-1, 1))
    weights, biases = matrices(model)
    lr, lam = 0.3, 0.05
    want_W, want_b = descend(weights, biases, model.activations, np.array(X), np.array(Y), lr,
                             lam, batch_size or len(X))
    optimizer = nn.SGD(model, lr=lr, weight_decay=lam if decay_by == "optimizer" else 0.0)
    nn.fit(model, X, Y, loss="mse", optimizer=optimizer, epochs=1, batch_size=batch_size,
           shuffle=False, l2=lam if decay_by == "loss" else 0.0)
    got_W, got_b = matrices(model)
    for got, want in zip(got_W + got_b, want_W + want_b):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
