"""Models and their Values survive pickle (what multiprocessing's spawn start method needs).

Oracle: the model before the round trip. After it, the copy must give the same outputs, hold the
same parameters and gradients, and train on to the same numbers as the original does.
"""
import multiprocessing
import pickle

import pytest

import nn
from autograd_mini import Value, defop

X = [[0.5, -1.0], [-1.5, 2.0], [2.0, 0.25], [0.0, -0.5]]
Y = [1.0, -1.0, 1.0, -1.0]


def one_step(model, optimizer):
    """One step of gradient descent on a squared loss; returns the loss node (a whole graph)."""
    loss = Value.sum([(model(x) - y) ** 2 for x, y in zip(X, Y)])
    model.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def numbers(model):
    return [(p.data, p.grad) for p in model.parameters()]


def outputs(model):
    return [model(x).data for x in X] + [model.predict(x) for x in X]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "linear",
                                        "softplus"])
def test_a_trained_mlp_round_trips_and_trains_on_alike(activation):
    model = nn.MLP(2, [3, 2, 1], activation=activation, seed=4)
    optimizer = nn.Adam(model.parameters(), lr=0.05)  # moments live on the parameters
    loss = one_step(model, optimizer)

    copy, copied_optimizer, copied_loss = pickle.loads(pickle.dumps((model, optimizer, loss)))

    assert numbers(copy) == numbers(model)
    assert outputs(copy) == outputs(model)
    assert copied_loss.data == loss.data
    assert one_step(copy, copied_optimizer).data == one_step(model, optimizer).data
    assert numbers(copy) == numbers(model)


def test_layers_and_maxout_round_trip():
    for module in (nn.Neuron(3, activation="leaky_relu", seed=1), nn.Layer(3, 2, seed=2),
                   nn.Maxout(3, 2, 3, seed=3)):
        copy = pickle.loads(pickle.dumps(module))
        x = [0.3, -1.2, 0.7]
        assert repr(copy) == repr(module)
        assert [p.data for p in copy.parameters()] == [p.data for p in module.parameters()]
        out, copied = module(x), copy(x)
        outs = out if isinstance(out, list) else [out]
        copies = copied if isinstance(copied, list) else [copied]
        assert [o.data for o in copies] == [o.data for o in outs]


def test_a_value_graph_round_trips_and_differentiates_alike():
    a, b = Value(0.7, label="a"), Value(-1.3, label="b")
    y = (a * b).tanh() + a.exp() / (b ** 2) - a.relu() + b.leaky_relu(0.1)
    a2, b2, y2 = pickle.loads(pickle.dumps((a, b, y)))
    y.backward()
    y2.backward()
    assert (y2.data, a2.grad, b2.grad) == (y.data, a.grad, b.grad)
    assert y2.op == y.op and a2.label == "a"


cube = defop("cube_for_pickle", lambda x: x ** 3, lambda out, x: 3 * x * x)


def test_an_activation_added_with_defop_round_trips():
    model = nn.MLP(2, [2, 1], activation="cube_for_pickle", seed=0)
    copy = pickle.loads(pickle.dumps(model))
    assert outputs(copy) == outputs(model)


def test_a_model_goes_to_a_spawned_process_and_back():
    model = nn.MLP(2, [4, 1], activation="tanh", seed=7)
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        answers = pool.map(model, X)  # the model is pickled to the child, its Values back
    assert [v.data for v in answers] == [model(x).data for x in X]
