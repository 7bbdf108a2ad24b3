"""From nn to PyTorch and back: ``model.to_torch()`` and ``nn.from_torch(module)``.

A ``Neuron``, ``Layer`` or ``MLP`` becomes a ``torch.nn.Sequential`` of ``torch.nn.Linear``
layers, each followed by its activation's ``torch.nn`` module (none for "linear"). Row j of a
Linear's weight is neuron j's weights, so the torch model computes the same function; in float64
(the default) its outputs and gradients match the engine's to rounding. ``from_torch`` reads such
a Sequential (or a lone Linear) back into an ``MLP``, weights bit for bit.

An activation is matched to PyTorch by the name of its op-table row: the row ``leaky_relu``
finds ``torch.nn.LeakyReLU`` (names compared without case and underscores), built with the op's
constant operands (the slope 0.01); the pair is then checked on a few numbers, so a torch module
that computes something else is refused rather than silently used.

PyTorch is optional (``pip install autograd-mini[torch]``) and imported only here, on first use.

>>> import pytest; torch = pytest.importorskip("torch")  # (skipped without PyTorch)
>>> import nn
>>> model = nn.MLP(2, [3, 1], seed=0)
>>> torch_model = model.to_torch()
>>> torch_model
Sequential(
  (0): Linear(in_features=2, out_features=3, bias=True)
  (1): ReLU()
  (2): Linear(in_features=3, out_features=1, bias=True)
)
>>> x = torch.tensor([[0.5, -1.0]], dtype=torch.float64)     # one example, two inputs
>>> abs(torch_model(x).item() - model([0.5, -1.0]).data) < 1e-12
True
>>> back = nn.from_torch(torch_model)
>>> [p.data for p in back.parameters()] == [p.data for p in model.parameters()]
True
"""
from __future__ import annotations

import math

from autograd_mini import OPS, Value

from .layers import ACTIVATIONS, MLP, Layer, Neuron
from .module import Module

# numbers on which an activation and its torch module must agree (both signs, and 0)
_PROBES = (-3.0, -1.25, -0.5, 0.0, 0.25, 1.0, 2.5)


class TorchBridgeError(ValueError):
    """A model or module that cannot cross between nn and PyTorch; the message says why."""


def _torch():
    try:
        import torch
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "to_torch / from_torch need PyTorch: pip install 'autograd-mini[torch]' "
            "(or pip install torch)", name="torch") from None
    return torch


def _squash(name: str) -> str:
    return name.replace("_", "").lower()


def _activation_op(name: str):
    """The op-table row an activation applies and its constant extra operands (like a slope);
    None when the activation is not one table op applied to its input."""
    x = Value(0.5)
    out = ACTIVATIONS[name][0](x)
    if not isinstance(out, Value) or not out.parents or not out.op:
        return None
    row = out._rule  # the table row itself (a micrograd-style closure node has none)
    extra = out.parents[1:]
    if row not in OPS.values() or out.parents[0] is not x or not all(p.is_constant for p in extra):
        return None
    return row, tuple(p.data for p in extra)


def _build(name: str):
    """The torch.nn module for activation ``name``, or a reason (a str) why there is none."""
    found = _activation_op(name)
    if found is None:
        return (f"activation {name!r} is not one op of the table applied to its input, so it "
                "has no PyTorch counterpart to look up")
    row, extra = found
    torch = _torch()
    classes = [getattr(torch.nn, attr) for attr in dir(torch.nn)
               if _squash(attr) == _squash(row.name) and isinstance(getattr(torch.nn, attr), type)
               and issubclass(getattr(torch.nn, attr), torch.nn.Module)]
    if not classes:
        return f"activation {name!r} (the op {row.name!r}) has no torch.nn module of that name"
    module = classes[0](*extra)
    if not _agrees(module, name):
        return f"torch.nn.{module!r} does not compute nn's activation {name!r}"
    return module


def _supported() -> list[str]:
    """Every activation that crosses both ways: the usual ones and the table's one-operand
    ops (softplus, ...) that have a torch.nn module computing them."""
    return [name for name in ACTIVATIONS.names()
            if ACTIVATIONS[name][0] is None or not isinstance(_build(name), str)]


def torch_activation(name: str):
    """The ``torch.nn`` module computing nn's activation ``name``; None for "linear".

    >>> import pytest; torch = pytest.importorskip("torch")  # (skipped without PyTorch)
    >>> torch_activation("tanh"), torch_activation("leaky_relu")
    (Tanh(), LeakyReLU(negative_slope=0.01))
    """
    if name not in ACTIVATIONS:
        raise TorchBridgeError(f"unknown activation {name!r}; nn has {', '.join(ACTIVATIONS)}")
    if ACTIVATIONS[name][0] is None:
        return None
    module = _build(name)
    if isinstance(module, str):
        raise TorchBridgeError(f"{module}; to_torch supports {', '.join(_supported())}")
    return module


def _agrees(module, name: str) -> bool:
    """Does the torch module give the engine's numbers for activation ``name``?"""
    torch = _torch()
    float_fn = ACTIVATIONS[name][1]
    with torch.no_grad():
        got = module(torch.tensor(_PROBES, dtype=torch.float64)).tolist()
    return all(math.isclose(g, float_fn(p), rel_tol=1e-12, abs_tol=1e-12)
               for g, p in zip(got, _PROBES))


def _layers(model) -> list:
    if isinstance(model, MLP):
        return list(model.layers)
    if isinstance(model, Layer):
        return [model]
    if isinstance(model, Neuron):
        return [model]
    raise TorchBridgeError(f"to_torch converts a Neuron, Layer or MLP, not {type(model).__name__} "
                           "(for your own Module, build the torch model by hand)")


