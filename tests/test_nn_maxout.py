"""nn.Maxout: k affine pieces per unit, combined by the op table's max.

Oracles: central finite differences of the layer's own float forward pass, a hand-written
max over hand-computed affine pieces, and ReLU (a maxout unit with one piece fixed at 0).
"""
import json
import math
import random

import pytest

import nn
from autograd_mini import Value
from nn import Maxout


def by_hand(layer, x):
    """The layer's outputs from its numbers alone: max over pieces of sum_k w_k x_k + b."""
    state = layer.state_dict()
    rows, biases = state["weight"], state["bias"]
    out = []
    for j in range(layer.nout):
        pieces = [sum(w * xk for w, xk in zip(rows[j * layer.k + p], x)) + biases[j * layer.k + p]
                  for p in range(layer.k)]
        out.append(max(pieces))
    return out


def loss_of(layer, x):
    """A smooth function of every output, so each output's gradient matters."""
    outs = layer(x)
    outs = outs if isinstance(outs, list) else [outs]
    return Value.sum([o * o * (j + 1) + o for j, o in enumerate(outs)])


@pytest.mark.parametrize("nin, nout, k, seed", [(3, 4, 2, 0), (2, 1, 3, 1), (5, 2, 4, 2)])
def test_forward_is_the_largest_affine_piece(nin, nout, k, seed):
    layer = Maxout(nin, nout, k, seed=seed)
    x = [random.Random(seed).uniform(-2, 2) for _ in range(nin)]
    out = layer(x)
    out = out if isinstance(out, list) else [out]
    expected = by_hand(layer, x)
    assert [o.op for o in out] == ["max"] * nout
    assert all(math.isclose(o.data, e, rel_tol=1e-12, abs_tol=1e-12) for o, e in zip(out, expected))
    predicted = layer.predict(x)
    predicted = predicted if isinstance(predicted, list) else [predicted]
    assert predicted == [o.data for o in out]


@pytest.mark.parametrize("seed", range(5))
def test_gradients_match_finite_differences(seed):
    rng = random.Random(seed)
    layer = Maxout(3, 3, k=3, seed=seed)
    x = [rng.uniform(-2, 2) for _ in range(3)]
    loss = loss_of(layer, x)
    layer.zero_grad()
    loss.backward()
    h = 1e-6
    for p in layer.parameters():
        analytic, original = p.grad, p.data
        p.data = original + h
        up = loss_of(layer, x).data
        p.data = original - h
        down = loss_of(layer, x).data
        p.data = original
        numeric = (up - down) / (2 * h)
        assert math.isclose(analytic, numeric, rel_tol=1e-5, abs_tol=1e-6), (p.label, analytic, numeric)


def test_gradients_with_respect_to_the_inputs_match_finite_differences():
    layer = Maxout(2, 2, k=2, seed=3)
    x = [Value(0.7), Value(-1.3)]
    loss_of(layer, x).backward()
    h = 1e-6
    for i in range(2):
        plus = [v.data for v in x]
        minus = [v.data for v in x]
        plus[i] += h
        minus[i] -= h
        numeric = (loss_of(layer, plus).data - loss_of(layer, minus).data) / (2 * h)
        assert math.isclose(x[i].grad, numeric, rel_tol=1e-5, abs_tol=1e-6)


def test_only_the_winning_piece_gets_a_gradient():
    layer = Maxout(2, 1, k=3, seed=4)
    out = layer([1.0, 0.5])
    out.backward()
    values = [piece([1.0, 0.5]).data for piece in layer.units[0]]
    winner = values.index(max(values))
    for p, piece in enumerate(layer.units[0]):
        grads = [w.grad for w in piece.w] + [piece.b.grad]
        assert grads == ([1.0, 0.5, 1.0] if p == winner else [0.0, 0.0, 0.0])


def test_relu_is_maxout_with_a_zero_piece():
    layer = Maxout(2, 1, k=2, seed=0)
    layer.load_state_dict({"weight": [[0.8, -0.3], [0.0, 0.0]], "bias": [0.1, 0.0]})
    relu = nn.Neuron(2, activation="relu")
    relu.load_state_dict({"weight": [0.8, -0.3], "bias": 0.1})
    for x in ([1.0, 2.0], [-1.0, 0.5], [0.3, -2.0], [2.0, 1.0]):
        assert layer(x).data == relu(x).data


def test_parameters_weights_biases_and_state_dict_layout():
    layer = Maxout(3, 2, k=2, seed=5)
    assert layer.num_parameters() == 2 * 2 * (3 + 1)
    assert len(layer.weights()) == 12 and len(layer.biases()) == 4
    state = layer.state_dict()
    assert len(state["weight"]) == 4 and all(len(row) == 3 for row in state["weight"])
    assert state["weight"][1] == [w.data for w in layer.units[0][1].w]   # unit 0, piece 1
    assert layer.units[1][0].w[2].label == "w[1,0,2]"


def test_weight_decay_leaves_the_biases_alone():
    layer = Maxout(2, 1, k=2, seed=6)
    penalty = nn.l2_penalty(layer, 0.5)
    assert math.isclose(penalty.data, 0.25 * sum(w.data ** 2 for w in layer.weights()))


def test_save_and_load_round_trip(tmp_path):
    layer = Maxout(2, 3, k=3, seed=7)
    path = tmp_path / "maxout.json"
    layer.save(path)
    assert json.loads(path.read_text())["architecture"] == {"type": "Maxout", "nin": 2,
                                                            "nout": 3, "k": 3}
    copy = nn.load(path)
    assert isinstance(copy, Maxout) and copy.state_dict() == layer.state_dict()
    assert [o.data for o in copy([0.2, -0.4])] == [o.data for o in layer([0.2, -0.4])]


def test_a_corrupt_architecture_is_refused(tmp_path):
    layer = Maxout(2, 2, k=2, seed=8)
    path = tmp_path / "maxout.json"
    layer.save(path)
    document = json.loads(path.read_text())
    document["architecture"]["k"] = 0
    path.write_text(json.dumps(document))
    with pytest.raises(nn.ModelFileError, match="k"):
        nn.load(path)


def test_trains_with_fit():
    X, y = nn.datasets.make_moons(30, noise=0.1, seed=0)

    class Net(nn.Module):
        def __init__(self):
            self.hidden = Maxout(2, 6, k=2, seed=1)
            self.out = nn.Layer(6, 1, activation="linear", seed=2)
            self.nin = 2

        def __call__(self, x):
            return self.out(self.hidden(x))

        def parameters(self):
            return self.hidden.parameters() + self.out.parameters()

    model = Net()
    history = nn.fit(model, X, y, loss="hinge", epochs=30, optimizer=nn.SGD(model, lr=0.1))
    assert history.loss[-1] < 0.5 * history.loss[0]


@pytest.mark.parametrize("args, message", [((0, 2), "nin"), ((2, 0), "nout"), ((2, 2, 0), "k"),
                                            ((2, 2, 1.5), "k")])
def test_bad_sizes_say_what_is_wrong(args, message):
    with pytest.raises(ValueError, match=message):
        Maxout(*args)


def test_wrong_input_width_is_refused():
    with pytest.raises(ValueError, match="takes 3 input"):
        Maxout(3, 2)([1.0, 2.0])
