"""model.to_torch() and nn.from_torch, checked against PyTorch itself (skipped without torch).

The oracle is PyTorch: its Linear layers, its activation modules and its own loss functions
(torch.nn.functional), with its autograd for the gradients. The engine must agree to 1e-12 on
random inputs for every activation nn has and every loss in nn.losses.
"""
from __future__ import annotations

import math
import random
import sys

import pytest

import nn
from autograd_mini import Value
from nn.layers import ACTIVATIONS
from nn.losses import LOSSES
from nn.torch_bridge import TorchBridgeError

TOL = 1e-12


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def close(a: float, b: float) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))


def random_batch(rng: random.Random, n: int, nin: int) -> list[list[float]]:
    return [[rng.uniform(-2.0, 2.0) for _ in range(nin)] for _ in range(n)]


def with_random_biases(model, seed: int):
    """nn starts biases at 0; give them numbers so that a lost bias cannot go unnoticed."""
    rng = random.Random(seed)
    for b in model.biases():
        b.data = rng.uniform(-0.5, 0.5)
    return model


def linears(torch, module) -> list:
    return [m for m in module.modules() if isinstance(m, torch.nn.Linear)]


def assert_same_grads(torch, model, torch_model) -> int:
    """Every engine parameter's grad equals its torch parameter's grad; returns how many."""
    layers = model.layers if isinstance(model, nn.MLP) else [model]
    checked = 0
    for layer, linear in zip(layers, linears(torch, torch_model), strict=True):
        neurons = layer.neurons if isinstance(layer, nn.Layer) else [layer]
        weight, bias = linear.weight.grad.tolist(), linear.bias.grad.tolist()
        for j, neuron in enumerate(neurons):
            for k, w in enumerate(neuron.w):
                assert close(w.grad, weight[j][k]), (j, k, w.grad, weight[j][k])
                checked += 1
            assert close(neuron.b.grad, bias[j]), (j, neuron.b.grad, bias[j])
            checked += 1
    assert checked == model.num_parameters()
    return checked


# -- outputs and gradients, every activation ---------------------------------------------------


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_outputs_and_gradients_match_torch_for_every_activation(torch, activation):
    rng = random.Random(7)
    model = with_random_biases(nn.MLP(3, [5, 4, 2], activation=activation,
                                      output_activation=activation, seed=3), 1)
    torch_model = model.to_torch()
    X = random_batch(rng, 6, 3)
    upstream = [[rng.uniform(-1.0, 1.0) for _ in range(2)] for _ in X]  # a random d loss / d out

    outputs = [model(x) for x in X]
    total = Value.sum([o * u for out, row in zip(outputs, upstream) for o, u in zip(out, row)])
    total.backward()

    torch_out = torch_model(torch.tensor(X, dtype=torch.float64))
    assert torch_out.dtype == torch.float64 and tuple(torch_out.shape) == (6, 2)
    (torch_out * torch.tensor(upstream, dtype=torch.float64)).sum().backward()

    for out, row in zip(outputs, torch_out.tolist()):
        assert all(close(o.data, t) for o, t in zip(out, row)), (out, row)
    assert assert_same_grads(torch, model, torch_model) == model.num_parameters()


def test_every_activation_has_a_torch_module(torch):
    from nn.torch_bridge import torch_activation
    for name in ACTIVATIONS:
        module = torch_activation(name)
        if name == "linear":
            assert module is None
        else:
            assert isinstance(module, torch.nn.Module)
            assert type(module).__module__.startswith("torch.nn")  # PyTorch's own class


def test_leaky_relu_keeps_the_engine_slope(torch):
    assert "leaky_relu" in ACTIVATIONS
    module = nn.MLP(2, [1], output_activation="leaky_relu", seed=0).to_torch()[-1]
    assert isinstance(module, torch.nn.LeakyReLU)
    assert module.negative_slope == ACTIVATIONS["leaky_relu"][1](-1.0) * -1.0


# -- every loss: the engine's loss against PyTorch's own loss functions --------------------------