def to_torch(model, dtype=None):
    """A ``torch.nn.Sequential`` computing the same function as ``model`` (float64 by default).

    The engine's one-output model gives a Value; the torch model gives a tensor of shape
    (batch, 1). Gradients flow into the torch parameters, not into ``model``. ``dtype`` is
    any torch floating-point dtype (``torch.float32`` rounds the weights).

    >>> import pytest; torch = pytest.importorskip("torch")  # (skipped without PyTorch)
    >>> from nn import Layer
    >>> to_torch(Layer(3, 2, activation="sigmoid", seed=0), dtype=torch.float32)
    Sequential(
      (0): Linear(in_features=3, out_features=2, bias=True)
      (1): Sigmoid()
    )
    """
    torch = _torch()
    dtype = torch.float64 if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"to_torch: dtype must be a torch floating-point dtype such as "
                        f"torch.float64 or torch.float32, got {dtype!r}")
    modules = []
    for layer in _layers(model):
        neurons = [layer] if isinstance(layer, Neuron) else layer.neurons
        linear = torch.nn.Linear(layer.nin, len(neurons), dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor([[w.data for w in n.w] for n in neurons],
                                             dtype=torch.float64))
            linear.bias.copy_(torch.tensor([n.b.data for n in neurons], dtype=torch.float64))
        modules.append(linear)
        activation = torch_activation(layer.activation)
        if activation is not None:
            modules.append(activation)
    return torch.nn.Sequential(*modules)


def _flat(module, torch) -> list:
    if isinstance(module, torch.nn.Sequential):
        return [m for child in module for m in _flat(child, torch)]
    return [module]


def _activation_name(module, torch) -> str:
    if isinstance(module, torch.nn.Identity):
        return "linear"
    for name in _supported():
        if ACTIVATIONS[name][0] is None:
            continue
        candidate = _build(name)
        if not isinstance(candidate, str) and type(candidate) is type(module) \
                and _agrees(module, name):
            return name
    raise TorchBridgeError(f"from_torch: {module!r} is not one of nn's activations "
                           f"({', '.join(_supported())}; none or Identity for linear)")


def from_torch(module) -> MLP:
    """An ``MLP`` from a ``torch.nn.Sequential`` of Linear layers and activations (or a Linear).

    Each Linear may be followed by one activation module (``to_torch``'s output is such a
    module); nested Sequentials are read in order. The weights are copied as float64, so a
    float64 module comes back bit for bit. A Linear without bias gets biases of 0.

    >>> import pytest; torch = pytest.importorskip("torch")  # (skipped without PyTorch)
    >>> from nn import from_torch
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> model = from_torch(net)
    >>> model
    MLP(2 -> 4 tanh -> 1 linear; 17 parameters)
    >>> model.layers[0].neurons[0].w[1].data == net[0].weight[0, 1].item()
    True
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch takes a torch.nn.Module, got {type(module).__name__}")
    parts = _flat(module, torch)
    layers = []  # [a Linear, its activation's name, whether an activation was read]
    for i, part in enumerate(parts):
        if isinstance(part, torch.nn.Linear):
            layers.append([part, "linear", False])
        elif not layers:
            raise TorchBridgeError(f"from_torch: part {i} ({part!r}) comes before any Linear; "
                                   "the module must start with a Linear")
        elif layers[-1][2]:
            raise TorchBridgeError(f"from_torch: part {i} ({part!r}) follows an activation; "
                                   "each Linear may have one activation after it")
        else:
            layers[-1][1:] = [_activation_name(part, torch), True]
    if not layers:
        raise TorchBridgeError("from_torch: the module has no Linear layer")
    for (previous, *_), (linear, *_) in zip(layers, layers[1:]):
        if linear.in_features != previous.out_features:
            raise TorchBridgeError(f"from_torch: {linear!r} takes {linear.in_features} inputs "
                                   f"but the layer before gives {previous.out_features}")
    activations = [name for _, name, _ in layers]
    model = MLP(layers[0][0].in_features, [linear.out_features for linear, *_ in layers],
                activations[:-1], activations[-1], init=lambda rng, nin: 0.0, seed=0)
    for ours, (linear, *_) in zip(model.layers, layers):
        weight = linear.weight.detach().to(torch.float64).tolist()
        bias = (linear.bias.detach().to(torch.float64).tolist() if linear.bias is not None
                else [0.0] * linear.out_features)
        for neuron, row, b in zip(ours.neurons, weight, bias):
            for w, number in zip(neuron.w, row):
                w.data = number
            neuron.b.data = b
    return model


# Every model converts itself (module.py cannot import this file: it sits below layers).
def _to_torch_method(self, dtype=None):
    """This model as a ``torch.nn.Sequential`` (float64 unless ``dtype`` says otherwise).

    Linear layers and activations computing the same function, so outputs and gradients
    match the engine's; ``nn.from_torch`` brings one back. Needs PyTorch (the ``torch``
    extra); a Neuron, Layer or MLP converts, your own Module needs building by hand.

    >>> import pytest; torch = pytest.importorskip("torch")  # (skipped without PyTorch)
    >>> from nn import MLP
    >>> MLP(2, [4, 1], activation="tanh", seed=0).to_torch()
    Sequential(
      (0): Linear(in_features=2, out_features=4, bias=True)
      (1): Tanh()
      (2): Linear(in_features=4, out_features=1, bias=True)
    )
    """
    return to_torch(self, dtype)


_to_torch_method.__name__ = "to_torch"
Module.to_torch = _to_torch_method