def torch_losses(torch):
    F = torch.nn.functional
    return {
        # nn's squared error keeps the 1/2 (see mse_loss) and sums over an example's outputs
        "mse": (2, lambda out, t, red: getattr((0.5 * (out - t) ** 2).sum(dim=1), red)(),
                lambda rng, n: [[rng.uniform(-1, 1) for _ in range(2)] for _ in range(n)]),
        "hinge": (1, lambda out, y, red: getattr(torch.relu(1 - y * out[:, 0]), red)(),
                  lambda rng, n: [rng.choice([-1.0, 1.0]) for _ in range(n)]),
        "bce": (1, lambda out, y, red: F.binary_cross_entropy_with_logits(out[:, 0], y,
                                                                          reduction=red),
                lambda rng, n: [rng.uniform(0, 1) for _ in range(n)]),
        "cross_entropy": (3, lambda out, y, red: F.cross_entropy(out, y, reduction=red),
                          lambda rng, n: [rng.randrange(3) for _ in range(n)]),
    }


def test_every_loss_has_a_torch_oracle(torch):
    assert set(torch_losses(torch)) == set(LOSSES)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("loss", list(LOSSES))
def test_loss_and_gradients_match_torch(torch, loss, activation, reduction):
    nout, torch_loss, make_targets = torch_losses(torch)[loss]
    rng = random.Random(f"{loss} {activation} {reduction}")  # the same numbers every run
    model = with_random_biases(nn.MLP(3, [4, nout], activation=activation, seed=11), 2)
    torch_model = model.to_torch()
    X = random_batch(rng, 5, 3)
    targets = make_targets(rng, 5)

    value = LOSSES[loss]([model(x) for x in X], targets, reduction=reduction)
    value.backward()

    dtype = torch.long if loss == "cross_entropy" else torch.float64
    expected = torch_loss(torch_model(torch.tensor(X, dtype=torch.float64)),
                          torch.tensor(targets, dtype=dtype), reduction)
    expected.backward()
    assert close(value.data, expected.item()), (value.data, expected.item())
    assert_same_grads(torch, model, torch_model)


# -- round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATIONS.names())
def test_round_trip_through_torch_is_bit_for_bit(torch, activation):
    """Every module to_torch writes comes back: every activation nn accepts (the usual ones and
    the table's one-operand ops, softplus among them) that has a torch.nn module."""
    try:
        nn.torch_bridge.torch_activation(activation)
    except TorchBridgeError:
        return  # to_torch refuses it (tested below): nothing to bring back
    model = with_random_biases(nn.MLP(3, [6, 5, 2], activation=activation,
                                      output_activation=activation, init="he", seed=5), 3)
    back = nn.from_torch(model.to_torch())
    assert isinstance(back, nn.MLP)
    assert back.nouts == model.nouts and back.activations == model.activations
    assert [p.data for p in back.parameters()] == [p.data for p in model.parameters()]
    assert [math.copysign(1.0, p.data) for p in back.parameters()] == \
        [math.copysign(1.0, p.data) for p in model.parameters()]


@pytest.mark.parametrize("make", [lambda: nn.Neuron(4, "tanh", seed=1),
                                  lambda: nn.Layer(4, 3, "sigmoid", seed=2)])
def test_a_neuron_or_layer_comes_back_as_a_one_layer_mlp(torch, make):
    model = with_random_biases(make(), 4)
    back = nn.from_torch(model.to_torch())
    assert len(back.layers) == 1 and back.activations == [model.activation]
    assert [p.data for p in back.parameters()] == [p.data for p in model.parameters()]
    x = [0.3, -1.2, 0.7, 2.0]
    ours = model(x)
    ours = [ours] if isinstance(ours, Value) else ours
    got = back(x)
    assert [o.data for o in ours] == [g.data for g in ([got] if isinstance(got, Value) else got)]


def test_a_torch_model_comes_in_and_goes_back_bit_for_bit(torch):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(),
                              torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU()),
                              torch.nn.Linear(4, 2), torch.nn.Identity()).double()
    model = nn.from_torch(net)
    assert model.activations == ["tanh", "relu", "linear"]
    again = model.to_torch()
    for a, b in zip(linears(torch, net), linears(torch, again), strict=True):
        assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    x = [0.1, -0.4, 1.3]
    expected = net(torch.tensor([x], dtype=torch.float64))[0].tolist()
    assert all(close(o.data, e) for o, e in zip(model(x), expected))


def test_float32_and_a_linear_without_bias(torch):
    model = nn.MLP(2, [3, 1], seed=4)
    small = model.to_torch(dtype=torch.float32)
    assert all(p.dtype == torch.float32 for p in small.parameters())
    back = nn.from_torch(small)
    rounded = [float(torch.tensor(p.data, dtype=torch.float32)) for p in model.parameters()]
    assert [p.data for p in back.parameters()] == rounded

    bare = torch.nn.Linear(2, 2, bias=False)
    assert [n.b.data for n in nn.from_torch(bare).layers[0].neurons] == [0.0, 0.0]


# -- clear errors ----------------------------------------------------------------------------------


def test_own_module_and_bad_dtype_are_refused(torch):
    class Line(nn.Module):
        def __call__(self, x):
            return x

    with pytest.raises(TorchBridgeError, match="Neuron, Layer or MLP, not Line"):
        Line().to_torch()
    with pytest.raises(TypeError, match="floating-point dtype"):
        nn.MLP(2, [1], seed=0).to_torch(dtype=torch.int64)
    with pytest.raises(TypeError, match="floating-point dtype"):
        nn.MLP(2, [1], seed=0).to_torch(dtype="float64")


def test_an_activation_with_no_torch_counterpart_is_a_clear_error(torch, monkeypatch):
    monkeypatch.setitem(ACTIVATIONS, "sine", (Value.sin, math.sin))  # torch.nn has no Sin
    model = nn.MLP(2, [2], output_activation="sine", seed=0)
    with pytest.raises(TorchBridgeError, match=r"'sine' \(the op 'sin'\) has no torch.nn module"):
        model.to_torch()
    monkeypatch.setitem(ACTIVATIONS, "double_tanh", (lambda v: v.tanh() * 2.0,
                                                     lambda x: 2.0 * math.tanh(x)))
    model = nn.MLP(2, [2], output_activation="double_tanh", seed=0)
    with pytest.raises(TorchBridgeError, match="'double_tanh' is not one op of the table"):
        model.to_torch()


def test_from_torch_refusal_lists_every_activation_it_takes(torch):
    with pytest.raises(TorchBridgeError) as refused:
        nn.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Dropout(0.5)))
    taken = [name for name in ACTIVATIONS.names() if name == "linear" or
             isinstance(nn.from_torch(nn.MLP(2, [3], output_activation=name, seed=0).to_torch())
                        if _writable(name) else None, nn.MLP)]
    assert "softplus" in taken
    for name in taken:
        assert f"{name}," in str(refused.value) or f"{name};" in str(refused.value)


def _writable(name: str) -> bool:
    try:
        return nn.torch_bridge.torch_activation(name) is not None
    except TorchBridgeError:
        return False


@pytest.mark.parametrize("parts, message", [
    (lambda t: [t.nn.ReLU(), t.nn.Linear(2, 1)], "comes before any Linear"),
    (lambda t: [t.nn.Linear(2, 3), t.nn.Linear(4, 1)], "takes 4 inputs but the layer before gives 3"),
    (lambda t: [t.nn.Linear(2, 3), t.nn.ReLU(), t.nn.Tanh()], "follows an activation"),
    (lambda t: [t.nn.Linear(2, 3), t.nn.Dropout(0.5)], "is not one of nn's activations"),
    (lambda t: [t.nn.Linear(2, 3), t.nn.LeakyReLU(0.2)], "is not one of nn's activations"),
    (lambda t: [], "has no Linear layer"),
])
def test_from_torch_says_what_is_wrong(torch, parts, message):
    with pytest.raises(TorchBridgeError, match=message):
        nn.from_torch(torch.nn.Sequential(*parts(torch)))


def test_from_torch_needs_a_torch_module(torch):
    with pytest.raises(TypeError, match="from_torch takes a torch.nn.Module, got list"):
        nn.from_torch([1, 2])


def test_without_torch_the_message_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    with pytest.raises(ModuleNotFoundError, match=r"autograd-mini\[torch\]"):
        nn.MLP(2, [1], seed=0).to_torch()
    with pytest.raises(ModuleNotFoundError, match="need PyTorch"):
        nn.from_torch(object())


def test_importing_nn_does_not_load_torch():
    import subprocess
    code = ("import sys, nn; m = nn.MLP(2, [2, 1], seed=0); m([1.0, 2.0]).backward(); "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout == "False\n", done.stderr
